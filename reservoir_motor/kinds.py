"""The registries of the extensible kinds: learning rules, effectors, manipulations and state signals.

Each kind is one entry holding its name, its documentation, how it is validated and what the compiled
loop does with it (kernel flags or codes). ``config`` takes its allowed values and checks from here,
``simulate`` its kernel flags, ``configref`` its documentation. Adding a kind is an entry here plus, if it
needs new behaviour in the loop, the branch in ``kernel.loop`` that implements it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Callable

import numpy as np

from . import elementary
from .kernel import codes
from .plants import arm, arm_dynamics, targets, user

#: The hand moves in a plane: Task 1's outputs, and the joints an arm needs before it is redundant.
HAND_DIMENSIONS = 2


def _by_name(*entries):
    return {e.name: e for e in entries}


# --- Learning rules -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """A learning rule, as the flags that the compiled loop reads.

    ``teacher`` is what the mastery pathway's RLS step learns: the target (FORCE) or the exploratory
    output ('supervisor': raw or filtered, from ``rule.supervisor``).
    """

    name: str
    doc: str
    has_exploratory: bool         # a reward-trained readout W_exp
    has_mastery: bool             # an RLS-trained readout W_mst
    exploratory_in_test: bool     # the exploratory readout still drives the output in the test
    filters_in_test: bool         # the output filter zbar keeps running in the test
    gated_transfer: bool          # RLS steps are gated by the error (SUPERTREX's transfer)
    teacher: str                  # 'target', 'supervisor' or '' (no mastery pathway)

    def kernel_flags(self) -> dict:
        """The rule's boolean fields, by name: each is a field of ``kernel.loop.Params`` that the loop reads."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.type == "bool"}

    @property
    def needs_target_outputs(self) -> bool:
        """Learning needs the target output itself at every step (impossible with an arm)."""
        return self.has_mastery and self.teacher == "target"


RULES = _by_name(
    Rule("force", "FORCE (Sussillo & Abbott 2009): RLS on the error to the known target; one readout",
         has_exploratory=False, has_mastery=True, exploratory_in_test=False, filters_in_test=False,
         gated_transfer=False, teacher="target"),
    Rule("rmhl", "reward-modulated Hebbian learning (Legenstein et al. 2010; Hoerzer et al. 2014): one "
         "exploratory readout trained by reward alone, kept in the test",
         has_exploratory=True, has_mastery=False, exploratory_in_test=True, filters_in_test=False,
         gated_transfer=False, teacher=""),
    Rule("supertrex", "SUPERTREX (Pyle & Rosenbaum 2019): RMHL's exploratory readout teaches an RLS mastery "
         "readout while the error is small; the exploratory readout is removed in the test",
         has_exploratory=True, has_mastery=True, exploratory_in_test=False, filters_in_test=True,
         gated_transfer=True, teacher="supervisor"),
)


def teacher_code(rule: Rule, supervisor: str) -> int:
    """The kernel's code of what the mastery pathway learns."""
    if rule.teacher != "supervisor":
        return codes.TEACHER_TARGET
    return codes.TEACHER_FILTERED if supervisor == "filtered" else codes.TEACHER_RAW


# --- Effectors (plants) ---------------------------------------------------------------------------

def _no_params(task) -> np.ndarray:
    return np.zeros(0)


def _no_state(params) -> np.ndarray:
    return np.zeros(0)


@dataclass(frozen=True)
class Effector:
    """A plant: what the network's outputs move, one entry per plant.

    Every plant advances by the same step, ``step(command, state, params, dt_s, hand)`` (``plants.user``):
    ``command`` the network outputs of the step, ``state`` the plant's own state advanced in place,
    ``params`` its parameters, ``dt_s`` the simulation step in seconds, ``hand`` the hand position written.
    ``check(task)`` returns ``(task key, why)`` for an invalid task, or None; ``trial(task, dt_s)`` the same
    for a plant that must be tried before it is accepted (a user's).
    """

    name: str
    doc: str
    code: int                                  # the branch of ``kernel.loop.plant_step``; USER_PLANT: its own loop
    n_outputs: Callable[[object], int]         # network outputs the plant takes as its command, given the task
    check: Callable[[object], tuple[str, str] | None]
    has_target_outputs: bool                   # the target output is known (FORCE, teacher forcing)
    params: Callable[[object], np.ndarray] = _no_params   # the parameter vector, from the task config
    param_defaults: dict = field(default_factory=dict)    # names and defaults of the task.plant table
    state_names: tuple = ()                    # the plant state's entries (recorded with the hand)
    angle_states: tuple = ()                   # those that are joint angles (rad): the run figure's angle panel
    initial_state: Callable[[np.ndarray], np.ndarray] = _no_state   # of the parameter vector
    reach: Callable | None = None              # reach(points, params): why a target point is out of reach, or None
    joints: Callable | None = None             # joints(commands, states, params): (samples, points, 2) to draw
    step: Callable | None = None               # a user's plain-Python step, compiled into its own loop (the
                                               # built-ins are branches of ``kernel.loop.plant_step``)
    trial: Callable[[object, float], tuple[str, str] | None] = lambda task, dt_s: None

    @property
    def n_state(self) -> int:
        return len(self.state_names)


#: ``Effector.code`` of a user's plant: not a branch of the shared loop but a loop compiled for it.
USER_PLANT = -1


def _check_identity(task):
    if task.arm_lengths:
        return "arm_lengths", "only the arm effector has segments; use task.effector = 'arm'"
    return None


def _check_arm(task):
    if not task.arm_lengths:
        return "arm_lengths", "the arm effector needs at least one segment length"
    return None


def _arm_lengths(task) -> np.ndarray:
    return np.asarray(task.arm_lengths, dtype=np.float64)


def _arm_joints(commands, states, params) -> np.ndarray:
    return arm.joint_positions(commands, params)


def _known_plant_keys(task) -> dict:
    """task.plant's entries that name a parameter of the dynamical arm (unknown ones are refused by the config)."""
    return {k: v for k, v in task.plant.items() if k in arm_dynamics.DEFAULTS}


def _check_arm_dynamics(task):
    if task.arm_lengths:
        return "arm_lengths", "the dynamical arm's segments are task.plant.l1 and task.plant.l2"
    try:
        arm_dynamics.pack(_known_plant_keys(task))
    except ValueError as exc:
        return "plant", str(exc)
    return None


def _arm_dynamics_params(task) -> np.ndarray:
    return arm_dynamics.pack(_known_plant_keys(task))


def _named(params) -> dict:
    """The dynamical arm's parameter vector as the dict its numpy companions take."""
    return dict(zip(arm_dynamics.PARAM_NAMES, np.asarray(params, dtype=np.float64).tolist(), strict=True))


EFFECTORS = _by_name(
    Effector("identity", "the outputs are the hand's (x, y) (Task 1)", codes.EFFECTOR_IDENTITY,
             n_outputs=lambda task: HAND_DIMENSIONS, check=_check_identity, has_target_outputs=True),
    Effector("arm", "the outputs are the joint angles of a planar arm, in units of pi (Tasks 2, 3)",
             codes.EFFECTOR_ARM, n_outputs=lambda task: len(task.arm_lengths), check=_check_arm,
             has_target_outputs=False, params=_arm_lengths, reach=targets.check_reachable, joints=_arm_joints),
    Effector("arm_dynamics", "the outputs, times task.plant.torque_scale, are the shoulder and elbow torques (N m) "
             "of a two-joint arm with rigid-body dynamics and joint limits (docs/arm-dynamics.md)",
             codes.EFFECTOR_ARM_DYNAMICS, n_outputs=lambda task: HAND_DIMENSIONS, check=_check_arm_dynamics,
             has_target_outputs=False, params=_arm_dynamics_params, param_defaults=dict(arm_dynamics.DEFAULTS),
             state_names=("q1", "q2", "dq1", "dq2"), angle_states=("q1", "q2"),
             initial_state=lambda params: arm_dynamics.initial_state(_named(params)),
             reach=lambda points, params: arm_dynamics.out_of_reach(points, _named(params)),
             joints=lambda commands, states, params: arm_dynamics.joint_positions(states, _named(params))),
)


_USER_EFFECTORS: dict[str, Effector] = {}


def effector(name: str) -> Effector:
    """The plant named by ``task.effector``: a registered one, or a user's ``package.module:name``.

    A user's plant (``plants.user``) is imported and checked once per process; ``ConfigError`` says in one
    line why it cannot be imported or is not a valid ``Plant``.
    """
    if name in EFFECTORS:
        return EFFECTORS[name]
    if name not in _USER_EFFECTORS:
        plant = user.load_plant(name)
        trials = {}

        def trial(task, dt_s):
            key = (tuple(sorted(task.plant.items())), dt_s)
            if key not in trials:
                trials[key] = user.trial_step(name, plant, task, dt_s)
            return trials[key]

        _USER_EFFECTORS[name] = Effector(
            name=name, doc=plant.doc or name, code=USER_PLANT, n_outputs=lambda task: plant.n_inputs,
            check=lambda task: ("arm_lengths", "only the arm effector has segments") if task.arm_lengths else None,
            has_target_outputs=False, params=lambda task: user.parameters(plant, task),
            param_defaults=dict(plant.params), state_names=tuple(plant.state_names),
            initial_state=lambda params: user.initial_state(plant, params), reach=plant.reach, joints=plant.joints,
            step=getattr(plant.step, "py_func", plant.step), trial=trial)
    return _USER_EFFECTORS[name]


# --- Manipulations --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ManipulationKind:
    """A manipulation: while active, it sets, scales or offsets one quantity (``slot``) of the loop.

    ``check(value)`` returns why a value is invalid, or ''. ``takes_target``: the kind needs a curve.
    """

    name: str
    effect: str                 # what it does in the model (the config reference's table)
    slot: int                   # the quantity of the loop it acts on (``kernel.loop.SLOT_*``)
    op: int                     # how its value combines (``kernel.loop.OP_*``)
    check: Callable[[float], str] = lambda value: ""
    takes_target: bool = False


def _gain(value: float) -> str:
    return "a gain must be >= 0" if value < 0 else ""


MANIPULATIONS = _by_name(
    ManipulationKind("dopamine", "multiplies the exploratory weight update by `value` (dopamine level d; "
                     "healthy 1, Parkinson's disease < 1, L-DOPA restores it)",
                     codes.SLOT_DOPAMINE, codes.OP_MULTIPLY, check=_gain),
    ManipulationKind("exploration_gain", "multiplies the exploration amplitude Psi(ebar) by `value` "
                     "(dopamine-dependent motor variability; healthy 1)",
                     codes.SLOT_EXPLORATION_GAIN, codes.OP_MULTIPLY, check=_gain),
    ManipulationKind("reward_bias", "adds `value` to e_hat before Phi (tonic dopamine loss: outcomes read as "
                     "worse than expected, so the exploratory pathway learns the wrong way; healthy 0)",
                     codes.SLOT_REWARD_BIAS, codes.OP_ADD),
    ManipulationKind("lesion_exploratory", "removes the exploratory output and its noise from the motor command "
                     "and freezes its weights (pallidotomy, GPi inactivation, LMAN lesion); the mastery "
                     "pathway's supervisor is the exploratory output, so the mastery pathway stops learning too",
                     codes.SLOT_LESION, codes.OP_SET_ONE),
    ManipulationKind("block_transfer", "holds the transfer gate at 0: the mastery pathway and P stop changing "
                     "(blocked cortical plasticity)", codes.SLOT_BLOCK_TRANSFER, codes.OP_SET_ONE),
    ManipulationKind("switch_target", "the curve named by `target` (a built-in name or a .csv / .npy file) "
                     "replaces the task's target: a second skill to learn",
                     codes.SLOT_CURVE, codes.OP_SET, takes_target=True),
)

#: Test-phase feedback modes and their kernel codes.
FEEDBACK = {"target": codes.FEEDBACK_TARGET, "replay": codes.FEEDBACK_REPLAY, "autonomous": codes.FEEDBACK_AUTONOMOUS}


# --- State signals --------------------------------------------------------------------------------

@dataclass(frozen=True)
class StateSignal:
    """What the state input carries (``network.state_signal``).

    ``source`` says where the compiled loop reads it: ``STATE_TABLE``, a table over the phase computed
    before the loop by ``table(theta, net)`` (theta the butterfly's grid over one period, net the network
    config; returns steps x channels); ``STATE_HAND`` or ``STATE_TARGET``, read in the loop (2 channels).
    """

    name: str
    doc: str
    source: int
    channels: Callable = lambda net: HAND_DIMENSIONS
    table: Callable | None = None


def _harmonics(theta, k):
    signal = np.empty((theta.size, 2 * k.size))
    signal[:, 0::2], signal[:, 1::2] = elementary.cos(np.outer(theta, k)), elementary.sin(np.outer(theta, k))
    return signal


STATE_SIGNALS = _by_name(
    StateSignal("phase", "cos, sin of the movement phase on the butterfly's theta grid", codes.STATE_TABLE,
                table=lambda theta, net: _harmonics(theta, np.arange(1, 2))),
    # a constant channel gives each unit a fixed bias; without one the tanh network is odd, and entrained by a
    # sinusoid its rates carry only the odd harmonics of the period (docs/results.md)
    StateSignal("biased-phase", "cos, sin of the movement phase and a constant 1 (a fixed bias per unit)",
                codes.STATE_TABLE, channels=lambda net: 3,
                table=lambda theta, net: np.column_stack([_harmonics(theta, np.arange(1, 2)),
                                                          np.ones(theta.size)])),
    StateSignal("harmonics", "cos k theta, sin k theta for k = 1 .. state_harmonics", codes.STATE_TABLE,
                channels=lambda net: 2 * net.state_harmonics,
                table=lambda theta, net: _harmonics(theta, np.arange(1, net.state_harmonics + 1))),
    StateSignal("ramp", "the scripts' phase ramp theta / 2 pi", codes.STATE_TABLE, channels=lambda net: 1,
                table=lambda theta, net: (theta / (2.0 * np.pi))[:, None]),
    StateSignal("hand", "proprioception: the hand position of the previous step, 0 at the first", codes.STATE_HAND),
    StateSignal("target", "vision: the target point of this step", codes.STATE_TARGET),
)

