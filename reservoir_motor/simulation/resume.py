"""Resuming one long run: it writes its checkpoints into a side file as it goes, and the same command run
again continues from the last one, with the numbers of an uninterrupted run.

The side file of the result ``OUT.h5`` is ``OUT.h5.resume`` (not ``*.h5``: readers of a directory of
results skip it). It holds the run's root attributes, with ``checkpoint_file = True``, and
``/checkpoints/period<K>`` for the latest checkpoint and for those of ``recording.checkpoints`` taken so
far (they belong in the final result). Every write goes to a temporary name, is flushed to disk and then
renamed over the previous side file, so a killed run leaves the previous side file or the new one, each
whole, never one that looks whole and is not. When the run ends its result is written as without
checkpoints, and the side file removed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..config import ExperimentConfig
from ..errors import ConfigError
from ..storage.checkpoint import Checkpoint, read_checkpoints
from ..storage.files import written_atomically
from ..storage.provenance import ORIGIN_KEYS, provenance
from ..storage.result import Result, config_digest, root_attributes
from .continuation import continued_from


def side_path(result_path) -> Path:
    """Where the run writing ``result_path`` keeps its checkpoints."""
    result_path = Path(result_path)
    return result_path.with_name(result_path.name + ".resume")


def _partials(side: Path) -> list[Path]:
    return list(side.parent.glob(f".{side.name}.*.partial"))


class SideFile:
    """The ``on_checkpoint`` of :func:`~reservoir_motor.simulate` that keeps the side file current."""

    def __init__(self, path: Path, config: ExperimentConfig, seed: int, origin: dict, kept: dict | None = None):
        self.path, self.config, self.seed, self.origin = Path(path), config, seed, dict(origin)
        self.kept = dict(kept or {})  # the config's own checkpoints taken so far

    def __call__(self, ck: Checkpoint) -> None:
        if ck.period in self.config.recording.checkpoints:
            self.kept[ck.period] = ck
        self.write({**self.kept, ck.period: ck})

    def write(self, checkpoints: dict) -> None:
        import h5py

        with written_atomically(self.path, sync=True) as tmp:  # on disk before it takes the side file's name
            with h5py.File(tmp, "w") as f:
                f.attrs.update(root_attributes(self.config, self.seed, {**provenance(), **self.origin}))
                f.attrs["checkpoint_file"] = True
                g = f.create_group("checkpoints")
                for period in sorted(checkpoints):
                    checkpoints[period].write(g)
                f.attrs["complete"] = True


def _check_side(side: Path, checkpoints: dict, config: ExperimentConfig, seed: int, origin: dict) -> None:
    """The side file must be this very run's: same config, seed and source."""
    ck = checkpoints[max(checkpoints)]
    same = (config_digest(ck.config) == config_digest(config) and ck.seed == seed
            and {k: ck.origin.get(k) for k in ("continued_from_digest", "continued_from_period")}
            == {k: origin.get(k) for k in ("continued_from_digest", "continued_from_period")})
    if not same:
        source = (f", continued from period {ck.origin['continued_from_period']} of a run of digest "
                  f"{ck.origin['continued_from_digest']}" if ck.origin else "")
        raise ConfigError(f"{str(side)!r} holds the checkpoints of another run ({ck.config.name!r}, config digest "
                          f"{config_digest(ck.config)}, seed {ck.seed}{source}): delete it to start this run afresh")


def check_every(every) -> None:
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ConfigError(f"--checkpoint-every {every!r} is not allowed: must be an integer >= 1 (periods)")


def run_resumable(config: ExperimentConfig, seed: int, out_path, every: int, *, start: Checkpoint | None = None,
                  progress: Callable[[int, int], None] | None = None, n_chunks: int = 50,
                  announce: Callable[[str], None] | None = None, device: str = "cpu") -> tuple[Result, Path]:
    """Simulate ``config`` with ``seed`` (on ``device``, as ``simulate``) into the result file ``out_path``, writing a
    checkpoint every ``every`` periods into its side file, or resume from that side file when a killed run left one.

    Returns the result and the path it was saved to; the side file is gone once the result is written.
    """
    from .simulate import simulate

    check_every(every)
    side = side_path(out_path)
    side.parent.mkdir(parents=True, exist_ok=True)  # the result's directory may not exist yet
    origin = continued_from(start) if start is not None else {}
    kept, resumed = {}, None
    if side.exists():
        checkpoints = read_checkpoints(side)
        _check_side(side, checkpoints, config, seed, origin)
        resumed = max(checkpoints)
        start = checkpoints[resumed]
        kept = {k: ck for k, ck in checkpoints.items() if k in config.recording.checkpoints}
        if announce is not None:
            announce(f"resuming from period {resumed} of {side}")
    result = simulate(config, seed, start=start, progress=progress, n_chunks=n_chunks, checkpoint_every=every,
                      on_checkpoint=SideFile(side, config, seed, origin, kept), device=device)
    if resumed is not None:  # the same run: its source is the run's own, not the side file
        for key in ORIGIN_KEYS:
            result.provenance.pop(key, None)
        result.provenance.update(origin, resumed_from_period=resumed)
        result.checkpoints = {**kept, **result.checkpoints}
    path = result.save(out_path)
    side.unlink(missing_ok=True)
    for partial in _partials(side):  # left by a process killed while writing
        partial.unlink(missing_ok=True)
    return result, path
