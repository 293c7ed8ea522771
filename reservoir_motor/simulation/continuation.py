"""Continue a checkpoint under a config: what may differ from the checkpoint's run, and the restore.

A continued run is the checkpoint's run up to period K, then the new config from period K on. The new
config may add manipulations from period K on, change the target, the test feedback, the number of
training periods (when the checkpoint is still in training) or test periods, and any rule, task or
recording value, which acts from period K on. It may not change what makes the saved learner what it is,
nor contradict what the first K periods were: each of these is refused with one line (``check``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..config import ExperimentConfig, NetworkConfig
from ..errors import ConfigError
from ..kernel import loop as K
from ..storage.checkpoint import TRACE_FIELDS, Checkpoint
from ..storage.result import config_digest
from ..tomlio import dumps_toml


def _refuse(ck: Checkpoint, key: str, value, why: str):
    raise ConfigError(f"{key} = {value!r} is not allowed from {ck.describe()}: {why}")


def _manipulations_before(config: ExperimentConfig, step: int) -> list[tuple]:
    """The manipulations acting before ``step``, as (kind, start, stop, value, target) in steps, cut at it."""
    out = []
    for m in config.manipulations:
        start, stop = config.manipulation_steps(m)
        if start < step:
            out.append((m.kind, start, min(stop, step), float(m.value), m.target))
    return sorted(out)


def _describe(manipulations: list[tuple]) -> str:
    return "; ".join(f"{kind}{f' {target!r}' if target else ''} value {value:g} at steps {a}-{b}"
                     for kind, a, b, value, target in manipulations) or "none"


def check(ck: Checkpoint, config: ExperimentConfig, seed: int) -> None:
    """Refuse, with one line naming the key, a continuation of ``ck`` under ``config`` and ``seed`` that
    would not continue the saved learner or would contradict its first K periods."""
    old, period = ck.config, ck.period
    if seed != ck.seed:
        _refuse(ck, "seed", seed, f"its run has seed {ck.seed}, which drew the network and the random streams")
    for f in dataclasses.fields(NetworkConfig):
        new, was = getattr(config.network, f.name), getattr(old.network, f.name)
        if new != was:
            _refuse(ck, f"network.{f.name}", new, f"its network has {was!r}; a continuation keeps the network")
    if config.task.effector != old.task.effector:
        _refuse(ck, "task.effector", config.task.effector, f"its learner drives {old.task.effector!r}")
    if config.task.n_outputs != old.task.n_outputs:
        _refuse(ck, "task.arm_lengths", list(config.task.arm_lengths),
                f"its learner has {old.task.n_outputs} outputs, this config {config.task.n_outputs}")
    if config.n_period_steps != old.n_period_steps:
        _refuse(ck, "task.duration_ms", config.task.duration_ms,
                f"its periods are {old.task.duration_ms:g} ms ({old.n_period_steps} steps); checkpoints are at "
                "period boundaries")
    if config.rule.name != old.rule.name:
        _refuse(ck, "rule.name", config.rule.name,
                f"its learner is a {old.rule.name!r}; a continuation keeps the learner, train a new one for another "
                "rule")
    if config.recording.record_every != old.recording.record_every:
        _refuse(ck, "recording.record_every", config.recording.record_every,
                f"its traces are sampled every {old.recording.record_every} steps, and the continued traces go on them")
    trained = old.schedule.n_train_trials
    n_train = config.schedule.n_train_trials
    if period <= trained and n_train < period:
        _refuse(ck, "schedule.n_train_trials", n_train, f"the {period} periods before the checkpoint were training: "
                f"must be >= {period}")
    if period > trained and n_train != trained:
        _refuse(ck, "schedule.n_train_trials", n_train, f"the checkpoint is in the test of a run trained for "
                f"{trained} periods: must be {trained}")
    total = n_train + config.schedule.n_test_trials
    if total < period:
        _refuse(ck, "schedule.n_test_trials", config.schedule.n_test_trials,
                f"the run would end after {total} periods, before the checkpoint's period {period}")
    before, was = _manipulations_before(config, ck.step), _manipulations_before(old, ck.step)
    if before != was:
        raise ConfigError(f"manipulations before period {period} are not allowed to differ from those of the run of "
                          f"{ck.describe()} (here: {_describe(before)}; there: {_describe(was)}): a continuation adds "
                          f"or changes manipulations from period {period} on")


def _check_replay(ck: Checkpoint, config: ExperimentConfig, valid_from: int, lag: int) -> None:
    """Replay feeds back the last ``lag`` training steps; the buffer must hold them all."""
    if config.schedule.test_feedback == "replay" and valid_from > config.n_train_steps - lag:
        why = (f"it kept a replay buffer of {ck.state['replay'].shape[0]} steps" if valid_from == ck.step else
               f"its buffer holds the training output from step {valid_from} only")
        _refuse(ck, "schedule.test_feedback", "replay", f"replay feeds back the training output of steps "
                f"{config.n_train_steps - lag} to {config.n_train_steps}, and {why}; continue from a run that "
                "saved checkpoints with recording.checkpoints (it keeps the whole buffer) or replayed")


def _restore_activity(ck: Checkpoint, config: ExperimentConfig, rec: K.Record, units, sample_steps) -> None:
    """The samples of the recorded units before the checkpoint, from the checkpoint's own samples."""
    n = int(np.searchsorted(sample_steps, ck.step))
    if n == 0:
        return
    had_steps, had_units = ck.record["sample_steps"], ck.record["units"]
    column = {int(u): j for j, u in enumerate(had_units)}
    rows = np.minimum(np.searchsorted(had_steps, sample_steps[:n]), max(had_steps.size - 1, 0))
    rec_ = config.recording
    fix = (f"record from period {ck.period} on (recording.units_window = 'test' or a list of periods >= "
           f"{ck.period}), or continue a run that recorded these units")
    if not all(int(u) in column for u in units):
        _refuse(ck, "recording.n_units", rec_.n_units if isinstance(rec_.n_units, int) else list(rec_.n_units),
                f"it asks for samples before period {ck.period} of units the checkpoint's run did not record "
                f"({had_units.size} units); {fix}")
    if had_steps.size == 0 or not np.array_equal(had_steps[rows], sample_steps[:n]):
        window = rec_.units_window if isinstance(rec_.units_window, str) else list(rec_.units_window)
        _refuse(ck, "recording.units_window", window, f"it asks for samples before period {ck.period} at steps "
                f"the checkpoint's run did not record; {fix}")
    cols = [column[int(u)] for u in units]
    rec.rates[:n] = ck.record["rates"][rows][:, cols]
    if rec.states.shape[0]:
        if ck.record["states"].shape[0] != had_steps.size:
            _refuse(ck, "recording.record_states", True, f"the checkpoint's run did not record the states before "
                    f"period {ck.period}; {fix}")
        rec.states[:n] = ck.record["states"][rows][:, cols]


def restore(ck: Checkpoint, config: ExperimentConfig, seed: int, state: K.State, rec: K.Record, streams: dict,
            *, units, sample_steps) -> int:
    """Check the continuation, then put the checkpoint into a run's fresh ``state``, ``rec`` and ``streams``.

    Returns the replay buffer's ``valid_from`` step (see :class:`~reservoir_motor.storage.checkpoint.Checkpoint`).
    """
    check(ck, config, seed)
    valid_from = ck.replay_valid_from if state.replay.shape == ck.state["replay"].shape else ck.step
    _check_replay(ck, config, valid_from, state.replay.shape[0])
    for name in K.State._fields:
        if name == "replay" and valid_from == ck.step:
            continue  # another buffer length: this run's buffer starts empty at the checkpoint (checked above)
        getattr(state, name)[...] = ck.state[name]
    step, n_rec = ck.step, -(-ck.step // config.recording.record_every)
    rec.error[:step] = ck.record["error"]
    rec.distance[:step] = ck.record["distance"]
    for name in TRACE_FIELDS:
        getattr(rec, name)[:n_rec] = ck.record[name]
    _restore_activity(ck, config, rec, units, sample_steps)
    for name, bit_state in ck.streams.items():
        streams[name].bit_generator.state = bit_state
    return valid_from


def target_with_prefix(ck: Checkpoint, target_at, every: int):
    """``target_at`` of the new config, with the target the checkpoint's run drew before its step."""
    def composed(steps):
        out = target_at(steps)
        before = steps < ck.step
        out[before] = ck.record["target"][steps[before] // every]
        return out
    return composed


def continued_from(ck: Checkpoint) -> dict:
    """The provenance of a run continued from ``ck`` (root attributes of its file)."""
    return dict(continued_from_file=ck.source or "", continued_from_digest=config_digest(ck.config),
                continued_from_period=ck.period, continued_from_experiment=ck.config.name,
                continued_from_config_toml=dumps_toml(ck.config.to_dict()))
