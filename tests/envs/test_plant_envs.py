"""Every built-in plant as a Gymnasium env: one class (``envs.plant_env.PlantDrawEnv``) under the ids of
``envs.ENVS``, made by id (in this process and in a fresh one), passing Gymnasium's checker, and driven by the
outputs of a simulated run, finding that run's errors exactly (the env and the compiled loop call one
``kernel.loop.task_error``; the plant's state advances alike)."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from conftest import small

gym = pytest.importorskip("gymnasium")

from gymnasium.utils.env_checker import check_env  # noqa: E402

from reservoir_motor import ConfigError, kinds, simulate  # noqa: E402
from reservoir_motor.envs import ARM_ENV_ID, ENVS, register_envs  # noqa: E402
from reservoir_motor.envs.plant_env import PlantDrawEnv  # noqa: E402
from reservoir_motor.plants import arm  # noqa: E402

PLANTS = sorted(kinds.EFFECTORS)
# A small run of each plant with movement costs (and an effort cost on the torques), every step recorded; the
# arm once more with three segments.
RUNS = {
    "identity": ("task1-supertrex", ["task.costs=[0.1, 0.05]"]),
    "arm": ("task2-supertrex", ["task.costs=[0.1, 0.05]", "task.arm_lengths=[1.8, 1.8]"]),
    "arm-3seg": ("task2-3seg-supertrex", ["task.costs=[0.1, 0.05, 0.02]"]),
    "arm_dynamics": ("task2-supertrex", ["task.effector='arm_dynamics'", "task.arm_lengths=[]",
                                         "task.target_scale=144.734", "task.costs=[0.01, 0.02]",
                                         "task.plant={torque_scale=50.0, m1=1.0}", "task.effort_cost=0.003"]),
}


def test_plant_envs_every_built_in_plant_has_one_id_and_a_case_here():
    assert sorted(ENVS) == PLANTS and set(PLANTS) <= set(RUNS)
    ids = [ENVS[name][0] for name in PLANTS]
    assert all(i.startswith("reservoir_motor/") and i.endswith("-v0") for i in ids) and len(set(ids)) == len(ids)
    assert {spec.entry_point for spec in gym.registry.values() if spec.namespace == "reservoir_motor"} == {
        "reservoir_motor.envs.plant_env:PlantDrawEnv"}


@pytest.mark.parametrize("name", PLANTS)
def test_plant_envs_are_made_by_id_and_pass_the_checker(name):
    env = gym.make(ENVS[name][0])
    assert env.spec.namespace == "reservoir_motor" and env.spec.version == 0
    assert isinstance(env.unwrapped, PlantDrawEnv) and env.unwrapped.plant.name == name
    check_env(env.unwrapped, skip_render_check=True)


@pytest.mark.parametrize("kwargs", [{"arm_lengths": (1.8, 1.2, 0.6), "costs": (0.1, 0.05, 0.0)},
                                    {"target": "circle", "n_steps": 50}])
def test_plant_envs_the_arm_with_other_arguments_passes_the_checker(kwargs):
    check_env(gym.make(ARM_ENV_ID, **kwargs).unwrapped, skip_render_check=True)


def test_plant_envs_the_arm_rewards_minus_the_squared_distance():
    env = gym.make(ARM_ENV_ID, n_steps=20)
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


@pytest.mark.parametrize("case", sorted(RUNS))
def test_plant_envs_driven_by_a_run_find_its_errors_and_states(case):
    experiment, overrides = RUNS[case]
    cfg = small(experiment, *overrides, "task.cost_signal='movement'", "recording.record_every=1")
    run = simulate(cfg, 3)
    z, error, states = run.traces["z"], run.traces["error"], run.traces["plant_state"]
    n, task = cfg.n_period_steps, cfg.task
    name = task.effector
    plant, bound = kinds.EFFECTORS[name], ENVS[name][1].get("action_bound", 1.0)
    assert np.all(np.abs(z[:n]) <= bound)  # inside the action space: the env does not clip
    env = gym.make(ENVS[name][0], target=task.target, n_steps=n, costs=task.costs, output_filter=cfg.rule.output_filter,
                   plant=task.plant, target_scale=task.target_scale, dt_ms=cfg.network.dt_ms,
                   arm_lengths=task.arm_lengths, effort_cost=task.effort_cost).unwrapped
    env.reset(seed=0)
    steps = [env.step(z[s]) for s in range(n)]
    rewards = np.array([step[1] for step in steps])
    np.testing.assert_array_equal(-rewards, error[:n])
    np.testing.assert_array_equal(np.array([step[0][2:2 + plant.n_state] for step in steps]), states[:n])
    np.testing.assert_array_equal(np.array([step[0][:2] for step in steps]), run.traces["hand"][:n])
    assert np.all(rewards < 0) and steps[-1][3]  # a period is an episode
    if plant.n_state:
        assert np.ptp(states[:n, 0]) > 1e-6  # the state moved: its dynamics are compared


def test_plant_envs_refuse_an_invalid_task_in_one_line():
    with pytest.raises(ConfigError, match="task.plant = {'m1': -1.0} is not allowed: arm parameter m1"):
        PlantDrawEnv(effector="arm_dynamics", plant={"m1": -1.0})
    with pytest.raises(ConfigError, match="task.target = 'butterfly' is not allowed"):
        PlantDrawEnv(effector="arm_dynamics", target_scale=14.4734)  # a butterfly 1 m wide
    with pytest.raises(ConfigError, match="task.arm_lengths = .* is not allowed"):
        PlantDrawEnv(effector="arm", arm_lengths=(1.0, -1.0))
    with pytest.raises(ConfigError, match="reach"):
        PlantDrawEnv(effector="arm", arm_lengths=(0.5, 0.5))
    with pytest.raises(ValueError, match="n_steps = 1 is not allowed"):
        PlantDrawEnv(n_steps=1)
    with pytest.raises(ValueError, match="action_bound = 0 is not allowed"):
        PlantDrawEnv(action_bound=0)


def test_plant_envs_registering_again_keeps_the_one_spec_without_a_warning():
    spec = gym.spec(ARM_ENV_ID)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Gymnasium warns when an id is registered over
        register_envs()
    assert gym.spec(ARM_ENV_ID) is spec


FRESH_PROCESS = """
import sys
import gymnasium
from gymnasium.utils.env_checker import check_env
assert not any(m.startswith("reservoir_motor") for m in sys.modules), "imported before make"
env = gymnasium.make("reservoir_motor.envs:reservoir_motor/ArmDynamics-v0", n_steps=20)
check_env(env.unwrapped, skip_render_check=True)
print(env.spec.id, type(env.unwrapped).__name__, env.unwrapped.plant.name)
"""


def test_plant_envs_fresh_process_makes_an_env_by_module_and_id(tmp_path):
    # run outside the checkout, so only the installed package can provide the env
    proc = subprocess.run([sys.executable, "-c", FRESH_PROCESS], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["reservoir_motor/ArmDynamics-v0", "PlantDrawEnv", "arm_dynamics"]
