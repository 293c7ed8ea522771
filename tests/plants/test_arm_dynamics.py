"""The two-joint arm with rigid-body dynamics (plants/arm_dynamics.py): conservation laws, the rigid-pendulum
closed form, joint limits, the numpy twin in reference.py, and numba compiling the very same ``step``."""

import math

import numba
import numpy as np
import pytest
from reference import arm_dynamics_step

from reservoir_motor.kernel import codes
from reservoir_motor.kernel import loop as K
from reservoir_motor.plants import arm_dynamics as A

DT = 2e-4  # s, the package's step
FREE = {"lo1": -1e3, "hi1": 1e3, "lo2": -1e3, "hi2": 1e3}  # limits out of the way
NO_VISCOSITY = {"b11": 0.0, "b12": 0.0, "b21": 0.0, "b22": 0.0}
MOVING = np.array([0.9, -1.7, 3.0, -5.0])  # a fast start: the elbow turns more than once in 2 s
# Measured drift of the kinetic energy over 2 s from MOVING (and from (0.3, -0.5, 8, 6)) at DT: at most
# 4.3e-13 relative, the RK4 truncation error (it scales as dt^4: 1.0e-10 at 1 ms, 2.5e-8 at 4 ms). Held to
# 5x that, 2e-12; the midpoint rule (RK2) drifts 3e-7 here, Euler 8e-4, a wrong Coriolis sign more.
ENERGY_TOLERANCE = 2e-12


def _run(params, state, commands, step=A.step, dt=DT):
    """States after each command, shape (n, N_STATE), and the hands, shape (n, 2)."""
    p = A.pack(params)
    state = np.array(state, dtype=float)
    states, hands, hand = np.empty((len(commands), A.N_STATE)), np.empty((len(commands), 2)), np.empty(2)
    for k, command in enumerate(commands):
        step(command, state, p, dt, hand)
        states[k], hands[k] = state, hand
    return states, hands


def test_arm_dynamics_conserves_energy_without_torque_or_viscosity():
    params = {**FREE, **NO_VISCOSITY}
    states, _ = _run(params, MOVING, np.zeros((10000, 2)))
    e0 = A.energy(MOVING, params)
    drift = np.abs(A.energy(states, params) / e0 - 1)
    assert abs(states[-1, 1] - MOVING[1]) > 2 * np.pi  # the elbow really moved: more than a turn
    assert drift.max() < ENERGY_TOLERANCE


def test_arm_dynamics_at_rest_without_torque_stays_exactly_at_rest():
    start = A.initial_state()
    states, hands = _run(None, start, np.zeros((500, 2)))
    assert (states == start).all()
    np.testing.assert_allclose(hands, 0.0, atol=1e-12)  # the default rest posture holds the hand at the origin


def test_arm_dynamics_viscosity_never_increases_energy():
    states, _ = _run(FREE, MOVING, np.zeros((5000, 2)))
    e = A.energy(np.vstack([MOVING, states]), FREE)
    assert (np.diff(e) < 0).all()
    assert e[-1] < 0.5 * e[0]  # and it dissipates


@pytest.mark.parametrize("elbow", [-1.2, 0.0, -2.5])
def test_arm_dynamics_locked_elbow_is_a_rigid_body_with_the_parallel_axis_inertia(elbow):
    p = {**NO_VISCOSITY, "lo1": -1e3, "hi1": 1e3, "lo2": elbow, "hi2": elbow}
    tau = 0.7  # N m, torque_scale = 0.1 below
    q1_0 = 0.4
    # Inertia about the shoulder of the rigid arm: each segment's own inertia plus m d^2, d the distance of
    # its centre of mass from the shoulder (upper arm: s1; forearm: |l1 e(0) + s2 e(elbow)|).
    d2 = A.DEFAULTS["l1"] ** 2 + A.DEFAULTS["s2"] ** 2 + 2 * A.DEFAULTS["l1"] * A.DEFAULTS["s2"] * math.cos(elbow)
    inertia = (A.DEFAULTS["i1"] + A.DEFAULTS["m1"] * A.DEFAULTS["s1"] ** 2
               + A.DEFAULTS["i2"] + A.DEFAULTS["m2"] * d2)
    n = 5000
    states, _ = _run(p, [q1_0, elbow, 0.0, 0.0], np.full((n, 2), tau / A.DEFAULTS["torque_scale"]))
    t = DT * np.arange(1, n + 1)
    np.testing.assert_allclose(states[:, 0], q1_0 + tau * t ** 2 / (2 * inertia), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(states[:, 2], tau * t / inertia, rtol=1e-12)
    assert (states[:, 1] == elbow).all() and (states[:, 3] == 0).all()


def test_arm_dynamics_stiffness_makes_the_locked_elbow_arm_a_damped_oscillator_about_its_rest():
    # With the elbow locked the arm is a rigid body of inertia I about the shoulder:
    # I q'' + b q' + k (q - rest) = tau, whose solution from rest at q0 is the damped oscillation below.
    elbow, k, b, rest, tau = -1.2, 0.8, 0.05, 0.3, 0.02
    p = {"b11": b, "b12": 0.0, "b21": 0.0, "b22": 0.05, "lo1": -1e3, "hi1": 1e3, "lo2": elbow, "hi2": elbow,
         "k1": k, "rest1": rest}
    d2 = A.DEFAULTS["l1"] ** 2 + A.DEFAULTS["s2"] ** 2 + 2 * A.DEFAULTS["l1"] * A.DEFAULTS["s2"] * math.cos(elbow)
    inertia = (A.DEFAULTS["i1"] + A.DEFAULTS["m1"] * A.DEFAULTS["s1"] ** 2
               + A.DEFAULTS["i2"] + A.DEFAULTS["m2"] * d2)
    n = 20000  # 4 s
    states, _ = _run(p, [0.5, elbow, 0.0, 0.0], np.full((n, 2), tau / A.DEFAULTS["torque_scale"]))
    t = DT * np.arange(1, n + 1)
    settle = rest + tau / k
    decay, omega = b / (2 * inertia), math.sqrt(k / inertia - (b / (2 * inertia)) ** 2)
    c = 0.5 - settle  # q(0) - settle; q'(0) = 0
    expected = settle + np.exp(-decay * t) * (c * np.cos(omega * t) + c * decay / omega * np.sin(omega * t))
    np.testing.assert_allclose(states[:, 0], expected, rtol=0, atol=1e-10)


def test_arm_dynamics_locked_shoulder_swings_the_forearm_alone():
    p = {**NO_VISCOSITY, "lo1": 0.3, "hi1": 0.3, "lo2": -1e3, "hi2": 1e3}
    states, _ = _run(p, [0.3, -1.0, 0.0, 0.0], np.tile([5.0, 1.0], (1000, 1)))
    inertia = A.DEFAULTS["i2"] + A.DEFAULTS["m2"] * A.DEFAULTS["s2"] ** 2  # the forearm about the elbow
    t = DT * 1000
    assert (states[:, 0] == 0.3).all()
    np.testing.assert_allclose(states[-1, 1], -1.0 + 0.1 * t ** 2 / (2 * inertia), rtol=1e-12)


def test_arm_dynamics_joint_limits_hold():
    rng = np.random.default_rng(3)
    pushes = np.repeat([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]], 2000, axis=0)  # 0.4 s each
    commands = 40.0 * np.vstack([pushes, rng.normal(size=(2000, 2))])  # 4 N m, then noise
    states, hands = _run(None, A.initial_state(), commands)
    d = A.DEFAULTS
    for j, (lo, hi) in enumerate([(d["lo1"], d["hi1"]), (d["lo2"], d["hi2"])]):
        q, w = states[:, j], states[:, 2 + j]
        assert (q >= lo).all() and (q <= hi).all()
        assert (q == lo).any() and (q == hi).any()  # the torques drive each joint into both limits
        assert (w[q == lo] >= 0).all() and (w[q == hi] <= 0).all()
    reach = np.hypot(hands[:, 0] - d["shoulder_x"], hands[:, 1] - d["shoulder_y"])
    assert (reach <= A.reach() * (1 + 1e-12)).all()
    np.testing.assert_allclose(A.joint_positions(states, None)[:, 2], hands, atol=1e-15)


def test_arm_dynamics_pack_refuses_unknown_keys_and_unphysical_values():
    packed = dict(zip(A.PARAM_NAMES, A.pack().tolist(), strict=True))
    assert A.pack().dtype == np.float64
    assert {k: v for k, v in packed.items() if k not in ("rest1", "rest2")} == {
        k: v for k, v in A.DEFAULTS.items() if k not in ("rest1", "rest2")}
    assert [packed["rest1"], packed["rest2"]] == A.initial_state()[:2].tolist()  # NaN: the resting posture
    assert A.pack({"rest1": 0.5})[A.PARAM_NAMES.index("rest1")] == 0.5
    with pytest.raises(ValueError, match="k2 = -1.0 .*>= 0"):
        A.pack({"k2": -1.0})
    assert A.pack({"m2": 2.0})[A.PARAM_NAMES.index("m2")] == 2.0
    with pytest.raises(ValueError, match="'mass'.*allowed: m1, m2"):
        A.pack({"mass": 1.0})
    with pytest.raises(ValueError, match="l2 = 0.0 .*> 0"):
        A.pack({"l2": 0.0})
    with pytest.raises(ValueError, match="lo2 = 1.0 .*<= hi2"):
        A.pack({"lo2": 1.0})
    with pytest.raises(ValueError, match="i1 = nan"):
        A.pack({"i1": float("nan")})


def test_arm_dynamics_matches_the_numpy_twin_over_random_torques():
    rng = np.random.default_rng(7)
    commands = np.repeat(rng.normal(0.0, 3.0, size=(20, 2)), 50, axis=0)
    narrow = {"b12": 0.0, "lo1": 0.8, "hi1": 1.1, "lo2": -2.0, "hi2": -1.6}  # the limits stop the arm 136 times
    stiff = {"k1": 2.0, "k2": 0.5, "rest2": -1.2}
    for params in (None, {"lo2": -1.1, "hi2": -1.1}, {"lo1": 0.9, "hi1": 0.9}, narrow, stiff):
        p = dict(zip(A.PARAM_NAMES, A.pack(params), strict=True))
        start = A.initial_state(params)
        start[2:] = [1.5, -2.0]
        states, hands = _run(params, start, commands)
        x = start
        for k, command in enumerate(commands):
            x, hand = arm_dynamics_step(command, x, p, DT)
            np.testing.assert_allclose(states[k], x, rtol=1e-10, atol=1e-10)
            np.testing.assert_allclose(hands[k], hand, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("flags", [dict(cache=False), dict(K.JIT, cache=False)], ids=["plain", "kernel-flags"])
def test_arm_dynamics_step_compiles_with_numba_and_agrees(flags):
    compiled = numba.njit(**flags)(A.step)
    rng = np.random.default_rng(11)
    commands = np.repeat(rng.normal(0.0, 5.0, size=(20, 2)), 100, axis=0)
    for params in (None, {"lo2": -1.1, "hi2": -1.1}, {"k1": 2.0, "k2": 0.5}):
        python, _ = _run(params, A.initial_state(params), commands)
        jit, hands = _run(params, A.initial_state(params), commands, step=compiled)
        scale = np.abs(python).max(axis=0)
        assert (np.abs(jit - python) <= 1e-12 * scale).all()
        np.testing.assert_allclose(A.joint_positions(jit, params)[:, 2], hands, atol=1e-15)


def test_arm_dynamics_initial_state_puts_the_hand_at_the_origin_inside_the_limits():
    q = A.initial_state()
    assert q.shape == (A.N_STATE,) and (q[2:] == 0).all()
    assert A.DEFAULTS["lo1"] < q[0] < A.DEFAULTS["hi1"] and A.DEFAULTS["lo2"] < q[1] < A.DEFAULTS["hi2"]
    np.testing.assert_allclose(A.joint_positions(q)[2], [0.0, 0.0], atol=1e-15)
    far = A.initial_state({"shoulder_y": -2.0})  # out of reach: stretched towards the origin, in the limits
    np.testing.assert_allclose(A.joint_positions(far, {"shoulder_y": -2.0})[2], [0.0, -2.0 + A.reach()])


# --- As the built-in plant task.effector = "arm_dynamics" ------------------------------------------------

def _config(*overrides):
    from reservoir_motor import load_experiment

    return load_experiment("task2-supertrex", ["task.effector='arm_dynamics'", "task.arm_lengths=[]",
                                               "task.target_scale=144.734", *overrides])


def test_arm_dynamics_plant_takes_its_parameters_from_task_plant():
    from reservoir_motor import kinds
    from reservoir_motor.simulation.simulate import plant_params

    config = _config("task.plant.m1=2.0", "task.plant.torque_scale=0.5")
    assert config.task.n_outputs == 2
    np.testing.assert_array_equal(plant_params(config), A.pack({"m1": 2.0, "torque_scale": 0.5}))
    plant = kinds.effector("arm_dynamics")
    assert plant.state_names == ("q1", "q2", "dq1", "dq2") and plant.code == codes.EFFECTOR_ARM_DYNAMICS
    np.testing.assert_array_equal(plant.initial_state(plant_params(config)), A.initial_state({"m1": 2.0}))


@pytest.mark.parametrize("overrides, words", [
    (("task.plant.m1=-1.0",), "task.plant = {'m1': -1.0} is not allowed: arm parameter m1 = -1.0"),
    (("task.plant.lo2=0.5",), "arm parameter lo2 = 0.5 is not allowed: must be <= hi2"),
    (("task.plant.mass=1.0",), "task.plant.mass = 1.0 is not allowed: unknown parameter of task.effector = "
                               "'arm_dynamics'; its parameters are m1, m2"),
    (("task.arm_lengths=[0.3, 0.3]",), "task.arm_lengths = (0.3, 0.3) is not allowed: the dynamical arm's segments"),
    (("task.target_scale=10.0",), "task.target = 'butterfly' is not allowed: a target point"),
    (("task.plant.hi1=0.8",), "cannot reach the target point"),  # the butterfly needs the shoulder up to 71 deg
    (("rule.name='force'",), "rule.name = 'force' is not allowed with task.effector = 'arm_dynamics'"),
    (("schedule.test_feedback='target'",), "schedule.test_feedback = 'target' is not allowed"),
])
def test_arm_dynamics_plant_refuses_invalid_configs_in_one_line(overrides, words):
    from reservoir_motor import ConfigError

    with pytest.raises(ConfigError) as info:
        _config(*overrides)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_arm_dynamics_out_of_reach_accepts_the_posture_of_every_reachable_point():
    rng = np.random.default_rng(0)
    p = A.pack()
    lo1, hi1, lo2, hi2 = p[A._LO1:A._LO1 + 4]
    states = np.column_stack([rng.uniform(lo1, hi1, 200), rng.uniform(lo2, hi2, 200), np.zeros((200, 2))])
    hands = A.joint_positions(states)[:, -1]
    assert A.out_of_reach(hands) is None
    assert "outside the arm's annulus" in A.out_of_reach(np.array([[0.0, 0.3]]))  # 0.7 m from the shoulder
    assert "within the joint limits" in A.out_of_reach(np.array([[0.0, -0.8]]))  # behind: the shoulder limit
