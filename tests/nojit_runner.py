"""Run cases and save what they give; ``test_nojit.py`` runs this in a subprocess with NUMBA_DISABLE_JIT=1
under coverage. The cases of one network run as one lockstep group (``simulate_group``: the block product
for groups of ``BLOCK_MIN`` and more, each run's own product below), so that the interpreted group gives the
numbers each run has compiled and alone.

Usage: ``python nojit_runner.py CASES.json OUT.npz``, CASES.json a list of [case, experiment, overrides,
seed]. OUT.npz holds ``CASE/traces/KEY``, ``CASE/weights/KEY`` and ``CASE/diverged_step`` per case.
"""

import json
import sys

import numpy as np

from reservoir_motor import load_experiment
from reservoir_motor.simulation.simulate import simulate_group
from reservoir_motor.studies.sweep import network_key


def main(cases_path: str, out_path: str) -> None:
    arrays = {}
    with open(cases_path) as fh:
        cases = json.load(fh)
    groups = {}
    for case, name, overrides, seed in cases:
        config = load_experiment(name, overrides)
        groups.setdefault(network_key(config, seed), []).append((case, dict(config=config, seed=seed)))
    results = [(case, res) for group in groups.values()
               for (case, _), res in zip(group, simulate_group([run for _, run in group]), strict=True)]
    for case, res in results:
        arrays[f"{case}/diverged_step"] = np.array(res.metrics["diverged_step"])
        for group in ("traces", "weights"):
            for key, value in getattr(res, group).items():
                arrays[f"{case}/{group}/{key}"] = value
    np.savez(out_path, **arrays)


if __name__ == "__main__":
    main(*sys.argv[1:])
