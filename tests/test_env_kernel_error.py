"""The Gymnasium env and the compiled loop compute the error with one function: driven by the outputs of a
simulated run, the env finds the run's errors exactly, movement costs and the filter's start included."""

import numpy as np
import pytest
from conftest import small

pytest.importorskip("gymnasium")

from reservoir_motor import simulate  # noqa: E402
from reservoir_motor.envs.arm_env import ArmDrawEnv  # noqa: E402


@pytest.mark.parametrize("costs", [[0.0, 0.0, 0.0], [0.1, 0.05, 0.02]])
def test_env_driven_by_a_run_finds_the_runs_errors(costs):
    cfg = small("task2-3seg-supertrex", f"task.costs={costs}", "task.cost_signal='movement'",
                "recording.record_every=1")
    run = simulate(cfg, 3)
    z, error = run.traces["z"], run.traces["error"]
    n = cfg.n_period_steps
    assert np.all(np.abs(z[:n]) <= 1.0)  # inside the action space: the env does not clip
    env = ArmDrawEnv(arm_lengths=cfg.task.arm_lengths, target=cfg.task.target, n_steps=n, costs=costs,
                     output_filter=cfg.rule.output_filter)
    env.reset(seed=0)
    env_error = np.array([env.step(z[s])[4]["error"] for s in range(n)])
    np.testing.assert_array_equal(env_error, error[:n])
    assert np.all(env_error > 0)
