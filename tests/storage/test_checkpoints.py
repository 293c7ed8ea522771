"""Checkpoints, continuing and branching from them, and resuming a killed run: a continuation under the
checkpoint's own config is the uninterrupted run, compared with ==; a branch is the run of its config
from step 0 whenever the two configs agree before the checkpoint; a config that does not continue the
saved learner is refused in one line."""

import h5py
import numpy as np
import pytest
from conftest import small
from helpers import assert_same_run
from numba import njit

from reservoir_motor import ConfigError, load_result, simulate
from reservoir_motor.simulation.network import make_streams
from reservoir_motor.storage.checkpoint import checkpoint_periods, load_checkpoint

UNITS = ["recording.n_units=12", "recording.units_every=3", "recording.record_states=true"]
LESION_AT_3 = 'manipulations=[{kind = "lesion_exploratory", start = 3}]'


@njit
def _draw(rng, n):
    out = np.empty(n)
    for i in range(n):
        out[i] = rng.random()
    return out


def test_numba_draws_advance_the_bit_generator_the_python_object_holds():
    compiled, plain = (np.random.Generator(np.random.PCG64(7)) for _ in range(2))
    assert np.array_equal(_draw(compiled, 1000), plain.random(1000))
    assert compiled.bit_generator.state == plain.bit_generator.state


@pytest.mark.parametrize("rule,n_explore", [("force", 0), ("rmhl", 2), ("supertrex", 2)])
def test_a_checkpoint_holds_the_streams_after_the_draws_of_its_training_steps(rule, n_explore):
    # N noise draws per training step, and one exploration draw per output for the exploratory rules
    cfg = small(f"task1-{rule}", "recording.checkpoints=[3]")
    ck = simulate(cfg, 2).checkpoints[3]
    steps = 3 * cfg.n_period_steps
    fresh = make_streams(2)
    fresh["reservoir_noise"].random(cfg.network.n_neurons * steps)
    fresh["exploration"].random(n_explore * steps)
    for name in ("reservoir_noise", "exploration"):
        assert ck.streams[name] == fresh[name].bit_generator.state, name


@pytest.mark.parametrize("rule", ["force", "rmhl", "supertrex"])
@pytest.mark.parametrize("extra", [[], [LESION_AT_3], ["rule.exploration_filter=0.1"]],
                         ids=["healthy", "lesion-at-3", "correlated-exploration"])
def test_continuing_under_the_same_config_is_the_uninterrupted_run(rule, extra):
    cfg = small(f"task1-{rule}", "recording.checkpoints=[2, 4]", "rule.transfer_threshold=1.0", *UNITS, *extra)
    whole = simulate(cfg, 3, n_chunks=7)
    for period in (2, 4):
        # 13 chunks over the whole run: their bounds fall elsewhere than the first run's
        cont = simulate(cfg, 3, start=whole.checkpoints[period], n_chunks=13)
        assert_same_run(whole, cont)
        assert sorted(cont.checkpoints) == [k for k in (2, 4) if k >= period]
        for name, arr in whole.checkpoints[4].state.items():
            assert np.array_equal(cont.checkpoints[4].state[name], arr, equal_nan=True), name


def test_continuing_from_a_file_is_the_uninterrupted_run_and_names_its_source(tmp_path):
    cfg = small("task1-supertrex", "recording.checkpoints=[1, 5]", *UNITS)
    whole = simulate(cfg, 0)
    path = whole.save(tmp_path)
    assert checkpoint_periods(path) == [1, 5]
    ck = load_checkpoint(path, 1)
    assert (ck.period, ck.seed, ck.source) == (1, 0, str(path))
    cont = simulate(cfg, 0, start=ck)
    assert_same_run(whole, cont)
    saved = cont.save(tmp_path)
    assert saved != path and saved.name.endswith(f"-from-{path.name.split('-')[-2]}-period1.h5")
    back = load_result(saved)
    assert_same_run(whole, back)
    assert back.provenance["continued_from_file"] == str(path)
    assert back.provenance["continued_from_period"] == 1
    assert back.provenance["continued_from_digest"] == path.name.split("-")[-2]
    with h5py.File(saved) as f:
        assert f.attrs["continued_from_period"] == 1 and "continued_from_config_toml" in f.attrs
    assert load_checkpoint(path).period == 5  # the last one by default
    assert_same_run(whole, load_result(path))  # a file with checkpoints is an ordinary result


# a threshold that lets SUPERTREX transfer at this size, so the test output is the mastery pathway's
TRAINED = ["schedule.n_test_trials=0", "recording.checkpoints=[4]", "rule.transfer_threshold=1.0"]


def branch(*overrides):
    """SUPERTREX with TRAINED's threshold, at test size."""
    return small("task1-supertrex", "rule.transfer_threshold=1.0", *overrides)


@pytest.mark.parametrize("change", [
    ["schedule.test_feedback='target'"],
    ["schedule.test_feedback='autonomous'"],
    ["schedule.test_feedback='replay'"],
    ["schedule.n_test_trials=3", 'manipulations=[{kind = "lesion_exploratory", start = 4}]'],
    ["schedule.n_train_trials=6", "schedule.n_test_trials=1"],
    ['manipulations=[{kind = "switch_target", start = 4, target = "circle"}]'],
], ids=["teacher", "autonomous", "replay", "lesion", "more-training", "new-target"])
def test_a_branch_is_the_run_of_its_own_config_when_the_two_agree_before_the_checkpoint(change):
    # a learner trained 4 periods without a test, then tested (or trained on) under another config
    trained = simulate(small("task1-supertrex", *TRAINED), 1)
    assert trained.metrics["n_steps"] == 4 * trained.config.n_period_steps
    cfg = branch(*change)
    assert_same_run(simulate(cfg, 1), simulate(cfg, 1, start=trained.checkpoints[4]))


def test_the_test_modes_of_the_branches_differ():
    # the branches above compare runs that differ: the three feedbacks give three test outputs
    trained = simulate(small("task1-supertrex", *TRAINED), 1).checkpoints[4]
    z = [simulate(branch(f"schedule.test_feedback='{mode}'"), 1, start=trained).traces["z"]
         for mode in ("target", "autonomous", "replay")]
    test = slice(4 * trained.config.n_period_steps // trained.config.recording.record_every, None)
    assert np.any(z[0][test]) and not np.array_equal(z[0][test], z[1][test])
    assert not np.array_equal(z[0][test], z[2][test]) and not np.array_equal(z[1][test], z[2][test])


def test_a_branch_may_change_the_target_from_the_checkpoint_on():
    trained = simulate(small("task1-supertrex", *TRAINED), 1)
    circle = simulate(branch("task.target='circle'"), 1, start=trained.checkpoints[4])
    butterfly = simulate(branch(), 1)
    per = trained.config.n_period_steps // trained.config.recording.record_every
    assert np.array_equal(circle.traces["target"][:4 * per], butterfly.traces["target"][:4 * per])
    assert not np.array_equal(circle.traces["target"][4 * per:], butterfly.traces["target"][4 * per:])
    assert np.array_equal(circle.traces["distance"][:4 * per], butterfly.traces["distance"][:4 * per])


@pytest.mark.parametrize("change,key", [
    (["network.n_neurons=120"], "network.n_neurons = 120"),
    (["network.gain=1.2"], "network.gain = 1.2"),
    (["rule.name='force'"], "rule.name = 'force'"),
    (["task.duration_ms=60"], "task.duration_ms = 60.0"),
    (["recording.record_every=5"], "recording.record_every = 5"),
    (["schedule.n_train_trials=3"], "schedule.n_train_trials = 3"),
    (['manipulations=[{kind = "lesion_exploratory", start = 1}]'], "manipulations before period 4"),
    (["recording.n_units=5"], "recording.n_units = 5"),
])
def test_a_config_that_does_not_continue_the_learner_is_refused_in_one_line(change, key):
    ck = simulate(small("task1-supertrex", *TRAINED), 1).checkpoints[4]
    with pytest.raises(ConfigError) as info:
        simulate(small("task1-supertrex", *change), 1, start=ck)
    message = str(info.value)
    assert key in message and "checkpoint at period 4" in message and "\n" not in message


def test_another_seed_is_refused():
    ck = simulate(small("task1-supertrex", *TRAINED), 1).checkpoints[4]
    with pytest.raises(ConfigError, match="seed = 2 is not allowed from the checkpoint at period 4 .* has seed 1"):
        simulate(small("task1-supertrex"), 2, start=ck)


def test_a_checkpoint_in_the_test_keeps_the_number_of_training_periods():
    ck = simulate(small("task1-supertrex", "recording.checkpoints=[5]"), 0).checkpoints[5]
    with pytest.raises(ConfigError, match="schedule.n_train_trials = 5 .* in the test of a run trained for 4"):
        simulate(small("task1-supertrex", "schedule.n_train_trials=5"), 0, start=ck)
    with pytest.raises(ConfigError, match="schedule.n_test_trials = 0 .* end after 4 periods, before .* period 5"):
        simulate(small("task1-supertrex", "schedule.n_test_trials=0"), 0, start=ck)
    longer = small("task1-supertrex", "schedule.n_test_trials=4")
    assert_same_run(simulate(longer, 0), simulate(longer, 0, start=ck))


def test_replay_from_a_run_that_kept_no_replay_buffer_is_refused():
    # a run saves its checkpoints to a callback only (as --checkpoint-every does): its buffer is one step
    taken = []
    simulate(small("task1-supertrex", "schedule.n_test_trials=0"), 1, checkpoint_every=3, on_checkpoint=taken.append)
    assert [ck.period for ck in taken] == [3] and taken[0].state["replay"].shape[0] == 1
    with pytest.raises(ConfigError, match="schedule.test_feedback = 'replay' is not allowed"):
        simulate(small("task1-supertrex", "schedule.test_feedback='replay'"), 1, start=taken[0])
    autonomous = small("task1-supertrex", "schedule.test_feedback='autonomous'")
    assert_same_run(simulate(autonomous, 1), simulate(autonomous, 1, start=taken[0]))


def test_activity_before_the_checkpoint_that_was_not_recorded_is_refused():
    ck = simulate(small("task1-supertrex", *TRAINED), 1).checkpoints[4]
    with pytest.raises(ConfigError, match="recording.n_units = 6 .* before period 4"):
        simulate(small("task1-supertrex", "recording.n_units=6"), 1, start=ck)
    test_only = branch("recording.n_units=6", "recording.units_window='test'")
    assert_same_run(simulate(test_only, 1), simulate(test_only, 1, start=ck))


def test_checkpoint_periods_are_validated():
    with pytest.raises(ConfigError, match=r"recording.checkpoints = \[2, 7\] is not allowed: .* 6 periods"):
        small("task1-supertrex", "recording.checkpoints=[2, 7]")
    assert small("task1-supertrex", "recording.checkpoints=[6]").recording.checkpoints == (6,)


def test_a_run_that_diverged_keeps_only_the_checkpoints_before(tmp_path):
    # a dopamine surge from period 2 on blows the exploratory readout up in period 2
    cfg = small("task1-rmhl", 'manipulations=[{kind = "dopamine", start = 2, value = 1e4}]',
                "recording.divergence_bound=5.0", "recording.checkpoints=[1, 2, 6]")
    res = simulate(cfg, 0)
    assert res.diverged and 2 * cfg.n_period_steps < res.metrics["diverged_step"] < 3 * cfg.n_period_steps
    assert sorted(res.checkpoints) == [1, 2]
    path = res.save(tmp_path)
    with pytest.raises(ConfigError, match="holds no checkpoint at period 6: it holds periods 1, 2"):
        load_checkpoint(path, 6)


def test_a_file_without_checkpoints_says_how_to_save_them(tmp_path):
    path = simulate(small("task1-force"), 0).save(tmp_path)
    with pytest.raises(ConfigError, match="holds none: save them with recording.checkpoints"):
        load_checkpoint(path)


# --- The command line: --from, --period, --checkpoint-every ---------------------------------------------

SMALL_SET = [a for item in ["network.n_neurons=100", "task.duration_ms=40", "schedule.n_train_trials=4",
                            "schedule.n_test_trials=2", "schedule.replay_lag_trials=2"] for a in ("--set", item)]


def run_cli(*args):
    from reservoir_motor.cli import main

    return main(["run", "task1-supertrex", *SMALL_SET, "--quiet", *args])


def test_cli_continues_a_file_from_a_period_under_another_config(tmp_path, capsys):
    assert run_cli("--set", "recording.checkpoints=[2, 4]", "--out", str(tmp_path / "a")) == 0
    source = next((tmp_path / "a").glob("*.h5"))
    assert run_cli("--from", str(source), "--period", "2", "--set", "recording.checkpoints=[2, 4]",
                   "--set", LESION_AT_3, "--out", str(tmp_path / "b")) == 0
    continued = load_result(next((tmp_path / "b").glob("*.h5")))
    cfg = small("task1-supertrex", "recording.checkpoints=[2, 4]", LESION_AT_3)
    assert_same_run(simulate(cfg, 0), continued)
    assert continued.provenance["continued_from_period"] == 2
    assert continued.provenance["continued_from_file"] == str(source)


@pytest.mark.parametrize("args,words", [
    (["--period", "2"], "--period 2 is not allowed without --from"),
    (["--checkpoint-every", "0"], "--checkpoint-every 0 is not allowed: must be an integer >= 1"),
    (["--from", "missing.h5"], "does not exist"),
])
def test_cli_bad_continuation_options_are_one_line(tmp_path, capsys, args, words):
    assert run_cli(*args, "--out", str(tmp_path)) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1
    assert not list(tmp_path.glob("*.h5"))


KILLER = '''
import os, signal, sys
from reservoir_motor import cli, progress
from reservoir_motor.storage import files

mode, at = sys.argv[1], int(sys.argv[2])
writes = []
publish, report = files.publish, progress.RunProgress.__call__

def killing_publish(tmp, path):
    writes.append(path)
    if mode == "while-writing" and len(writes) == at:  # the new side file written, not yet renamed
        os.kill(os.getpid(), signal.SIGKILL)
    publish(tmp, path)

def killing_report(self, done, total):
    if mode == "mid-period" and done >= at:
        os.kill(os.getpid(), signal.SIGKILL)
    report(self, done, total)

files.publish, progress.RunProgress.__call__ = killing_publish, killing_report
sys.exit(cli.main(sys.argv[3:]))
'''


@pytest.mark.parametrize("mode,at,every,resumed", [
    ("mid-period", 900, 3, 3),     # killed half way through period 4: the side file holds periods 2 and 3
    ("while-writing", 3, 1, 2),    # killed writing period 3's: the side file of period 2 stands
], ids=["mid-period", "while-writing"])
def test_a_run_killed_with_sigkill_resumes_to_the_uninterrupted_result(tmp_path, mode, at, every, resumed):
    import subprocess
    import sys

    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    out = tmp_path / "out"
    args = ["run", "task1-supertrex", *SMALL_SET, "--set", "recording.checkpoints=[2]", *UNITS_SET,
            "--checkpoint-every", str(every), "--out", str(out)]
    proc = subprocess.run([sys.executable, str(script), mode, str(at), *args], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == -9, proc.stderr  # killed, not finished
    assert not list(out.glob("*.h5"))
    (side,) = out.glob("*.h5.resume")
    assert checkpoint_periods(side) == sorted({2, resumed})
    with pytest.raises(ConfigError, match="checkpoint file of an unfinished run"):
        load_result(side)

    assert run_cli("--set", "recording.checkpoints=[2]", *UNITS_SET, "--checkpoint-every", str(every),
                   "--out", str(out)) == 0
    (path,) = out.glob("*.h5")
    assert not list(out.glob("*.resume")) and not list(out.glob(".*.partial"))
    cfg = small("task1-supertrex", "recording.checkpoints=[2]", *[s for s in UNITS_SET if s != "--set"])
    whole = simulate(cfg, 0)
    assert path.name == whole.default_filename()
    back = load_result(path)
    assert_same_run(whole, back)
    assert back.provenance["resumed_from_period"] == resumed and "continued_from_file" not in back.provenance
    kept = load_checkpoint(path, 2)
    for name, arr in whole.checkpoints[2].state.items():
        assert np.array_equal(kept.state[name], arr, equal_nan=True), name
    assert checkpoint_periods(path) == [2]


UNITS_SET = [a for item in UNITS for a in ("--set", item)]


def test_a_side_file_of_another_run_is_refused(tmp_path, capsys):
    from reservoir_motor.simulation.resume import SideFile, side_path

    taken = []
    simulate(small("task1-supertrex", "rule.kappa=0.3"), 0, checkpoint_every=2, on_checkpoint=taken.append)
    final = tmp_path / small("task1-supertrex").name
    out = tmp_path / "x.h5"
    SideFile(side_path(out), taken[0].config, 0, {}).write({2: taken[0]})
    assert run_cli("--checkpoint-every", "2", "--out", str(out)) == 2
    assert "holds the checkpoints of another run" in capsys.readouterr().err
    assert not final.exists() and not out.exists()


def test_checkpoint_every_into_a_directory_that_does_not_exist_yet(tmp_path):
    out = tmp_path / "new" / "run.h5"
    assert run_cli("--checkpoint-every", "2", "--out", str(out)) == 0
    assert_same_run(simulate(small("task1-supertrex"), 0), load_result(out))
    assert not list(out.parent.glob("*.resume"))


def test_a_checkpoint_written_before_plant_states_and_correlated_exploration_still_continues(tmp_path):
    # Files of earlier versions lack state/plant_state, record/plant_state and state/xi; for a stateless
    # plant and white exploration those were zeros, and the continuation is still the uninterrupted run.
    cfg = small("task1-supertrex", "recording.checkpoints=[2]", "rule.transfer_threshold=1.0")
    whole = simulate(cfg, 4)
    path = whole.save(tmp_path)
    with h5py.File(path, "r+") as f:
        for name in ("state/plant_state", "record/plant_state", "state/xi"):
            del f[f"checkpoints/period2/{name}"]
    assert_same_run(whole, simulate(cfg, 4, start=load_checkpoint(path, 2)))
