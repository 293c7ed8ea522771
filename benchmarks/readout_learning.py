"""What node perturbation can learn on the reservoir's own features with the plant and the loop taken away.

The rates of every unit over one training period are recorded from a short run (``reservoir_harmonics``); then
a readout z = W r(t) + xi(t) is trained on those fixed rates to draw the task's target directly (the plant is
the identity, nothing feeds back into the reservoir). xi is Gaussian exploration (``--sigma``, in units of the
target's RMS), white or low-passed over ``--exploration-ms`` (as ``rule.exploration_filter``); the error
|z - target|^2 is rewarded against a running baseline per step of the period (weight 0.5, as
``rule.phase_baseline = 0.5``); the update is node perturbation, dW = -eta e_hat xi u^T, with u = r (the rule as
it is) or u = P r, P = (C + delta lambda_max I)^-1 the rates' regularised inverse correlation (whitened, as RLS's
P would give it). With ``--credit-ms`` the Hebbian term is an eligibility trace over that time (as
``rule.eligibility_filter``): the reward at t credits the exploration before it through an exponential kernel,
which with this plant only adds noise (the reward sees each exploration at once). W is held within a period and
updated at its end with the period's sum (the change within a period is small at these rates).

``kappa`` is the expected step per period in units of the remaining error: along the correlation's top direction
for the plain rule (directions with eigenvalue lambda learn kappa lambda / lambda_max per period), along every
direction for the whitened one. Printed: the error (RMS over the period, relative to the target's RMS, i.e. to a
readout that draws nothing) after the given numbers of periods, and the best readout's (least squares).

If the rule reaches a small error here and not in the closed loop, what holds it back there is the loop (the arm,
the credit's delay, the output fed back into the reservoir), not the rule's noise on these features.

Usage: python benchmarks/readout_learning.py [--experiment dynarm-rmhl] [--seed 0] [--set KEY=VALUE ...]
       [--periods 300] [--kappa 0.1 0.3 1] [--whiten 0 1e-3] [--exploration-ms 0] [--credit-ms 0]
"""

from __future__ import annotations

import argparse

import numpy as np
from credit_alignment import frequency_response, input_matrix, linear_arm, state_matrix
from reservoir_harmonics import EVERY, period_rates
from scipy.linalg import expm
from scipy.signal import lfilter

from reservoir_motor import load_experiment
from reservoir_motor.plants import arm_dynamics
from reservoir_motor.plants.targets import make_target

REPORT = (10, 30, 100, 300, 1000, 3000)


def low_pass(x: np.ndarray, tau_s: float, dt_s: float) -> np.ndarray:
    """Causal first-order low-pass with unit gain at zero frequency along axis 0 (tau 0: x itself)."""
    if tau_s <= 0.0:
        return x
    a = dt_s / tau_s
    return lfilter([a], [1.0, a - 1.0], x, axis=0)


class Identity:
    """The output is the hand."""

    gain = 1.0

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return z

    periodic = __call__


class LinearArm:
    """The dynamical arm linearised at its resting posture (``credit_alignment.linear_arm``): the hand's
    displacement from rest for an output held over each step (exact for a linear arm), its state carried from
    period to period. ``gain`` is |G| at the period's fundamental (the largest singular value)."""

    def __init__(self, plant: dict, period_s: float, dt_s: float):
        M, B, K, J, torque = linear_arm(plant)
        a, b = state_matrix(M, B, K), input_matrix(M, torque)
        self.ad = expm(a * dt_s)
        self.bd = np.linalg.solve(a, (self.ad - np.eye(4)) @ b)
        self.j, self.x = J, np.zeros(4)
        self.gain = np.linalg.norm(frequency_response(M, B, K, J, torque, [2 * np.pi / period_s])[0], 2)

    def __call__(self, z: np.ndarray) -> np.ndarray:
        states = np.empty((z.shape[0], 4))
        x, ad, drive = self.x, self.ad, z @ self.bd.T
        for t in range(z.shape[0]):
            states[t] = x
            x = ad @ x + drive[t]
        self.x = x
        return states[:, :2] @ self.j.T

    def periodic(self, z: np.ndarray) -> np.ndarray:
        """The hand for the output z repeated: the second of two periods from the current state, which is kept."""
        kept = self.x
        self(z)
        hand = self(z)
        self.x = kept
        return hand


def update_factor(rates: np.ndarray, whiten: float) -> np.ndarray:
    """u(t) per recorded step: r / lambda_max (plain), or (C + whiten lambda_max I)^-1 r (whitened)."""
    corr = rates.T @ rates / rates.shape[0]
    top = np.linalg.eigvalsh(corr)[-1]
    return rates / top if not whiten else rates @ np.linalg.inv(corr + whiten * top * np.eye(corr.shape[0]))


def learn(rates: np.ndarray, u: np.ndarray, target: np.ndarray, kappa: float, periods: int, dt_s: float, *,
          plant=None, sigma: float = 0.1, exploration_s: float = 0.0, credit_s: float = 0.0,
          seed: int = 1) -> dict[int, float]:
    """Train the readout for ``periods`` periods on the rates recorded every dt_s, with the update's factor u
    (``update_factor``); {period: relative RMS error} at the periods in REPORT. The plant (default: the identity)
    maps the output to the hand; the target is the hand's."""
    plant = plant or Identity()
    n = rates.shape[0]
    # E[e_hat xi] = 2 sigma^2 (z - target): the expected step is kappa (at the fundamental, through the plant)
    eta = kappa / (2.0 * sigma ** 2 * n * plant.gain ** 2)
    rng = np.random.default_rng(seed)
    W, baseline, out = np.zeros((target.shape[1], rates.shape[1])), None, {}
    scale = np.sqrt(np.mean(np.sum(target ** 2, 1)))
    for k in range(periods + 1):
        if not np.all(np.isfinite(W)) or np.abs(W).max() > 1e6:  # unstable step: the rest is 'diverged'
            return {**out, **{j: np.inf for j in REPORT if k <= j <= periods}}
        lead = int(5 * exploration_s / dt_s)  # the filter's start-up, discarded
        xi = low_pass(rng.standard_normal((n + lead, target.shape[1])), exploration_s, dt_s)[lead:]
        xi *= sigma * scale / plant.gain / np.sqrt(np.mean(xi ** 2))
        e = np.sum((plant(rates @ W.T + xi) - target) ** 2, 1)
        if baseline is not None:  # the first period only sets the baseline, as in the loop
            # sum_t e_hat(t) sum_{s <= t} K(t - s) xi(s) u(s)^T = sum_s (K's anticausal filter of e_hat)(s) xi(s) u(s)^T
            credit = low_pass((e - baseline)[::-1], credit_s, dt_s)[::-1]
            W -= eta / scale ** 2 * (credit[:, None] * xi).T @ u
            baseline = 0.5 * baseline + 0.5 * e
        else:
            baseline = e
        if k in REPORT:
            out[k] = np.sqrt(np.mean(np.sum((plant.periodic(rates @ W.T) - target) ** 2, 1))) / scale
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiment", default="dynarm-rmhl")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a config override (repeatable)")
    ap.add_argument("--periods", type=int, default=300)
    ap.add_argument("--kappa", type=float, nargs="+", default=[0.1, 0.3, 1.0])
    ap.add_argument("--whiten", type=float, nargs="+", default=[0.0, 1e-3],
                    help="0: the plain rule; delta > 0: u = (C + delta lambda_max I)^-1 r")
    ap.add_argument("--sigma", type=float, default=0.1, help="exploration, in units of the target's RMS")
    ap.add_argument("--exploration-ms", type=float, default=0.0, help="exploration correlated over this time")
    ap.add_argument("--credit-ms", type=float, default=0.0, help="an eligibility trace over this time")
    ap.add_argument("--arm", action="store_true", help="the hand through the experiment's dynamical arm, "
                    "linearised at rest (the target: the hand's displacement from rest)")
    args = ap.parse_args(argv)
    config = load_experiment(args.experiment, args.set)
    rates, time_s, period_s = period_rates(args.experiment, args.set, args.seed)
    dt_s = time_s[1] - time_s[0]
    target = make_target(config)[::EVERY]  # the steps at which the rates were recorded
    if args.arm:
        params = dict(config.task.plant)
        target = target - arm_dynamics.joint_positions(arm_dynamics.initial_state(params), params)[-1]
    else:
        target = target - target.mean(0)  # the readout has no constant term to spend on the mean
    best = np.linalg.lstsq(rates, target, rcond=None)[0]
    floor = np.sqrt(np.mean(np.sum((rates @ best - target) ** 2, 1)) / np.mean(np.sum(target ** 2, 1)))
    shown = [k for k in REPORT if k <= args.periods]
    print(f"{args.experiment} {' '.join(args.set)} (seed {args.seed}; exploration over {args.exploration_ms:g} ms, "
          f"credit over {args.credit_ms:g} ms): best readout of the target itself {floor:.3f}")
    print("| rule | kappa | " + " | ".join(f"after {k}" for k in shown) + " |")
    print("|---|---|" + "---|" * len(shown))
    for whiten in args.whiten:
        u = update_factor(rates, whiten)
        for kappa in args.kappa:  # each from rest: a fresh arm
            plant = LinearArm(dict(config.task.plant), period_s, dt_s) if args.arm else None
            out = learn(rates, u, target, kappa, args.periods, dt_s, plant=plant, sigma=args.sigma,
                        exploration_s=args.exploration_ms / 1000.0, credit_s=args.credit_ms / 1000.0)
            name = "plain" if not whiten else f"whitened, delta {whiten:g}"
            cells = [f"{out[k]:.3f}" if np.isfinite(out[k]) else "diverged" for k in shown]
            print(f"| {name} | {kappa:g} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
