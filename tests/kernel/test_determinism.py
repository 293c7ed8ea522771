"""A run is a pure function of (config, seed): the same numbers whether the compiled loop was just compiled
or loaded from numba's on-disk cache, and in this process or another.

Before every function called by the loop was inlined into it, a freshly compiled loop and one loaded from
the cache executed different copies of those functions and a FORCE run of this size already differed
in the last bits (found on this test's config: 4 periods of 500 ms, N = 300)."""

import json
import os
import subprocess
import sys

import numpy as np

from reservoir_motor import load_experiment, simulate

OVERRIDES = ["network.n_neurons=300", "task.duration_ms=500", "schedule.n_train_trials=3",
             "schedule.n_test_trials=1"]
SCRIPT = """
import json, sys
from reservoir_motor import load_experiment, simulate
for name in ("task1-force", "task1-supertrex"):
    res = simulate(load_experiment(name, json.loads(sys.argv[1])), 0)
    print(json.dumps({"name": name, "deviation": res.metrics["deviation"],
                      "traces": {k: v.tolist() for k, v in res.traces.items()}}))
"""


def _run_in_subprocess(cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    proc = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(OVERRIDES)], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_fresh_compile_and_cached_load_give_identical_runs(tmp_path):
    cache = tmp_path / "numba-cache"
    fresh = _run_in_subprocess(cache)      # empty cache: compiles, and writes the cache
    assert any(cache.rglob("*.nbi")), "the first process did not write numba's cache"
    cached = _run_in_subprocess(cache)     # loads what the first one wrote
    for a, b in zip(fresh, cached, strict=True):
        assert a["deviation"] == b["deviation"], a["name"]
        for key in a["traces"]:
            assert a["traces"][key] == b["traces"][key], (a["name"], key)
    for a in fresh:  # and this process, whatever its cache held, agrees
        here = simulate(load_experiment(a["name"], OVERRIDES), 0)
        assert here.metrics["deviation"] == a["deviation"], a["name"]
        for key, arr in here.traces.items():
            assert np.array_equal(np.asarray(a["traces"][key]), arr), (a["name"], key)
