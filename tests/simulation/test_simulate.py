import numpy as np
import pytest
from conftest import small
from hypothesis import given, settings
from hypothesis import strategies as st

from reservoir_motor import load_experiment, simulate
from reservoir_motor.kernel import codes
from reservoir_motor.kernel import loop as K


def test_simulate_same_seed_gives_identical_numbers():
    cfg = small("task1-supertrex", "rule.transfer_threshold=1.0")
    a, b = simulate(cfg, 3), simulate(cfg, 3)
    assert a.deviation == b.deviation
    np.testing.assert_array_equal(a.traces["z"], b.traces["z"])
    np.testing.assert_array_equal(a.weights["w_mastery"], b.weights["w_mastery"])


def test_simulate_different_seeds_differ():
    cfg = small("task1-rmhl")
    assert simulate(cfg, 1).deviation != simulate(cfg, 2).deviation


@pytest.mark.parametrize("rule", ["force", "rmhl", "supertrex"])
def test_simulate_chunking_does_not_change_the_run(rule):
    cfg = small(f"task1-{rule}", "rule.transfer_threshold=1.0", "recording.record_every=1")
    one, many = simulate(cfg, 5, n_chunks=1), simulate(cfg, 5, n_chunks=37)
    for key in ("z", "hand", "distance", "norm_mastery", "norm_exploratory"):
        np.testing.assert_array_equal(one.traces[key], many.traces[key])


def test_simulate_divergence_is_detected_and_traces_kept_clean():
    cfg = small("task1-rmhl", "rule.learning_rate=50.0", "recording.divergence_bound=5.0")
    res = simulate(cfg, 0)
    m = res.metrics
    assert m["diverged"] and 0 < m["diverged_step"] < cfg.n_steps
    assert m["deviation"] is None and not m["satisfactory"]
    assert m["n_steps"] == m["diverged_step"]
    for key, arr in res.traces.items():
        assert np.all(np.isfinite(arr)), key
    assert res.traces["time_ms"][-1] < m["diverged_step"] * cfg.network.dt_ms


def test_simulate_progress_reports_ready_then_every_chunk_up_to_the_end():
    calls = []
    cfg = small("task1-force")
    simulate(cfg, 0, progress=lambda done, total: calls.append((done, total)), n_chunks=7)
    # (0, n) once the loop is compiled, so a progress clock started there does not count the compilation
    assert len(calls) == 8 and calls[0] == (0, cfg.n_steps) and calls[-1] == (cfg.n_steps, cfg.n_steps)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)


def test_simulate_closed_gate_never_touches_mastery_pathway():
    # threshold 0: the gate is exactly 0 at every RLS step, so W_mst stays 0 and the test output is 0.
    cfg = small("task1-supertrex", "rule.transfer_threshold=0.0")
    res = simulate(cfg, 0)
    assert not np.any(res.weights["w_mastery"])
    assert np.all(res.traces["gate"] == 0.0)
    test = slice(cfg.n_train_steps // cfg.recording.record_every, None)
    assert not np.any(res.traces["z"][test])


def test_simulate_supertrex_test_output_is_the_mastery_pathway_alone():
    cfg = small("task1-supertrex", "rule.transfer_threshold=10.0")
    res = simulate(cfg, 0)
    test = slice(cfg.n_train_steps // cfg.recording.record_every, None)
    assert not np.any(res.traces["z_exploratory"][test])
    assert np.any(res.weights["w_mastery"]) and np.any(res.weights["w_exploratory"])


def test_simulate_rejects_bad_seed():
    with pytest.raises(ValueError, match="seed"):
        simulate(small(), -1)


def test_simulate_force_learns_the_butterfly_at_small_size():
    cfg = small("task1-force", "network.n_neurons=300", "task.duration_ms=400", "schedule.n_train_trials=6",
                "schedule.n_test_trials=2")
    res = simulate(cfg, 0)
    zero_output_distance = np.sqrt(0.4416)
    assert res.deviation < 0.3 * zero_output_distance


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-40, max_value=40, allow_nan=False))
def test_tanh_into_matches_libm_within_a_few_ulp(v):
    x = np.array([v, -v])
    out = np.empty(2)
    K.tanh_into(x, out)
    ref = np.tanh(x)
    assert np.all(np.abs(out - ref) <= 8 * np.finfo(float).eps * np.abs(ref) + 1e-300)


def test_tanh_into_is_odd_and_saturates():
    x = np.array([0.0, 1e-300, 19.0, 25.0, -25.0, 1e308, -np.inf, np.inf])
    out = np.empty_like(x)
    K.tanh_into(x, out)
    np.testing.assert_array_equal(out, [0.0, 1e-300, 1.0, 1.0, -1.0, 1.0, -1.0, 1.0])
    x = np.array([np.nan])
    K.tanh_into(x, x)
    assert np.isnan(x[0])


def test_simulate_move_transfer_never_changes_the_summed_readout():
    # No exploratory learning: only transfers change the weights, and a 'move' transfer takes from the
    # exploratory pathway exactly what it gives to the mastery pathway.
    cfg = small("task1-supertrex", "rule.transfer_threshold=10.0", "rule.learning_rate=0", "rule.transfer=move")
    res = simulate(cfg, 0)
    assert np.abs(res.weights["w_mastery"]).max() > 1e-3
    np.testing.assert_allclose(res.weights["w_mastery"], -res.weights["w_exploratory"], atol=1e-12)


def _thresholds(errors_per_period, n=4, scripted=1e-3, factor=2.0):
    """The adaptive threshold at steps 1, 2, ... of a run whose error is constant within each period.

    A period's average is read at the first step of the next one (period 0 misses step 0, which has no
    learning, so it reads 3/4 of its error).
    """
    sc = np.zeros(codes.N_SCALARS)
    sc[codes.S_EBEST] = np.inf
    errors = np.repeat(errors_per_period, n)
    return np.array([K.adaptive_threshold(sc, errors[s], s, n, scripted, factor)
                     for s in range(1, errors.size)])


def test_adaptive_threshold_keeps_the_scripted_one_while_the_error_falls():
    assert np.all(_thresholds([8e-3, 4e-3, 2e-3, 1.5e-3, 1.2e-3]) == 1e-3)


def test_adaptive_threshold_opens_near_the_best_once_a_period_does_not_beat_it():
    th = _thresholds([8e-3, 4e-3, 5e-3, 3e-3, 3e-3])  # steps 1-19, periods of 4 steps
    assert np.all(th[:11] == 1e-3)  # steps 1-11: the error falls (4e-3 beats 8e-3)
    np.testing.assert_allclose(th[11:15], 8e-3)  # steps 12-15: 5e-3 did not beat 4e-3: up to 2 x 4e-3
    assert np.all(th[15:] == 1e-3)  # steps 16-19: 3e-3 was a new best, the scripted threshold again


def test_adaptive_threshold_forgets_the_untrained_error():
    # A huge first period, then a flat error: the second flat period is a stall. A running filter of
    # one period's time constant would still be falling from the first period's 100 and miss it.
    th = _thresholds([100.0, 1e-2, 1e-2, 1e-2])
    assert np.all(th[:11] == 1e-3)
    np.testing.assert_allclose(th[11:], 2e-2)


def test_simulate_adaptive_threshold_opens_a_closed_gate_once_learning_stalls():
    closed = simulate(small("task1-supertrex", "rule.transfer_threshold=0.0"), 0)
    assert not np.any(closed.traces["gate"])
    cfg = small("task1-supertrex", "rule.transfer_threshold=0.0", "rule.adaptive_threshold=2.0",
                "schedule.n_train_trials=12")
    adaptive = simulate(cfg, 0)
    first_period = cfg.n_period_steps // cfg.recording.record_every
    assert not np.any(adaptive.traces["gate"][: 2 * first_period])  # the error falls at first
    assert np.any(adaptive.traces["gate"] > 0.5)


def test_simulate_joint_normalisation_scales_the_exploratory_update():
    base = ["task.arm_lengths=[1.8, 1.2, 0.6, 0.3]", "rule.transfer_threshold=0.0"]
    plain = simulate(small("task2-rmhl", *base), 0)
    scaled = simulate(small("task2-rmhl", *base, "rule.exploratory_normalisation=joints",
                            "rule.learning_rate=0.001"), 0)
    # 2 / 4 joints x 0.001 = the faithful 5e-4: the same run
    np.testing.assert_allclose(scaled.weights["w_exploratory"], plain.weights["w_exploratory"], rtol=1e-12)


@pytest.mark.parametrize("connectivity, density", [("sprandn", 1 - np.exp(-0.1)), ("bernoulli", 0.1)])
def test_network_density_and_scale_follow_the_connectivity(connectivity, density):
    from reservoir_motor.simulation.network import make_network, make_streams

    cfg = load_experiment("task1-supertrex", [f"network.connectivity={connectivity}"])
    J = make_network(cfg, make_streams(0)).J
    n = cfg.network.n_neurons
    assert J.nnz / n**2 == pytest.approx(density, abs=0.002)  # binomial sd is 0.0003
    assert J.data.std() == pytest.approx(1.5 / np.sqrt(0.1 * n), rel=0.01)  # the nominal p sets the scale
    again = make_network(cfg, make_streams(0)).J
    assert (J != again).nnz == 0


@pytest.mark.parametrize("name, moves", [("task1-supertrex", False), ("task2-supertrex", False),
                                         ("task2-3seg-supertrex", True), ("task3-supertrex", True)])
def test_robust_transfer_moves_only_on_a_redundant_arm(name, moves):
    from reservoir_motor.simulation.simulate import kernel_params

    assert kernel_params(load_experiment(name, ["preset=robust"])).transfer_moves is moves


@pytest.mark.parametrize("a", [1.0, 0.05])
def test_correlated_exploration_keeps_the_variance_and_has_the_correlation_time_of_its_filter(a):
    # No learning and a constant amplitude (Psi ~ prefactor): the exploratory output is the noise alone.
    beta = 0.1
    cfg = load_experiment("task1-rmhl", [
        "network.n_neurons=20", "task.duration_ms=8000", "schedule.n_train_trials=1", "schedule.n_test_trials=1",
        "schedule.test_feedback='replay'", "schedule.replay_lag_trials=1", "recording.record_every=1",
        "rule.learning_rate=0", f"rule.initial_exploration={beta}", f"rule.psi_prefactor={beta}",
        "rule.psi_exponent=1e-9", f"rule.exploration_filter={a}"])
    xi = simulate(cfg, 0).traces["z_exploratory"][200:cfg.n_train_steps, 0]  # past the filter's start from 0
    assert np.var(xi) == pytest.approx(beta ** 2 / 3, rel=0.15)
    for lag in (1, 10):
        corr = np.corrcoef(xi[:-lag], xi[lag:])[0, 1]
        assert corr == pytest.approx((1 - a) ** lag, abs=0.05)
