"""Shared small configurations: N = 100, a 40 ms period, so a run is a few thousand steps."""

import pytest

from reservoir_motor import load_experiment

SMALL = ["network.n_neurons=100", "task.duration_ms=40", "schedule.n_train_trials=4",
         "schedule.n_test_trials=2", "schedule.replay_lag_trials=2"]


def small(name="task1-supertrex", *extra):
    """A bundled experiment shrunk to test size, with ``extra`` overrides."""
    return load_experiment(name, SMALL + list(extra))


@pytest.fixture
def small_config():
    return small
