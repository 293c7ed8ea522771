"""Which credit windows point downhill on the dynamical arm? The expected update of each exploratory rule option
against the true gradient, from the arm's linear response, before any run.

Node perturbation credits the exploration xi(s) with the rewards that follow it through a kernel K of the lag
tau = t - s: the eligibility trace (``rule.eligibility_filter``, time constant tau_e) weights them by
exp(-tau / tau_e), a trial of length T (``rule.trial_ms``, the trial's mean error times the trial's summed Hebbian
term) by (1 - tau / T) for tau < T. In expectation the update is then the gradient of the error through the arm's
impulse response g(tau) multiplied by K(tau), while the true gradient goes through g itself. The two agree in
direction only where K g and g have the same phase at the target's frequencies. The arm near rest is
M q'' + B q' + K_s q = torque (K_s, the joint stiffness task.plant.k1/k2, is 0 by default: a double integrator
with viscous damping). Above its corners the hand lags the torque by up to 180 degrees, and a window much shorter
than 1 / omega credits the torque's immediate effect, which points the opposite way.

Printed per kernel: the cosine between the expected and the true gradient of the error at rest (the butterfly less
the resting hand, the error a still hand sees) over the target's harmonics, and per harmonic the cosine of the
angle between the response matrices K g and g (1 = same direction, -1 = opposite). Linearised at the resting
posture of ``dynarm-rmhl`` (the task origin), the default arm, the period of the experiment. Then, per harmonic,
how fast gradient descent along the exploration's directions learns it relative to the first (the exploration's
power there times |G|^2), for exploration correlated over 0.2 ms (a fresh draw every step) to 2 s.

Usage: python benchmarks/credit_alignment.py [--experiment dynarm-rmhl] [--kernels trace:0.1,trace:10,trial:10]
       [--set task.plant.k1=0.02 ...]
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.linalg import expm

from reservoir_motor import load_experiment
from reservoir_motor.plants import arm_dynamics as A
from reservoir_motor.plants import targets

#: kernel name: seconds. trace = the eligibility trace's exponential, trial = a trial's triangle.
DEFAULT_KERNELS = ("trace:0.02,trace:0.1,trace:0.3,trace:1,trace:3,trace:10,trace:30,"
                   "trial:0.2,trial:1,trial:3,trial:10")
N_HARMONICS = 8  # the butterfly's radius has harmonics up to 7, times cos/sin theta: up to 8


def linear_arm(params: dict):
    """M, B, K (joint space), the hand's Jacobian J and the torque per unit of output, at the resting posture."""
    p = dict(zip(A.PARAM_NAMES, A.pack(params), strict=True))
    q = A.initial_state(params)
    m11, m12, m22 = A.inertia(q[1], params)
    M = np.array([[m11, m12], [m12, m22]])
    B = np.array([[p["b11"], p["b12"]], [p["b21"], p["b22"]]])
    K = np.diag([p["k1"], p["k2"]])
    h = 1e-7  # the Jacobian by central differences of the hand's position
    J = np.empty((2, 2))
    for k in range(2):
        dq = np.zeros(4)
        dq[k] = h
        J[:, k] = (A.joint_positions(q + dq, params)[-1] - A.joint_positions(q - dq, params)[-1]) / (2 * h)
    return M, B, K, J, p["torque_scale"]


def state_matrix(M, B, K):
    """The system matrix of M q'' + B q' + K q = torque in the state (q, q'); its eigenvalues are the arm's poles."""
    Minv = np.linalg.inv(M)
    return np.block([[np.zeros((2, 2)), np.eye(2)], [-Minv @ K, -Minv @ B]])


def input_matrix(M, gain):
    """How a unit output enters the state (q, q'): torque gain M^-1 on the velocities (an impulse sets them)."""
    return np.vstack([np.zeros((2, 2)), np.linalg.inv(M) * gain])


def impulse_response(M, B, K, J, gain, tau):
    """g(tau): the hand's displacement (2 x 2, per unit output) at lags tau after a unit impulse of output, from
    the state space (q, q') of M q'' + B q' + K q = torque."""
    kick = input_matrix(M, gain)
    step = expm(state_matrix(M, B, K) * (tau[1] - tau[0]))
    out, x = np.empty((tau.size, 2, 2)), kick
    for n in range(tau.size):  # tau is an even grid from 0
        out[n] = J @ x[:2]
        x = step @ x
    return out


def frequency_response(M, B, K, J, gain, omega):
    """G(i omega) = J (-omega^2 M + i omega B + K)^-1 gain, per frequency."""
    return np.array([J @ np.linalg.inv(-w * w * M + 1j * w * B + K) * gain for w in omega])


def kernel(name: str, tau: np.ndarray) -> np.ndarray:
    kind, seconds = name.split(":")
    seconds = float(seconds)
    if kind == "trace":
        return np.exp(-tau / seconds)
    if kind == "trial":
        return np.clip(1.0 - tau / seconds, 0.0, None)
    raise ValueError(f"kernel {name!r} is not known; allowed: trace:SECONDS, trial:SECONDS")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiment", default="dynarm-rmhl")
    ap.add_argument("--kernels", default=DEFAULT_KERNELS)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a config override, e.g. task.plant.k1=0.02 (repeatable)")
    args = ap.parse_args(argv)
    config = load_experiment(args.experiment, args.set)
    params = dict(config.task.plant)
    period = config.task.duration_ms / 1000.0
    M, B, K, J, gain = linear_arm(params)
    poles = np.linalg.eigvals(state_matrix(M, B, K))
    omega = 2 * np.pi * np.arange(1, N_HARMONICS + 1) / period
    G = frequency_response(M, B, K, J, gain, omega)

    # the error a still hand sees: the target less the resting hand, per harmonic
    n = 4096
    path = targets.butterfly(n + 1, config.task.target_scale)[:-1]
    path -= path.mean(0)
    spectrum = np.fft.fft(path, axis=0)[1:N_HARMONICS + 1] / n  # (harmonic, xy)
    true_grad = np.einsum("kij,ki->kj", G.conj(), spectrum)  # G^H e, per harmonic

    dt = 1e-3
    tau = np.arange(0.0, 200.0, dt)
    g = impulse_response(M, B, K, J, gain, tau)
    power = np.sum(np.abs(spectrum) ** 2, 1) / np.sum(np.abs(spectrum) ** 2)
    print(f"{args.experiment}: period {period:g} s, harmonics 1-{N_HARMONICS} at {omega[0]:.3g}-{omega[-1]:.3g} "
          "rad/s; the arm's poles (rad/s) " + ", ".join(f"{x:.3g}" for x in sorted(poles, key=abs))
          + "; share of the target's power per harmonic: " + ", ".join(f"{x:.2f}" for x in power))
    print()
    print("| credit kernel | gradient cosine | " + " | ".join(f"h{k}" for k in range(1, N_HARMONICS + 1)) + " |")
    print("|---|---|" + "---|" * N_HARMONICS)
    for name in args.kernels.split(","):
        weighted = kernel(name, tau)[:, None, None] * g
        H = np.array([np.trapezoid(weighted * np.exp(-1j * w * tau)[:, None, None], tau, axis=0) for w in omega])
        est_grad = np.einsum("kij,ki->kj", H.conj(), spectrum)
        cos = np.real(np.vdot(true_grad, est_grad)) / (np.linalg.norm(true_grad) * np.linalg.norm(est_grad))
        per = [np.real(np.vdot(Gk, Hk)) / (np.linalg.norm(Gk) * np.linalg.norm(Hk))
               for Gk, Hk in zip(G, H, strict=True)]
        print(f"| {name.replace(':', ' ')} s | {cos:+.2f} | " + " | ".join(f"{c:+.2f}" for c in per) + " |")
    # How fast each harmonic is learnt, relative to the first: descending the error along the expected update
    # shrinks a harmonic's error at a rate proportional to the exploration's power there times |G|^2 (the
    # torque a unit of hand movement takes falls with the arm's inertia as omega^2, the rate as omega^4).
    print()
    print("| exploration correlated over | " + " | ".join(f"h{k}" for k in range(1, N_HARMONICS + 1)) + " |")
    print("|---|" + "---|" * N_HARMONICS)
    for ms in (0.2, 100.0, 500.0, 2000.0):
        exploration = 1.0 / (1.0 + (omega * ms / 1000.0) ** 2)  # the first-order filter's power spectrum
        rate = exploration * np.sum(np.abs(G) ** 2, axis=(1, 2))
        print(f"| {ms:g} ms | " + " | ".join(f"{x:.2g}" for x in rate / rate[0]) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
