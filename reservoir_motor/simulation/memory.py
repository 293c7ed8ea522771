"""A run's memory, estimated from its config before anything is allocated, and the memory the machine has.

``simulate`` refuses a group of runs whose estimate exceeds the memory available, in one line naming both,
instead of failing part way with numpy's ``MemoryError`` (or the machine swapping). The estimate counts the
arrays that grow with the network and the run: J while it is drawn, P, the records, the recorded units and
the checkpoints kept; what is smaller than a vector of N is left out. It is an estimate of the peak, not a
measurement: it errs towards more, so that a run it admits fits.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..config import ExperimentConfig
from ..errors import ConfigError

F8, F4, I8 = 8, 4, 8  # bytes of float64, float32, int64


def run_bytes(config: ExperimentConfig) -> dict[str, int]:
    """The bytes of a run's largest arrays, by what they hold."""
    net, rec = config.network, config.recording
    n, n_out, n_steps = net.n_neurons, config.task.n_outputs, config.n_steps
    positions = round(net.connection_prob * n * n)
    if net.connectivity == "sprandn":  # drawn positions, their unique copy, rows and columns, values in f8 and f4
        drawing = positions * (I8 + I8 + 2 * I8 + F8 + F4)
    else:  # a uniform draw for every pair and its mask, then the positions found
        drawing = n * n * (F8 + 1) + positions * (2 * I8 + F8 + F4)
    j = drawing + positions * (2 * (F4 + I8))  # the CSR matrix and its fixed-point copy
    p = F8 * n * n if config.rule.name != "rmhl" else 0
    n_rec = -(-n_steps // rec.record_every)
    records = 2 * F8 * n_steps + F8 * n_rec * (3 * n_out + 5 + n_out)  # every step; every record_every steps
    n_units = len(rec.n_units) if isinstance(rec.n_units, tuple) else rec.n_units
    per_period = -(-config.n_period_steps // rec.units_every)
    samples = per_period * config.n_periods if n_units else 0
    units = F4 * samples * n_units * (2 if rec.record_states else 1)
    checkpoints = len(rec.checkpoints) * (p + F8 * n * (2 * n_out + 8) + records)
    # the result copies the records and units it keeps: counted twice
    return {"J": j, "P": p, "records": 2 * records, "units": 2 * units, "checkpoints": checkpoints}


def available_bytes() -> int | None:
    """The memory this process may still take: Linux's MemAvailable, or less under a cgroup's limit; None
    where neither can be read (then nothing is refused)."""
    found = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:  # cgroup v2: a container's limit, less what it uses
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            found.append(int(limit) - int(Path("/sys/fs/cgroup/memory.current").read_text()))
    except (OSError, ValueError):
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (AttributeError, ValueError, OSError):
            return None
    return max(0, min(found))


def size_text(n_bytes: float) -> str:
    """``n_bytes`` in the largest binary unit that keeps the number at or above 1, to 3 digits."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n_bytes < 1024 or unit == "PiB":
            return f"{n_bytes:.3g} {unit}"
        n_bytes /= 1024
    raise AssertionError("unreachable")


def memory_refusal(configs: list[ExperimentConfig], available: int | None = None) -> str | None:
    """Why the runs of ``configs``, held in memory together, cannot fit in ``available`` bytes (the machine's
    by default), or None."""
    available = available_bytes() if available is None else available
    if available is None:
        return None
    parts = [run_bytes(c) for c in configs]
    need = sum(sum(p.values()) for p in parts)
    if need <= available:
        return None
    largest = max(parts[0], key=parts[0].get)
    runs = f"{len(configs)} runs" if len(configs) > 1 else "the run"
    net = configs[0].network
    return (f"network.n_neurons = {net.n_neurons}: {runs} would need about {size_text(need)} of memory "
            f"({largest} alone {size_text(parts[0][largest])}), but {size_text(available)} are available")


def check_memory(configs: list[ExperimentConfig]) -> None:
    """Raise ``ConfigError`` with ``memory_refusal``'s line when the runs cannot fit."""
    why = memory_refusal(configs)
    if why:
        raise ConfigError(why)
