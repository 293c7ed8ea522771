"""A plain numpy reference of one run, in the paper's matrix form: the oracle for the compiled loop.

Written from the specification (``paper_spec.md`` sections 2-6), not from ``reservoir_motor._kernel``.
It is slow on purpose: one Python iteration per time step, dense matrices, every update written as the
equation it implements. The tests run it and the compiled package on small networks with the same
random streams and compare the trajectories step by step.

Symbols (spec sections 2-5)
---------------------------
x, r            reservoir state and rates, r = tanh(x) (+ U(-alpha, alpha) noise while training)
J, Q            recurrent and output-feedback weights
W_exp, W_mst    exploratory (reward-modulated) and mastery (RLS) readouts, n_out x N
P               inverse correlation matrix of r, P(0) = I / gamma
z_exp, z_mst, z exploratory, mastery and total output; fb the feedback of the next step
zbar, ebar, m   output filter, fast error filter, slow error filter (distance = sqrt(m))
beta            exploration amplitude Psi(ebar), used at the next step

Conventions (0-based step s, ``n_train`` training steps, then the test)
----------------------------------------------------------------------
* s = 0: zero feedback; the filters start at zbar = z_exp, ebar = e, m = e; nothing is learned.
* Each training step draws the reservoir noise (N uniforms, if alpha > 0) and then, for RMHL and
  SUPERTREX, the exploration noise (n_out uniforms). The test phase draws nothing.
* Learning happens on training steps s >= 1; RLS on those with (s + 1) % rls_every == 0.
* Test: weights frozen, no noise. SUPERTREX drops its exploratory pathway (z_exp = 0) but keeps
  filtering zbar; RMHL keeps z_exp = W_exp r and freezes zbar. Feedback of the next step is the target
  ('target'), the training output of ``replay_lag_trials`` periods earlier ('replay'; the last ``lag``
  training steps repeat when the test is longer than the lag), or the own output ('autonomous').
"""

from __future__ import annotations

import numpy as np

from reservoir_motor.network import make_network, make_streams


def butterfly(n_samples: int, scale: float) -> np.ndarray:
    """The Task 1 target (spec 6.1): theta evenly spaced on [0, 2 pi] inclusive, ``(n_samples, 2)``."""
    theta = np.linspace(0.0, 2.0 * np.pi, n_samples)
    rho = (9 - np.sin(theta) + 2 * np.sin(3 * theta) + 2 * np.sin(5 * theta) - np.sin(7 * theta)
           + 3 * np.cos(2 * theta) - 2 * np.cos(4 * theta))
    return np.column_stack([rho * np.cos(theta), rho * np.sin(theta)]) / scale


def arm_hand(z: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Planar arm (spec 6.2): phi_k = pi (z_1 + ... + z_k); hand = (sum L sin phi, -2 + sum L cos phi)."""
    phi = np.pi * np.cumsum(z)
    return np.array([lengths @ np.sin(phi), -2.0 + lengths @ np.cos(phi)])


def phi_reward(u: float, gain: float, exponent: float, odd: bool) -> float:
    """Phi(e_hat): gain |u|^exponent when the error fell (u <= 0); -gain u^exponent if odd, else 0."""
    if u <= 0.0:
        return gain * abs(u) ** exponent
    return -gain * u ** exponent if odd else 0.0


def rls_step(P: np.ndarray, W: np.ndarray, r: np.ndarray, error: np.ndarray, gate: float = 1.0,
             rate: float = 1.0) -> tuple[np.ndarray, float]:
    """One (gated) RLS step, in place: k = P r, c = 1/(1 + r.k), P -= g c k k^T, W -= rate g c error k^T.

    FORCE is ``error = z - f`` with ``gate = rate = 1``. The SUPERTREX transfer is ``error = -s`` (the
    supervisor), ``gate = g`` and ``rate = kappa``. Returns ``(k, c)``.
    """
    k = P @ r
    c = 1.0 / (1.0 + r @ k)
    P -= gate * c * np.outer(k, k)
    W -= rate * gate * c * np.outer(error, k)
    return k, c


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
        ``z``, ``z_exp``, ``hand``, ``target`` (n_steps x n_out or x 2), ``error``, ``distance``, ``gate``
        (the gate of the latest RLS step; 1 for FORCE), ``norm_exp``, ``norm_mst`` (Frobenius norms after
        the step), ``ebar`` and ``beta`` (after the step), all per step; ``W_exp``, ``W_mst``, ``P`` at the end;
        ``n_steps`` (the steps kept) and ``diverged_step``: the first step whose output left
        [-divergence_bound, divergence_bound] or was not finite (that step is not kept), or -1.
    """
    net_cfg, task, rule, sched = config.network, config.task, config.rule, config.schedule
    n, n_out = net_cfg.n_neurons, task.n_outputs
    period, n_train = config.n_period_steps, config.n_train_steps
    n_steps = config.n_steps if n_steps is None else min(n_steps, config.n_steps)
    lag = sched.replay_lag_trials * period
    name = rule.name
    explores = name in ("rmhl", "supertrex")

    streams = make_streams(seed)
    net = make_network(config, streams)
    noise_rng, explore_rng = streams["reservoir_noise"], streams["exploration"]
    J = net.J if sparse else net.J.toarray()
    Q = net.Q
    target = butterfly(period, task.target_scale)
    lengths = np.asarray(task.arm_lengths, dtype=float)
    costs = np.asarray(task.costs, dtype=float) if task.costs else np.zeros(n_out)
    dt_tau, alpha = net_cfg.dt_ms / net_cfg.tau_ms, net_cfg.noise_amplitude
    a_z, a_e, a_m = rule.output_filter, rule.error_filter, config.recording.distance_filter
    bound = config.recording.divergence_bound

    x = net.x0.copy()
    r = np.tanh(x)
    fb = np.zeros(n_out)
    W_exp = np.zeros((n_out, n))
    W_mst = np.zeros((n_out, n))
    P = np.eye(n) / net_cfg.rls_regularisation
    beta = rule.initial_exploration
    zbar = np.zeros(n_out)
    ebar = m = gate = 0.0
    diverged_step = -1

    out = dict(z=np.zeros((n_steps, n_out)), z_exp=np.zeros((n_steps, n_out)), hand=np.zeros((n_steps, 2)),
               target=np.zeros((n_steps, 2)), error=np.zeros(n_steps), distance=np.zeros(n_steps),
               gate=np.zeros(n_steps), norm_exp=np.zeros(n_steps), norm_mst=np.zeros(n_steps),
               ebar=np.zeros(n_steps), beta=np.zeros(n_steps))

    for s in range(n_steps):
        training = s < n_train
        f = target[s % period]

        # 1-2. Reservoir: Euler step driven by the previous rates and the feedback, then the rates.
        x = x + dt_tau * (J @ r + Q @ fb - x)
        r = np.tanh(x)
        if training and alpha > 0:
            r = r + noise_rng.uniform(-alpha, alpha, n)

        # 3. Readouts.
        z_mst = W_mst @ r
        if explores and training:
            z_exp = W_exp @ r + explore_rng.uniform(-beta, beta, n_out)
        elif name == "rmhl":
            z_exp = W_exp @ r
        else:  # FORCE has no exploratory pathway; SUPERTREX removes it in the test
            z_exp = np.zeros(n_out)
        z = z_exp + z_mst
        if not np.all(np.abs(z) <= bound):  # diverged (or not finite): stop; this step is not kept
            diverged_step = s
            break

        # Output filter of the exploratory output (RMHL: training only).
        if s == 0:
            zbar = z_exp.copy()
        elif training or name == "supertrex":
            zbar = (1 - a_z) * zbar + a_z * z_exp

        # 4. Hand, error (squared distance + movement cost), slow error filter.
        hand = z[:2].copy() if task.effector == "identity" else arm_hand(z, lengths)
        e = np.sum((hand - f) ** 2) + np.sum(costs * np.abs(z - zbar))
        m = e if s == 0 else (1 - a_m) * m + a_m * e

        # 5. Learning.
        if s == 0:
            ebar = e
        elif training:
            ebar = (1 - a_e) * ebar + a_e * e
            e_hat = e - ebar
            if explores:
                dopamine = phi_reward(e_hat, rule.phi_gain, rule.phi_exponent, rule.phi == "odd")
                W_exp = W_exp + rule.learning_rate * dopamine * np.outer(z_exp - zbar, r)
                beta = rule.psi_prefactor * (10 * ebar) ** rule.psi_exponent
            if (s + 1) % rule.rls_every == 0:
                if name == "force":
                    gate = 1.0
                    rls_step(P, W_mst, r, z - f)
                elif name == "supertrex":
                    gate = 0.5 - 0.5 * np.tanh(rule.gate_steepness * (abs(ebar) - rule.transfer_threshold))
                    if gate > 0:
                        supervisor = zbar if rule.supervisor == "filtered" else z_exp
                        rls_step(P, W_mst, r, -supervisor, gate=gate, rate=rule.kappa)

        out["z"][s], out["z_exp"][s], out["hand"][s], out["target"][s] = z, z_exp, hand, f
        out["error"][s], out["distance"][s], out["gate"][s] = e, np.sqrt(m), gate
        out["norm_exp"][s], out["norm_mst"][s] = np.linalg.norm(W_exp), np.linalg.norm(W_mst)
        out["ebar"][s], out["beta"][s] = ebar, beta

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
