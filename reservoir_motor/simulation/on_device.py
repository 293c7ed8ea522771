"""Runs on a GPU: any batch of runs, each a thread block of one launch (``kernel.device``).

Each run is prepared exactly as on the CPU (``simulate.simulate_group`` makes its network, streams, state and
record arrays), the batch is copied to the device, one launch runs every run to its end or its divergence, and
the arrays come back into the members, which make their results as the CPU path does. A result made here names
the device in its provenance. What the device engine does not cover yet is refused in one line, before anything
runs: it never falls back to the CPU silently.
"""

from __future__ import annotations

import time

import numpy as np

from ..config import ExperimentConfig
from ..kernel import codes
from ..kernel import streams as S

#: threads per run: a power of two; 256 on a GPU, a few in the simulator's tests
THREADS = 256


def unsupported(config: ExperimentConfig) -> str | None:
    """Why the device engine cannot run ``config`` yet (field, value, what it allows), or None."""
    rule, task, rec = config.rule, config.task, config.recording
    checks = [
        (task.effector in ("identity", "arm", "arm_dynamics"), "task.effector", task.effector,
         "a built-in plant (a user's plant is not on the device yet)"),
        (not config.network.state_input, "network.state_input", config.network.state_input, "false yet"),
        (rule.adaptive_threshold == 0.0, "rule.adaptive_threshold", rule.adaptive_threshold, "0 yet"),
        (rule.exploration_filter == 1.0, "rule.exploration_filter", rule.exploration_filter, "1 (no correlated "
         "exploration) yet"),
        (rec.n_units == 0, "recording.n_units", rec.n_units, "0 (no recorded units) yet"),
        (not rec.checkpoints, "recording.checkpoints", rec.checkpoints, "none yet"),
    ]
    for ok, field, value, allowed in checks:
        if not ok:
            return f"{field} = {value!r} is not allowed with device='cuda': {allowed}"
    return None


def unavailable() -> str | None:
    """Why no GPU can run here, in one line, or None (a CUDA GPU, or numba's CUDA simulator when
    ``NUMBA_ENABLE_CUDASIM=1``)."""
    try:
        from numba import cuda
        from numba.cuda import config
    except ImportError:
        return "device='cuda' needs numba-cuda: pip install 'reservoir-motor[cuda]'"
    if not config.ENABLE_CUDASIM and not cuda.is_available():
        return ("device='cuda' is not allowed here: numba finds no CUDA GPU and driver "
                "(NUMBA_ENABLE_CUDASIM=1 runs numba's CUDA simulator instead: slow, for tests)")
    return None


def refusal(runs: list[dict]) -> str | None:
    """Why the device cannot run ``runs`` (``simulate``'s arguments as dicts), in one line naming the run, or None."""
    why = unavailable()
    if why:
        return why
    for i, run in enumerate(runs):
        why = unsupported(run["config"])
        if why:
            return f"runs[{i}]: {why}"
        if run.get("start") is not None:
            return f"runs[{i}]: start = a checkpoint is not allowed with device='cuda' yet"
    if len({run["config"].n_steps for run in runs}) > 1:
        return "runs of one batch on the device must have the same number of steps yet"
    return None


def run_members(members: list, threads: int = THREADS) -> None:
    """Run the prepared runs ``members`` (``simulate._Member``, sharing J) on the GPU to their ends, then let each
    make its result. Every one must have passed ``refusal``."""
    from ..kernel import device  # numba-cuda is needed only here

    n_steps = members[0].config.n_steps
    batch = Batch(members, threads)
    for m in members:
        m.begin()
    t0 = time.perf_counter()
    batch.launch(device.kernel(threads), n_steps)
    batch.copy_back()
    wall = time.perf_counter() - t0
    made_on = device_provenance()
    for m in members:
        m.prov.update(made_on)
        diverged = int(m.state.scalars[codes.S_DIVERGED])
        m.finish_at(n_steps if diverged < 0 else diverged + 1, wall)


def device_provenance() -> dict:
    """The device, its driver and numba-cuda's version, for a result's provenance."""
    from importlib.metadata import version

    from numba import cuda
    from numba.cuda import config

    if config.ENABLE_CUDASIM:
        name, driver = "numba CUDA simulator", ""
    else:  # pragma: no cover - a GPU
        dev = cuda.get_current_device()
        name = dev.name.decode() if isinstance(dev.name, bytes) else str(dev.name)
        driver = ".".join(map(str, cuda.cudadrv.driver.driver.get_version()))
    return {"device": name, "cuda_driver": driver, "numba_cuda_version": version("numba-cuda")}


def _padded(arrays: list) -> np.ndarray:
    """The runs' arrays stacked, each padded with zeros to the largest along every axis (runs of one batch may
    differ in outputs, plant, schedule and records); each run reads only its own sizes (``device.pack_params``),
    and a schedule row of zeros is never active (start = stop = 0)."""
    arrays = [np.asarray(a) for a in arrays]
    shape = tuple(max(sizes) for sizes in zip(*(a.shape for a in arrays), strict=True))
    out = np.zeros((len(arrays), *shape), dtype=arrays[0].dtype)
    for i, a in enumerate(arrays):
        out[(i, *map(slice, a.shape))] = a
    return out


class Batch:
    """The members' arrays stacked along a first axis of runs (``host``), and their copies on the device."""

    def __init__(self, members: list, threads: int):
        from ..kernel import device

        self.members = members
        st = [m.state for m in members]
        self.host = dict(
            prm=np.stack([device.pack_params(m.member[0], m.state.z.size, m.state.plant_state.size,
                                             m.fixed.plant_params.size, m.fixed.costs.size) for m in members]),
            costs=_padded([np.zeros(1) if not m.fixed.costs.size else m.fixed.costs for m in members]),
            plant_params=_padded([m.fixed.plant_params if m.fixed.plant_params.size else np.zeros(1)
                                  for m in members]),
            PLANT_STATE=_padded([s.plant_state if s.plant_state.size else np.zeros(1) for s in st]),
            ZBAR_TOTAL=_padded([s.zbar_total for s in st]),
            targets=_padded([m.fixed.targets for m in members]),
            schedule=_padded([m.fixed.schedule if m.fixed.schedule.size else np.zeros((1, 5)) for m in members]),
            mods=np.stack([s.mods for s in st]),
            X=_padded([s.x for s in st]), R=_padded([s.r for s in st]), JR=_padded([s.Jr for s in st]),
            FB=_padded([s.fb for s in st]), Z=_padded([s.z for s in st]), ZE=_padded([s.z_exp for s in st]),
            ZM=_padded([s.z_mst for s in st]), ZBAR=_padded([s.zbar for s in st]),
            HAND=_padded([s.hand for s in st]), W_exp=_padded([s.W_exp for s in st]),
            W_mst=_padded([s.W_mst for s in st]),
            P=_padded([s.P if s.P.size > 1 else np.zeros((s.x.size, s.x.size)) for s in st]),
            KV=_padded([s.k for s in st]), PEND=_padded([s.pend_k for s in st]), SC=_padded([s.scalars for s in st]),
            REPLAY=_padded([s.replay for s in st]),
            rec_error=_padded([m.rec.error for m in members]),
            rec_distance=_padded([m.rec.distance for m in members]),
            rec_z=_padded([m.rec.z for m in members]), rec_zexp=_padded([m.rec.z_exp for m in members]),
            rec_hand=_padded([m.rec.hand for m in members]), rec_nexp=_padded([m.rec.norm_exp for m in members]),
            rec_nmst=_padded([m.rec.norm_mst for m in members]), rec_gate=_padded([m.rec.gate for m in members]),
            rec_plant=_padded([m.rec.plant_state if m.rec.plant_state.size else np.zeros((1, 1))
                               for m in members]),
        )
        n = st[0].x.size
        noise, explore = [], []
        for m in members:
            state, inc = S.state_of(m.streams["reservoir_noise"])
            noise.append((S.split(state), device.jump_rows(inc, threads, n)))
            state_e, inc_e = S.state_of(m.streams["exploration"])
            explore.append((S.split(state_e), S.jump_table([1], inc_e)[0]))
        self.host["noise_state"] = np.array([s for s, _ in noise], dtype=np.uint64)
        self.host["noise_jumps"] = np.stack([j for _, j in noise])
        self.host["explore_state"] = np.array([s for s, _ in explore], dtype=np.uint64)
        self.host["explore_jump"] = np.stack([j for _, j in explore])
        # the runs' J end to end, once per distinct network; each run's row pointers offset into them
        data, indices, indptr, seen = [], [], [], {}
        offset = 0
        for m in members:
            f = m.fixed
            key = (f.J_data.tobytes(), f.J_indices.tobytes(), f.J_indptr.tobytes())
            if key not in seen:
                seen[key] = offset
                data.append(f.J_data)
                indices.append(f.J_indices)
                offset += f.J_data.size
            indptr.append(f.J_indptr + np.uint64(seen[key]))
        self.shared = (np.concatenate(data), np.concatenate(indices), np.stack(indptr),
                       np.array([float(m.fixed.J_unscale) for m in members]), _padded([m.fixed.Q for m in members]))
        self.threads = threads
        self.dev = None

    ORDER = ("PLANT_STATE", "ZBAR_TOTAL", "X", "R", "JR", "FB", "Z", "ZE", "ZM", "ZBAR", "HAND", "W_exp", "W_mst",
             "P", "KV", "PEND", "SC", "REPLAY", "noise_state", "noise_jumps", "explore_state", "explore_jump",
             "rec_error", "rec_distance", "rec_z", "rec_zexp", "rec_hand", "rec_nexp", "rec_nmst", "rec_gate",
             "rec_plant")

    def arguments(self, n_steps: int, arrays: dict) -> tuple:
        """The kernel's arguments in its order, taking the per-run arrays from ``arrays`` (host or device)."""
        data, indices, indptr, unscale, Q = self.shared
        return (n_steps, arrays["prm"], data, indices, indptr, unscale, Q, arrays["targets"], arrays["schedule"],
                arrays["mods"], arrays["costs"], arrays["plant_params"], *(arrays[k] for k in self.ORDER))

    def launch(self, kernel, n_steps: int) -> None:
        from numba import cuda

        self.dev = {k: cuda.to_device(v) for k, v in self.host.items()}
        args = [cuda.to_device(a) if isinstance(a, np.ndarray) else a for a in self.arguments(n_steps, self.dev)]
        kernel[len(self.members), self.threads](*args)
        cuda.synchronize()

    def copy_back(self) -> None:
        """The device's arrays into the members' state and record arrays (which the results are made from), each
        run's own sizes cut from the padded ones."""
        out = {k: self.dev[k].copy_to_host() for k in (*self.ORDER, "mods")}

        def put(target, key, b):
            if target.size:
                target[...] = out[key][(b, *map(slice, target.shape))]

        for b, m in enumerate(self.members):
            st, rec = m.state, m.rec
            for name, key in (("x", "X"), ("r", "R"), ("Jr", "JR"), ("fb", "FB"), ("z", "Z"), ("z_exp", "ZE"),
                              ("z_mst", "ZM"), ("zbar", "ZBAR"), ("zbar_total", "ZBAR_TOTAL"), ("hand", "HAND"),
                              ("plant_state", "PLANT_STATE"), ("W_exp", "W_exp"), ("W_mst", "W_mst"), ("k", "KV"),
                              ("pend_k", "PEND"), ("scalars", "SC"), ("mods", "mods"), ("replay", "REPLAY")):
                put(getattr(st, name), key, b)
            if st.P.size > 1:
                put(st.P, "P", b)
            for name, key in (("error", "rec_error"), ("distance", "rec_distance"), ("z", "rec_z"),
                              ("z_exp", "rec_zexp"), ("hand", "rec_hand"), ("norm_exp", "rec_nexp"),
                              ("norm_mst", "rec_nmst"), ("gate", "rec_gate"), ("plant_state", "rec_plant")):
                put(getattr(rec, name), key, b)
