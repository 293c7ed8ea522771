"""The same numbers on every x86-64 CPU: the loop compiled for generic x86-64 (SSE2, no FMA), for Haswell (AVX2,
FMA) and for this machine's CPU, each in a fresh process with an empty numba cache, gives every trace, weight
and metric bit for bit alike (``==``).

numba compiles for the host's features unless ``NUMBA_CPU_FEATURES`` is given, so each target names its CPU
and its features. Covered: FORCE and SUPERTREX on Task 1, SUPERTREX on Task 2 (the kinematic arm) and on the
dynamical arm, a lockstep group with a lesioned and a dopamine-depleted run, a run continued from a checkpoint
and a user's plant (its own loop). What this cannot show is stated in docs/arithmetic.md: another architecture
(aarch64), and libm's transcendental functions, which the host's libm gives whatever target numba compiled for.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, TESTS

RUNNER = r'''
import sys
import numpy as np
from reservoir_motor import ExperimentConfig, load_experiment, simulate
from reservoir_motor.simulation.simulate import simulate_group

SIZE = ["network.n_neurons=120", "task.duration_ms=60", "schedule.n_train_trials=5", "schedule.n_test_trials=2",
        "schedule.replay_lag_trials=1", "recording.record_every=1", "recording.n_units=5"]
ARM = ["task.effector='arm_dynamics'", "task.arm_lengths=[]", "task.target_scale=144.734"]
USER = ["task.effector='plant_cases:POINT_MASS'", "schedule.test_feedback='replay'"]
runs = {}
for key, name, extra in [("force", "task1-force", []), ("supertrex", "task1-supertrex", []),
                         ("task2", "task2-supertrex", []), ("arm-dynamics", "task2-supertrex", ARM),
                         ("user-plant", "task1-supertrex", USER)]:
    runs[key] = simulate(load_experiment(name, SIZE + extra), 7)
control = load_experiment("task1-supertrex", SIZE).to_dict()
manipulated = [ExperimentConfig.from_dict({**control, "manipulations": m}) for m in (
    [], [{"kind": "lesion_exploratory", "start": 3}], [{"kind": "dopamine", "value": 0.3}])]
for i, result in enumerate(simulate_group([dict(config=c, seed=7) for c in manipulated])):
    runs[f"lockstep-{i}"] = result
start = simulate(load_experiment("task1-supertrex", SIZE + ["recording.checkpoints=[3]"]), 7).checkpoints[3]
runs["continued"] = simulate(load_experiment("task1-supertrex", SIZE), 7, start=start)
arrays = {}
for key, result in runs.items():
    for group in ("traces", "weights"):
        for name, value in getattr(result, group).items():
            arrays[f"{key}/{group}/{name}"] = value
    arrays[f"{key}/rates"] = np.asarray(result.activity.rates)
    arrays[f"{key}/metrics"] = np.array([float("nan") if v is None else float(v)
                                         for k, v in sorted(result.metrics.items()) if k != "wall_s"])
np.savez(sys.argv[1], **arrays)
'''

# name: (NUMBA_CPU_NAME, NUMBA_CPU_FEATURES); None: the host's own, as numba finds them
TARGETS = {"generic": ("generic", ""), "haswell": ("haswell", "+avx2,+fma"), "host": None}


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    work = tmp_path_factory.mktemp("cross-cpu")
    out = {}
    for name, target in TARGETS.items():
        env = dict(os.environ, NUMBA_CACHE_DIR=str(work / f"cache-{name}"),
                   PYTHONPATH=os.pathsep.join([str(ROOT), str(TESTS), os.environ.get("PYTHONPATH", "")]))
        env.pop("NUMBA_CPU_NAME", None)
        env.pop("NUMBA_CPU_FEATURES", None)
        if target is not None:
            env["NUMBA_CPU_NAME"], env["NUMBA_CPU_FEATURES"] = target
        path = work / f"{name}.npz"
        proc = subprocess.run([sys.executable, "-c", RUNNER, str(path)], env=env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr
        with np.load(path) as f:
            out[name] = {k: f[k] for k in f.files}
    return out


@pytest.mark.parametrize("target", ["generic", "haswell"])
def test_cross_cpu_every_array_equals_the_hosts(traces, target):
    host, other = traces["host"], traces[target]
    assert sorted(other) == sorted(host) and len(host) > 100
    differ = [k for k in host if not np.array_equal(host[k], other[k], equal_nan=True)]
    assert not differ, f"{target} differs from the host in {len(differ)} arrays, e.g. {differ[:5]}"


def test_cross_cpu_the_runs_are_not_trivial(traces):
    """The compared runs learn and move: a difference of summation order would show in them."""
    host = traces["host"]
    for key in ("force", "supertrex", "task2", "arm-dynamics", "user-plant", "lockstep-1", "continued"):
        weights = np.concatenate([host[f"{key}/weights/w_mastery"], host[f"{key}/weights/w_exploratory"]])
        assert np.ptp(host[f"{key}/traces/z"]) > 0 and np.any(weights != 0), key
    assert np.any(host["force/weights/w_mastery"] != 0) and np.any(host["supertrex/weights/w_mastery"] != 0)
    assert not np.array_equal(host["lockstep-0/traces/z"], host["lockstep-1/traces/z"])
