"""Frozen experiment descriptions and their validation.

An experiment is five sections -- ``network``, ``task``, ``rule``, ``schedule``, ``recording`` -- each a
frozen dataclass. Every field declares its type, unit, allowed values and meaning in its metadata; one
validator reads that metadata, so a bad value is always reported the same way: the dotted key, the value,
and what is allowed. The same metadata generates the config reference in the docs.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from . import kinds
from .errors import ConfigError
from .kinds import HAND_DIMENSIONS  # noqa: F401 - re-exported, as before
from .plants import targets


def _f(default, doc, *, unit="", lo=None, hi=None, lo_open=False, choices=None, parse=None, allowed=None,
       added=False):
    """A config field with its documentation and allowed range (``lo_open``: lower bound excluded).

    A field of two shapes (a count or a list, a name or a list) gives ``parse``, which returns the
    canonical value or raises ValueError, and ``allowed``, the text of what it accepts. ``added``: a key
    added after results were first named by their config digest; at its default it stays out of the digest,
    so the stored results of earlier configs keep their names.
    """
    meta = dict(doc=doc, unit=unit, lo=lo, hi=hi, lo_open=lo_open, choices=choices, parse=parse, allowed=allowed,
                added=added)
    if isinstance(default, (list, tuple)):
        return field(default_factory=lambda: tuple(default), metadata=meta)
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata=meta)
    return field(default=default, metadata=meta)


def _allowed(meta, ftype) -> str:
    if meta["allowed"]:
        return meta["allowed"]
    if meta["choices"]:
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    kind = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false"}.get(
        ftype, "a list of numbers"
    )
    parts = [kind]
    if meta["lo"] is not None:
        parts.append(f"{'>' if meta['lo_open'] else '>='} {meta['lo']}")
    if meta["hi"] is not None:
        parts.append(f"<= {meta['hi']}")
    return " ".join(parts[:1]) + (" " + " and ".join(parts[1:]) if len(parts) > 1 else "")


def _coerce(section: str, f: dataclasses.Field, value: Any) -> Any:
    """Check one field's type and range; return the value in its canonical type."""
    key = f"{section}.{f.name}"
    meta, ftype = f.metadata, f.type

    def bad():
        return ConfigError(f"{key} = {value!r} is not allowed: must be {_allowed(meta, ftype)}")

    if meta["parse"]:
        try:
            return meta["parse"](value)
        except ValueError:
            raise bad() from None

    if ftype == "bool":
        if not isinstance(value, bool):
            raise bad()
        return value
    if ftype == "str":
        if not isinstance(value, str) or (meta["choices"] and value not in meta["choices"]):
            raise bad()
        return value
    if ftype == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise bad()
    elif ftype == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise bad()
        value = float(value)
    else:  # tuple of floats
        if not isinstance(value, (list, tuple)) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value
        ):
            raise bad()
        value = tuple(float(v) for v in value)
        if any(_out_of_range(meta, v) for v in value):
            raise bad()
        return value
    if _out_of_range(meta, value):
        raise bad()
    return value


def _out_of_range(meta, v) -> bool:
    lo, hi = meta["lo"], meta["hi"]
    if lo is not None and (v <= lo if meta["lo_open"] else v < lo):
        return True
    return hi is not None and v > hi


class _Section:
    """Validates every field from its metadata after construction."""

    SECTION = ""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _coerce(self.SECTION, f, getattr(self, f.name)))
        self._check()

    def _check(self):
        """Cross-field checks of one section."""

    def _fail(self, name, why):
        raise ConfigError(f"{self.SECTION}.{name} = {getattr(self, name)!r} is not allowed: {why}")


@dataclass(frozen=True)
class NetworkConfig(_Section):
    """The reservoir: a sparse random rate network with output feedback (spec section 2)."""

    SECTION = "network"
    n_neurons: int = _f(1000, "number of reservoir neurons N", lo=1)
    connection_prob: float = _f(0.1, "probability p that a recurrent connection exists", lo=0, hi=1, lo_open=True)
    connectivity: str = _f(
        "sprandn", "how J's nonzero positions are drawn: 'sprandn' (the scripts' MATLAB sprandn(N, N, p): "
        "round(p N^2) positions with replacement, duplicates collapse, so the density is 1 - exp(-p), 0.095 "
        "for p = 0.1, and the spectral radius about gain sqrt(0.95)) or 'bernoulli' (each connection with "
        "probability p; spectral radius gain)", choices=("sprandn", "bernoulli"))
    gain: float = _f(1.5, "recurrent gain lambda; J entries are N(0,1) * gain / sqrt(p N)", lo=0)
    tau_ms: float = _f(10.0, "membrane time constant tau", unit="ms", lo=0, lo_open=True)
    dt_ms: float = _f(0.2, "Euler time step; must not exceed tau_ms", unit="ms", lo=0, lo_open=True)
    noise_amplitude: float = _f(0.025, "rate noise alpha: U(-alpha, alpha) per neuron and step, training only",
                                lo=0, hi=3)
    feedback_amplitude: float = _f(1.0, "output feedback weights Q are U(-a, a)", lo=0)
    init_state_amplitude: float = _f(0.5, "initial state x(0) is U(-a, a)", lo=0)
    rls_regularisation: float = _f(10.0, "gamma: the RLS matrix starts at P(0) = I / gamma", lo=0, lo_open=True)
    state_input: bool = _f(False, "feed a state signal (network.state_signal) through fixed random weights "
                           "Q_s ~ U(-a, a), a = feedback_amplitude, in training and test (spec 7.1)")
    state_signal: str = _f("phase", "what the state input carries: " + "; ".join(
        f"'{k.name}': {k.doc}" for k in kinds.STATE_SIGNALS.values()), choices=tuple(kinds.STATE_SIGNALS), added=True)
    state_amplitude: float = _f(1.0, "the state signal is multiplied by this before the weights Q_s", lo=0,
                                added=True)
    state_harmonics: int = _f(3, "harmonics of the phase carried by state_signal = 'harmonics'", lo=1, added=True)

    def _check(self):
        if self.dt_ms > self.tau_ms:
            self._fail("dt_ms", f"must be <= network.tau_ms = {self.tau_ms} (Euler steps longer than tau)")
        if not self.state_input:
            for f in dataclasses.fields(self):
                if f.name.startswith("state_") and f.name != "state_input" and getattr(self, f.name) != f.default:
                    self._fail(f.name, "has no effect without network.state_input = true")


EFFECTORS = tuple(kinds.EFFECTORS)
TARGET_NAMES = ("butterfly", "circle", "lemniscate", "lissajous")
_USER_PLANT = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")


def _parse_effector(value) -> str:
    """A registered plant's name, or ``package.module:name`` of a user's plant (imported in ``_check``)."""
    if not isinstance(value, str) or not (value in EFFECTORS or _USER_PLANT.fullmatch(value)):
        raise ValueError
    return value


def _parse_plant(value) -> dict:
    """The plant's parameters: a table of names and finite numbers (which names, the plant says)."""
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValueError
    return {k: _number(v) for k, v in value.items()}


@dataclass(frozen=True)
class TaskConfig(_Section):
    """The motor environment: what the output drives and the curve to draw (spec section 6)."""

    SECTION = "task"
    effector: str = _f("identity", "how outputs move the hand (the plant, docs/plants.md): " + "; ".join(
        f"'{e.name}': {e.doc}" for e in kinds.EFFECTORS.values()) + "; or 'package.module:name', a user's plant",
                       parse=_parse_effector, allowed="one of " + ", ".join(repr(c) for c in EFFECTORS)
                       + ", or 'package.module:name' naming a user's plant (docs/plants.md)")
    target: str = _f("butterfly", "the closed curve drawn each period: " + ", ".join(TARGET_NAMES)
                     + ", or a .csv / .npy file of (x, y) points")
    duration_ms: float = _f(10000.0, "length of one period (trial); the target repeats every period",
                            unit="ms", lo=0, lo_open=True)
    target_scale: float = _f(14.4734, "the butterfly radius is divided by this ('max r' of the scripts)",
                             lo=0, lo_open=True)
    arm_lengths: tuple = _f((), "segment lengths of the arm, shoulder first (arm effector only)",
                            lo=0, lo_open=True)
    costs: tuple = _f((), "movement cost c_j per joint, added to the error as c_j |z_j - zbar_j|", lo=0)
    cost_signal: str = _f("scripts", "zbar of the cost: 'scripts' (the learning rule's output filter: "
                          "SUPERTREX's filter of the exploratory output, which decays to 0 in the test and "
                          "turns the cost into a posture penalty; RMHL's, frozen in the test) or 'movement' "
                          "(a filter of the total output, every step: the cost of moving)",
                          choices=("scripts", "movement"))
    effort_cost: float = _f(0.0, "effort cost c_e on the plant's command, added to the error as c_e sum_o z_o^2 "
                            "(for arm_dynamics the torques in units of torque_scale); 0 = off", lo=0, added=True)
    plant: dict = _f({}, "the plant's parameters by name, e.g. {mass = 1.0}; those not given take the plant's "
                     "defaults (docs/plants.md); the built-in identity and arm take none, arm_dynamics those of "
                     "docs/arm-dynamics.md",
                     parse=_parse_plant, allowed="a table of parameter names and numbers", added=True)

    def _check(self):
        plant = kinds.effector(self.effector)
        invalid = plant.check(self)
        if invalid:
            self._fail(*invalid)
        unknown = sorted(set(self.plant) - set(plant.param_defaults))
        if unknown:
            has = (f"its parameters are {', '.join(plant.param_defaults)}" if plant.param_defaults
                   else "it takes none")
            raise ConfigError(f"task.plant.{unknown[0]} = {self.plant[unknown[0]]!r} is not allowed: unknown "
                              f"parameter of task.effector = {self.effector!r}; {has}")
        if self.costs and len(self.costs) != self.n_outputs:
            self._fail("costs", f"needs one cost per output ({self.n_outputs})")
        self._check_target()

    def _check_target(self):
        if self.target not in TARGET_NAMES:
            if not self.target.endswith((".csv", ".npy")):
                self._fail("target", f"must be one of {', '.join(TARGET_NAMES)} or a .csv / .npy file of points")
            try:
                points = targets.read_curve_file(self.target)
            except ValueError as exc:
                self._fail("target", str(exc))
        else:
            points = targets.curve(self.target, 1000, self.target_scale)
        plant = kinds.effector(self.effector)
        if plant.reach is not None:
            why = plant.reach(points, plant.params(self))
            if why:
                self._fail("target", why)

    @property
    def n_outputs(self) -> int:
        """Outputs of the network: the plant's command (the 2-D position, one angle per joint, ...)."""
        return kinds.effector(self.effector).n_outputs(self)


RULES = tuple(kinds.RULES)


@dataclass(frozen=True)
class RuleConfig(_Section):
    """The learning rule and its hyperparameters (spec section 3; defaults of Task1_ST.m)."""

    SECTION = "rule"
    name: str = _f("supertrex", "learning rule: " + "; ".join(f"'{r.name}': {r.doc}" for r in kinds.RULES.values()),
                   choices=RULES)
    learning_rate: float = _f(5e-4, "eta of the exploratory (reward-modulated) update", lo=0)
    phi: str = _f("rewarded", "reward function Phi: 'rewarded' (update only when the error fell, Task 1 "
                  "scripts) or 'odd' (reinforce and anti-reinforce)", choices=("rewarded", "odd"))
    phi_gain: float = _f(5.0, "Phi(u) = gain |u|^exponent", lo=0)
    phi_exponent: float = _f(0.25, "exponent of Phi", lo=0, lo_open=True)
    psi_prefactor: float = _f(0.025, "exploration amplitude Psi(ebar) = prefactor (10 ebar)^exponent", lo=0)
    psi_exponent: float = _f(0.25, "exponent of Psi", lo=0, lo_open=True)
    initial_exploration: float = _f(0.01, "exploration amplitude before the first update", lo=0)
    exploration_filter: float = _f(
        1.0, "a_xi of correlated exploration xi <- (1 - a_xi) xi + a_xi c u, u ~ U(-beta, beta) each step and c "
        "= sqrt((2 - a_xi) / a_xi), so that xi keeps the variance beta^2 / 3 with a correlation time of dt / a_xi; "
        "1 = a new draw every step (the scripts). For plants that low-pass their command (docs/arm-dynamics.md)",
        lo=0, hi=1, lo_open=True, added=True)
    eligibility_filter: float = _f(
        1.0, "a_el of the exploratory eligibility trace E <- (1 - a_el) E + a_el (z_exp - zbar) r^T, which the reward "
        "multiplies in place of the step's own Hebbian term, so that a reward that shows later still finds the "
        "exploration that caused it (a time constant of dt / a_el; pair it with a slower error_filter, the reward's "
        "baseline). 1 = no trace (the scripts). For plants that low-pass their command (docs/arm-dynamics.md)",
        lo=0, hi=1, lo_open=True, added=True)
    hebbian_term: str = _f(
        "deviation", "what the reward multiplies (or the eligibility trace low-passes): 'deviation' z_exp - zbar, the "
        "output's deviation from its short-term mean (the scripts, Hoerzer et al. 2014), or 'perturbation' xi, the "
        "exploration itself (node perturbation, Fiete & Seung 2006), which keeps correlated exploration that the "
        "output filter would remove", choices=("deviation", "perturbation"), added=True)
    phase_baseline: float = _f(
        0.0, "0 = the reward compares the error with ebar (the scripts). Otherwise a_b of a running baseline per step "
        "of the period, b_phase <- (1 - a_b) b_phase + a_b e, which the reward compares the error with: it removes "
        "what the moving target itself does to the error (Miconi 2017 keeps one per target). The first training "
        "period only sets it (no reward)", lo=0, hi=1, added=True)
    trial_ms: float = _f(
        0.0, "0 = the exploratory update at every step (the scripts). Otherwise the length of a trial (a whole "
        "number of steps that divides the period): the Hebbian term is summed over the trial and W_exp updated once "
        "at its end, with Phi of the trial's mean error against its running baseline (phase_baseline, required): "
        "the trial-based form of Miconi 2017, for a reward that shows the exploration's effect only later",
        unit="ms", lo=0, added=True)
    error_filter: float = _f(0.2, "a_e of the fast error filter ebar <- (1 - a_e) ebar + a_e e", lo=0, hi=1,
                             lo_open=True)
    output_filter: float = _f(0.2, "a_z of the output filter zbar <- (1 - a_z) zbar + a_z z", lo=0, hi=1,
                              lo_open=True)
    supervisor: str = _f("raw", "SUPERTREX mastery target: 'raw' exploratory output or its 'filtered' zbar",
                         choices=("raw", "filtered"))
    kappa: float = _f(0.5, "size of the SUPERTREX transfer step (1 = full RLS step)", lo=0, hi=1)
    transfer_threshold: float = _f(1.5e-3, "SUPERTREX transfers while ebar is below this", lo=0)
    gate_steepness: float = _f(5e5, "gate g = 0.5 - 0.5 tanh(steepness (ebar - threshold))", lo=0, lo_open=True)
    rls_every: int = _f(10, "steps between RLS updates", lo=1)
    exploratory_normalisation: str = _f(
        "none", "'joints' scales the exploratory update by 2 / n_outputs (node perturbation: the noise of the "
        "reward-correlation estimate grows with the number of perturbed outputs); 1 for Tasks 1 and 2",
        choices=("none", "joints"))
    transfer: str = _f("copy", "SUPERTREX transfer: 'copy' (scripts: the mastery pathway absorbs the "
                       "exploratory output, which keeps it) or 'move' (what the mastery pathway absorbs is "
                       "removed from the exploratory pathway, so a transfer never changes the motor output) or "
                       "'move_if_redundant' (move on an arm with more joints than the hand's 2 dimensions, copy "
                       "otherwise)", choices=("copy", "move", "move_if_redundant"))
    adaptive_threshold: float = _f(
        0.0, "0 = off. Otherwise, after a period whose average error did not beat the best earlier period's "
        "(learning has stalled), the transfer threshold is max(transfer_threshold, adaptive_threshold x that "
        "best): transfer when performing near one's best", lo=0)


FEEDBACK_MODES = tuple(kinds.FEEDBACK)


@dataclass(frozen=True)
class ScheduleConfig(_Section):
    """Training and test phases (spec section 4)."""

    SECTION = "schedule"
    n_train_trials: int = _f(10, "training periods", lo=1)
    n_test_trials: int = _f(5, "test periods: weights frozen, no noise, exploratory pathway removed", lo=0)
    test_feedback: str = _f("target", "feedback during the test: the 'target' (teacher forcing, Task 1), a "
                            "'replay' of the training output, or the network's own output ('autonomous')",
                            choices=FEEDBACK_MODES)
    replay_lag_trials: int = _f(5, "replay feeds back the output of this many periods earlier (at most "
                                "n_train_trials: the last training periods are replayed in a loop)", lo=1)


def _index_list(value) -> tuple:
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value) or len(set(value)) != len(value):
        raise ValueError
    return tuple(value)


def _parse_units(value):
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError
        return value
    if not value:
        raise ValueError
    return _index_list(value)


def _parse_periods(value) -> tuple:
    """Distinct period numbers >= 1 (a checkpoint after 0 periods would be the untrained network)."""
    periods = _index_list(value)
    if 0 in periods:
        raise ValueError
    return periods


def _parse_window(value):
    if isinstance(value, str):
        if value not in ("all", "train", "test"):
            raise ValueError
        return value
    if not value:
        raise ValueError
    return _index_list(value)


@dataclass(frozen=True)
class RecordingConfig(_Section):
    """What is kept from a run and how it is judged (spec section 5)."""

    SECTION = "recording"
    record_every: int = _f(10, "steps between stored trace samples", lo=1)
    distance_filter: float = _f(2e-4, "a_m of the slow error filter m <- (1 - a_m) m + a_m e (1000 ms)",
                                lo=0, hi=1, lo_open=True)
    satisfactory_below: float = _f(0.5, "a run is satisfactory if its deviation is below this", lo=0, lo_open=True)
    divergence_bound: float = _f(1e3, "a run diverges when an output leaves [-bound, bound] or turns non-finite",
                                 lo=0, lo_open=True)
    n_units: object = _f(0, "reservoir units whose rates r are recorded: how many (drawn from the seed, 0 = none) "
                         "or a list of their indices", parse=_parse_units, added=True,
                         allowed="an integer >= 0 or a list of distinct unit indices >= 0")
    units_every: int = _f(10, "steps between recorded samples of the units", lo=1, added=True)
    units_window: object = _f("all", "when the units are recorded: 'all', 'train', 'test', or a list of periods "
                              "(counted from 0 at the start of the run)", parse=_parse_window, added=True,
                              allowed="'all', 'train', 'test' or a list of distinct period indices >= 0")
    record_states: bool = _f(False, "record the states x of the same units too", added=True)
    checkpoints: object = _f((), "periods K at which the full learner state is saved into the result file, to "
                             "continue or branch from (docs/checkpoints.md): checkpoint K is the state after K "
                             "periods, at the start of period K, from 1 to the number of periods; each holds P "
                             "(8 N^2 bytes, 8 MB at N = 1000)", parse=_parse_periods, added=True,
                             allowed="a list of distinct period numbers >= 1")

    def _check(self):
        if self.n_units == 0 and self.record_states:
            self._fail("record_states", "needs units to record: set recording.n_units")


MANIPULATIONS = tuple(kinds.MANIPULATIONS)


def _number(value, lo=None):
    """A finite number, kept as written (5 stays 5: the digests of stored results were made so)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError
    if lo is not None and value < lo:
        raise ValueError
    return value


@dataclass(frozen=True)
class Manipulation(_Section):
    """One entry of the manipulation schedule (lesions.md): ``kind`` acts from ``start`` to ``stop``."""

    SECTION = "manipulation"
    kind: str = _f("", "what is manipulated (the kinds below)", choices=MANIPULATIONS)
    start: float = _f(0.0, "onset, counted from the start of the run, in `unit`; before the end of the run",
                      parse=lambda v: _number(v, lo=0), allowed="a number >= 0")
    stop: float = _f(-1.0, "end (excluded), in `unit`; after `start` and not after the end of the run; < 0 means "
                     "the end of the run", parse=_number, allowed="a number")
    unit: str = _f("periods", "unit of `start` and `stop` (a period is task.duration_ms)", choices=("periods", "ms"))
    value: float = _f(1.0, "the gain (dopamine, exploration_gain: >= 0) or the offset (reward_bias: any number); "
                      "ignored by the other kinds", parse=_number, allowed="a number")
    target: str = _f("", "the new curve (a built-in name or a .csv / .npy file); required by switch_target and "
                     "taken by no other kind")

    def _check(self):
        kind = kinds.MANIPULATIONS[self.kind]
        why = kind.check(self.value)
        if why:
            self._fail("value", why)
        if kind.takes_target != bool(self.target):
            self._fail("target", f"{self.kind} {'needs' if kind.takes_target else 'takes no'} target curve")

    def where(self, i):
        return f"manipulations[{i}] ({self.kind})"


def _manipulations(entries) -> tuple:
    out = []
    fields = {f.name for f in dataclasses.fields(Manipulation)}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "kind" not in entry:
            raise ConfigError(f"manipulations[{i}] = {entry!r} is not allowed: write a table with at least "
                              f"kind = one of {', '.join(MANIPULATIONS)}")
        unknown = set(entry) - fields
        if unknown:
            raise ConfigError(f"unknown key manipulations[{i}].{sorted(unknown)[0]}: allowed keys are "
                              f"{', '.join(sorted(fields))}")
        try:
            out.append(Manipulation(**entry))
        except ConfigError as exc:  # name the entry: manipulations[i].key
            raise ConfigError(str(exc).replace("manipulation.", f"manipulations[{i}].", 1)) from None
    return tuple(out)


#: Named bundles of rule settings. 'faithful' is the authors' scripts; 'robust' is ours (see README).
PRESETS = {
    "faithful": {},
    "robust": {"rule": {"exploratory_normalisation": "joints", "transfer": "move_if_redundant",
                        "adaptive_threshold": 2.0},
               "task": {"cost_signal": "movement"}},
}

SECTIONS = {
    "network": NetworkConfig,
    "task": TaskConfig,
    "rule": RuleConfig,
    "schedule": ScheduleConfig,
    "recording": RecordingConfig,
}


@dataclass(frozen=True)
class ExperimentConfig:
    """A complete, validated experiment: one value for every key."""

    name: str = "custom"
    description: str = ""
    preset: str = "faithful"
    network: NetworkConfig = field(default_factory=NetworkConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    rule: RuleConfig = field(default_factory=RuleConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    recording: RecordingConfig = field(default_factory=RecordingConfig)
    manipulations: tuple = ()

    def __post_init__(self):
        if self.preset not in PRESETS:
            raise ConfigError(f"preset = {self.preset!r} is not allowed: must be one of "
                              + ", ".join(repr(p) for p in PRESETS))
        effector = kinds.effector(self.task.effector)
        if kinds.RULES[self.rule.name].needs_target_outputs and not effector.has_target_outputs:
            raise ConfigError(
                f"rule.name = 'force' is not allowed with task.effector = {self.task.effector!r}: FORCE needs "
                "the target output at every step, but an arm task only gives a scalar reward (the target joint "
                "angles are unknown); use 'rmhl' or 'supertrex'"
            )
        if self.schedule.test_feedback == "target" and not effector.has_target_outputs:
            raise ConfigError(
                "schedule.test_feedback = 'target' is not allowed with an arm: the target joint angles are "
                "unknown; use 'replay' or 'autonomous'"
            )
        steps = self.task.duration_ms / self.network.dt_ms
        if abs(steps - round(steps)) > 1e-6 * steps or round(steps) < 2:
            raise ConfigError(
                f"task.duration_ms = {self.task.duration_ms} is not allowed: must be a whole number (>= 2) of "
                f"network.dt_ms = {self.network.dt_ms} steps"
            )
        self._check_trial(round(steps))
        invalid = effector.trial(self.task, self.network.dt_ms / 1000.0)
        if invalid:
            key, why = invalid
            raise ConfigError(f"task.{key} = {getattr(self.task, key)!r} is not allowed: {why}")
        self._check_manipulations()
        self._check_recording()

    def _check_trial(self, period_steps: int):
        rule, dt = self.rule, self.network.dt_ms
        if rule.trial_ms == 0:
            return
        steps = rule.trial_ms / dt
        if abs(steps - round(steps)) > 1e-6 * steps or round(steps) < 1 or period_steps % round(steps):
            why = (f"must be a whole number of network.dt_ms = {dt} steps that divides the period of "
                   f"{period_steps} steps")
        elif rule.phase_baseline == 0:
            why = "needs rule.phase_baseline > 0 (a trial's error is compared with its running baseline)"
        elif rule.eligibility_filter != 1.0:
            why = "its sum over the trial replaces the eligibility trace: set rule.eligibility_filter = 1"
        else:
            return
        raise ConfigError(f"rule.trial_ms = {rule.trial_ms!r} is not allowed: {why}")

    def _check_recording(self):
        rec, n = self.recording, self.network.n_neurons
        if isinstance(rec.n_units, int) and rec.n_units > n:
            raise ConfigError(f"recording.n_units = {rec.n_units} is not allowed: the reservoir has "
                              f"network.n_neurons = {n} units")
        if isinstance(rec.n_units, tuple) and max(rec.n_units) >= n:
            raise ConfigError(f"recording.n_units = {list(rec.n_units)} is not allowed: unit indices run from 0 "
                              f"to {n - 1} (network.n_neurons = {n})")
        total = self.n_periods
        if isinstance(rec.units_window, tuple) and max(rec.units_window) >= total:
            raise ConfigError(f"recording.units_window = {list(rec.units_window)} is not allowed: periods run from 0 "
                              f"to {total - 1}")
        if rec.checkpoints and max(rec.checkpoints) > total:
            raise ConfigError(f"recording.checkpoints = {list(rec.checkpoints)} is not allowed: checkpoint K is the "
                              f"state after K periods, from 1 to the run's {total} periods")

    def manipulation_steps(self, m: Manipulation) -> tuple[int, int]:
        """The [start, stop) steps of a manipulation."""
        per_step = self.n_period_steps if m.unit == "periods" else 1.0 / self.network.dt_ms
        stop = self.n_steps if m.stop < 0 else round(m.stop * per_step)
        return round(m.start * per_step), stop

    def _check_manipulations(self):
        total = self.n_periods
        spans = []
        for i, m in enumerate(self.manipulations):
            start, stop = self.manipulation_steps(m)
            end = f"{total} periods = {self.n_steps * self.network.dt_ms:g} ms"
            if start >= self.n_steps:
                raise ConfigError(f"{m.where(i)}.start = {m.start!r} {m.unit} is not allowed: the run ends at {end}")
            if stop > self.n_steps:
                raise ConfigError(f"{m.where(i)}.stop = {m.stop!r} {m.unit} is not allowed: the run ends at {end}")
            if stop <= start:
                raise ConfigError(f"{m.where(i)}.stop = {m.stop!r} is not allowed: must be after start = {m.start!r}")
            for j, (kind, s0, s1) in enumerate(spans):
                if kind == m.kind and s0 < stop and start < s1:
                    raise ConfigError(f"{m.where(i)} overlaps manipulations[{j}] of the same kind: a quantity can "
                                      "have one value at a time; make them consecutive")
            spans.append((m.kind, start, stop))
            if m.kind == "switch_target":
                TaskConfig(**{**dataclasses.asdict(self.task), "target": m.target})  # validates the curve

    @property
    def n_period_steps(self) -> int:
        return round(self.task.duration_ms / self.network.dt_ms)

    @property
    def replay_lag_steps(self) -> int:
        return min(self.schedule.replay_lag_trials, self.schedule.n_train_trials) * self.n_period_steps

    @property
    def n_train_steps(self) -> int:
        return self.schedule.n_train_trials * self.n_period_steps

    @property
    def n_periods(self) -> int:
        """Training and test periods together."""
        return self.schedule.n_train_trials + self.schedule.n_test_trials

    @property
    def n_steps(self) -> int:
        return self.n_periods * self.n_period_steps

    def digest_dict(self) -> dict:
        """``to_dict`` without name, description and the keys added later that are at their defaults: what
        the config digest is computed from."""
        out = self.to_dict()
        out.pop("name"), out.pop("description")
        for sec, cls in SECTIONS.items():
            for f in dataclasses.fields(cls):
                default = f.default_factory() if f.default is dataclasses.MISSING else f.default
                if f.metadata.get("added") and getattr(getattr(self, sec), f.name) == default:
                    out[sec].pop(f.name)
        return out

    def to_dict(self) -> dict:
        """Every key, as plain TOML-compatible values."""
        out = {"name": self.name, "description": self.description, "preset": self.preset}
        for sec in SECTIONS:
            out[sec] = {k: list(v) if isinstance(v, tuple) else v
                        for k, v in dataclasses.asdict(getattr(self, sec)).items()}
        out["manipulations"] = [dataclasses.asdict(m) for m in self.manipulations]
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "ExperimentConfig":
        """Build from nested dicts; unknown sections or keys are errors naming what is allowed."""
        data = dict(data)
        kwargs = {"name": str(data.pop("name", "custom")), "description": str(data.pop("description", "")),
                  "preset": data.pop("preset", "faithful")}
        for sec, values in PRESETS.get(kwargs["preset"], {}).items():
            data[sec] = _apply_preset(kwargs["preset"], sec, values, dict(data.get(sec, {})))
        manipulations = data.pop("manipulations", [])
        if not isinstance(manipulations, list):
            raise ConfigError(f"manipulations = {manipulations!r} is not allowed: write [[manipulations]] tables")
        kwargs["manipulations"] = _manipulations(manipulations)
        for sec, value in data.items():
            if sec not in SECTIONS:
                raise ConfigError(f"unknown section {sec!r}: allowed are {', '.join(SECTIONS)}")
            if not isinstance(value, dict):
                raise ConfigError(f"{sec} must be a table of keys, got {value!r}")
            known = {f.name for f in dataclasses.fields(SECTIONS[sec])}
            for key in value:
                if key not in known:
                    raise ConfigError(f"unknown key {sec}.{key}: allowed keys are {', '.join(sorted(known))}")
            kwargs[sec] = SECTIONS[sec](**value)
        return cls(**kwargs)


def _apply_preset(preset: str, section: str, values: dict, given: dict) -> dict:
    """Fill the preset's keys; an explicit different value is a conflict, not silently replaced."""
    for key, value in values.items():
        if key in given and given[key] != value:
            raise ConfigError(f"{section}.{key} = {given[key]!r} is not allowed with preset = {preset!r}, which "
                              f"sets it to {value!r}: drop one of the two")
        given[key] = value
    return given


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``section.key=value``; the value is read as TOML (``300``, ``[1.8, 1.8]``) or else a string."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r} is not allowed: write KEY=VALUE, e.g. network.n_neurons=300")
    key, raw = (s.strip() for s in text.split("=", 1))
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key.split("."), value


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Return a copy of nested config ``data`` with ``KEY=VALUE`` overrides applied."""
    data = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    for text in overrides:
        path, value = parse_override(text)
        if len(path) == 1 and path[0] in ("name", "description", "preset"):
            data[path[0]] = str(value)
            continue
        if len(path) == 1 and path[0] == "manipulations":
            data["manipulations"] = value
            continue
        if len(path) == 3 and path[:2] == ["task", "plant"]:  # one parameter of the plant's table
            plant = data.setdefault("task", {}).setdefault("plant", {})
            data["task"]["plant"] = {**plant, path[2]: value}
            continue
        if len(path) != 2 or path[0] not in SECTIONS:
            raise ConfigError(f"unknown key {'.'.join(path)!r}: keys look like SECTION.KEY with SECTION one of "
                              f"{', '.join(SECTIONS)}")
        data.setdefault(path[0], {})[path[1]] = value
    return data
