"""The compiled loop run as plain Python (NUMBA_DISABLE_JIT=1), under coverage, gives the compiled numbers.

One subprocess runs every case of ``kernel_cases.py`` (the reference tests' matrix and feature cases, at
``INTERPRETED_SIZE``; the cases of one network as one lockstep group) with the JIT off, so the interpreter
executes the loop's source line by line while ``coverage`` records which lines ran. Each case must then give
the compiled loop's numbers, and the cases together must execute at least ``COVERAGE_FLOOR`` per cent of
``kernel/loop.py``'s lines: a branch no case reaches is a branch that neither this test nor the reference tests check.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import TESTS
from kernel_cases import FEATURE_CASES, INTERPRETED_SIZE, matrix_cases

from reservoir_motor import load_experiment, simulate

SEED = 1
COVERAGE_FLOOR = 95.0
KERNEL = "kernel/loop.py"  # the source file of the compiled loop, whose lines are counted
RUNNER = TESTS / "nojit_runner.py"
CASES = {**matrix_cases(), **FEATURE_CASES}


def overrides_of(case):
    return list(INTERPRETED_SIZE) + list(CASES[case][1])


@pytest.fixture(scope="module")
def interpreted(tmp_path_factory):
    """Run every case interpreted under coverage; return the saved arrays and the coverage JSON report."""
    work = tmp_path_factory.mktemp("nojit")
    cases_json, out, data, report = work / "cases.json", work / "runs.npz", work / ".coverage", work / "coverage.json"
    cases_json.write_text(json.dumps([[case, CASES[case][0], overrides_of(case), SEED] for case in CASES]))
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    coverage = [sys.executable, "-m", "coverage"]
    run = subprocess.run(coverage + ["run", f"--data-file={data}", f"--include=*/{KERNEL}", str(RUNNER),
                                     str(cases_json), str(out)], env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr
    subprocess.run(coverage + ["json", f"--data-file={data}", "-o", str(report)], check=True, capture_output=True)
    with np.load(out) as arrays:
        runs = {key: arrays[key] for key in arrays.files}
    return runs, json.loads(report.read_text())


@pytest.mark.parametrize("case", sorted(CASES))
def test_nojit_interpreted_kernel_matches_compiled(case, interpreted):
    runs, _ = interpreted
    compiled = simulate(load_experiment(CASES[case][0], overrides_of(case)), SEED)
    assert int(runs[f"{case}/diverged_step"]) == compiled.metrics["diverged_step"]
    assert compiled.diverged == case.startswith("diverges")
    for group in ("traces", "weights"):
        for key, value in getattr(compiled, group).items():
            np.testing.assert_allclose(runs[f"{case}/{group}/{key}"], value, rtol=1e-9, atol=1e-12,
                                       err_msg=f"{group}/{key}")


def test_nojit_cases_execute_the_kernel_lines(interpreted):
    _, report = interpreted
    (path, kernel), = ((p, f) for p, f in report["files"].items() if p.endswith(KERNEL))
    covered = kernel["summary"]["percent_covered"]
    print(f"interpreted cases execute {covered:.1f} % of {KERNEL}; lines never run: {kernel['missing_lines']}")
    assert covered >= COVERAGE_FLOOR, (f"the cases execute {covered:.1f} % of {path} (floor {COVERAGE_FLOOR} %); "
                                       f"lines never run: {kernel['missing_lines']}")
