"""The same numbers on every x86-64 CPU: the loop compiled for generic x86-64 (SSE2, no FMA), for Haswell (AVX2,
FMA) and for this machine's CPU, each in a fresh process with an empty numba cache, gives the same fingerprint
(``benchmarks/fingerprint.py``): every trace, weight, recorded rate and metric of its runs bit for bit alike.

numba compiles for the host's features unless ``NUMBA_CPU_FEATURES`` is given, so each target names its CPU
and its features. The runs: FORCE and SUPERTREX on Task 1, SUPERTREX on Task 2 (the kinematic arm) and on the
dynamical arm, a lockstep group with a lesioned and a dopamine-depleted run, a run continued from a checkpoint
and a user's plant (its own loop). What one machine cannot vary (another libm, numpy's SIMD loops, another
architecture) is stated in docs/arithmetic.md.
"""

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT

# name: (NUMBA_CPU_NAME, NUMBA_CPU_FEATURES); None: the host's own, as numba finds them
TARGETS = {"generic": ("generic", ""), "haswell": ("haswell", "+avx2,+fma"), "host": None}


@pytest.fixture(scope="module")
def fingerprints(tmp_path_factory):
    work = tmp_path_factory.mktemp("cross-cpu")
    out = {}
    for name, target in TARGETS.items():
        env = dict(os.environ, NUMBA_CACHE_DIR=str(work / f"cache-{name}"),
                   PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        env.pop("NUMBA_CPU_NAME", None)
        env.pop("NUMBA_CPU_FEATURES", None)
        if target is not None:
            env["NUMBA_CPU_NAME"], env["NUMBA_CPU_FEATURES"] = target
        path = work / f"{name}.json"
        proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "fingerprint.py"), "--out", str(path)],
                              env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        out[name] = json.loads(path.read_text())
    return out


@pytest.mark.parametrize("target", ["generic", "haswell"])
def test_cross_cpu_every_array_equals_the_hosts(fingerprints, target):
    host, other = fingerprints["host"], fingerprints[target]
    assert other["made"]["cpu"] == target and host["made"]["cpu"] not in ("generic", "haswell")
    assert sorted(other["arrays"]) == sorted(host["arrays"]) and len(host["arrays"]) > 100
    differ = [k for k in host["arrays"] if host["arrays"][k][0] != other["arrays"][k][0]]
    assert not differ, f"{target} differs from the host in {len(differ)} arrays, e.g. {differ[:5]}"


def test_cross_cpu_the_runs_are_not_trivial(fingerprints):
    """The compared runs learn and move: a difference of summation order would show in them."""
    sums = {name: total for name, (_, total) in fingerprints["host"]["arrays"].items()}
    for key in ("force", "supertrex", "task2", "arm-dynamics", "user-plant", "lockstep-1", "continued"):
        assert sums[f"{key}/weights/w_mastery"] != 0 or sums[f"{key}/weights/w_exploratory"] != 0, key
    assert sums["force/weights/w_mastery"] != 0  # RLS and the pass over P ran
    assert sums["lockstep-0/traces/z"] != sums["lockstep-1/traces/z"] != sums["lockstep-2/traces/z"]
