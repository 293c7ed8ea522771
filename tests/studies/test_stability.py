"""Divergence of nearby trajectories (reservoir_motor.studies.stability): the fit, and known answers of the dynamics."""

import numpy as np
import pytest

from reservoir_motor import ConfigError, load_experiment, simulate
from reservoir_motor.studies.stability import SATURATION_FRACTION, growth_rate, nearby_divergence

SMALL = ["network.n_neurons=200", "task.duration_ms=400"]


@pytest.mark.parametrize("rate", [5.0, -3.0])
def test_growth_rate_recovers_an_exponential_and_stops_at_saturation(rate):
    t = np.arange(0, 2000.0, 2.0)
    saturation = 1.0
    d = np.minimum(1e-3 * np.exp(rate * t / 1000), saturation)  # grows (or shrinks), then saturates
    assert growth_rate(t, d, saturation) == pytest.approx(rate, rel=1e-9)
    if rate > 0:  # the plateau is not fitted: with it the slope would be lower
        n = np.argmax(d >= SATURATION_FRACTION * saturation)
        assert np.polyfit(t / 1000, np.log(d), 1)[0] < 0.9 * rate and n < t.size - 100


def test_growth_rate_stops_where_the_copies_merge_and_needs_three_samples():
    t = np.arange(10.0)
    d = np.exp(-t / 2)
    d[6:] = 0.0  # below the float32 rounding of the rates
    assert growth_rate(t, d, 100.0) == pytest.approx(-500.0)  # per s from per ms
    assert np.isnan(growth_rate(t[:2], d[:2], 100.0))


def _spontaneous(gain):
    """A checkpoint of a reservoir without feedback or noise, and the config that continues it."""
    net = SMALL + ["network.feedback_amplitude=0", "network.noise_amplitude=0", f"network.gain={gain}"]
    ck = simulate(load_experiment("task1-force", net + ["schedule.n_train_trials=2", "schedule.n_test_trials=0",
                                                       "recording.checkpoints=[1]"]), 0).checkpoints[1]
    return load_experiment("task1-force", net + ["schedule.n_train_trials=2", "schedule.n_test_trials=1"]), ck


def test_a_chaotic_reservoir_separates_nearby_trajectories_and_a_subcritical_one_does_not():
    # known answer (Sompolinsky et al. 1988): the spontaneous rate network is chaotic for gain > 1
    rates = {}
    for gain in (0.8, 1.5):
        config, ck = _spontaneous(gain)
        div = nearby_divergence(config, ck, n_periods=2)
        rates[gain] = div.rate_per_s
        assert div.distance.shape == div.time_ms.shape and div.time_ms[0] == 0
    assert rates[0.8] < 0 < rates[1.5]


def test_the_divergence_is_a_pure_function_and_teacher_forcing_entrains_the_reservoir():
    trained = simulate(load_experiment("task1-supertrex", SMALL + [
        "schedule.n_train_trials=4", "schedule.n_test_trials=0", "recording.checkpoints=[4]"]), 0).checkpoints[4]
    teacher = load_experiment("task1-supertrex", SMALL + ["schedule.n_train_trials=4", "schedule.n_test_trials=1"])
    a, b = (nearby_divergence(teacher, trained, delta=1e-3) for _ in range(2))
    assert np.array_equal(a.distance, b.distance) and a.rate_per_s == b.rate_per_s
    # the target fed back drives the reservoir: the perturbation dies out
    assert a.rate_per_s < 0 and a.distance[-1] < 0.1 * a.distance[0]


@pytest.mark.parametrize("kwargs,words", [
    (dict(delta=0.0), "delta = 0.0 is not allowed: must be > 0"),
    (dict(n_periods=3), "n_periods = 3 is not allowed: must be from 1 to 2"),
])
def test_bad_arguments_are_one_line(kwargs, words):
    config, ck = _spontaneous(1.5)
    with pytest.raises(ConfigError, match=words) as err:
        nearby_divergence(config, ck, **kwargs)
    assert "\n" not in str(err.value)
