"""Sweeps that share prefixes: which runs share how many periods, and that a sharing sweep (also one killed
with SIGKILL and run again) writes the files of independent runs, compared with ==, in fewer steps."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, SMALL, small
from helpers import assert_same_files, assert_same_run, lesion_file

from reservoir_motor import load_result
from reservoir_motor.studies.prefix import plan_tree, shared_periods
from reservoir_motor.studies.sweep import Run, plan, run_sweep

LESION_AT_3 = 'manipulations=[{kind = "lesion_exploratory", start = 3}]'
MODES = ["teacher", "autonomous", "replay"]


def mode_files(directory):
    """The three test feedbacks after one training, as experiment files."""
    paths = []
    for mode, key in zip(MODES, ["target", "autonomous", "replay"], strict=True):
        path = Path(directory) / f"test-{mode}.toml"
        path.write_text(f'extends = "task1-supertrex"\n[schedule]\ntest_feedback = "{key}"\n')
        paths.append(str(path))
    return paths


def test_a_lesion_shares_the_periods_before_it_with_its_control():
    control, lesion = small(), small("task1-supertrex", LESION_AT_3)
    assert shared_periods(control, lesion) == shared_periods(lesion, control) == 3


def test_a_value_that_acts_from_step_0_shares_nothing():
    assert shared_periods(small(), small("task1-supertrex", "rule.kappa=0.3")) == 0
    assert shared_periods(small(), small("task1-supertrex", "recording.record_every=5")) == 0
    assert shared_periods(small(), small("task1-rmhl")) == 0


def test_test_modes_share_the_training():
    n_train = small().schedule.n_train_trials
    for mode in ("autonomous", "replay"):
        assert shared_periods(small(), small("task1-supertrex", f"schedule.test_feedback='{mode}'")) == n_train
    # more training, or a longer test: the training both have
    assert shared_periods(small(), small("task1-supertrex", "schedule.n_train_trials=6")) == n_train
    assert shared_periods(small(), small("task1-supertrex", "schedule.n_test_trials=4")) == n_train
    # one schedule, a lesion in the last period: everything before it
    last = n_train + small().schedule.n_test_trials - 1
    lesion = f'manipulations=[{{kind = "lesion_exploratory", start = {last}}}]'
    assert shared_periods(small(), small("task1-supertrex", lesion)) == last


def replay_pair():
    """A replaying run whose test feeds back 3 of its 4 training periods, and a run trained for 2 periods
    (so a buffer of 2): the replaying run's buffer must fill from period 1 on."""
    replay = small("task1-supertrex", "schedule.test_feedback='replay'", "schedule.replay_lag_trials=3")
    return replay, small("task1-supertrex", "schedule.n_train_trials=2", "schedule.replay_lag_trials=3")


def test_a_replaying_test_with_another_buffer_length_shares_only_what_fills_its_buffer():
    replay, two = replay_pair()
    assert replay.replay_lag_steps != two.replay_lag_steps
    assert shared_periods(replay, two) == shared_periods(two, replay) == 1
    three = small("task1-supertrex", "schedule.n_train_trials=3", "schedule.replay_lag_trials=3")
    assert shared_periods(replay, three) == 3  # one buffer length: the training both have
    # the period after it would be refused as a continuation
    from reservoir_motor import ConfigError, simulate

    ck = simulate(small("task1-supertrex", "schedule.n_train_trials=2", "schedule.replay_lag_trials=3",
                        "recording.checkpoints=[2]"), 0).checkpoints[2]
    with pytest.raises(ConfigError, match="replay"):
        simulate(replay, 0, start=ck)


def test_checkpoints_of_the_file_bound_the_shared_periods():
    assert shared_periods(small("task1-supertrex", "recording.checkpoints=[2]"),
                          small("task1-supertrex", "recording.checkpoints=[2]", LESION_AT_3)) == 2


def test_the_plan_is_a_tree_per_seed_of_continuations_from_later_periods(tmp_path):
    late = lesion_file(tmp_path, 3)
    early = lesion_file(tmp_path, 1)
    runs = plan(["task1-supertrex", late, early, "task1-rmhl"], [0, 1], tmp_path, overrides=SMALL)
    trees = plan_tree(runs)
    for tree in trees:
        assert len({runs[n.run].seed for n in tree}) == 1  # never across seeds
        assert tree[0].parent is None and tree[0].period == 0
        seen = set()
        for node in tree:
            assert node.parent is None or node.parent in seen  # parents first
            seen.add(node.run)
    names = [sorted(runs[n.run].config.name for n in tree) for tree in trees]
    assert sorted(names) == [["lesion-at-1", "lesion-at-3", "task1-supertrex"]] * 2 + [["task1-rmhl"]] * 2
    for tree in trees:
        for node in tree:
            if node.parent is not None:
                parent, child = runs[node.parent].config, runs[node.run].config
                assert node.period == shared_periods(parent, child)


def test_a_child_sharing_fewer_periods_than_its_parent_started_at_goes_up_the_tree(tmp_path):
    from reservoir_motor import simulate
    from reservoir_motor.studies.sweep import execute_tree

    replay, two = replay_pair()
    three = small("task1-supertrex", "schedule.n_train_trials=3", "schedule.replay_lag_trials=3")
    runs = [Run(cfg, 0, tmp_path / f"{i}.h5") for i, cfg in enumerate([replay, three, two])]
    # `two` shares 2 periods with `three`, which starts at period 3 from `replay`: `two` goes to `replay`,
    # with which it shares 1
    assert shared_periods(three, two) == 2
    tree = plan_tree(runs)[0]
    assert [(n.run, n.parent, n.period) for n in tree] == [(0, None, 0), (1, 0, 3), (2, 0, 1)]
    statuses = execute_tree([(r.config.to_dict(), r.seed, str(r.path)) for r in runs])
    assert [s["shared_prefix_from"] for s in statuses] == [None, "0.h5", "0.h5"]
    back = [load_result(run.path).provenance for run in runs]
    assert [(p.get("shared_prefix_from"), p.get("shared_prefix_period")) for p in back] == [
        (None, None), ("0.h5", 3), ("0.h5", 1)]
    for run in runs:
        assert_same_run(load_result(run.path), simulate(run.config, 0))


def steps_of(statuses):
    return sum(s["steps_simulated"] for s in statuses)


def test_a_sharing_sweep_writes_the_files_of_independent_runs_in_fewer_steps(tmp_path):
    experiments = ["task1-supertrex", lesion_file(tmp_path), *mode_files(tmp_path)]
    seeds = [0, 1]
    units = SMALL + ["recording.n_units=12", "recording.units_every=3", "recording.record_states=true"]
    shared = run_sweep(experiments, seeds, tmp_path / "shared", overrides=units, workers=2, progress=False)
    alone = run_sweep(experiments, seeds, tmp_path / "alone", overrides=units, workers=2, progress=False,
                      share=False)
    assert_same_files(tmp_path / "shared", tmp_path / "alone")
    # expected from the configs: per seed, the control runs whole; the lesion continues from period 3; the
    # autonomous and replaying tests from the end of training; the teacher-forced one, the control's own
    # config under another name, from its last period
    cfg = small()
    per, total, n_train = cfg.n_period_steps, cfg.n_steps // cfg.n_period_steps, cfg.schedule.n_train_trials
    independent = len(seeds) * len(experiments) * total * per
    saved = len(seeds) * (3 + 2 * n_train + total - 1) * per
    assert steps_of(alone) == sum(s["steps_independent"] for s in alone) == independent
    assert sum(s["steps_independent"] for s in shared) == independent
    assert steps_of(shared) == independent - saved
    continued = [s for s in shared if s["shared_prefix_from"]]
    assert len(continued) == len(seeds) * (len(experiments) - 1)
    with_prov = load_result(continued[0]["path"])
    assert with_prov.provenance.keys().isdisjoint({"continued_from_file", "continued_from_period"})
    # run again: nothing is left to simulate
    again = run_sweep(experiments, seeds, tmp_path / "shared", overrides=units, workers=2, progress=False)
    assert all(s["skipped"] for s in again) and steps_of(again) == 0


def test_a_child_whose_parent_file_exists_is_simulated_from_step_0_on_resume(tmp_path):
    experiments = ["task1-supertrex", lesion_file(tmp_path)]
    run_sweep(experiments[:1], [0], tmp_path / "shared", overrides=SMALL, workers=1, progress=False)
    statuses = run_sweep(experiments, [0], tmp_path / "shared", overrides=SMALL, workers=1, progress=False)
    run_sweep(experiments, [0], tmp_path / "alone", overrides=SMALL, workers=1, progress=False, share=False)
    assert_same_files(tmp_path / "shared", tmp_path / "alone")
    assert steps_of(statuses) == small().n_steps


def test_a_failing_parent_leaves_its_record_and_its_children_run_from_step_0(tmp_path, monkeypatch):
    import importlib

    from reservoir_motor.studies.sweep import execute_tree

    simulate_module = importlib.import_module("reservoir_motor.simulation.simulate")
    runs = plan(["task1-supertrex", lesion_file(tmp_path)], [0], tmp_path / "out", overrides=SMALL)
    (tmp_path / "out").mkdir()
    real = simulate_module.make_network

    def failing_once(*args):  # the first run (the parent) raises inside simulate
        monkeypatch.setattr(simulate_module, "make_network", real)
        raise RuntimeError("the network cannot be drawn")

    monkeypatch.setattr(simulate_module, "make_network", failing_once)
    statuses = execute_tree([(r.config.to_dict(), r.seed, str(r.path)) for r in runs])
    assert [s["status"] for s in statuses] == ["failed", "done"]
    assert runs[0].failed_path.exists() and not runs[0].path.exists()
    assert statuses[1]["shared_prefix_from"] is None and statuses[1]["steps_simulated"] == runs[1].config.n_steps
    assert_same_run(load_result(runs[1].path), simulate_module.simulate(runs[1].config, 0))


MEDIUM = ["network.n_neurons=200", "task.duration_ms=400", "schedule.n_train_trials=4",
          "schedule.n_test_trials=2", "schedule.replay_lag_trials=2"]


def _sweep_cmd(out, experiments, *extra):
    sets = [a for s in MEDIUM for a in ("--set", s)]
    return [sys.executable, "-m", "reservoir_motor.cli", "sweep", *experiments, "--seeds", "0:3", *sets,
            "--out", str(out), "--workers", "2", "--quiet", *extra]


def test_a_sharing_sweep_killed_with_sigkill_resumes_to_the_files_of_an_uninterrupted_sweep(tmp_path):
    experiments = ["task1-supertrex", lesion_file(tmp_path), "state-task1-replay"]
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    proc = subprocess.Popen(_sweep_cmd(killed, experiments), start_new_session=True)
    deadline = time.time() + 120
    while not list(killed.glob("*.h5")) and time.time() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the coordinator and its workers, mid-tree
    proc.wait()
    n_at_kill = len(list(killed.glob("*.h5")))
    assert 1 <= n_at_kill < 9
    subprocess.run(_sweep_cmd(killed, experiments), check=True)
    subprocess.run(_sweep_cmd(reference, experiments, "--no-share"), check=True)
    assert_same_files(killed, reference)


@pytest.mark.parametrize("share", [True, False])
def test_the_cli_summary_says_the_steps(tmp_path, share, capsys):
    from reservoir_motor.cli import main

    experiments = ["task1-supertrex", lesion_file(tmp_path)]
    sets = [a for s in SMALL for a in ("--set", s)]
    args = ["sweep", *experiments, "--seeds", "0", *sets, "--out", str(tmp_path / "out"), "--workers", "1"]
    assert main(args + ([] if share else ["--no-share"])) == 0
    cfg = small()
    whole = 2 * cfg.n_steps
    done = whole - 3 * cfg.n_period_steps if share else whole
    assert f"{done} steps simulated, {whole} as independent runs" in capsys.readouterr().out


def test_a_sharing_sweep_on_dask_writes_the_files_of_independent_runs(tmp_path, dask_cluster):  # noqa: F811
    address, _ = dask_cluster
    experiments = ["task1-supertrex", lesion_file(tmp_path), "state-task1-replay"]
    statuses = run_sweep(experiments, [0, 1], tmp_path / "dask", overrides=SMALL, scheduler=address, progress=False)
    run_sweep(experiments, [0, 1], tmp_path / "alone", overrides=SMALL, workers=2, progress=False, share=False)
    assert_same_files(tmp_path / "dask", tmp_path / "alone")
    assert sum(bool(s["shared_prefix_from"]) for s in statuses) == 4


def test_the_outcomes_study_plans_a_quarter_fewer_steps_as_the_docs_say(tmp_path):
    from reservoir_motor.paper.outcomes import experiments
    from reservoir_motor.studies.prefix import planned_steps

    runs = plan(experiments(), [0, 1], tmp_path)  # the full-size configs, planned only
    shared, independent = planned_steps(runs, plan_tree(runs))
    fewer = 100 * (1 - shared / independent)
    assert fewer >= 25
    docs = (ROOT / "docs" / "parameter-studies.md").read_text()
    assert f"the plan simulates {fewer:.1f} % fewer" in docs.replace("\n", " ")


def test_a_run_that_shares_nothing_with_the_path_up_to_the_root_starts_its_own_tree(monkeypatch):
    from types import SimpleNamespace

    from reservoir_motor.studies import prefix

    # run 1 shares 3 periods with the root 0; run 2 shares 2 with 1 but none with 0 (sharing is not
    # transitive once the limits of each pair differ): it cannot continue below 1's start, nor from 0
    table = {(0, 1): 3, (0, 2): 0, (1, 2): 2}
    monkeypatch.setattr(prefix, "shared_periods", lambda a, b: table[min(a, b), max(a, b)])
    runs = [SimpleNamespace(config=i, seed=0) for i in range(3)]
    trees = prefix.plan_tree(runs)
    assert [[(n.run, n.parent, n.period) for n in tree] for tree in trees] == [[(0, None, 0), (1, 0, 3)],
                                                                             [(2, None, 0)]]
