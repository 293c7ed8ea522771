"""The arm env registered with Gymnasium under a namespaced, versioned id."""

import subprocess
import sys
import warnings

import pytest

gym = pytest.importorskip("gymnasium")

from gymnasium.utils.env_checker import check_env  # noqa: E402

from reservoir_motor.envs import ARM_ENV_ID, register_envs  # noqa: E402
from reservoir_motor.envs.arm_env import ArmDrawEnv  # noqa: E402

FRESH_PROCESS = f"""
import sys
import gymnasium
from gymnasium.utils.env_checker import check_env
assert not any(m.startswith("reservoir_motor") for m in sys.modules), "imported before make"
env = gymnasium.make("reservoir_motor.envs:{ARM_ENV_ID}", n_steps=20)
check_env(env.unwrapped, skip_render_check=True)
print(env.spec.id, type(env.unwrapped).__name__)
"""


def test_gym_fresh_process_makes_the_env_by_module_and_id(tmp_path):
    # run outside the checkout, so only the installed package can provide the env
    proc = subprocess.run([sys.executable, "-c", FRESH_PROCESS], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [ARM_ENV_ID, ArmDrawEnv.__name__]


def test_gym_imported_package_makes_the_env_by_id_and_it_passes_the_checker():
    env = gym.make(ARM_ENV_ID, arm_lengths=(1.8, 1.2, 0.6), n_steps=30)
    assert env.spec.namespace == "reservoir_motor" and env.spec.version == 0
    assert isinstance(env.unwrapped, ArmDrawEnv) and env.unwrapped.lengths.size == 3
    check_env(env.unwrapped, skip_render_check=True)


def test_gym_registering_again_keeps_the_one_spec_without_a_warning():
    spec = gym.spec(ARM_ENV_ID)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Gymnasium warns when an id is registered over
        register_envs()
    assert gym.spec(ARM_ENV_ID) is spec
