import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")

from gymnasium.utils.env_checker import check_env  # noqa: E402

from reservoir_motor.envs import arm  # noqa: E402
from reservoir_motor.envs.arm_env import ArmDrawEnv  # noqa: E402


@pytest.mark.parametrize("kwargs", [{}, {"arm_lengths": (1.8, 1.2, 0.6), "costs": (0.1, 0.05, 0.0)},
                                    {"target": "circle", "n_steps": 50}])
def test_arm_env_passes_the_gymnasium_checker(kwargs):
    check_env(ArmDrawEnv(**kwargs), skip_render_check=True)


def test_arm_env_is_made_by_id_and_rewards_minus_the_squared_distance():
    env = gym.make("reservoir_motor.envs.arm_env:ArmDraw-v0", n_steps=20)
    obs, _ = env.reset(seed=0)
    np.testing.assert_allclose(obs[:2], [0.0, 1.6])  # the straight arm
    action = np.array([0.1, -0.3])
    obs, reward, terminated, truncated, info = env.step(action)
    tip = arm.joint_positions(action, [1.8, 1.8])[-1]
    np.testing.assert_allclose(obs[:2], tip)
    assert reward == pytest.approx(-np.sum((tip - info["target"]) ** 2))
    steps = 1
    while not truncated:
        *_, truncated, _ = env.step(env.action_space.sample())
        steps += 1
    assert steps == 20


def test_arm_env_rejects_bad_arguments():
    with pytest.raises(ValueError, match="arm_lengths"):
        ArmDrawEnv(arm_lengths=(1.0, -1.0))
    with pytest.raises(ValueError, match="reach"):
        ArmDrawEnv(arm_lengths=(0.5, 0.5))
