"""The kernel run as plain Python (NUMBA_DISABLE_JIT=1) gives the compiled numbers: every kernel line is
exercised by the interpreter, and the compiled code is checked against its own source."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from reservoir_motor import load_experiment, simulate

TINY = ["network.n_neurons=24", "task.duration_ms=4", "schedule.n_train_trials=3", "schedule.n_test_trials=1",
        "schedule.replay_lag_trials=1", "recording.record_every=1", "rule.transfer_threshold=5.0"]
CASES = [
    ("task1-force", []),
    ("task1-rmhl", ["rule.phi='odd'"]),
    ("task1-supertrex", []),
    ("task1-supertrex", ["task.effector='arm'", "task.arm_lengths=[1.8, 1.2, 0.6]", "task.costs=[0.1, 0.05, 0.0]",
                         "schedule.test_feedback='replay'", "rule.supervisor='filtered'"]),
    ("task1-rmhl", ["schedule.test_feedback='autonomous'"]),
]

SCRIPT = """
import json, sys
from reservoir_motor import load_experiment, simulate
res = simulate(load_experiment(sys.argv[1], json.loads(sys.argv[2])), 1)
print(json.dumps({k: v.tolist() for k, v in res.traces.items()}))
"""


@pytest.mark.parametrize("name,extra", CASES)
def test_nojit_interpreted_kernel_matches_compiled(name, extra):
    overrides = TINY + extra
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    proc = subprocess.run([sys.executable, "-c", SCRIPT, name, json.dumps(overrides)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    interpreted = json.loads(proc.stdout)
    compiled = simulate(load_experiment(name, overrides), 1).traces
    for key, arr in compiled.items():
        np.testing.assert_allclose(np.asarray(interpreted[key]), arr, rtol=1e-9, atol=1e-12, err_msg=key)
