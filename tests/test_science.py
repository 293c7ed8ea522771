"""The paper's claims at reduced size (N = 500, 2 s periods, 8 training + 2 test periods, seeds 0-2).

Marked ``slow`` (about a minute): ``python -m pytest -m slow``. The full-size numbers are in the README.
Bounds are set between the values measured at this size and the claim's boundary, e.g. Task 2 RMHL
measured 0.61-0.63 against the 0.5 line of a satisfactory run.
"""

import numpy as np
import pytest

from reservoir_motor import load_experiment, simulate

pytestmark = pytest.mark.slow
REDUCED = ["network.n_neurons=500", "task.duration_ms=2000", "schedule.n_train_trials=8",
           "schedule.n_test_trials=2", "schedule.replay_lag_trials=2"]
SEEDS = (0, 1, 2)


def deviations(name, *extra):
    return np.array([simulate(load_experiment(name, REDUCED + list(extra)), s).deviation for s in SEEDS])


def test_science_task1_force_learns_and_keeps_the_butterfly():
    assert np.all(deviations("task1-force") < 0.02)  # measured 0.006-0.007


def test_science_task1_supertrex_keeps_the_skill_better_than_rmhl():
    st, rmhl = deviations("task1-supertrex"), deviations("task1-rmhl")
    assert np.all(st < rmhl)  # measured 0.07-0.13 against 0.17-0.22
    assert np.all(rmhl < 0.5)


def test_science_task2_supertrex_satisfactory_where_rmhl_fails():
    assert np.all(deviations("task2-supertrex") < 0.25)  # measured 0.04-0.11
    assert np.all(deviations("task2-rmhl") > 0.5)  # measured 0.61-0.63
