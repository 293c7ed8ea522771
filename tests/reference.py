"""A plain numpy reference of one run, in the paper's matrix form: the oracle for the compiled loop.

Written from the specification (``paper_spec.md`` sections 2-7, ``lesions.md``) and the field
documentation of ``reservoir_motor.config``, not from ``reservoir_motor.kernel.loop``. It is slow on
purpose: one Python iteration per time step, dense matrices, every update written as the equation it
implements. The tests run it and the compiled package on small networks with the same random streams
and compare the trajectories step by step. Only the network (J, Q, x(0)) and the random streams are
taken from the package.

Symbols (spec sections 2-5)
---------------------------
x, r            reservoir state and rates, r = tanh(x) (+ U(-alpha, alpha) noise while training)
J, Q, Q_s       recurrent, output-feedback and state-input weights
W_exp, W_mst    exploratory (reward-modulated) and mastery (RLS) readouts, n_out x N
P               inverse correlation matrix of r, P(0) = I / gamma
z_exp, z_mst, z exploratory, mastery and total output; fb the feedback of the next step
zbar, ebar, m   output filter, fast error filter, slow error filter (distance = sqrt(m))
zbar_move       filter of the total output, the zbar of the movement cost (task.cost_signal = 'movement')
beta            exploration amplitude Psi(ebar), used at the next step

Conventions (0-based step s, ``n_train`` training steps, then the test)
----------------------------------------------------------------------
* s = 0: zero feedback; the filters start at zbar = z_exp, zbar_move = z, ebar = e, m = e; nothing is
  learned.
* Each training step draws the reservoir noise (N uniforms, if alpha > 0) and then, for RMHL and
  SUPERTREX, the exploration noise (n_out uniforms), also while the exploratory pathway is lesioned, so
  that a manipulated run and its control stay paired (lesions.md). The test phase draws nothing.
* Learning happens on training steps s >= 1; RLS on those with (s + 1) % rls_every == 0.
* Test: weights frozen, no noise. SUPERTREX drops its exploratory pathway (z_exp = 0) but keeps
  filtering zbar; RMHL keeps z_exp = W_exp r and freezes zbar. Feedback of the next step is the target
  ('target'), the training output of ``replay_lag_trials`` periods earlier ('replay'; the last ``lag``
  training steps repeat when the test is longer than the lag), or the own output ('autonomous').
* Manipulations act on the steps [start, stop) of their window. Exploration gain multiplies Psi where
  Psi is evaluated, so the amplitude drawn at step s is the gain of step s - 1 times Psi(ebar(s - 1)).
  The state input s(t) of step s is the phase (cos, sin) of the butterfly's theta grid at s mod period,
  the same sample as that step's target.
* Adaptive threshold: at the first step of every training period after the first, the plain mean of
  the error over the period just ended is compared with the best earlier period's mean. If it is not
  lower, learning has stalled and, for this period, the threshold is max(theta, factor x best).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from reservoir_motor import kinds
from reservoir_motor.plants import arm_dynamics
from reservoir_motor.simulation.network import make_network, make_streams

HAND_DIMENSIONS = 2  # a plane: an arm with more joints than this is redundant


def _theta(n_samples: int) -> np.ndarray:
    """The scripts' grid: 0 to 2 pi inclusive, so the first and last samples coincide (spec 6.1)."""
    return np.linspace(0.0, 2.0 * np.pi, n_samples)


def butterfly(n_samples: int, scale: float) -> np.ndarray:
    """The Task 1 target (spec 6.1), ``(n_samples, 2)``."""
    theta = _theta(n_samples)
    rho = (9 - np.sin(theta) + 2 * np.sin(3 * theta) + 2 * np.sin(5 * theta) - np.sin(7 * theta)
           + 3 * np.cos(2 * theta) - 2 * np.cos(4 * theta))
    return np.column_stack([rho * np.cos(theta), rho * np.sin(theta)]) / scale


def target_curve(name: str, n_samples: int, scale: float) -> np.ndarray:
    """One period of ``task.target``: a named curve or a file of points evenly spaced in time.

    Circle of radius 0.6; Bernoulli's lemniscate of half-width 0.9; the 3:2 Lissajous curve with
    amplitudes 0.8 and 0.6 starting at its right-most point. A file's points are resampled by periodic
    linear interpolation, the period's first and last samples both at the file's first point.
    """
    theta = _theta(n_samples)
    if name == "butterfly":
        return butterfly(n_samples, scale)
    if name == "circle":
        return 0.6 * np.column_stack([np.cos(theta), np.sin(theta)])
    if name == "lemniscate":
        return 0.9 * np.column_stack([np.cos(theta), np.sin(theta) * np.cos(theta)]) / (1 + np.sin(theta) ** 2)[:, None]
    if name == "lissajous":
        return np.column_stack([0.8 * np.cos(3 * theta), 0.6 * np.sin(2 * theta)])
    path = Path(name)
    points = np.load(path) if path.suffix == ".npy" else np.loadtxt(path, delimiter=",", ndmin=2)
    phase = np.linspace(0.0, 1.0, n_samples)
    known = np.arange(len(points)) / len(points)
    return np.column_stack([np.interp(phase, known, points[:, i], period=1.0) for i in range(2)])


def arm_hand(z: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Planar arm (spec 6.2): phi_k = pi (z_1 + ... + z_k); hand = (sum L sin phi, -2 + sum L cos phi)."""
    phi = np.pi * np.cumsum(z)
    return np.array([lengths @ np.sin(phi), -2.0 + lengths @ np.cos(phi)])


def phi_reward(u: float, gain: float, exponent: float, odd: bool) -> float:
    """Phi(e_hat): gain |u|^exponent when the error fell (u <= 0); -gain u^exponent if odd, else 0."""
    if u <= 0.0:
        return gain * abs(u) ** exponent
    return -gain * u ** exponent if odd else 0.0


def fma(a: float, b: float, c: float) -> float:
    """a * b + c rounded once, as IEEE's fused multiply-add: exact rational arithmetic, then the one rounding of
    converting a Fraction to a float (finite arguments)."""
    return float(Fraction(a) * Fraction(b) + Fraction(c))


def lane_dot(a, b) -> float:
    """The compiled loop's dot product (``kernel.loop.dot``): 8 partial sums, term j in lane j % 8 by fused
    multiply-adds, combined as ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)), then the last len % 8 terms."""
    lanes, m = [0.0] * 8, len(a) - len(a) % 8
    for j in range(m):
        lanes[j % 8] = fma(a[j], b[j], lanes[j % 8])
    total = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))
    for j in range(m, len(a)):
        total = fma(a[j], b[j], total)
    return total


def fixed_point_product(J, r: np.ndarray) -> np.ndarray:
    """J r as the compiled loop computes it (``kernel.loop._spmv``): J times 2**e, each product truncated to an
    integer, the integers summed exactly, times 2**-e."""
    from reservoir_motor.simulation.network import fixed_point_exponent

    e = fixed_point_exponent(J)
    coo = J.tocoo()
    terms = (coo.data * np.float32(2.0 ** e)).astype(np.float32).astype(np.float64) * r[coo.col]
    sums = np.zeros(J.shape[0], dtype=np.int64)
    np.add.at(sums, coo.row, terms.astype(np.int64))  # truncated toward zero, as the loop's int64(x)
    return sums * 2.0 ** -e


def rls_step(P: np.ndarray, W: np.ndarray, r: np.ndarray, error: np.ndarray, gate: float = 1.0,
             rate: float = 1.0) -> np.ndarray:
    """One (gated) RLS step, in place: k = P r, c = 1/(1 + r.k), P -= g c k k^T, W += dW with
    dW = -rate g c error k^T. Returns dW.

    FORCE is ``error = z - f`` with ``gate = rate = 1``. The SUPERTREX transfer is ``error = -s`` (the
    supervisor), ``gate = g`` and ``rate = kappa``.
    """
    k = P @ r
    c = 1.0 / (1.0 + r @ k)
    P -= gate * c * np.outer(k, k)
    dW = -rate * gate * c * np.outer(error, k)
    W += dW
    return dW


class Manipulations:
    """The schedule of lesions.md: which manipulations act at a step, and the target curve of that step."""

    def __init__(self, config):
        self.period, self.dt, self.n_steps = config.n_period_steps, config.network.dt_ms, config.n_steps
        self.windows = [(m, *self._window(m)) for m in config.manipulations]

    def _window(self, m) -> tuple[int, int]:
        """[start, stop) in steps; a negative stop is the end of the run."""
        per_unit = self.period if m.unit == "periods" else 1.0 / self.dt
        stop = self.n_steps if m.stop < 0 else round(m.stop * per_unit)
        return round(m.start * per_unit), stop

    def at(self, s: int) -> dict:
        """Healthy values, changed by every manipulation whose window holds step s."""
        now = dict(dopamine=1.0, exploration_gain=1.0, reward_bias=0.0, lesion_exploratory=False,
                   block_transfer=False, switch_target=None)
        for m, start, stop in self.windows:
            if start <= s < stop:
                if m.kind in ("lesion_exploratory", "block_transfer"):
                    now[m.kind] = True
                elif m.kind == "switch_target":
                    now[m.kind] = m.target
                else:
                    now[m.kind] = m.value
        return now


class StallDetector:
    """The adaptive transfer threshold (``rule.adaptive_threshold``): relaxed after a stalled period."""

    def __init__(self, period: int, threshold: float, factor: float):
        self.period, self.threshold, self.factor = period, threshold, factor
        self.best, self.stalled = np.inf, False

    def threshold_at(self, s: int, errors: np.ndarray) -> float:
        """The threshold of training step s, ``errors`` holding every error up to s - 1 (at least)."""
        if not self.factor:
            return self.threshold
        if s > 0 and s % self.period == 0:
            mean = errors[s - self.period:s].mean()
            self.stalled = not mean < self.best
            self.best = min(self.best, mean)
        return max(self.threshold, self.factor * self.best) if self.stalled else self.threshold


def state_input(config, streams):
    """Q_s (N x channels, U(-a, a) like Q) and the state signal s(t) as a function of (step, hand of the
    previous step, target point) (spec 7.1 and the config's state signals); no channels when off."""
    net, period = config.network, config.n_period_steps
    if not net.state_input:
        return np.zeros((net.n_neurons, 0)), lambda s, hand, f: np.zeros(0)
    kind, theta, harmonics = net.state_signal, _theta(period), np.arange(1, net.state_harmonics + 1)
    channels = {"harmonics": 2 * harmonics.size, "ramp": 1, "biased-phase": 3}.get(kind, 2)
    Q_s = streams["state_input"].uniform(-net.feedback_amplitude, net.feedback_amplitude, (net.n_neurons, channels))

    def signal(s, hand, f):
        th = theta[s % period]
        value = {"phase": lambda: [np.cos(th), np.sin(th)],
                 "biased-phase": lambda: [np.cos(th), np.sin(th), 1.0],
                 "harmonics": lambda: np.column_stack([np.cos(harmonics * th), np.sin(harmonics * th)]).ravel(),
                 "ramp": lambda: [th / (2 * np.pi)],
                 "hand": lambda: hand,     # proprioception: where the hand was at the previous step
                 "target": lambda: f}[kind]()
        return net.state_amplitude * np.asarray(value, dtype=float)

    return Q_s, signal


def run_reference(config, seed: int, *, n_steps: int | None = None, sparse: bool = False) -> dict:
    """Simulate ``config`` with ``seed`` step by step; return every step's outputs and the final weights.

    Parameters
    ----------
    config : reservoir_motor.ExperimentConfig
    seed : int
        Split into the package's named streams; the network is built by ``make_network``.
    n_steps : int, optional
        Stop after this many steps (default: the whole run).
    sparse : bool
        Keep J as a scipy CSR matrix instead of a dense array (for the speed benchmark).

    Returns
    -------
    dict
        ``z``, ``z_exp``, ``hand``, ``target`` (n_steps x n_out or x 2), ``plant_state`` (n_steps x n_state),
        ``error``, ``distance``, ``gate``
        (the gate of the latest RLS step; 1 for FORCE), ``threshold`` (the transfer threshold of the
        step), ``norm_exp``, ``norm_mst`` (Frobenius norms after the step), ``ebar`` and ``beta`` (after
        the step), all per step; ``W_exp``, ``W_mst``, ``P`` at the end; ``n_steps`` (the steps kept) and
        ``diverged_step``: the first step whose output left [-divergence_bound, divergence_bound] or was
        not finite (that step is not kept), or -1.
    """
    net_cfg, task, rule, sched = config.network, config.task, config.rule, config.schedule
    n, n_out = net_cfg.n_neurons, task.n_outputs
    period, n_train = config.n_period_steps, config.n_train_steps
    n_steps = config.n_steps if n_steps is None else min(n_steps, config.n_steps)
    lag = min(sched.replay_lag_trials, sched.n_train_trials) * period
    name = rule.name
    explores, masters = name in ("rmhl", "supertrex"), name in ("force", "supertrex")
    eta = rule.learning_rate * (HAND_DIMENSIONS / n_out if rule.exploratory_normalisation == "joints" else 1.0)
    moves = name == "supertrex" and (rule.transfer == "move" or
                                     (rule.transfer == "move_if_redundant" and n_out > HAND_DIMENSIONS))

    streams = make_streams(seed)
    net = make_network(config, streams)
    noise_rng, explore_rng = streams["reservoir_noise"], streams["exploration"]
    J = net.J if sparse else net.J.toarray()
    Q = net.Q
    Q_s, state_signal = state_input(config, streams)
    hand_before = np.zeros(2)  # the hand of the previous step (none before the first)
    schedule = Manipulations(config)
    curves = {task.target: target_curve(task.target, period, task.target_scale)}
    for m in config.manipulations:
        if m.kind == "switch_target":
            curves[m.target] = target_curve(m.target, period, task.target_scale)
    stall = StallDetector(period, rule.transfer_threshold, rule.adaptive_threshold)
    lengths = np.asarray(task.arm_lengths, dtype=float)
    plant = kinds.effector(task.effector)  # a user's plant: its own plain-Python step (the built-ins: below)
    plant_params = np.asarray(plant.params(task), dtype=float)
    plant_state = np.array(plant.initial_state(plant_params), dtype=float).reshape(plant.n_state)
    arm_params = {**arm_dynamics.DEFAULTS, **task.plant}  # the dynamical arm's, by name
    for j in (1, 2):  # the stiffness pulls toward the starting posture unless told otherwise
        if task.effector == "arm_dynamics" and np.isnan(arm_params[f"rest{j}"]):
            arm_params[f"rest{j}"] = plant_state[j - 1]
    costs = np.asarray(task.costs, dtype=float) if task.costs else np.zeros(n_out)
    dt_tau, alpha = net_cfg.dt_ms / net_cfg.tau_ms, net_cfg.noise_amplitude
    a_z, a_e, a_m = rule.output_filter, rule.error_filter, config.recording.distance_filter
    bound = config.recording.divergence_bound

    x = net.x0.copy()
    r = np.tanh(x)
    fb = np.zeros(n_out)
    W_exp = np.zeros((n_out, n))
    W_mst = np.zeros((n_out, n))
    E = np.zeros((n_out, n))  # the eligibility trace (rule.eligibility_filter < 1)
    a_el = rule.eligibility_filter
    a_b = rule.phase_baseline
    baseline = np.full(period, np.nan)  # the error per step of the period (rule.phase_baseline > 0)
    trial = round(rule.trial_ms / net_cfg.dt_ms)  # steps of a trial (rule.trial_ms > 0), its error summed in
    trial_error = 0.0
    P = np.eye(n) / net_cfg.rls_regularisation
    beta = rule.initial_exploration
    xi_lowpass = np.zeros(n_out)
    zbar = np.zeros(n_out)
    zbar_move = np.zeros(n_out)
    ebar = m = gate = 0.0
    diverged_step = -1

    out = dict(z=np.zeros((n_steps, n_out)), z_exp=np.zeros((n_steps, n_out)), hand=np.zeros((n_steps, 2)),
               target=np.zeros((n_steps, 2)), error=np.zeros(n_steps), distance=np.zeros(n_steps),
               gate=np.zeros(n_steps), threshold=np.zeros(n_steps), norm_exp=np.zeros(n_steps),
               norm_mst=np.zeros(n_steps), ebar=np.zeros(n_steps), beta=np.zeros(n_steps),
               plant_state=np.zeros((n_steps, plant.n_state)))

    for s in range(n_steps):
        training = s < n_train
        now = schedule.at(s)
        f = curves[now["switch_target"] or task.target][s % period]

        # 1-2. Reservoir: Euler step driven by the previous rates and feedback and this step's phase.
        x = x + dt_tau * (J @ r + Q @ fb + Q_s @ state_signal(s, hand_before, f) - x)
        r = np.tanh(x)
        if training and alpha > 0:
            r = r + noise_rng.uniform(-alpha, alpha, n)

        # 3. Readouts. FORCE has no exploratory pathway, SUPERTREX removes it in the test, a lesion
        #    removes it with its noise (which is still drawn).
        z_mst = W_mst @ r if masters else np.zeros(n_out)
        xi = explore_rng.uniform(-beta, beta, n_out) if explores and training else np.zeros(n_out)
        if explores and training and rule.exploration_filter != 1.0:  # correlated: a low-pass, same variance
            a = rule.exploration_filter
            xi_lowpass = (1 - a) * xi_lowpass + a * np.sqrt((2 - a) / a) * xi
            xi = xi_lowpass
        if explores and not now["lesion_exploratory"] and (training or name == "rmhl"):
            z_exp = W_exp @ r + xi
        else:
            z_exp = np.zeros(n_out)
        z = z_exp + z_mst
        if not np.all(np.abs(z) <= bound):  # diverged (or not finite): stop; this step is not kept
            diverged_step = s
            break

        # Output filters: of the exploratory output (RMHL: training only), and of the total output.
        if s == 0:
            zbar, zbar_move = z_exp.copy(), z.copy()
        else:
            if training or name == "supertrex":
                zbar = (1 - a_z) * zbar + a_z * z_exp
            zbar_move = (1 - a_z) * zbar_move + a_z * z

        # 4. Hand, error (squared distance + movement and effort costs), slow error filter.
        if task.effector == "identity":
            hand = z[:2].copy()
        elif task.effector == "arm":
            hand = arm_hand(z, lengths)
        elif task.effector == "arm_dynamics":  # the matrix form below, not the package's step
            plant_state, hand = arm_dynamics_step(z, plant_state, arm_params, net_cfg.dt_ms / 1000.0)
        else:  # the plant's state advances under the command z
            hand = np.zeros(2)
            plant.step(z, plant_state, plant_params, net_cfg.dt_ms / 1000.0, hand)
        hand_before = hand
        cost_zbar = zbar_move if task.cost_signal == "movement" else zbar
        e = np.sum((hand - f) ** 2) + np.sum(costs * np.abs(z - cost_zbar)) + task.effort_cost * np.sum(z ** 2)
        m = e if s == 0 else (1 - a_m) * m + a_m * e
        out["error"][s] = e

        # 5. Learning.
        threshold = stall.threshold_at(s, out["error"]) if training else rule.transfer_threshold
        if s == 0:
            ebar = e
        elif training:
            ebar = (1 - a_e) * ebar + a_e * e
            e_hat, trial_end = e - ebar, trial == 0 or (s + 1) % trial == 0
            if trial:  # a trial's mean error, compared at its end
                trial_error += e
                e_hat = trial_error / trial if trial_end else np.nan
                trial_error = 0.0 if trial_end else trial_error
            if a_b > 0 and trial_end:  # against the error at this step of earlier periods (the first only sets it)
                b, now_e = baseline[s % period], e_hat if trial else e
                e_hat = 0.0 if np.isnan(b) else now_e - b
                baseline[s % period] = now_e if np.isnan(b) else (1 - a_b) * b + a_b * now_e
            if explores:
                hebbian = np.outer(xi if rule.hebbian_term == "perturbation" else z_exp - zbar, r)
                if trial:  # summed over the trial, applied at its end
                    E = E + hebbian
                    hebbian = E
                elif a_el != 1.0:  # the trace of the Hebbian term takes its place
                    E = (1 - a_el) * E + a_el * hebbian
                    hebbian = E
                if not now["lesion_exploratory"] and trial_end:
                    reward = phi_reward(e_hat + now["reward_bias"], rule.phi_gain, rule.phi_exponent,
                                        rule.phi == "odd")
                    W_exp = W_exp + now["dopamine"] * eta * reward * hebbian
                if trial_end and trial:
                    E = np.zeros_like(E)
                beta = now["exploration_gain"] * rule.psi_prefactor * (10 * ebar) ** rule.psi_exponent
            if (s + 1) % rule.rls_every == 0:
                if name == "force":
                    gate = 1.0
                    rls_step(P, W_mst, r, z - f)
                elif name == "supertrex":
                    gate = 0.0 if now["block_transfer"] else (
                        0.5 - 0.5 * np.tanh(rule.gate_steepness * (abs(ebar) - threshold)))
                    supervisor = zbar if rule.supervisor == "filtered" else z_exp
                    dW = rls_step(P, W_mst, r, -supervisor, gate=gate, rate=rule.kappa)
                    if moves:  # what the mastery pathway absorbs leaves the exploratory one
                        W_exp = W_exp - dW

        out["z"][s], out["z_exp"][s], out["hand"][s], out["target"][s] = z, z_exp, hand, f
        out["distance"][s], out["gate"][s], out["threshold"][s] = np.sqrt(m), gate, threshold
        out["norm_exp"][s], out["norm_mst"][s] = np.linalg.norm(W_exp), np.linalg.norm(W_mst)
        out["ebar"][s], out["beta"][s] = ebar, beta
        out["plant_state"][s] = plant_state

        # 6. Feedback for the next step.
        if training or sched.test_feedback == "autonomous":
            fb = z
        elif sched.test_feedback == "target":
            fb = f
        else:  # replay: the training step with the same phase within the last `lag` training steps
            fb = out["z"][n_train - lag + (s - n_train) % lag]

    if diverged_step >= 0:
        out = {key: value[:diverged_step] for key, value in out.items()}
    out.update(W_exp=W_exp, W_mst=W_mst, P=P, n_steps=n_steps if diverged_step < 0 else diverged_step,
               diverged_step=diverged_step)
    return out


# The two-joint arm with rigid-body dynamics (docs/arm-dynamics.md), written as matrices: the inertia matrix
# built from the segments' centre-of-mass Jacobians, the Coriolis matrix in Christoffel form, a generic
# solve of the free joints' rows, RK4 on the state vector.

def arm_inertia(q: np.ndarray, p: dict) -> np.ndarray:
    """M(q) = sum over segments of m J_v^T J_v + i J_w^T J_w (J_v: centre-of-mass velocity Jacobian)."""
    phi1, phi2 = q[0], q[0] + q[1]
    u1 = np.array([np.cos(phi1), -np.sin(phi1)])  # d(sin phi, cos phi) / d phi
    u2 = np.array([np.cos(phi2), -np.sin(phi2)])
    jv1 = np.column_stack([p["s1"] * u1, np.zeros(2)])
    jv2 = np.column_stack([p["l1"] * u1 + p["s2"] * u2, p["s2"] * u2])
    jw1, jw2 = np.array([[1.0, 0.0]]), np.array([[1.0, 1.0]])
    return (p["m1"] * jv1.T @ jv1 + p["i1"] * jw1.T @ jw1
            + p["m2"] * jv2.T @ jv2 + p["i2"] * jw2.T @ jw2)


def arm_coriolis(q: np.ndarray, dq: np.ndarray, p: dict) -> np.ndarray:
    """C(q, dq) with C_kj = sum_i Gamma_ijk dq_i; only dM/dq2 is non-zero: dM/dq2 = -h [[2, 1], [1, 0]]."""
    h = p["m2"] * p["l1"] * p["s2"] * np.sin(q[1])
    dm = [np.zeros((2, 2)), -h * np.array([[2.0, 1.0], [1.0, 0.0]])]  # dM / dq_i
    c = np.zeros((2, 2))
    for k in range(2):
        for j in range(2):
            c[k, j] = sum(0.5 * (dm[i][k, j] + dm[j][k, i] - dm[k][i, j]) * dq[i] for i in range(2))
    return c


def arm_derivative(x: np.ndarray, tau: np.ndarray, p: dict) -> np.ndarray:
    q, dq = x[:2], x[2:]
    viscosity = np.array([[p["b11"], p["b12"]], [p["b21"], p["b22"]]])
    stiffness = np.array([p["k1"] * (q[0] - p["rest1"]), p["k2"] * (q[1] - p["rest2"])])
    force = tau - arm_coriolis(q, dq, p) @ dq - viscosity @ dq - stiffness
    free = [j for j in range(2) if p[f"lo{j + 1}"] != p[f"hi{j + 1}"]]
    ddq = np.zeros(2)
    if free:
        m = arm_inertia(q, p)
        ddq[free] = np.linalg.solve(m[np.ix_(free, free)], force[free])
    return np.concatenate([dq, ddq])


def arm_dynamics_step(command: np.ndarray, x: np.ndarray, p: dict, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """One step of the arm: (new state (q1, q2, dq1, dq2), hand position). A locked joint (lo == hi) is put at
    lo at rest first; after the RK4 step each angle is clipped to [lo, hi] and a velocity into the limit zeroed.
    """
    x = np.array(x, dtype=float)
    lo = np.array([p["lo1"], p["lo2"]])
    hi = np.array([p["hi1"], p["hi2"]])
    locked = lo == hi
    x[:2][locked], x[2:][locked] = lo[locked], 0.0
    tau = p["torque_scale"] * np.asarray(command[:2], dtype=float)
    k1 = arm_derivative(x, tau, p)
    k2 = arm_derivative(x + dt / 2 * k1, tau, p)
    k3 = arm_derivative(x + dt / 2 * k2, tau, p)
    k4 = arm_derivative(x + dt * k3, tau, p)
    x = x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    below, above = x[:2] <= lo, x[:2] >= hi
    x[:2] = np.clip(x[:2], lo, hi)
    x[2:][below & (x[2:] < 0)] = 0.0
    x[2:][above & (x[2:] > 0)] = 0.0
    phi = np.cumsum(x[:2])
    lengths = np.array([p["l1"], p["l2"]])
    hand = np.array([p["shoulder_x"] + lengths @ np.sin(phi), p["shoulder_y"] + lengths @ np.cos(phi)])
    return x, hand
