"""Checkpoints: the full state of a run at a period boundary, to continue it exactly or branch from it.

Checkpoint K is the state at the start of period K (periods counted from 0), i.e. after K periods or
K * n_period_steps steps. It holds

* every array of the compiled loop's ``State`` (reservoir state and rates, outputs, filters, both
  readouts, P with its pending update, the replay buffer, the loop's scalars, the plant's state),
* the bit-generator states of the two random streams the loop draws from (``reservoir_noise`` and
  ``exploration``): numba's compiled loop advances the very bit generator the Python ``Generator``
  holds, so its ``state`` read between two chunks is the stream's state at that step
  (tests/storage/test_checkpoints.py checks this),
* the run's record before that step: the per-step error and distance, the downsampled traces with
  their target, the samples of the recorded units, so that a continued run's metrics, traces and
  activity are those of the uninterrupted run.

The network (J, Q, x(0), the state input, the indices of the recorded units) is not stored: it is drawn
again from the seed. In a file a checkpoint is the group ``/checkpoints/period<K>`` (docs/results-layout.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from ..config import ExperimentConfig
from ..errors import ConfigError
from ..kernel import codes
from ..kernel import loop as K
from .provenance import ORIGIN_KEYS
from .result import open_result, stored_config

#: The random streams the compiled loop draws from; the others are used up before the first step.
LOOP_STREAMS = ("reservoir_noise", "exploration")
#: ``Record`` fields sampled every ``record_every`` steps (their rows before a checkpoint are stored).
TRACE_FIELDS = ("z", "z_exp", "hand", "norm_exp", "norm_mst", "gate", "plant_state")
_GZIP = dict(compression="gzip", compression_opts=4, shuffle=True)


@dataclass
class Checkpoint:
    """The state of a run of ``config`` with ``seed`` after ``period`` periods.

    Attributes
    ----------
    config : ExperimentConfig
        The config of the run the checkpoint was taken from.
    seed : int
        Its seed.
    period : int
        K: the checkpoint is the state at the start of period K, after K periods.
    state : dict of str to ndarray
        Every array of ``kernel.loop.State``.
    streams : dict of str to dict
        The numpy bit-generator ``state`` of each of ``LOOP_STREAMS``.
    record : dict of str to ndarray
        The run's record before the checkpoint step: ``error``, ``distance`` (every step), the
        ``TRACE_FIELDS`` and ``target`` (every ``record_every`` steps), ``rates``, ``states``,
        ``sample_steps`` and ``units`` of the recorded units.
    replay_valid_from : int
        The first step whose training output the replay buffer holds (0 unless a continuation grew it).
    source : str or None
        The file it was read from; None for a checkpoint of a run in memory.
    origin : dict
        What the checkpoint's own run was continued from (``continued_from_*`` keys), if anything.
    """

    config: ExperimentConfig
    seed: int
    period: int
    state: dict = field(repr=False)
    streams: dict = field(repr=False)
    record: dict = field(repr=False)
    replay_valid_from: int = 0
    source: str | None = None
    origin: dict = field(default_factory=dict, repr=False)

    @property
    def step(self) -> int:
        """The first step after the checkpoint: period * n_period_steps."""
        return self.period * self.config.n_period_steps

    def describe(self) -> str:
        where = repr(self.source) if self.source else f"the run of {self.config.name!r} seed {self.seed} in memory"
        return f"the checkpoint at period {self.period} of {where}"

    def write(self, parent) -> None:
        """Write the group ``period<K>`` into the open HDF5 group ``parent``."""
        g = parent.create_group(f"period{self.period}")
        g.attrs.update(period=self.period, step=self.step, seed=self.seed, replay_valid_from=self.replay_valid_from,
                       **{f"rng_{name}": json.dumps(state) for name, state in self.streams.items()})
        state = g.create_group("state")
        for name, arr in self.state.items():
            state.create_dataset(name, data=arr)  # P is noise-like: compression would cost time and save little
        record = g.create_group("record")
        for name, arr in self.record.items():
            record.create_dataset(name, data=np.asarray(arr), **_GZIP)

    @classmethod
    def read(cls, g, config: ExperimentConfig, *, source=None, origin=None) -> "Checkpoint":
        """The checkpoint stored in the HDF5 group ``g`` (``/checkpoints/period<K>``) of a run of ``config``."""
        state = {name: g["state"][name][()] for name in K.State._fields if name in g["state"]}
        record = {name: arr[()] for name, arr in g["record"].items()}
        if "plant_state" not in state:  # written before plants had a state: every plant then was stateless
            state["plant_state"] = np.zeros(0)
            record["plant_state"] = np.zeros((record["z"].shape[0], 0))
        if "xi" not in state:  # written before correlated exploration: the noise was drawn afresh every step
            state["xi"] = np.zeros_like(state["z"])
        if "elig" not in state:  # written before the eligibility trace, which was then never used
            state["elig"] = np.zeros_like(state["W_exp"])
        if state["scalars"].size < codes.N_SCALARS:  # written before the trial's error sum, which was then unused
            state["scalars"] = np.concatenate([state["scalars"], np.zeros(codes.N_SCALARS - state["scalars"].size)])
        if "baseline" not in state:  # written before the phase baseline, which was then never used
            state["baseline"] = K.unset_baseline(config.n_period_steps, config.rule.phase_baseline)
        return cls(config=config, seed=int(g.attrs["seed"]), period=int(g.attrs["period"]), state=state,
                   streams={name: json.loads(g.attrs[f"rng_{name}"]) for name in LOOP_STREAMS}, record=record,
                   replay_valid_from=int(g.attrs["replay_valid_from"]), source=source, origin=dict(origin or {}))


def capture(config, seed, period, state, streams, rec, *, units, sample_steps, target_at, replay_valid_from=0,
            origin=None) -> Checkpoint:
    """A checkpoint of the running loop after ``period`` periods: the state and stream states copied, the
    record's rows before that step as views (the loop never writes a row again once its step is past)."""
    step = period * config.n_period_steps
    every = config.recording.record_every
    n_rec = -(-step // every)
    n_samples = int(np.searchsorted(sample_steps, step))
    record = dict(error=rec.error[:step], distance=rec.distance[:step],
                  **{name: getattr(rec, name)[:n_rec] for name in TRACE_FIELDS},
                  target=target_at(np.arange(n_rec) * every), rates=rec.rates[:n_samples],
                  states=rec.states[:n_samples], sample_steps=sample_steps[:n_samples], units=units)
    return Checkpoint(config=config, seed=seed, period=period,
                      state={name: arr.copy() for name, arr in state._asdict().items()},
                      streams={name: streams[name].bit_generator.state for name in LOOP_STREAMS},
                      record=record, replay_valid_from=replay_valid_from, origin=dict(origin or {}))


def read_checkpoints(path, periods=None) -> dict[int, Checkpoint]:
    """The checkpoints stored in the result or checkpoint file ``path`` (those of ``periods``, or all)."""
    with open_result(path, side_file_ok=True) as f:
        config = stored_config(path, f)
        origin = {key: f.attrs[key].item() if isinstance(f.attrs[key], np.generic) else f.attrs[key]
                  for key in ORIGIN_KEYS if key in f.attrs}
        groups = f["checkpoints"] if "checkpoints" in f else {}
        stored = sorted(int(g.attrs["period"]) for g in groups.values())
        wanted = stored if periods is None else periods
        missing = [p for p in wanted if p not in stored]
        if missing:
            has = f"it holds periods {', '.join(map(str, stored))}" if stored else (
                "it holds none: save them with recording.checkpoints = [K, ...] (docs/checkpoints.md)")
            raise ConfigError(f"{str(path)!r} holds no checkpoint at period {missing[0]}: {has}")
        return {p: Checkpoint.read(groups[f"period{p}"], config, source=str(path), origin=origin) for p in wanted}


def checkpoint_periods(path) -> list[int]:
    """The periods of the checkpoints stored in ``path``."""
    with open_result(path, side_file_ok=True) as f:
        return sorted(int(g.attrs["period"]) for g in f["checkpoints"].values()) if "checkpoints" in f else []


def load_checkpoint(path, period: int | None = None) -> Checkpoint:
    """The checkpoint at ``period`` (default: the last one) of the result or checkpoint file ``path``.

    Pass it to ``simulate(config, seed, start=...)`` (or ``reservoir-motor run --from``) to continue the
    saved learner.
    """
    if period is None:
        stored = checkpoint_periods(path)
        if not stored:
            read_checkpoints(path, [1])  # raises: the file holds none
        period = stored[-1]
    return read_checkpoints(path, [int(period)])[int(period)]

