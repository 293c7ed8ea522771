"""Run one experiment: validate, prepare arrays, call the compiled loop, summarise.

``simulate(config, seed)`` is a pure function of its arguments: the same pair gives the same numbers.
``simulate(config, seed, start=checkpoint)`` continues a saved learner (``storage.checkpoint``); under the
checkpoint's own config it gives the numbers of the uninterrupted run.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable

import numpy as np

from .. import kinds
from ..config import ExperimentConfig
from ..errors import ConfigError
from ..kernel import codes
from ..kernel import loop as K
from ..kinds import HAND_DIMENSIONS
from ..plants import make_target
from ..storage.activity import Activity
from ..storage.checkpoint import Checkpoint, capture
from ..storage.provenance import provenance
from ..storage.result import Result
from .continuation import continued_from, restore, target_with_prefix
from .memory import check_memory
from .network import make_network, make_state_input, make_streams, recorded_units


def _replay_steps(config: ExperimentConfig, keep_replay: bool = False) -> int:
    """Length of the replay buffer: a replaying test needs the last training periods; so does a run that saves
    checkpoints, which may be continued with a replaying test (or is asked to ``keep_replay``). Otherwise one
    slot: the buffer is not read, and its length changes no number of the run."""
    keep = keep_replay or config.schedule.test_feedback == "replay" or config.recording.checkpoints
    return config.replay_lag_steps if keep else 1


def _transfer_moves(config: ExperimentConfig) -> bool:
    """A moving transfer, or the scripts' copy; a redundant arm (more joints than the hand's 2 dimensions)
    has a null space in which the copy's amplification drifts unseen by the reward. Only a rule with both
    pathways transfers."""
    kind = kinds.RULES[config.rule.name]
    if not (kind.has_exploratory and kind.has_mastery):
        return False
    if config.rule.transfer == "move_if_redundant":
        return config.task.n_outputs > HAND_DIMENSIONS
    return config.rule.transfer == "move"


def kernel_params(config: ExperimentConfig, keep_replay: bool = False) -> K.Params:
    """The scalars of the compiled loop, from a validated config."""
    net, rule, sched, recd = config.network, config.rule, config.schedule, config.recording
    kind = kinds.RULES[rule.name]
    return K.Params(
        **kind.kernel_flags(), teacher=kinds.teacher_code(kind, rule.supervisor),
        effector=kinds.effector(config.task.effector).code,
        test_feedback=kinds.FEEDBACK[sched.test_feedback], dt_s=net.dt_ms / 1000.0,
        n_train_steps=config.n_train_steps, n_period_steps=config.n_period_steps,
        replay_lag=_replay_steps(config, keep_replay), rls_every=rule.rls_every,
        record_every=recd.record_every, units_every=recd.units_every,
        dt_over_tau=net.dt_ms / net.tau_ms, noise_amplitude=net.noise_amplitude,
        state_source=kinds.STATE_SIGNALS[net.state_signal].source,
        state_amplitude=net.state_amplitude,
        learning_rate=rule.learning_rate * (HAND_DIMENSIONS / config.task.n_outputs
                                            if rule.exploratory_normalisation == "joints" else 1.0),
        phi_odd=rule.phi == "odd", phi_gain=rule.phi_gain,
        phi_exponent=rule.phi_exponent, psi_prefactor=rule.psi_prefactor, psi_exponent=rule.psi_exponent,
        exploration_filter=rule.exploration_filter,
        exploration_scale=np.sqrt((2.0 - rule.exploration_filter) / rule.exploration_filter),
        eligibility_filter=rule.eligibility_filter, hebbian_perturbation=rule.hebbian_term == "perturbation",
        phase_baseline=rule.phase_baseline, trial_steps=round(rule.trial_ms / net.dt_ms),
        error_filter=rule.error_filter, output_filter=rule.output_filter, kappa=rule.kappa,
        threshold=rule.transfer_threshold, gate_steepness=rule.gate_steepness,
        transfer_moves=_transfer_moves(config), adaptive_threshold=rule.adaptive_threshold,
        cost_on_movement=config.task.cost_signal == "movement", effort_cost=config.task.effort_cost,
        distance_filter=recd.distance_filter, divergence_bound=recd.divergence_bound,
    )


def initial_state(config: ExperimentConfig, x0: np.ndarray, keep_replay: bool = False) -> K.State:
    """Fresh state arrays: r(0) = tanh(x(0)) without noise, zero readouts, P = I / gamma."""
    n, n_out = config.network.n_neurons, config.task.n_outputs
    scalars = np.zeros(codes.N_SCALARS)
    scalars[codes.S_BETA] = config.rule.initial_exploration
    scalars[codes.S_DIVERGED] = -1.0
    needs_p = config.rule.name != "rmhl"
    plant = kinds.effector(config.task.effector)
    r0 = np.empty(n)
    K.tanh_into(x0, r0)  # the loop's own tanh, not numpy's
    return K.State(
        x=x0.copy(), r=r0, Jr=np.zeros(n), fb=np.zeros(n_out),
        z=np.zeros(n_out), z_exp=np.zeros(n_out), z_mst=np.zeros(n_out), zbar=np.zeros(n_out),
        zbar_total=np.zeros(n_out), hand=np.zeros(2), xi=np.zeros(n_out),
        plant_state=np.array(plant.initial_state(plant_params(config)), dtype=np.float64).reshape(plant.n_state),
        W_exp=np.zeros((n_out, n)), W_mst=np.zeros((n_out, n)), elig=np.zeros((n_out, n)),
        baseline=K.unset_baseline(config.n_period_steps, config.rule.phase_baseline),
        P=np.eye(n) / config.network.rls_regularisation if needs_p else np.zeros((1, 1)),
        k=np.zeros(n), pend_k=np.zeros(n),
        replay=np.zeros((_replay_steps(config, keep_replay), n_out)),
        scalars=scalars, mods=np.array(codes.NEUTRAL),
    )


def plant_params(config: ExperimentConfig) -> np.ndarray:
    """The plant's parameter vector (``kinds.Effector.params``), as the compiled loop reads it."""
    return np.ascontiguousarray(kinds.effector(config.task.effector).params(config.task), dtype=np.float64)


def unit_offsets(config: ExperimentConfig) -> np.ndarray:
    """Per period, the row of its first unit sample in the activity record, or -1 when it is not recorded."""
    rec, sched = config.recording, config.schedule
    n_periods = config.n_periods
    window = rec.units_window
    if window == "all":
        on = np.ones(n_periods, bool)
    elif window in ("train", "test"):
        on = (np.arange(n_periods) < sched.n_train_trials) == (window == "train")
    else:
        on = np.isin(np.arange(n_periods), window)
    if rec.n_units == 0:
        on[:] = False
    per_period = -(-config.n_period_steps // rec.units_every)
    return np.where(on, (np.cumsum(on) - 1) * per_period, -1).astype(np.int64)


def empty_record(config: ExperimentConfig, n_units: int, n_samples: int) -> K.Record:
    n_steps, n_out = config.n_steps, config.task.n_outputs
    n_rec = -(-n_steps // config.recording.record_every)
    n_states = n_samples if config.recording.record_states else 0
    return K.Record(
        error=np.zeros(n_steps), distance=np.zeros(n_steps),
        z=np.zeros((n_rec, n_out)), z_exp=np.zeros((n_rec, n_out)), hand=np.zeros((n_rec, 2)),
        norm_exp=np.zeros(n_rec), norm_mst=np.zeros(n_rec), gate=np.zeros(n_rec),
        plant_state=np.zeros((n_rec, kinds.effector(config.task.effector).n_state)),
        rates=np.zeros((n_samples, n_units), np.float32), states=np.zeros((n_states, n_units), np.float32),
    )


def sample_steps(config: ExperimentConfig, offsets: np.ndarray) -> np.ndarray:
    """The step of every row of the activity record."""
    per, every = config.n_period_steps, config.recording.units_every
    in_period = np.arange(0, per, every)
    return np.concatenate([k * per + in_period for k in np.flatnonzero(offsets >= 0)] or [np.zeros(0, np.int64)])


def schedule_rows(config: ExperimentConfig) -> tuple[np.ndarray, np.ndarray]:
    """The manipulation schedule as rows of (slot, op, start_step, stop_step, value), and the target
    curves (the task's first, then one per manipulation that takes a target: its value is the curve's index)."""
    rows, curves = [], [make_target(config)]
    for m in config.manipulations:
        kind = kinds.MANIPULATIONS[m.kind]
        start, stop = config.manipulation_steps(m)
        value = m.value
        if kind.takes_target:
            curves.append(make_target(config, m.target))
            value = len(curves) - 1
        rows.append((kind.slot, kind.op, start, stop, value))
    return np.array(rows, dtype=np.float64).reshape(-1, 5), np.stack(curves)


def target_trace(schedule: np.ndarray, targets: np.ndarray, n_period_steps: int, steps: np.ndarray) -> np.ndarray:
    """The target at each of ``steps``, following the switch_target rows as the compiled loop does."""
    curve = np.zeros(steps.size, dtype=np.int64)
    for slot, _, start, stop, value in schedule:
        if int(slot) == codes.SLOT_CURVE:
            curve[(steps >= start) & (steps < stop)] = int(value)
    return targets[curve, steps % n_period_steps]


def _capture_periods(config: ExperimentConfig, first: int, every: int, at=()) -> tuple[set, set]:
    """The periods >= ``first`` whose checkpoint the run keeps (``recording.checkpoints``) and those it hands to
    ``on_checkpoint`` (those, every ``every``-th before the last, and those of ``at``)."""
    n_periods = config.n_periods
    kept = {k for k in config.recording.checkpoints if k >= first}
    handed = {k for k in kept if k > first} | ({k for k in range(every, n_periods, every) if k > first}
                                              if every else set()) | {int(k) for k in at if first < k <= n_periods}
    return kept, handed


def loop(config: ExperimentConfig):
    """The compiled loop that runs ``config``: the shared one, or one compiled for a user's plant
    (``plants.user``), whose step is first compiled alone so that its own errors are named."""
    plant = kinds.effector(config.task.effector)
    if plant.code != kinds.USER_PLANT:
        return K.run_group
    why = K.plant_compile_error(plant.step)
    if why:
        raise ConfigError(f"task.effector = {config.task.effector!r} is not allowed: numba cannot compile its "
                          f"step: {why}")
    return K.loop_for(plant.step)


def simulate(config: ExperimentConfig, seed: int, *, start: Checkpoint | None = None,
             progress: Callable[[int, int], None] | None = None, n_chunks: int = 50, checkpoint_every: int = 0,
             on_checkpoint: Callable[[Checkpoint], None] | None = None, capture_at: Iterable[int] = (),
             keep_replay: bool = False, device: str = "cpu") -> Result:
    """Simulate one run of ``config`` with ``seed`` and return its :class:`Result`.

    Parameters
    ----------
    config : ExperimentConfig
        A validated experiment.
    seed : int
        Seeds the network, initial state, reservoir noise and exploration streams.
    start : Checkpoint, optional
        Continue this saved learner (``load_checkpoint``, or ``result.checkpoints[K]`` of a run in memory) from
        its period K under ``config``: the steps before K are the checkpoint's run, ``config`` acts from K on.
        A config or seed that does not continue it (another network, seed, rule, ...) raises ``ConfigError``.
    progress : callable, optional
        Called as ``progress(steps_done, n_steps)``: once when the compiled loop is ready (compiled or loaded
        from the cache; with the checkpoint's step as done when continuing), then after every chunk.
    n_chunks : int
        The run is cut into this many calls of the compiled loop, only to report progress.
    checkpoint_every : int
        With ``on_checkpoint``: also take a checkpoint every this many periods (0: none).
    on_checkpoint : callable, optional
        Called with every checkpoint taken after the start (those of ``recording.checkpoints`` and every
        ``checkpoint_every``-th period), e.g. to write it to disk as the run goes (``simulation.resume``).
    capture_at : iterable of int
        With ``on_checkpoint``: also take a checkpoint at these periods (after the start), e.g. those other
        runs of a sweep continue from (``studies.prefix``).
    keep_replay : bool
        Keep the whole replay buffer in the checkpoints, so that a replaying test may continue from them
        (changes no number of this run).
    device : {"cpu", "cuda"}
        Where the run is simulated: the compiled CPU loop, or the GPU engine (``simulation.on_device``; the
        extra ``cuda``), which runs what it covers and refuses the rest with ``ConfigError``.
    """
    return simulate_group([dict(config=config, seed=seed, start=start, progress=progress, n_chunks=n_chunks,
                                checkpoint_every=checkpoint_every, on_checkpoint=on_checkpoint,
                                capture_at=capture_at, keep_replay=keep_replay)], device=device)[0]


def simulate_group(runs: list[dict], device: str = "cpu", threads: int | None = None) -> list[Result]:
    """Simulate runs that share their network in lockstep (``kernel.loop.run_group``) and return their results.

    Each item holds ``simulate``'s arguments for one run (``config`` and ``seed``, and any of its keywords).
    At every step one product gives every active run its J r; a run that ends or diverges leaves the group.
    Each result is, bit for bit, the one ``simulate`` gives that run alone (tests/simulation/test_lockstep.py).
    The runs must have the same J (``sweep.network_key``) and plant loop; otherwise ValueError names the first
    that does not. Runs that together would not fit in the machine's memory are refused first (``ConfigError``).
    A result's ``wall_s`` runs from its preparation to its end, the others' steps included.

    With ``device="cuda"`` the runs are one batch of the GPU engine (``simulation.on_device``, blocks of
    ``threads`` threads), each with its own network; what it does not cover yet is refused with ``ConfigError``
    before anything runs.
    """
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device = {device!r} is not allowed: must be 'cpu' or 'cuda'")
    if not runs:
        return []
    check_memory([run["config"] for run in runs])  # before anything is allocated
    if device == "cuda":
        from . import on_device

        why = on_device.refusal(runs)
        if why:
            raise ConfigError(why)
    members = [_Member(**run) for run in runs]
    if device == "cuda":  # each run brings its own network
        on_device.run_members(members, threads or on_device.default_threads())
        return [m.result for m in members]
    first = members[0]
    for i, m in enumerate(members[1:], 1):
        same_j = all(np.array_equal(a, b) for a, b in zip(m.fixed[:4], first.fixed[:4], strict=True))
        if m.loop is not first.loop or not same_j:
            raise ValueError(f"runs[{i}] ({m.config.name}, seed {m.seed}) does not share the network and plant of "
                             f"runs[0] ({first.config.name}, seed {first.seed}): they cannot run in lockstep")
    shared = _shared(first.fixed, len(members))
    packed = K.List([m.member for m in members]) if not K.config.DISABLE_JIT else [m.member for m in members]
    s_now = np.array([m.step for m in members], dtype=np.int64)
    s_end = s_now.copy()
    try:
        with K.slp_vectorised():  # compiles (or loads from the cache) before the clocks start
            first.loop(packed, s_now, s_end, shared)
    except K.NumbaError as exc:  # only a user's plant can fail to compile: the built-in loop is tested
        raise ConfigError(f"task.effector = {first.config.task.effector!r} is not allowed: numba cannot compile "
                          f"the run's loop with this plant: {K.numba_message(exc)}") from None
    for i, m in enumerate(members):
        m.begin()
        s_end[i] = m.next_bound()
        if s_end[i] == s_now[i]:  # nothing left to simulate
            m.reached(m.step)
    while (s_now < s_end).any():
        first.loop(packed, s_now, s_end, shared)
        for i, m in enumerate(members):
            if s_now[i] == s_end[i] and not m.finished:
                s_end[i] = m.reached(int(s_now[i]))
    return [m.result for m in members]


def _shared(fixed: K.Fixed, n_members: int) -> K.Shared:
    """The arrays a group shares: J for the block product, and the block's scratch, as many lanes as members
    in blocks of ``LANES`` (``run_group``; none when the group is too small to use one)."""
    n = fixed.J_indptr.size - 1
    width = K.n_blocks(n_members) * K.LANES
    return K.Shared(data=fixed.J_data, indices=fixed.J_indices, indptr=fixed.J_indptr,
                    R=np.zeros((n if width else 0, width)), acc=np.zeros((n if width else 0, width), dtype=np.int64),
                    step=np.ones(1, dtype=np.uint64), lanes=np.zeros(n_members, np.int64))


class _Member:
    """One run of ``simulate_group``: its arrays, its chunk bounds and checkpoints, and at the end its result."""

    def __init__(self, config: ExperimentConfig, seed: int, *, start: Checkpoint | None = None,
                 progress: Callable[[int, int], None] | None = None, n_chunks: int = 50, checkpoint_every: int = 0,
                 on_checkpoint: Callable[[Checkpoint], None] | None = None, capture_at: Iterable[int] = (),
                 keep_replay: bool = False):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed = {seed!r} is not allowed: must be an integer >= 0")
        every_ok = isinstance(checkpoint_every, (int, np.integer)) and not isinstance(checkpoint_every, bool)
        if not every_ok or checkpoint_every < 0:
            raise ValueError(f"checkpoint_every = {checkpoint_every!r} is not allowed: must be an integer >= 0 "
                             "(periods)")
        self.t0 = time.perf_counter()
        self.config, self.seed = config, int(seed)
        seed = self.seed
        self.progress, self.on_checkpoint, self.finished, self.result = progress, on_checkpoint, False, None
        self.streams = streams = make_streams(seed)
        net = make_network(config, streams)
        schedule, targets = schedule_rows(config)
        Q_state, state_signal = make_state_input(config, streams)
        params = kernel_params(config, keep_replay)
        self.state = state = initial_state(config, net.x0, keep_replay)
        self.units, offsets = recorded_units(config, streams), unit_offsets(config)
        self.steps = steps = sample_steps(config, offsets)  # the step of every activity row
        self.rec = rec = empty_record(config, self.units.size, steps.size)
        data, indices, indptr, unscale = net.csr_arrays()
        self.fixed = K.Fixed(data, indices, indptr, unscale, Q=net.Q, Q_state=Q_state, state_signal=state_signal,
                             targets=targets, schedule=schedule, costs=np.asarray(config.task.costs, dtype=np.float64),
                             plant_params=plant_params(config), units=self.units, unit_offsets=offsets)

        def target_at(at_steps):
            return target_trace(schedule, targets, config.n_period_steps, at_steps)

        self.prov, self.origin, self.step, self.replay_valid_from = provenance(), {}, 0, 0
        if start is not None:
            self.replay_valid_from = restore(start, config, seed, state, rec, streams, units=self.units,
                                             sample_steps=steps)
            target_at = target_with_prefix(start, target_at, config.recording.record_every)
            self.origin = continued_from(start)
            self.prov.update(self.origin)
            self.step = start.step
        self.target_at = target_at
        self.loop = loop(config)
        self.member = (params, self.fixed, state, rec, streams["reservoir_noise"], streams["exploration"])
        per, n_steps = config.n_period_steps, config.n_steps
        self.kept, self.handed = _capture_periods(config, self.step // per, checkpoint_every if on_checkpoint else 0,
                                                  capture_at if on_checkpoint else ())
        self.checkpoints = {}
        # chunk bounds: the progress reports' (when reported), and every checkpoint step
        chunks = max(1, n_chunks) if progress is not None else 1
        bounds = np.unique(np.concatenate([np.linspace(0, n_steps, chunks + 1).astype(np.int64),
                                           [k * per for k in self.kept | self.handed], [self.step]]))
        self.bounds = [int(b) for b in bounds if b > self.step]

    def begin(self) -> None:
        """The loop is compiled: report the start and take the checkpoint of the starting period."""
        if self.progress is not None:
            self.progress(self.step, self.config.n_steps)
        self._take(self.step)

    def next_bound(self) -> int:
        return self.bounds.pop(0) if self.bounds else self.step

    def reached(self, step: int) -> int:
        """The loop stopped this run at ``step``: report, checkpoint, and return where it goes next (``step``
        when it has ended or diverged)."""
        self.step = step
        if self.progress is not None:
            self.progress(step, self.config.n_steps)
        if self.state.scalars[codes.S_DIVERGED] < 0:
            self._take(step)
            nxt = self.next_bound()
            if nxt > step:
                return nxt
        self._finish(time.perf_counter() - self.t0)
        return step

    def reads_arrays(self, step: int) -> bool:
        """Whether ``reached(step)`` reads the run's arrays (it ends or diverged there, or takes a checkpoint): an
        engine that holds them elsewhere (``simulation.on_device``) hands them back first."""
        return (step >= self.config.n_steps or self.state.scalars[codes.S_DIVERGED] >= 0
                or self._captured_period(step) is not None)

    def _captured_period(self, step: int) -> int | None:
        """The period whose checkpoint this run takes at ``step``, or None."""
        per = self.config.n_period_steps
        period = step // per
        return period if step % per == 0 and period in self.kept | self.handed else None

    def _take(self, step: int) -> None:
        period = self._captured_period(step)
        if period is None:
            return
        ck = capture(self.config, self.seed, period, self.state, self.streams, self.rec, units=self.units,
                     sample_steps=self.steps, target_at=self.target_at, replay_valid_from=self.replay_valid_from,
                     origin=self.origin)
        if period in self.kept:
            self.checkpoints[period] = ck
        if period in self.handed and self.on_checkpoint is not None:
            self.on_checkpoint(ck)

    def _finish(self, wall_s: float) -> None:
        config, state = self.config, self.state
        diverged_step = int(state.scalars[codes.S_DIVERGED])
        activity = Activity.from_record(config, self.units, self.steps, self.rec, diverged_step)
        self.result = Result.from_run(config, self.seed, self.rec, state, self.target_at, diverged_step=diverged_step,
                                      wall_s=wall_s, provenance=self.prov, activity=activity)
        self.result.checkpoints = self.checkpoints
        self.finished = True
