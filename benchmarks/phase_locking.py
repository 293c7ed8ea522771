"""Is the reservoir a function of the movement's phase? The dynamical arm's run with W_exp = 0 (learning rate 0),
three training periods, 50 recorded units every 10 steps: the correlation of the rates in period k with those of
period k - 1 at the same phase, without and with the phase as state input (``network.state_input``).

A reward baseline per step of the period (``rule.phase_baseline``) assumes the network does the same thing at the
same phase of every period; a chaotic reservoir does not.

Usage: python benchmarks/phase_locking.py [--experiment dynarm-rmhl] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np

import reservoir_motor as rm

INPUTS = {"no state input": [], "the phase as state input": ["network.state_input=true"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiment", default="dynarm-rmhl")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    for name, sets in INPUTS.items():
        config = rm.load_experiment(args.experiment, ["rule.learning_rate=0", "schedule.n_train_trials=3",
                                                      "schedule.n_test_trials=0", "recording.n_units=50",
                                                      "recording.units_every=10", *sets])
        rates = np.asarray(rm.simulate(config, args.seed).activity.rates, dtype=float)
        n = rates.shape[0] // 3
        corr = [np.corrcoef(rates[(k - 1) * n:k * n].ravel(), rates[k * n:(k + 1) * n].ravel())[0, 1] for k in (1, 2)]
        print(f"{args.experiment}, seed {args.seed}, {name}: rates of periods 1 and 2 against the period before: "
              + ", ".join(f"{c:.3f}" for c in corr))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
