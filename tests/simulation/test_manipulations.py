from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import SMALL, small
from scipy import stats

from reservoir_motor import ConfigError, ExperimentConfig, load_experiment, simulate
from reservoir_motor.tomlio import dumps_toml, loads_toml

SMALL_RUN = SMALL
OPEN = "rule.transfer_threshold=10.0"  # the gate opens at every RLS step, so transfer really happens


def manip(*entries):
    return "manipulations=[" + ", ".join("{" + e + "}" for e in entries) + "]"


def run(*extra, name="task1-supertrex"):
    return simulate(small(name, OPEN, "recording.record_every=1", *extra), 4)


def test_manipulation_dopamine_zero_freezes_the_exploratory_weights():
    res = run(manip('kind="dopamine", value=0.0'))
    assert not np.any(res.weights["w_exploratory"])
    assert np.any(res.weights["w_mastery"])  # transfer still happens from the (untrained) exploration


def test_manipulation_lesion_removes_exploratory_output_and_noise_from_onset():
    control = run()
    res = run(manip('kind="lesion_exploratory", start=2'))
    onset = 2 * res.config.n_period_steps
    assert not np.any(res.traces["z_exploratory"][onset:])
    assert np.any(res.traces["z_exploratory"][:onset])
    # paired: identical up to the onset
    np.testing.assert_array_equal(res.traces["z"][:onset], control.traces["z"][:onset])
    # the mastery pathway gets no teacher any more: the mastery weights stop where they were at the onset
    before = run(manip('kind="lesion_exploratory", start=2'), "schedule.n_train_trials=2",
                 "schedule.n_test_trials=4")
    np.testing.assert_array_equal(res.weights["w_mastery"], before.weights["w_mastery"])


def test_manipulation_lesion_of_rmhl_silences_its_output():
    res = run(manip('kind="lesion_exploratory", start=3'), name="task1-rmhl")
    onset = 3 * res.config.n_period_steps
    assert not np.any(res.traces["z"][onset:])


def test_manipulation_block_transfer_keeps_mastery_weights_at_zero():
    res = run(manip('kind="block_transfer"'))
    assert not np.any(res.weights["w_mastery"]) and np.any(res.weights["w_exploratory"])
    assert not np.any(res.traces["gate"])


@pytest.mark.parametrize("entry", ['kind="dopamine", value=1.0', 'kind="exploration_gain", value=1.0',
                                   'kind="reward_bias", value=0.0', 'kind="dopamine", start=2, stop=3, value=1.0'])
def test_manipulation_switched_off_equals_the_control_bit_for_bit(entry):
    control, res = run(), run(manip(entry))
    for key in ("z", "hand", "distance", "norm_mastery", "norm_exploratory", "gate"):
        np.testing.assert_array_equal(res.traces[key], control.traces[key])


def test_manipulation_reward_bias_and_exploration_gain_change_the_run_after_onset_only():
    control = run()
    for entry in ('kind="reward_bias", start=2, value=0.05', 'kind="exploration_gain", start=2, value=3.0'):
        res = run(manip(entry))
        onset = 2 * res.config.n_period_steps
        np.testing.assert_array_equal(res.traces["z"][:onset + 1], control.traces["z"][:onset + 1])
        assert not np.array_equal(res.traces["z"], control.traces["z"])


def test_manipulation_switch_target_changes_the_curve_from_its_onset():
    res = run(manip('kind="switch_target", start=3, target="circle"'))
    onset = 3 * res.config.n_period_steps
    control = run()
    np.testing.assert_array_equal(res.traces["target"][:onset], control.traces["target"][:onset])
    np.testing.assert_allclose(np.hypot(*res.traces["target"][onset:].T), 0.6)


def test_manipulation_schedule_round_trips_and_shows_in_toml():
    cfg = small("task1-supertrex", manip('kind="dopamine", start=1, stop=2, value=0.25',
                                         'kind="lesion_exploratory", start=50, unit="ms"'))
    text = dumps_toml(cfg.to_dict())
    assert text.count("[[manipulations]]") == 2 and 'kind = "dopamine"' in text
    assert ExperimentConfig.from_dict(loads_toml(text)) == cfg
    assert cfg.manipulation_steps(cfg.manipulations[1]) == (250, cfg.n_steps)


@pytest.mark.parametrize("entry,words", [
    ('kind="serotonin"', "kind = 'serotonin'"),
    ('kind="dopamine", value=-0.5', "gain must be >= 0"),
    ('kind="dopamine", start=7', "the run ends at 6 periods"),
    ('kind="dopamine", start=2, stop=1', "must be after start"),
    ('kind="dopamine", stop=9', "the run ends"),
    ('kind="dopamine", unit="s"', "one of 'periods', 'ms'"),
    ('kind="switch_target"', "switch_target needs"),
    ('kind="switch_target", target="heart"', "task.target = 'heart'"),
    ('kind="lesion_exploratory", colour=1', "unknown key manipulations[0].colour"),
])
def test_manipulation_bad_entries_are_clear_errors(entry, words):
    with pytest.raises(ConfigError) as info:
        small("task1-supertrex", manip(entry))
    assert words in str(info.value)


def test_manipulation_overlapping_same_kind_is_an_error():
    with pytest.raises(ConfigError, match="overlaps"):
        small("task1-supertrex", manip('kind="dopamine", stop=3, value=0.5', 'kind="dopamine", start=2, value=0.1'))
    small("task1-supertrex", manip('kind="dopamine", stop=3, value=0.5', 'kind="dopamine", start=3, value=0.1'))


def test_state_input_changes_the_dynamics_and_off_leaves_streams_alone():
    control, on = run(), run("network.state_input=true")
    assert not np.array_equal(control.traces["z"], on.traces["z"])
    cfg = load_experiment("task1-supertrex", ["network.state_input=true"])
    assert cfg.network.state_input is True


def stored_deviations(directory, names=("rmhl-lesion", "task1-rmhl")):
    """Per name, {seed: deviation} read straight from the result files."""
    out = {name: {} for name in names}
    for path in Path(directory).glob("*.h5"):
        with h5py.File(path) as f:
            if str(f.attrs["experiment"]) in out:
                out[str(f.attrs["experiment"])][int(f.attrs["seed"])] = float(f["metrics"].attrs["deviation"])
    return [out[name] for name in names]


def test_report_paired_statistics_of_a_constructed_sample_are_the_known_ones():
    from reservoir_motor.studies.report import paired

    control = np.array([0.5, 0.1, 0.9, 0.3, 0.7])
    differences = np.array([3.0, 1.0, 5.0, 2.0, 4.0])  # mean 3, std sqrt(2.5), all of one sign
    runs = {"cond": {s: {"deviation": c + d, "periods": np.zeros(3)} for s, (c, d) in
                     enumerate(zip(control, differences, strict=True))},
            "ctrl": {s: {"deviation": c, "periods": np.zeros(3)} for s, c in enumerate(control)}}
    runs["cond"][9] = {"deviation": 100.0, "periods": np.zeros(3)}  # a seed without a partner is left out
    res = paired(runs, "cond", "ctrl")
    assert res["n"] == 5 and res["seeds"] == [0, 1, 2, 3, 4]
    assert res["mean_difference"] == pytest.approx(3.0)
    assert res["mean_control"] == pytest.approx(0.5) and res["mean_condition"] == pytest.approx(3.5)
    half = stats.t.ppf(0.975, 4) * np.sqrt(2.5 / 5)
    assert res["ci95"] == pytest.approx((3.0 - half, 3.0 + half))
    assert res["t_test_p"] == pytest.approx(2 * stats.t.sf(3.0 / np.sqrt(2.5 / 5), 4))
    assert res["wilcoxon_p"] == pytest.approx(2 / 2**5)  # exact: all 5 signs positive, two-sided
    flipped = paired(runs, "ctrl", "cond")
    assert flipped["mean_difference"] == pytest.approx(-3.0)
    assert flipped["ci95"] == pytest.approx((-3.0 - half, -3.0 + half))


def test_report_paired_comparison_of_a_lesion_against_its_control(tmp_path):
    from reservoir_motor.studies.report import paired
    from reservoir_motor.studies.sweep import run_sweep

    lesion = manip('kind="lesion_exploratory", start=4')
    run_sweep(["task1-rmhl"], "0:4", tmp_path, overrides=[*SMALL_RUN], workers=2, progress=False)
    run_sweep(["task1-rmhl"], "0:4", tmp_path, overrides=[*SMALL_RUN, lesion, "name=rmhl-lesion"], workers=2,
              progress=False)
    res = paired(tmp_path, "rmhl-lesion", "task1-rmhl")
    assert res["n"] == 4 and res["seeds"] == [0, 1, 2, 3]
    # the numbers are those of the stored runs, seed against seed, condition minus control
    lesioned, control = (np.array([dev[s] for s in range(4)]) for dev in stored_deviations(tmp_path))
    assert res["mean_condition"] == pytest.approx(lesioned.mean())
    assert res["mean_control"] == pytest.approx(control.mean())
    assert res["mean_difference"] == pytest.approx((lesioned - control).mean())
    assert res["ci95"] == pytest.approx(tuple(stats.ttest_rel(lesioned, control).confidence_interval(0.95)))
    # before the lesion (period 3) the paired runs are identical
    same = paired(tmp_path, "rmhl-lesion", "task1-rmhl", metric="period:3")
    assert same["mean_difference"] == 0.0 and same["ci95"] == (0.0, 0.0)
    with pytest.raises(ConfigError, match="share 0"):
        paired(tmp_path, "rmhl-lesion", "nothing")
    # runs are paired by name: a second config under the same name is refused, not mixed in
    run_sweep(["task1-rmhl"], "0:1", tmp_path, overrides=[*SMALL_RUN, "rule.learning_rate=0.001"], progress=False)
    with pytest.raises(ConfigError, match="two different configs named 'task1-rmhl'"):
        paired(tmp_path, "rmhl-lesion", "task1-rmhl")


def test_report_paired_cli_accepts_grid_condition_names(tmp_path, capsys):
    from reservoir_motor.cli import main
    from reservoir_motor.studies.sweep import run_sweep

    run_sweep(["task1-rmhl"], "0:2", tmp_path, grid=[("rule.learning_rate", ["0.0005", "0.002"])],
              overrides=list(SMALL_RUN), workers=2, progress=False)
    assert main(["report", str(tmp_path), "--paired",
                 "task1-rmhl[rule.learning_rate=0.002]=task1-rmhl[rule.learning_rate=0.0005]"]) == 0
    assert "n = 2 paired seeds" in capsys.readouterr().out


def test_outcome_verdicts_follow_sign_significance_and_tolerance():
    from reservoir_motor.paper.outcomes import verdict

    up = dict(mean_difference=0.2, wilcoxon_p=0.001, mean_control=1.0)
    noisy = dict(mean_difference=0.2, wilcoxon_p=0.3, mean_control=1.0)
    assert verdict("higher", up) == "holds" and verdict("lower", up) == "does not hold"
    assert verdict("higher", noisy) == "does not hold" and verdict("not lower", noisy) == "holds"
    assert verdict("similar", up) == "does not hold"
    assert verdict("similar", dict(mean_difference=-0.05, wilcoxon_p=0.001, mean_control=1.0)) == "holds"
    assert verdict("report", up) == "-"


def test_outcomes_cli_runs_missing_experiments_and_tests_l1(tmp_path, capsys):
    import json

    from reservoir_motor.cli import main

    size = ("network.n_neurons=200", "task.duration_ms=400", "schedule.n_test_trials=2")  # L1 lesions at 10 periods
    sets = [a for item in size for a in ("--set", item)]
    assert main(["outcomes", str(tmp_path), "--run", "--only", "L1", "--seeds", "0:6", "--json", *sets]) == 0
    captured = capsys.readouterr()
    rows = {r["condition"]: r for r in json.loads(captured.out)}
    # each lesion continues its control's training: the steps line says so, on stderr beside the JSON
    assert "steps simulated" in captured.err and "% fewer)" in captured.err
    # SUPERTREX's test already removes the exploratory pathway: a lesion at the end of training changes nothing
    st = rows["l1-supertrex-lesion"]
    assert st["n"] == 6 and st["mean_difference"] == 0.0 and st["verdict"] == "holds"
    # RMHL's only pathway is gone: its output is 0 and the distance that of drawing nothing
    rmhl = rows["l1-rmhl-lesion"]
    assert rmhl["mean_difference"] > 0.02 and rmhl["wilcoxon_p"] < 0.05 and rmhl["verdict"] == "holds"
    assert main(["outcomes", str(tmp_path / "nothing")]) == 2
