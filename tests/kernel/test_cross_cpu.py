"""The same numbers on every x86-64 CPU: each run made as generic x86-64 (SSE2, no FMA), as Haswell (AVX2, FMA)
and as this machine's CPU, each in a fresh process with an empty numba cache, gives the same fingerprint
(``benchmarks/fingerprint.py``): every trace, weight, recorded rate and metric of its runs bit for bit alike.

A target is emulated in all three places that choose code for the CPU at run time: numba compiles for the
host's features unless ``NUMBA_CPU_NAME`` and ``NUMBA_CPU_FEATURES`` are given; glibc picks its libm variants
(FMA or not) by the CPU unless ``GLIBC_TUNABLES`` masks features; numpy picks its SIMD loops unless
``NPY_DISABLE_CPU_FEATURES`` names them (numpy's own baseline, x86-64-v2, cannot be masked). The runs: FORCE
and SUPERTREX on Task 1, SUPERTREX on Task 2 (the kinematic arm) and on the dynamical arm, a lockstep group
with a lesioned and a dopamine-depleted run, a run continued from a checkpoint and a user's plant (its own
loop). What one machine cannot vary (another libm, another architecture) is stated in docs/arithmetic.md.
"""

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT

#: name: environment that makes this machine act as that CPU; None: the host's own, as found
TARGETS = {
    "generic": {"NUMBA_CPU_NAME": "generic", "NUMBA_CPU_FEATURES": "",
                "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX512F,-AVX2,-FMA,-FMA4",
                "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"},
    "haswell": {"NUMBA_CPU_NAME": "haswell", "NUMBA_CPU_FEATURES": "+avx2,+fma",
                "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX512F",
                "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"},
    "host": None,
}


def fingerprint_as(target: str, work) -> dict:
    """The fingerprint made in a fresh process that acts as ``target`` (``TARGETS``), with an empty cache."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(work / f"cache-{target}"),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    for name in TARGETS["generic"]:
        env.pop(name, None)
    env.update(TARGETS[target] or {})
    path = work / f"{target}.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "fingerprint.py"), "--out", str(path)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def fingerprints(tmp_path_factory):
    work = tmp_path_factory.mktemp("cross-cpu")
    return {target: fingerprint_as(target, work) for target in TARGETS}


def test_cross_cpu_the_emulation_reaches_libm():
    """Masking glibc's FMA variants changes what its sin returns here (the reason the loop has its own):
    without this the test could not see a libm that differs between CPUs."""
    code = ("import array, hashlib, math; "
            "values = array.array('d', (math.sin(1e-3 * i) for i in range(200001))); "
            "print(hashlib.sha256(values.tobytes()).hexdigest())")
    sums = {}
    for target in ("generic", "host"):
        env = dict(os.environ)
        env.pop("GLIBC_TUNABLES", None)
        env.update({"GLIBC_TUNABLES": TARGETS[target]["GLIBC_TUNABLES"]} if TARGETS[target] else {})
        sums[target] = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                      check=True).stdout
    if sums["generic"] == sums["host"]:
        pytest.skip("this machine's glibc has no FMA variant of sin to mask (or the CPU has no FMA)")
    assert sums["generic"] != sums["host"]


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
