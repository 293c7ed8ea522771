"""Runs on a GPU: any batch of runs, each a thread block of one launch (``kernel.device``).

Each run is prepared exactly as on the CPU (``simulate.simulate_group`` makes its network, streams, state and
record arrays), the batch is copied to the device, one launch runs every run to its end or its divergence, and
the arrays come back into the members, which make their results as the CPU path does. A result made here names
the device in its provenance. What the device engine does not cover yet is refused in one line, before anything
runs: it never falls back to the CPU silently.
"""

from __future__ import annotations

import numpy as np

from ..config import ExperimentConfig
from ..kernel import codes
from ..kernel import streams as S
from .memory import run_bytes, size_text

#: threads per run on a GPU: a power of two
THREADS = 256
#: threads per run in numba's CUDA simulator, where each is a Python thread
SIMULATOR_THREADS = 4


def default_threads() -> int:
    """The threads per run when the caller names none: ``THREADS`` on a GPU, ``SIMULATOR_THREADS`` in the simulator."""
    from numba.cuda import config

    return SIMULATOR_THREADS if config.ENABLE_CUDASIM else THREADS


def unsupported(config: ExperimentConfig) -> str | None:
    """Why the device engine cannot run ``config`` (field, value, what it allows), or None. It runs every
    validated config but one whose user's plant numba-cuda cannot compile for the device (its step compiled alone
    here, once per process)."""
    step = plant_step_of(config)
    if step is None or unavailable():  # no device here to compile for: the batch's own process checks it
        return None
    from ..kernel import device

    why = device.plant_compile_error(step)
    if why:
        return (f"task.effector = {config.task.effector!r} is not allowed with device='cuda': numba-cuda cannot "
                f"compile its step: {why}")
    return None


def plant_step_of(config: ExperimentConfig):
    """The user's plant step a run needs compiled into the kernel, or None for a built-in plant."""
    from .. import kinds

    plant = kinds.effector(config.task.effector)
    return plant.step if plant.code == kinds.USER_PLANT else None


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
        effector, first = run["config"].task.effector, runs[0]["config"].task.effector
        if plant_step_of(run["config"]) is not plant_step_of(runs[0]["config"]):
            return (f"runs[{i}]: task.effector = {effector!r} is not allowed in a batch with {first!r} on the "
                    "device: a user's plant is compiled into the kernel, so its runs make a batch of their own")
    return device_memory_refusal([run["config"] for run in runs])


def batch_bytes(configs: list[ExperimentConfig]) -> int:
    """The device memory a batch of ``configs`` takes, about: each run's P (padded to the largest network), its
    records and recorded units, and its J (``memory.run_bytes``, which counts more than the device holds)."""
    n = max(c.network.n_neurons for c in configs)
    total = 0
    for c in configs:
        part = run_bytes(c)
        total += 8 * n * n + part["records"] // 2 + part["units"] // 2 + part["J"] // 2
    return total


def device_free_bytes() -> int | None:
    """The free memory of the current GPU, or None in numba's simulator."""
    from numba import cuda
    from numba.cuda import config

    if config.ENABLE_CUDASIM:
        return None
    return int(cuda.current_context().get_memory_info()[0])  # pragma: no cover - a GPU


def device_memory_refusal(configs: list[ExperimentConfig], free: int | None = None) -> str | None:
    """Why the batch of ``configs`` cannot fit in the GPU's free memory (``free`` bytes, the device's by default),
    or None."""
    free = device_free_bytes() if free is None else free
    need = batch_bytes(configs)
    if free is None or need <= free:
        return None
    return (f"{len(configs)} runs need about {size_text(need)} of GPU memory, but {size_text(free)} are free: "
            "run fewer at once (sweep --device cuda makes batches that fit)")


def run_members(members: list, threads: int) -> None:
    """Run the prepared runs ``members`` (``simulate._Member``) on the GPU to their ends, each from its own step
    (a continued checkpoint) to its own length, stopping the launch at each run's bounds (progress and
    checkpoints, as the CPU loop stops), then let each make its result. Every one must have passed ``refusal``."""
    from ..kernel import device

    kernel = device.kernel(threads, plant_step_of(members[0].config))
    batch = Batch(members, threads)
    made_on = device_provenance()
    s_now = np.array([m.step for m in members], dtype=np.int64)
    s_end = s_now.copy()
    for i, m in enumerate(members):
        m.prov.update(made_on)
        m.begin()
        s_end[i] = m.next_bound()
        if s_end[i] == s_now[i]:  # nothing left to simulate
            m.reached(m.step)
    batch.upload()
    while (s_now < s_end).any():
        batch.launch(kernel, s_now, s_end)
        scalars = batch.dev["SC"].copy_to_host()
        for i, m in enumerate(members):
            if s_now[i] == s_end[i]:
                continue
            m.state.scalars[...] = scalars[i, :m.state.scalars.size]
            diverged = int(m.state.scalars[codes.S_DIVERGED])
            step = diverged + 1 if diverged >= 0 else int(s_end[i])
            if m.reads_arrays(step):
                batch.copy_back(i)
            s_now[i] = step
            s_end[i] = m.reached(step)


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


def _symmetric(P: np.ndarray) -> np.ndarray:
    """P from its upper triangle, which is all the CPU loop keeps up to date (``kernel.loop``): a continued
    checkpoint's lower triangle may be stale."""
    return np.triu(P) + np.triu(P, 1).T


class Batch:
    """The members' arrays stacked along a first axis of runs (``host``), and their copies on the device."""

    def __init__(self, members: list, threads: int):
        from ..kernel import device

        self.members = members
        st = [m.state for m in members]
        fx = [m.fixed for m in members]

        def some(a, shape):  # a run's array, or zeros of ``shape`` where it has none (the kernel reads its sizes)
            return a if a.size else np.zeros(shape, a.dtype)

        self.host = dict(
            prm=np.stack([device.pack_params(m.member[0], n_out=m.state.z.size, n_state=m.state.plant_state.size,
                                             n_plant_params=m.fixed.plant_params.size, n_costs=m.fixed.costs.size,
                                             n_signal=m.fixed.Q_state.shape[1], n_units=m.fixed.units.size,
                                             records_states=m.rec.states.shape[0] > 0) for m in members]),
            targets=_padded([f.targets for f in fx]),
            schedule=_padded([some(f.schedule, (1, 5)) for f in fx]),
            mods=np.stack([s.mods for s in st]),
            costs=_padded([some(f.costs, 1) for f in fx]),
            plant_params=_padded([some(f.plant_params, 1) for f in fx]),
            Q_STATE=_padded([some(f.Q_state, (1, 1)) for f in fx]),
            STATE_SIGNAL=_padded([some(f.state_signal, (1, 1)) for f in fx]),
            UNITS=_padded([some(f.units, 1) for f in fx]),
            UNIT_OFFSETS=_padded([f.unit_offsets for f in fx]),
            PLANT_STATE=_padded([some(s.plant_state, 1) for s in st]),
            ZBAR_TOTAL=_padded([s.zbar_total for s in st]),
            X=_padded([s.x for s in st]), R=_padded([s.r for s in st]), JR=_padded([s.Jr for s in st]),
            FB=_padded([s.fb for s in st]), Z=_padded([s.z for s in st]), ZE=_padded([s.z_exp for s in st]),
            ZM=_padded([s.z_mst for s in st]), ZBAR=_padded([s.zbar for s in st]),
            HAND=_padded([s.hand for s in st]), XI=_padded([s.xi for s in st]),
            W_exp=_padded([s.W_exp for s in st]), W_mst=_padded([s.W_mst for s in st]),
            ELIG=_padded([s.elig for s in st]), BASELINE=_padded([s.baseline for s in st]),
            P=_padded([_symmetric(s.P) if s.P.size > 1 else np.zeros((s.x.size, s.x.size)) for s in st]),
            KV=_padded([s.k for s in st]), PEND=_padded([s.pend_k for s in st]), SC=_padded([s.scalars for s in st]),
            REPLAY=_padded([s.replay for s in st]),
            rec_error=_padded([m.rec.error for m in members]),
            rec_distance=_padded([m.rec.distance for m in members]),
            rec_z=_padded([m.rec.z for m in members]), rec_zexp=_padded([m.rec.z_exp for m in members]),
            rec_hand=_padded([m.rec.hand for m in members]), rec_nexp=_padded([m.rec.norm_exp for m in members]),
            rec_nmst=_padded([m.rec.norm_mst for m in members]), rec_gate=_padded([m.rec.gate for m in members]),
            rec_plant=_padded([some(m.rec.plant_state, (1, 1)) for m in members]),
            rec_rates=_padded([some(m.rec.rates, (1, 1)) for m in members]),
            rec_states=_padded([some(m.rec.states, (1, 1)) for m in members]),
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
        for f in fx:
            key = (f.J_data.tobytes(), f.J_indices.tobytes(), f.J_indptr.tobytes())
            if key not in seen:
                seen[key] = offset
                data.append(f.J_data)
                indices.append(f.J_indices)
                offset += f.J_data.size
            indptr.append(f.J_indptr + np.uint64(seen[key]))
        self.shared = (np.concatenate(data), np.concatenate(indices), np.stack(indptr),
                       np.array([float(f.J_unscale) for f in fx]), _padded([f.Q for f in fx]))
        self.threads = threads
        self.dev = None

    #: the kernel's per-run arguments, after the shared network, in its order
    ORDER = ("targets", "schedule", "mods", "costs", "plant_params", "Q_STATE", "STATE_SIGNAL", "UNITS",
             "UNIT_OFFSETS", "PLANT_STATE", "ZBAR_TOTAL", "X", "R", "JR", "FB", "Z", "ZE", "ZM", "ZBAR", "HAND", "XI",
             "W_exp", "W_mst", "ELIG", "BASELINE", "P", "KV", "PEND", "SC", "REPLAY", "noise_state", "noise_jumps",
             "explore_state", "explore_jump", "rec_error", "rec_distance", "rec_z", "rec_zexp", "rec_hand", "rec_nexp",
             "rec_nmst", "rec_gate", "rec_plant", "rec_rates", "rec_states")
    #: where each comes back to: a state array (``kernel.loop.State``) or a record (``kernel.loop.Record``)
    STATE_OF = dict(X="x", R="r", JR="Jr", FB="fb", Z="z", ZE="z_exp", ZM="z_mst", ZBAR="zbar",
                    ZBAR_TOTAL="zbar_total", HAND="hand", PLANT_STATE="plant_state", XI="xi", W_exp="W_exp",
                    ELIG="elig", BASELINE="baseline", W_mst="W_mst", P="P", KV="k", PEND="pend_k", SC="scalars",
                    mods="mods", REPLAY="replay")
    RECORD_OF = dict(rec_error="error", rec_distance="distance", rec_z="z", rec_zexp="z_exp", rec_hand="hand",
                     rec_nexp="norm_exp", rec_nmst="norm_mst", rec_gate="gate", rec_plant="plant_state",
                     rec_rates="rates", rec_states="states")

    def arguments(self, s_now, s_end, arrays: dict, shared: tuple) -> tuple:
        """The kernel's arguments in its order: the per-run arrays from ``arrays`` and the network's from
        ``shared`` (both the host's, or both the device's copies)."""
        data, indices, indptr, unscale, Q = shared
        return (s_now, s_end, arrays["prm"], data, indices, indptr, unscale, Q, *(arrays[k] for k in self.ORDER))

    def upload(self) -> None:
        from numba import cuda

        self.dev = {k: cuda.to_device(v) for k, v in self.host.items()}
        self.dev_shared = tuple(cuda.to_device(a) for a in self.shared)

    def launch(self, kernel, s_now: np.ndarray, s_end: np.ndarray) -> None:
        """Run every run b from step ``s_now[b]`` to ``s_end[b]`` (or its divergence), in one launch."""
        from numba import cuda

        args = self.arguments(cuda.to_device(s_now), cuda.to_device(s_end), self.dev, self.dev_shared)
        kernel[len(self.members), self.threads, 0, 8 * self.threads](*args)  # shared: one float64 a thread
        cuda.synchronize()

    def copy_back(self, b: int) -> None:
        """Run ``b``'s arrays from the device into its state, records and random streams (which its checkpoints
        and its result are made from), its own sizes cut from the padded ones."""
        m = self.members[b]
        for key, name in (*self.STATE_OF.items(), *self.RECORD_OF.items()):
            target = getattr(m.state if key in self.STATE_OF else m.rec, name)
            if key == "P" and target.size == 1:
                continue  # a rule without RLS
            if target.size:
                target[...] = self.dev[key][b].copy_to_host()[tuple(map(slice, target.shape))]
        noise, explore = self.dev["noise_state"][b].copy_to_host(), self.dev["explore_state"][b].copy_to_host()
        S.put_state(m.streams["reservoir_noise"], *noise)
        S.put_state(m.streams["exploration"], *explore)
