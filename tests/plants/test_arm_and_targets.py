import numpy as np
import pytest
from conftest import small
from hypothesis import given, settings
from hypothesis import strategies as st

from reservoir_motor import ConfigError, load_experiment, simulate
from reservoir_motor.kernel import codes
from reservoir_motor.kernel import loop as K
from reservoir_motor.plants import arm, targets


def _tip(z, lengths):
    out = np.empty(2)
    K.hand_position(codes.EFFECTOR_ARM, np.asarray(z, float), np.asarray(lengths, float), out)
    return out


def test_arm_one_segment_matches_closed_form():
    for a in (-0.7, 0.0, 0.25, 0.5, 1.0):
        np.testing.assert_allclose(_tip([a], [1.3]), [1.3 * np.sin(np.pi * a), -2 + 1.3 * np.cos(np.pi * a)])


def test_arm_two_segments_match_closed_form_and_spec_examples():
    np.testing.assert_allclose(_tip([0.0, 0.0], [1.8, 1.8]), [0.0, 1.6])       # straight up
    np.testing.assert_allclose(_tip([0.5, 0.0], [1.8, 1.8]), [3.6, -2.0], atol=1e-12)
    a, b = 0.3, -0.45
    expected = [1.8 * np.sin(np.pi * a) + 1.2 * np.sin(np.pi * (a + b)),
                -2 + 1.8 * np.cos(np.pi * a) + 1.2 * np.cos(np.pi * (a + b))]
    np.testing.assert_allclose(_tip([a, b], [1.8, 1.2]), expected)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-10, 10), min_size=1, max_size=8),
       st.lists(st.floats(0.01, 3.0), min_size=8, max_size=8))
def test_arm_tip_never_leaves_the_reachable_disc_and_agrees_with_joint_positions(angles, lengths):
    lengths = np.asarray(lengths[:len(angles)])
    tip = _tip(angles, lengths)
    assert np.hypot(tip[0] - arm.PIVOT[0], tip[1] - arm.PIVOT[1]) <= arm.reach(lengths) * (1 + 1e-12)
    joints = arm.joint_positions(angles, lengths)
    assert joints.shape == (len(angles) + 1, 2)
    np.testing.assert_allclose(joints[-1], tip, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(np.diff(joints, axis=0), axis=1), lengths)


def test_targets_butterfly_check_values_of_the_spec():
    f = targets.butterfly(50_000)
    np.testing.assert_allclose(f[0], [10 / 14.4734, 0.0], atol=1e-12)
    np.testing.assert_allclose(targets.butterfly(5)[1], [0.0, 4 / 14.4734], atol=1e-12)  # theta = pi / 2
    np.testing.assert_allclose(f[0], f[-1], atol=1e-12)
    assert np.mean(np.sum(f ** 2, axis=1)) == pytest.approx(0.4416, abs=1e-4)


@pytest.mark.parametrize("name", ["circle", "lemniscate", "lissajous"])
def test_targets_named_curves_are_closed_and_reachable_by_the_task_arms(name):
    f = targets.curve(name, 2000)
    np.testing.assert_allclose(f[0], f[-1], atol=1e-12)
    assert np.ptp(f[:, 0]) > 0.5
    for lengths in ([1.8, 1.8], [1.8, 1.2, 0.6]):
        assert targets.check_reachable(f, lengths) is None


def test_targets_file_is_resampled_to_the_period(tmp_path):
    square = np.array([[0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5], [0.5, -0.5]])
    np.savetxt(tmp_path / "sq.csv", square, delimiter=",")
    np.save(tmp_path / "sq.npy", square)
    for fname in ("sq.csv", "sq.npy"):
        cfg = small("task1-force", f"task.target='{tmp_path / fname}'")
        f = targets.make_target(cfg)
        assert f.shape == (cfg.n_period_steps, 2)
        np.testing.assert_allclose(f[0], square[0])
        np.testing.assert_allclose(f[-1], square[0], atol=1e-12)
        assert np.abs(f).max() <= 0.5 + 1e-12


def test_targets_csv_with_one_header_line_reads_the_same_points(tmp_path):
    square = np.array([[0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5], [0.5, -0.5]])
    np.savetxt(tmp_path / "plain.csv", square, delimiter=",")
    np.savetxt(tmp_path / "header.csv", square, delimiter=",", header="x,y", comments="")
    assert (tmp_path / "header.csv").read_text().startswith("x,y\n")
    np.testing.assert_array_equal(targets.read_curve_file(tmp_path / "header.csv"), square)
    np.testing.assert_array_equal(targets.make_target(small("task1-force", f"task.target='{tmp_path / 'header.csv'}'")),
                                  targets.make_target(small("task1-force", f"task.target='{tmp_path / 'plain.csv'}'")))


@pytest.mark.parametrize("content,words", [
    ("1,2\n3,4\n", "at least 4"),
    ("1,2\n3,4\nnan,1\n5,6\n", "non-finite"),
    ("1,2,3\n4,5,6\n7,8,9\n1,1,1\n", "(x, y)"),
    ("a,b\n", "has 0 points"),
    ("x,y\nu,v\n1,2\n3,4\n5,6\n7,8\n", "one header line"),
    ("x,y\n1,2\n3,4\n5,oops\n7,8\n", "cannot read"),
])
def test_targets_bad_file_is_a_clear_config_error(tmp_path, content, words):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ConfigError, match="task.target") as info:
        small("task1-force", f"task.target='{path}'")
    assert words in str(info.value)


def test_targets_missing_file_and_unknown_name_are_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        small("task1-force", f"task.target='{tmp_path / 'none.csv'}'")
    with pytest.raises(ConfigError, match="lemniscate"):
        small("task1-force", "task.target='heart'")


def test_targets_out_of_reach_for_the_arm_is_an_error(tmp_path):
    far = np.array([[3.0, 3.0], [3.1, 3.0], [3.1, 3.1], [3.0, 3.1]])
    np.save(tmp_path / "far.npy", far)
    with pytest.raises(ConfigError, match="reach"):
        load_experiment("task2-supertrex", [f"task.target='{tmp_path / 'far.npy'}'"])
    with pytest.raises(ConfigError, match="unreachable disc"):  # arm [2.5, 0.3] cannot come near its shoulder
        load_experiment("task2-supertrex", ["task.arm_lengths=[2.5, 0.3]"])


def test_arm_cost_enters_the_error_exactly():
    # With zero learning and exploration, z = 0 for all steps, zbar = 0: the cost term is 0 and the error is
    # the squared distance of the straight-up arm tip (0, 1.6) from the target. Then a cost on a moving
    # joint must raise the error by c |z - zbar|.
    base = ["rule.learning_rate=0", "rule.initial_exploration=0", "rule.psi_prefactor=0",
            "recording.record_every=1", "network.noise_amplitude=0"]
    cfg = load_experiment("task3-rmhl", base + ["network.n_neurons=50", "task.duration_ms=4",
                                                "schedule.n_train_trials=2", "schedule.n_test_trials=1",
                                                "schedule.replay_lag_trials=1"])
    res = simulate(cfg, 0)
    tgt = res.traces["target"]
    np.testing.assert_allclose(res.traces["error"], np.sum((tgt - [0.0, 1.6]) ** 2, axis=1))
    # Now let the exploratory output move: z = xi ~ U(-beta, beta) with zbar its filter.
    cfg = load_experiment("task3-rmhl", base[:1] + base[3:] + ["rule.initial_exploration=0.2",
                          "rule.psi_prefactor=0.2", "network.n_neurons=50", "task.duration_ms=4",
                          "schedule.n_train_trials=2", "schedule.n_test_trials=1", "schedule.replay_lag_trials=1"])
    res = simulate(cfg, 0)
    z, hand = res.traces["z"], res.traces["hand"]
    dist2 = np.sum((hand - res.traces["target"]) ** 2, axis=1)
    zbar = np.zeros_like(z)
    zbar[0] = z[0]
    for i in range(1, cfg.n_train_steps):
        zbar[i] = 0.8 * zbar[i - 1] + 0.2 * z[i]
    train = slice(0, cfg.n_train_steps)
    cost = np.sum(np.asarray(cfg.task.costs) * np.abs(z - zbar), axis=1)[train]
    np.testing.assert_allclose(res.traces["error"][train], dist2[train] + cost, rtol=1e-12)
    assert cost[1:].min() > 0


def test_arm_movement_cost_uses_a_filter_of_the_total_output_in_training_and_test():
    cfg = load_experiment("task3-supertrex", [
        "task.cost_signal=movement", "recording.record_every=1", "network.n_neurons=50", "task.duration_ms=4",
        "schedule.n_train_trials=2", "schedule.n_test_trials=1", "schedule.replay_lag_trials=1",
        "rule.transfer_threshold=10.0"])
    res = simulate(cfg, 0)
    z = res.traces["z"]
    zbar = np.zeros_like(z)
    zbar[0] = z[0]
    for i in range(1, len(z)):
        zbar[i] = 0.8 * zbar[i - 1] + 0.2 * z[i]
    dist2 = np.sum((res.traces["hand"] - res.traces["target"]) ** 2, axis=1)
    cost = np.sum(np.asarray(cfg.task.costs) * np.abs(z - zbar), axis=1)
    np.testing.assert_allclose(res.traces["error"], dist2 + cost, rtol=1e-12)
    assert cost[cfg.n_train_steps + 1:].min() > 0  # the test output moves, so it costs


def test_effort_cost_adds_its_squared_command_to_the_error_exactly():
    effort = 0.004
    cfg = load_experiment("dynarm-rmhl", ["recording.record_every=1", "network.n_neurons=50", "task.duration_ms=4",
                                          "schedule.n_train_trials=2", "schedule.n_test_trials=1",
                                          "schedule.replay_lag_trials=1", f"task.effort_cost={effort}"])
    res = simulate(cfg, 0)
    z = res.traces["z"]
    dist2 = np.sum((res.traces["hand"] - res.traces["target"]) ** 2, axis=1)
    effort_term = effort * np.sum(z ** 2, axis=1)
    np.testing.assert_allclose(res.traces["error"], dist2 + effort_term, rtol=1e-12)
    train = slice(0, cfg.n_train_steps)  # above the tolerance at every training step: the check sees the term
    assert np.all(effort_term[train] > 1e-10 * res.traces["error"][train])
