"""Which harmonics of the period can the reservoir's rates carry, and how fast does a readout trained by gradient
descent learn each? The features' side of learning a periodic output, whatever the rule and the plant.

A readout z = W r learns by (noisy) gradient descent on the output error; in expectation the error along an
eigendirection v_i of the rates' correlation C = <r r^T> shrinks at a rate proportional to its eigenvalue
lambda_i (node perturbation and the scripts' Hebbian rule follow such a gradient in expectation; RLS does not:
its P = C^-1 makes every direction equally fast). For each harmonic k of the period, the best readout of
cos(k omega t) and sin(k omega t) from the rates (ridge least squares) says whether the rates carry it at all
(the fit's relative residual: 0 = drawn exactly, 1 = not at all), and the power-weighted eigenvalue of that
readout, sum_i share_i lambda_i, how fast gradient descent learns it.

Measured on the rates of all N units over one training period (the second: the first holds the transient from
the random initial state), early in learning, from a short run of the experiment with the given overrides.

Usage: python benchmarks/reservoir_harmonics.py [--experiment dynarm-rmhl] [--seed 0] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse

import numpy as np

from reservoir_motor import load_experiment, simulate

N_HARMONICS = 8
EVERY = 10  # record the rates every 10th step (2 ms)
RIDGE = 1e-6  # times the largest eigenvalue: keeps the fit of a harmonic that is absent from growing without bound


def period_rates(experiment: str, sets: list[str], seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """The rates of every unit over training period 1, their times (s from its start) and the period (s)."""
    overrides = sets + ["schedule.n_train_trials=2", "schedule.n_test_trials=0", "recording.units_window=[1]",
                        f"recording.units_every={EVERY}"]
    config = load_experiment(experiment, overrides)
    config = load_experiment(experiment, overrides + [f"recording.n_units={config.network.n_neurons}"])
    result = simulate(config, seed)
    rates = np.asarray(result.activity.rates, dtype=float)
    time_s = (np.asarray(result.activity.time_ms) - result.activity.time_ms[0]) / 1000.0
    return rates, time_s, config.task.duration_ms / 1000.0


def harmonic_rates(rates: np.ndarray, time_s: np.ndarray, period: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Per harmonic 1-8: the relative residual of the best readout and its power-weighted eigenvalue; and the
    largest eigenvalue of the rates' correlation."""
    corr = rates.T @ rates / rates.shape[0]
    lam, vec = np.linalg.eigh(corr)
    regularised = corr + RIDGE * lam[-1] * np.eye(corr.shape[0])
    residual, speed = np.empty(N_HARMONICS), np.empty(N_HARMONICS)
    for k in range(1, N_HARMONICS + 1):
        angle = 2.0 * np.pi * k * time_s / period
        wanted = np.column_stack([np.cos(angle), np.sin(angle)])
        w = np.linalg.solve(regularised, rates.T @ wanted / rates.shape[0])
        residual[k - 1] = np.sqrt(np.mean((rates @ w - wanted) ** 2) / np.mean(wanted ** 2))
        power = lam[:, None] * (vec.T @ w) ** 2  # the readout's output power carried by each eigendirection
        speed[k - 1] = np.sum(power.sum(1) * lam) / power.sum()
    return residual, speed, lam[-1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiment", default="dynarm-rmhl")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a config override, e.g. network.state_signal=harmonics (repeatable)")
    args = ap.parse_args(argv)
    rates, time_s, period = period_rates(args.experiment, args.set, args.seed)
    residual, speed, top = harmonic_rates(rates, time_s, period)
    print(f"{args.experiment} {' '.join(args.set)} (seed {args.seed}): largest eigenvalue of <r r^T> {top:.3g}")
    print("| harmonic | " + " | ".join(f"h{k}" for k in range(1, N_HARMONICS + 1)) + " |")
    print("|---|" + "---|" * N_HARMONICS)
    print("| residual of the best readout | " + " | ".join(f"{x:.3f}" for x in residual) + " |")
    print("| learning speed (power-weighted eigenvalue) | " + " | ".join(f"{x:.3g}" for x in speed) + " |")
    print("| relative to h1 | " + " | ".join(f"{x:.2g}" for x in speed / speed[0]) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
