import numpy as np
import pytest
from conftest import small

from reservoir_motor import simulate
from reservoir_motor.plots.run import plot_run

ARM = ['task.effector="arm"', "task.arm_lengths=[1.8,1.8]", 'schedule.test_feedback="replay"', 'rule.phi="odd"']


@pytest.fixture(scope="module")
def result():
    return simulate(small("task1-supertrex"), 3)


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".pdf", b"%PDF")])
def test_plot_run_writes_a_nonempty_file(result, tmp_path, suffix, magic):
    path = tmp_path / "sub" / f"run{suffix}"
    plot_run(result, path)
    data = path.read_bytes()
    assert data.startswith(magic) and len(data) > 10_000


@pytest.mark.parametrize("name, extra, n_axes", [("task1-supertrex", [], 5), ("task1-force", [], 5),
                                                 ("task1-rmhl", ARM, 6)])
def test_plot_run_draws_one_axes_per_panel(name, extra, n_axes):
    fig = plot_run(simulate(small(name, *extra), 0))
    assert len(fig.axes) == n_axes
    distance = fig.axes[-2]
    assert distance.get_yscale() == "log"
    assert any(label.startswith("deviation ") for label in distance.get_legend_handles_labels()[1])


def test_plot_run_single_readout_is_one_grey_line():
    fig = plot_run(simulate(small("task1-rmhl"), 0))
    norms = fig.axes[-1]
    assert len(norms.get_lines()) == 2  # the readout and the train/test boundary
    np.testing.assert_allclose(norms.get_lines()[0].get_color(), (0.2, 0.2, 0.2))


def test_plot_run_marks_a_diverged_run(tmp_path):
    result = simulate(small("task1-supertrex", "rule.learning_rate=5.0"), 0)
    assert result.diverged
    fig = plot_run(result, tmp_path / "diverged.png")
    assert (tmp_path / "diverged.png").stat().st_size > 0
    step = result.metrics["diverged_step"]
    assert f"diverged at step {step}" in fig.get_suptitle()
    distance = fig.axes[-2]
    assert f"diverged at step {step}" in distance.get_legend_handles_labels()[1]
    # it broke in training: no train/test boundary, and the time axis spans what it ran, at least a period
    cfg = result.config
    t_broke = step * cfg.network.dt_ms / cfg.network.tau_ms
    assert step < cfg.n_train_steps
    assert distance.get_xlim()[1] == pytest.approx(
        min(cfg.n_steps, max(2 * step, cfg.n_period_steps)) * cfg.network.dt_ms / cfg.network.tau_ms)
    vertical = [line.get_xdata()[0] for line in distance.get_lines() if len(set(line.get_xdata())) == 1]
    assert vertical == pytest.approx([t_broke])


def test_plot_run_dynamical_arm_draws_its_limb_and_its_angle_states_at_the_task_size():
    result = simulate(small("task1-rmhl", "task.effector='arm_dynamics'", "task.target_scale=144.734",
                            'schedule.test_feedback="replay"'), 0)
    fig = plot_run(result)
    drawing, angles = fig.axes[0], fig.axes[3]
    assert len(fig.axes) == 6 and angles.get_ylabel() == "joint angle (rad)"
    q1 = result.traces["plant_state"][:, 0]
    assert abs(angles.get_lines()[0].get_ydata()[0] - q1[0]) < 1e-12  # the state, not the torque command
    assert 0.1 < np.ptp(drawing.get_ylim()) < 1.0  # the shoulder 0.4 m below a target of radius 0.1 m
