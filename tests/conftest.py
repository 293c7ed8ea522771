"""Shared small configurations: N = 100, a 40 ms period, so a run is a few thousand steps."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

# The GPU engine's tests run in numba's CUDA simulator unless this is set to 0 (on a machine with a GPU). It is read
# when numba.cuda is first imported, so it is set before any test module imports the package.
os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

from reservoir_motor import load_experiment  # noqa: E402

TESTS = Path(__file__).resolve().parent  # the tests' helpers: reference.py, kernel_cases.py, plant_cases.py
ROOT = TESTS.parent  # the checkout: docs/, tasks/, figures/

SMALL = ["network.n_neurons=100", "task.duration_ms=40", "schedule.n_train_trials=4",
         "schedule.n_test_trials=2", "schedule.replay_lag_trials=2"]


def small(name="task1-supertrex", *extra):
    """A bundled experiment shrunk to test size, with ``extra`` overrides."""
    return load_experiment(name, SMALL + list(extra))


@pytest.fixture
def small_config():
    return small


@pytest.fixture
def dask_cluster(tmp_path):
    pytest.importorskip("distributed")
    bindir = Path(sys.executable).parent
    dask = str(bindir / "dask") if (bindir / "dask").exists() else "dask"
    sched_file = tmp_path / "scheduler.json"
    import reservoir_motor  # the cluster imports the package from where the tests do

    root = str(Path(reservoir_motor.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(sched_file)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=env)]
    deadline = time.time() + 60
    while not sched_file.exists() and time.time() < deadline:
        time.sleep(0.1)
    address = json.loads(sched_file.read_text())["address"]
    for _ in range(2):
        procs.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--nworkers", "1",
                                       "--no-dashboard", "--no-nanny"], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, env=env))
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(2, timeout=60)
    yield address, procs
    for p in procs:
        p.kill()
        p.wait()
