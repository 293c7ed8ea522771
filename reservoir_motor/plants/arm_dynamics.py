"""Planar two-joint arm with rigid-body dynamics, driven by joint torques (a horizontal arm: no gravity).

The network's first two outputs, times ``torque_scale``, are the shoulder and elbow torques. ``step``
advances the joint state by one time step with the full equations of motion

    M(q) q'' + C(q, q') q' + B q' + K (q - rest) = tau

(classical RK4; the stiffness K = diag(k1, k2) is zero by default), applies the joint limits and writes the
hand position. Like ``arm.tip_position``, ``step`` is plain Python on scalars and float64 arrays, so that the
compiled loop can compile the very same function (numba, inlined); it allocates nothing and calls nothing but
``math``. ``inertia``, ``energy``, ``joint_positions`` and ``reach`` are its numpy companions for tests and drawing.
docs/arm-dynamics.md writes the equations out and reports the measured accuracy.

Angles follow ``arm``: radians here (not units of pi), measured from the +y axis ("forward") and
accumulating along the arm, positive clockwise, so the elbow at angle q1 + 0 continues the upper arm.
The arm is a right arm seen from above: the elbow flexes to negative q2.

State (``N_STATE`` floats): q1, q2 (rad), dq1, dq2 (rad/s).

Parameters (``PARAM_NAMES``, packed in that order by ``pack``)
--------------------------------------------------------------
m1, m2              segment masses (kg)
l1, l2              segment lengths (m)
s1, s2              distance of each segment's centre of mass from its proximal joint (m)
i1, i2              moment of inertia of each segment about its centre of mass (kg m^2)
b11, b12, b21, b22  joint viscosity matrix B (N m s / rad); torque -B q'
k1, k2              joint stiffness (N m / rad) about rest1, rest2; torque -k (q - rest); 0 = none
rest1, rest2        the angles (rad) the stiffness pulls toward; NaN (the default) = the resting posture
                    of ``initial_state``
torque_scale        N m of joint torque per unit of network output
lo1, hi1, lo2, hi2  joint limits (rad); lo == hi locks the joint at that angle
shoulder_x, _y      shoulder position in task coordinates (m)

Sources of the defaults
-----------------------
Segments and viscosity: Li, W. & Todorov, E. (2004) Iterative linear quadratic regulator design for
nonlinear biological movement systems. ICINCO 2004, pp. 222-229, section 3 (the human arm model):
m = (1.4, 1.0) kg, l = (0.30, 0.33) m, s = (0.11, 0.16) m, B = [[0.05, 0.025], [0.025, 0.05]] N m s/rad
and I = (0.025, 0.045) kg m^2. Their inertia matrix, a1 = I1 + I2 + m2 l1^2, a2 = m2 l1 s2, a3 = I2,
is complete only if I1 and I2 are the inertias about the joints (M22 = a3 must be i2 + m2 s2^2), so the
inertias about the centre of mass are i = I - m s^2 (parallel axes): i1 = 0.00806, i2 = 0.0194 kg m^2.

MotorNet's ``TwoDofArm`` (Codol et al., github.com/OlivierCodol/MotorNet, motornet/skeleton.py) does
not use these numbers: its defaults are m = (1.864572, 1.534315) kg, l = (0.309, 0.26) m,
centres of mass (0.180496, 0.181479) m, inertias about the centre of mass (0.013193, 0.020062) kg m^2,
viscosity 0; they are the humerus and ulna-radius-hand bodies of the OpenSim arm26 model. Pass them
through ``pack`` to use that arm. Its joint limits, shoulder 0-140 deg and elbow 0-160 deg in its frame
(shoulder angle from +x, counter-clockwise), are the defaults here, in this module's frame:
q1 = 90 deg - shoulder, q2 = -elbow, so q1 in [-50, 90] deg and q2 in [-160, 0] deg.
"""

from __future__ import annotations

import math

import numpy as np

from .. import elementary

PARAM_NAMES = ("m1", "m2", "l1", "l2", "s1", "s2", "i1", "i2", "b11", "b12", "b21", "b22", "torque_scale",
               "lo1", "hi1", "lo2", "hi2", "shoulder_x", "shoulder_y", "k1", "k2", "rest1", "rest2")
N_STATE = 4

_LI_TODOROV_JOINT_INERTIA = (0.025, 0.045)  # kg m^2 about the shoulder and the elbow (see the docstring)

DEFAULTS = {
    "m1": 1.4, "m2": 1.0, "l1": 0.30, "l2": 0.33, "s1": 0.11, "s2": 0.16,
    "i1": _LI_TODOROV_JOINT_INERTIA[0] - 1.4 * 0.11 ** 2,
    "i2": _LI_TODOROV_JOINT_INERTIA[1] - 1.0 * 0.16 ** 2,
    "b11": 0.05, "b12": 0.025, "b21": 0.025, "b22": 0.05,
    # Sized for the package's tasks (10 s periods): drawing the butterfly at a radius of 0.1 m (target_scale
    # 144.7) takes peak torques of 0.11 N m at the shoulder and 0.05 N m at the elbow (inverse dynamics of
    # the default arm), outputs of about 1.1 and 0.5 at 0.1 N m per unit. A 0.2 m reach in 0.5 s (0.9-1.8 N m)
    # would take outputs of 10-18: a faster task raises torque_scale.
    "torque_scale": 0.1,
    "lo1": math.radians(-50.0), "hi1": math.radians(90.0),
    "lo2": math.radians(-160.0), "hi2": 0.0,
    # The task origin 0.40 m straight in front of the shoulder (the reach is 0.63 m): the hand sits there
    # with the shoulder at 54 deg and the elbow at -101 deg, 36 deg and more from every limit; the butterfly
    # scaled to a radius of 0.1 m keeps the shoulder in [35, 71] deg and the elbow in [-117, -86] deg.
    "shoulder_x": 0.0, "shoulder_y": -0.40,
    # No stiffness by default (Li & Todorov's arm): the hand has no position it returns to, so a constant
    # torque drives it away for good. k1, k2 model the intrinsic stiffness of the muscles about a posture.
    "k1": 0.0, "k2": 0.0, "rest1": math.nan, "rest2": math.nan,
}

_LO1 = PARAM_NAMES.index("lo1")  # lo1, hi1, lo2, hi2 follow; a global int is a constant to numba
_POSITIVE = ("m1", "m2", "l1", "l2")
_NON_NEGATIVE = ("s1", "s2", "i1", "i2", "k1", "k2")
_REST = ("rest1", "rest2")


def pack(params: dict | None = None) -> np.ndarray:
    """The parameters as a float64 array in ``PARAM_NAMES`` order; missing names take ``DEFAULTS``.

    Raises
    ------
    ValueError
        For a name not in ``PARAM_NAMES``, a value that is not finite, a mass or length <= 0, a centre of
        mass or inertia < 0, or a joint with lo > hi. The message names the key, its value and what is allowed.
    """
    params = {} if params is None else dict(params)
    for key in params:
        if key not in DEFAULTS:
            raise ValueError(f"arm parameter {key!r} is not known; allowed: {', '.join(PARAM_NAMES)}")
    values = {**DEFAULTS, **params}
    for key, value in values.items():
        if not math.isfinite(float(value)) and not (key in _REST and math.isnan(float(value))):
            raise ValueError(f"arm parameter {key} = {value} is not allowed: must be finite")
    for key in _POSITIVE:
        if values[key] <= 0:
            raise ValueError(f"arm parameter {key} = {values[key]} is not allowed: must be > 0")
    for key in _NON_NEGATIVE:
        if values[key] < 0:
            raise ValueError(f"arm parameter {key} = {values[key]} is not allowed: must be >= 0")
    if values["i2"] + values["m2"] * values["s2"] ** 2 == 0:  # a massless forearm has no elbow dynamics
        raise ValueError("arm parameters i2 = 0 and s2 = 0 are not allowed together: the forearm would have "
                         "no inertia about the elbow")
    for j in (1, 2):
        lo, hi = values[f"lo{j}"], values[f"hi{j}"]
        if lo > hi:
            raise ValueError(f"arm parameter lo{j} = {lo} is not allowed: must be <= hi{j} = {hi}")
    for key, angle in zip(_REST, _resting_posture(values), strict=True):
        if math.isnan(values[key]):
            values[key] = angle
    return np.array([values[name] for name in PARAM_NAMES], dtype=np.float64)


def _resting_posture(values: dict) -> tuple[float, float]:
    """The joint angles that put the hand at the task origin (elbow flexed), or that stretch (or fold) the arm
    towards it where it is out of reach; a locked joint stays at its angle; clipped into the joint limits."""
    l1, l2, x0, y0 = values["l1"], values["l2"], values["shoulder_x"], values["shoulder_y"]
    lo1, hi1, lo2, hi2 = values["lo1"], values["hi1"], values["lo2"], values["hi2"]
    dx, dy = -x0, -y0
    d = min(max(math.sqrt(dx * dx + dy * dy), abs(l1 - l2)), l1 + l2)
    cos_elbow = (d * d - l1 * l1 - l2 * l2) / (2.0 * l1 * l2)
    q2 = lo2 if lo2 == hi2 else -elementary.acos(min(max(cos_elbow, -1.0), 1.0))
    q1 = elementary.atan2(dx, dy) - elementary.atan2(l2 * elementary.sin(q2), l1 + l2 * elementary.cos(q2))
    return min(max(q1, lo1), hi1), min(max(q2, lo2), hi2)


def initial_state(params: dict | None = None) -> np.ndarray:
    """At rest, the hand at the task origin (0, 0), the elbow flexed (q2 <= 0).

    Where the origin is out of reach, the posture that stretches (or folds) the arm towards it; a locked
    joint stays at its angle; the angles are then clipped into the joint limits.
    """
    q1, q2 = _resting_posture(dict(zip(PARAM_NAMES, pack(params), strict=True)))
    return np.array([q1, q2, 0.0, 0.0])


def step(command, state, params, dt_s, hand):
    """Advance ``state`` (q1, q2, dq1, dq2) in place by ``dt_s`` seconds; the hand position into ``hand[0:2]``.

    Parameters
    ----------
    command : float64 array
        Network output; ``command[0:2]`` times ``torque_scale`` are the shoulder and elbow torques (N m),
        held constant over the step.
    state : float64 array, shape (N_STATE,)
    params : float64 array from ``pack``
    dt_s : float
        Time step (s).
    hand : float64 array, at least 2 long
        Receives the hand position in task coordinates (m).

    Notes
    -----
    M(q) q'' + C(q, q') q' + B q' = tau, with (a1, a2, a3 below)

        M = [[a1 + 2 a2 cos q2, a3 + a2 cos q2], [a3 + a2 cos q2, a3]]
        C q' = a2 sin q2 (-(2 q1' q2' + q2'^2), q1'^2)
        a1 = i1 + m1 s1^2 + i2 + m2 (l1^2 + s2^2),  a2 = m2 l1 s2,  a3 = i2 + m2 s2^2.

    Classical RK4 (local error O(dt^5)). A locked joint (lo == hi) is held at lo with zero velocity and
    zero acceleration: the other joint's equation is solved alone, so a locked elbow makes a rigid body
    pendulum about the shoulder. After the step each angle is clipped into [lo, hi], and a velocity that
    points further into the limit it touches is set to zero.
    """
    (m1, m2, l1, l2, s1, s2, i1, i2, b11, b12, b21, b22, gain, lo1, hi1, lo2, hi2, x0, y0,
     k1, k2, rest1, rest2) = params
    tau1 = gain * command[0]
    tau2 = gain * command[1]
    lock1 = lo1 == hi1
    lock2 = lo2 == hi2
    for j in range(2):  # a locked joint rests at its angle
        lo = params[_LO1 + 2 * j]
        if lo == params[_LO1 + 2 * j + 1]:
            state[j] = lo
            state[2 + j] = 0.0
    a1 = i1 + m1 * s1 * s1 + i2 + m2 * (l1 * l1 + s2 * s2)
    a2 = m2 * l1 * s2
    a3 = i2 + m2 * s2 * s2
    q1, q2, w1, w2 = state[0], state[1], state[2], state[3]
    # RK4 in one loop (a helper function would not compile inside the loop): stage k evaluates the
    # derivative at the start plus c_k dt times the previous stage's derivative, and adds it with weight
    # 1, 2, 2, 1.
    kq1 = kq2 = kw1 = kw2 = 0.0
    sq1 = sq2 = sw1 = sw2 = 0.0
    for k in range(4):
        c = 0.0 if k == 0 else (1.0 if k == 3 else 0.5)
        p1 = q1 + c * dt_s * kq1  # enters through the stiffness alone: M and C depend on q2 alone
        p2 = q2 + c * dt_s * kq2
        v1 = w1 + c * dt_s * kw1
        v2 = w2 + c * dt_s * kw2
        cos2 = elementary.cos(p2)
        sin2 = elementary.sin(p2)
        m11 = a1 + 2.0 * a2 * cos2
        m12 = a3 + a2 * cos2
        r1 = tau1 + a2 * sin2 * (2.0 * v1 * v2 + v2 * v2) - b11 * v1 - b12 * v2 - k1 * (p1 - rest1)
        r2 = tau2 - a2 * sin2 * v1 * v1 - b21 * v1 - b22 * v2 - k2 * (p2 - rest2)
        if lock1 and lock2:
            d1 = 0.0
            d2 = 0.0
        elif lock2:
            d1 = r1 / m11
            d2 = 0.0
        elif lock1:
            d1 = 0.0
            d2 = r2 / a3
        else:
            det = m11 * a3 - m12 * m12  # > 0: M is positive definite
            d1 = (a3 * r1 - m12 * r2) / det
            d2 = (m11 * r2 - m12 * r1) / det
        kq1, kq2, kw1, kw2 = v1, v2, d1, d2
        weight = 1.0 if k == 0 or k == 3 else 2.0
        sq1 += weight * kq1
        sq2 += weight * kq2
        sw1 += weight * kw1
        sw2 += weight * kw2
    h = dt_s / 6.0
    state[0] = q1 + h * sq1
    state[1] = q2 + h * sq2
    state[2] = w1 + h * sw1
    state[3] = w2 + h * sw2
    for j in range(2):
        lo = params[_LO1 + 2 * j]
        hi = params[_LO1 + 2 * j + 1]
        if state[j] <= lo:
            state[j] = lo
            state[2 + j] = max(state[2 + j], 0.0)
        if state[j] >= hi:
            state[j] = hi
            state[2 + j] = min(state[2 + j], 0.0)
    q1 = state[0]
    q2 = state[1]
    hand[0] = x0 + l1 * elementary.sin(q1) + l2 * elementary.sin(q1 + q2)
    hand[1] = y0 + l1 * elementary.cos(q1) + l2 * elementary.cos(q1 + q2)


def _named(params) -> dict:
    return dict(zip(PARAM_NAMES, pack(params), strict=True))


def inertia(q2, params: dict | None = None):
    """The entries m11, m12, m22 of the inertia matrix M(q) at elbow angle(s) ``q2`` (M depends on q2 alone)."""
    m1, m2, l1, l2, s1, s2, i1, i2 = pack(params)[:8]
    cos2 = elementary.cos(np.asarray(q2, dtype=np.float64))
    m11 = i1 + m1 * s1 ** 2 + i2 + m2 * (l1 ** 2 + s2 ** 2 + 2 * l1 * s2 * cos2)
    m12 = i2 + m2 * (s2 ** 2 + l1 * s2 * cos2)
    m22 = i2 + m2 * s2 ** 2
    return m11, m12, m22


def energy(states, params: dict | None = None):
    """Kinetic energy (J) of ``states``, shape (..., N_STATE); a float for one state."""
    states = np.asarray(states, dtype=np.float64)
    w1, w2 = states[..., 2], states[..., 3]
    m11, m12, m22 = inertia(states[..., 1], params)
    e = 0.5 * (m11 * w1 ** 2 + 2 * m12 * w1 * w2 + m22 * w2 ** 2)
    return float(e) if e.ndim == 0 else e


def joint_positions(states, params: dict | None = None) -> np.ndarray:
    """Shoulder, elbow and hand positions (task coordinates, m) of ``states``, shape (..., >= 2).

    Returns
    -------
    array, shape (..., 3, 2)
    """
    p = _named(params)
    states = np.asarray(states, dtype=np.float64)
    phi = np.cumsum(states[..., :2], axis=-1)
    lengths = np.array([p["l1"], p["l2"]])
    steps = np.stack([lengths * elementary.sin(phi), lengths * elementary.cos(phi)], axis=-1)
    start = np.broadcast_to(np.array([p["shoulder_x"], p["shoulder_y"]]), states.shape[:-1] + (1, 2))
    return np.concatenate([start, start + np.cumsum(steps, axis=-2)], axis=-2)


def reach(params: dict | None = None) -> float:
    """Radius (m) of the disc around the shoulder that the hand can reach, joint limits aside."""
    p = _named(params)
    return p["l1"] + p["l2"]


def out_of_reach(points, params: dict | None = None) -> str | None:
    """Why the hand cannot be put at every point (rows of ``points``, shape (n, 2)) within the joint limits, or None.

    A point is reachable when one of its two postures (elbow flexed either way, by inverse kinematics) has both
    angles inside [lo, hi] (to 1e-9 rad, so that a locked joint's own circle counts); the shoulder angle is
    taken modulo 2 pi.
    """
    p = _named(params)
    l1, l2 = p["l1"], p["l2"]
    dx = np.asarray(points, dtype=np.float64)[:, 0] - p["shoulder_x"]
    dy = np.asarray(points, dtype=np.float64)[:, 1] - p["shoulder_y"]
    d2 = dx * dx + dy * dy
    cos_elbow = (d2 - l1 * l1 - l2 * l2) / (2.0 * l1 * l2)
    far = np.abs(cos_elbow) > 1.0 + 1e-12
    if far.any():
        i = int(np.argmax(far))
        return (f"a target point ({points[i][0]:.3g}, {points[i][1]:.3g}) lies {math.sqrt(d2[i]):.3g} m from the "
                f"shoulder, outside the arm's annulus [{abs(l1 - l2):.3g}, {l1 + l2:.3g}] m")
    tol = 1e-9
    ok = np.zeros(dx.shape, bool)
    for sign in (-1.0, 1.0):
        q2 = sign * np.arccos(np.clip(cos_elbow, -1.0, 1.0))
        q1 = np.arctan2(dx, dy) - np.arctan2(l2 * np.sin(q2), l1 + l2 * np.cos(q2))
        q1 = p["lo1"] + np.mod(q1 - p["lo1"] + tol, 2.0 * np.pi) - tol  # the turn of q1 nearest above lo1
        ok |= ((q1 <= p["hi1"] + tol) & (p["lo2"] - tol <= q2) & (q2 <= p["hi2"] + tol))
    if not ok.all():
        i = int(np.argmin(ok))
        return (f"the hand cannot reach the target point ({points[i][0]:.3g}, {points[i][1]:.3g}) within the joint "
                f"limits q1 in [{p['lo1']:.3g}, {p['hi1']:.3g}], q2 in [{p['lo2']:.3g}, {p['hi2']:.3g}] rad")
    return None
