"""Run cases with ``simulate`` and save what they give; ``test_nojit.py`` runs this in a subprocess with
NUMBA_DISABLE_JIT=1 under coverage.

Usage: ``python nojit_runner.py CASES.json OUT.npz``, CASES.json a list of [case, experiment, overrides,
seed]. OUT.npz holds ``CASE/traces/KEY``, ``CASE/weights/KEY`` and ``CASE/diverged_step`` per case.
"""

import json
import sys

import numpy as np

from reservoir_motor import load_experiment, simulate


def main(cases_path: str, out_path: str) -> None:
    arrays = {}
    with open(cases_path) as fh:
        cases = json.load(fh)
    for case, name, overrides, seed in cases:
        res = simulate(load_experiment(name, overrides), seed)
        arrays[f"{case}/diverged_step"] = np.array(res.metrics["diverged_step"])
        for group in ("traces", "weights"):
            for key, value in getattr(res, group).items():
                arrays[f"{case}/{group}/{key}"] = value
    np.savez(out_path, **arrays)


if __name__ == "__main__":
    main(*sys.argv[1:])
