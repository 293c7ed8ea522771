"""Every built-in plant as a Gymnasium env (``envs/plant_env.py``, ids from ``kinds.EFFECTORS``): made by id,
passing Gymnasium's checker, and driven by the outputs of a simulated run, finding that run's errors exactly (the
env and the compiled loop call one ``_kernel.task_error``; the plant's state advances alike)."""

import subprocess
import sys

import numpy as np
import pytest
from conftest import small

gym = pytest.importorskip("gymnasium")

from gymnasium.utils.env_checker import check_env  # noqa: E402

from reservoir_motor import ConfigError, kinds, simulate  # noqa: E402
from reservoir_motor.envs.plant_env import PlantDrawEnv  # noqa: E402

PLANTS = sorted(kinds.EFFECTORS)
# A small run of each plant with movement costs (and an effort cost on the torques), every step recorded.
RUNS = {
    "identity": ("task1-supertrex", ["task.costs=[0.1, 0.05]"]),
    "arm": ("task2-supertrex", ["task.costs=[0.1, 0.05]", "task.arm_lengths=[1.8, 1.8]"]),
    "arm_dynamics": ("task2-supertrex", ["task.effector='arm_dynamics'", "task.arm_lengths=[]",
                                         "task.target_scale=144.734", "task.costs=[0.01, 0.02]",
                                         "task.plant={torque_scale=50.0, m1=1.0}", "task.effort_cost=0.003"]),
}


def test_plant_envs_every_built_in_plant_has_an_env_and_a_case_here():
    assert sorted(RUNS) == PLANTS
    ids = [kinds.EFFECTORS[name].env_id for name in PLANTS]
    assert all(i.startswith("reservoir_motor/") and i.endswith("-v0") for i in ids) and len(set(ids)) == len(ids)


@pytest.mark.parametrize("name", PLANTS)
def test_plant_envs_are_made_by_id_and_pass_the_checker(name):
    env = gym.make(kinds.EFFECTORS[name].env_id)
    assert env.spec.namespace == "reservoir_motor" and env.spec.version == 0
    check_env(env.unwrapped, skip_render_check=True)


@pytest.mark.parametrize("name", PLANTS)
def test_plant_envs_driven_by_a_run_find_its_errors_and_states(name):
    experiment, overrides = RUNS[name]
    cfg = small(experiment, *overrides, "task.cost_signal='movement'", "recording.record_every=1")
    run = simulate(cfg, 3)
    z, error, states = run.traces["z"], run.traces["error"], run.traces["plant_state"]
    n, task = cfg.n_period_steps, cfg.task
    plant = kinds.EFFECTORS[name]
    assert np.all(np.abs(z[:n]) <= plant.action_bound)  # inside the action space: the env does not clip
    if plant.env_entry_point == kinds.PLANT_ENV:
        kwargs = dict(plant=task.plant, target_scale=task.target_scale, dt_ms=cfg.network.dt_ms,
                      arm_lengths=task.arm_lengths, effort_cost=task.effort_cost)
    else:
        kwargs = dict(arm_lengths=task.arm_lengths)
    env = gym.make(plant.env_id, target=task.target, n_steps=n, costs=task.costs,
                   output_filter=cfg.rule.output_filter, **kwargs).unwrapped
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
    with pytest.raises(ValueError, match="n_steps = 1 is not allowed"):
        PlantDrawEnv(n_steps=1)


FRESH_PROCESS = """
import sys
import gymnasium
assert not any(m.startswith("reservoir_motor") for m in sys.modules), "imported before make"
env = gymnasium.make("reservoir_motor.envs:reservoir_motor/ArmDynamics-v0", n_steps=20)
print(env.spec.id, type(env.unwrapped).__name__, env.unwrapped.plant.name)
"""


def test_plant_envs_fresh_process_makes_the_dynamical_arm_by_module_and_id(tmp_path):
    proc = subprocess.run([sys.executable, "-c", FRESH_PROCESS], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["reservoir_motor/ArmDynamics-v0", "PlantDrawEnv", "arm_dynamics"]
