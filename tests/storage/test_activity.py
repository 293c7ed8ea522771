"""Recording the reservoir's units: it changes nothing else, it records what the loop computes, where and
when the config says, and a stored file is read lazily."""

import numpy as np
import pytest
from conftest import small

from reservoir_motor import ConfigError, load_result, simulate
from reservoir_motor.storage.activity import LazyDataset

RECORD = ["recording.n_units=20", "recording.units_every=3", "recording.record_states=true"]


def test_recording_changes_no_metric_trace_or_weight():
    for name in ("task1-force", "task1-rmhl", "task1-supertrex"):
        plain = simulate(small(name), 2)
        recorded = simulate(small(name, *RECORD), 2)
        assert plain.activity is None and recorded.activity is not None
        assert {k: v for k, v in plain.metrics.items() if k != "wall_s"} == \
            {k: v for k, v in recorded.metrics.items() if k != "wall_s"}
        for group in ("traces", "weights"):
            a, b = getattr(plain, group), getattr(recorded, group)
            assert a.keys() == b.keys()
            for key in a:
                assert np.array_equal(a[key], b[key]), (name, group, key)


def test_rates_are_tanh_of_the_states_plus_the_training_noise():
    cfg = small("task1-supertrex", *RECORD)
    act = simulate(cfg, 0).activity
    rates, x = np.asarray(act.rates, float), np.asarray(act.states, float)
    test = act.time_ms >= cfg.n_train_steps * cfg.network.dt_ms
    np.testing.assert_allclose(rates[test], np.tanh(x[test]), atol=2e-7)  # float32 storage
    noise = rates[~test] - np.tanh(x[~test])
    assert np.max(np.abs(noise)) <= cfg.network.noise_amplitude + 1e-6
    assert np.std(noise) > 0.3 * cfg.network.noise_amplitude  # the noise is there in training


def test_units_are_drawn_from_the_seed_or_listed():
    a, b = simulate(small("task1-force", *RECORD), 0), simulate(small("task1-force", *RECORD), 0)
    c = simulate(small("task1-force", *RECORD), 1)
    assert np.array_equal(a.activity.units, b.activity.units)
    assert not np.array_equal(a.activity.units, c.activity.units)
    assert a.activity.units.size == 20 and np.all(np.diff(a.activity.units) > 0)
    listed = simulate(small("task1-force", "recording.n_units=[5, 0, 99]", "recording.record_states=true"), 0)
    assert listed.activity.units.tolist() == [5, 0, 99]
    everything = simulate(small("task1-force", "recording.n_units=100", "recording.record_states=true"), 0)
    column = {int(u): i for i, u in enumerate(everything.activity.units)}
    for j, u in enumerate(listed.activity.units):
        all_states = np.asarray(everything.activity.states)
        assert np.array_equal(np.asarray(listed.activity.states)[:, j], all_states[:, column[u]])


@pytest.mark.parametrize("window,periods", [("'all'", [0, 1, 2, 3, 4, 5]), ("'train'", [0, 1, 2, 3]),
                                             ("'test'", [4, 5]), ("[1, 4]", [1, 4])])
def test_window_and_stride_give_the_sample_times(window, periods):
    cfg = small("task1-supertrex", "recording.n_units=3", "recording.units_every=7",
                f"recording.units_window={window}")
    act = simulate(cfg, 0).activity
    per, dt = cfg.n_period_steps, cfg.network.dt_ms
    expected = [(k * per + i) * dt for k in periods for i in range(0, per, 7)]
    np.testing.assert_array_equal(act.time_ms, expected)
    assert np.asarray(act.rates).shape == (len(expected), 3)


def test_chunks_fill_the_same_samples():
    cfg = small("task1-supertrex", *RECORD)
    one, many = simulate(cfg, 4, n_chunks=1), simulate(cfg, 4, n_chunks=13)
    assert np.array_equal(one.activity.rates, many.activity.rates)
    assert np.array_equal(one.activity.states, many.activity.states)


def test_a_diverged_run_keeps_the_samples_before_the_step_it_diverged_at():
    cfg = small("task1-rmhl", "rule.learning_rate=50.0", "recording.divergence_bound=5.0", *RECORD)
    res = simulate(cfg, 0)
    assert res.diverged
    assert res.activity.time_ms[-1] < res.metrics["diverged_step"] * cfg.network.dt_ms
    assert np.all(np.isfinite(res.activity.rates))


def test_stored_activity_is_read_lazily_and_equal(tmp_path):
    res = simulate(small("task1-supertrex", *RECORD), 0)
    back = load_result(res.save(tmp_path)).activity
    assert isinstance(back.rates, LazyDataset) and back.rates.shape == res.activity.rates.shape
    assert np.array_equal(np.asarray(back.rates), res.activity.rates)
    assert np.array_equal(back.rates[5:9], res.activity.rates[5:9])
    assert np.array_equal(np.asarray(back.states), res.activity.states)
    assert np.array_equal(back.units, res.activity.units) and np.array_equal(back.time_ms, res.activity.time_ms)
    t, r = back.window(back.time_ms[10], back.time_ms[20])
    assert np.array_equal(r, res.activity.rates[10:20]) and t.size == 10


def test_a_run_without_recording_stores_no_activity(tmp_path):
    import h5py

    path = simulate(small("task1-force"), 0).save(tmp_path)
    with h5py.File(path) as f:
        assert "activity" not in f
    assert load_result(path).activity is None


@pytest.mark.parametrize("overrides,words", [
    (["recording.n_units=101"], "recording.n_units = 101 is not allowed: the reservoir has network.n_neurons = 100"),
    (["recording.n_units=[3, 100]"], "unit indices run from 0 to 99"),
    (["recording.n_units=3", "recording.units_window=[6]"],
     "recording.units_window = [6] is not allowed: periods run from 0 to 5"),
    (["recording.record_states=true"], "recording.record_states = True is not allowed: needs units to record"),
])
def test_bad_recording_settings_are_one_line_errors(overrides, words):
    with pytest.raises(ConfigError) as info:
        small("task1-supertrex", *overrides)
    assert words in str(info.value)


def test_activity_command_draws_the_figure_and_refuses_a_run_without_units(tmp_path, capsys):
    from reservoir_motor.cli import main

    path = simulate(small("task1-supertrex", *RECORD), 0).save(tmp_path)
    out = tmp_path / "act.png"
    assert main(["activity", str(path), "--out", str(out)]) == 0
    assert out.stat().st_size > 20_000
    plain = simulate(small("task1-supertrex"), 0).save(tmp_path / "plain")
    assert main(["activity", str(plain)]) != 0
    assert "has no recorded activity" in capsys.readouterr().err
    assert main(["activity", str(path), "--window", "abc"]) != 0
    assert "--window 'abc' is not allowed" in capsys.readouterr().err


def test_activity_measures_of_a_run():
    from reservoir_motor.studies.analysis import activity_measures, participation_ratio

    res = simulate(small("task1-supertrex", *RECORD), 0)
    m = activity_measures(res)
    test = res.activity.time_ms >= res.config.n_train_steps * res.config.network.dt_ms
    assert m["dimensionality_test"] == pytest.approx(participation_ratio(np.asarray(res.activity.rates)[test]))
    assert 1.0 <= m["dimensionality_test"] <= 20 and m["tangling_median_test"] > 0
    assert m["tangling_p90_test"] >= m["tangling_median_test"]
    assert set(m) == {f"{k}_{p}" for k in ("dimensionality", "tangling_median", "tangling_p90")
                      for p in ("train_last", "test")}
