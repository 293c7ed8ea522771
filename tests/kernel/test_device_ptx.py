"""The GPU kernel compiles for a real GPU (Hopper, sm_90), here, without one.

The CUDA simulator runs the kernel as Python, so it cannot tell whether numba-cuda can compile it: a helper that is
plain Python, a numpy call the device lacks. This compiles the whole kernel to PTX with NVVM (from the extra
``test``'s numba-cuda[cu13]) for the argument types of a real batch, in a process without the simulator.
numba-cuda compiles a kernel's device functions for the current device, which a machine without a GPU lacks: the
process names compute capability 9.0 for it. The kernel for a user's plant (tests/plant_cases.py) compiles too.
"""

import os
import subprocess
import sys

from conftest import ROOT, TESTS

CODE = """
import types
import numba
import numba.cuda.dispatcher
numba.cuda.dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=(9, 0))
from numba import cuda
from reservoir_motor import load_experiment
from reservoir_motor.kernel import device
from reservoir_motor.simulation.on_device import Batch
from reservoir_motor.simulation.simulate import _Member
from plant_cases import POINT_MASS  # tests/plant_cases.py: a user's plant with a state
tiny = ["network.n_neurons=20", "task.duration_ms=10", "schedule.n_train_trials=2", "schedule.n_test_trials=1",
        "schedule.replay_lag_trials=1"]
members = [_Member(config=load_experiment(name, tiny), seed=0) for name in ("task1-force", "task3-supertrex")]
batch = Batch(members, 256)
import numpy as np
steps = np.zeros(len(members), np.int64)
signature = tuple(numba.typeof(a) for a in batch.arguments(steps, steps, batch.host, batch.shared))
ptx, _ = cuda.compile_ptx(device.make_kernel(256).py_func, signature, cc=(9, 0))
user = _Member(config=load_experiment("task1-rmhl", tiny + ["task.effector='plant_cases:POINT_MASS'",
                                                            "schedule.test_feedback='autonomous'"]), seed=0)
batch = Batch([user], 256)
one = steps[:1]
signature = tuple(numba.typeof(a) for a in batch.arguments(one, one, batch.host, batch.shared))
ptx_user, _ = cuda.compile_ptx(device.make_kernel(256, POINT_MASS.step).py_func, signature, cc=(9, 0))
print(len(ptx), ".target sm_90" in ptx and ".target sm_90" in ptx_user)
"""


def test_device_kernel_compiles_to_ptx_for_sm_90():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0",
               PYTHONPATH=os.pathsep.join([str(ROOT), str(TESTS), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    size, hopper = proc.stdout.split()
    assert int(size) > 10_000 and hopper == "True"
