"""Sweeps with real processes: a local pool, a SIGKILLed and resumed sweep, and a real Dask cluster."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import SMALL

from reservoir_motor import ConfigError
from reservoir_motor.studies.report import collect
from reservoir_motor.studies.sweep import parse_grid, parse_seeds, run_sweep
from reservoir_motor.tomlio import loads_toml

# Runs of about a second each, so a sweep can be killed in the middle.
MEDIUM = ["network.n_neurons=200", "task.duration_ms=400", "schedule.n_train_trials=4",
          "schedule.n_test_trials=2", "schedule.replay_lag_trials=2"]


def deviations(directory) -> dict:
    out = {}
    for path in Path(directory).glob("*.h5"):
        with h5py.File(path) as f:
            out[path.name] = float(f["metrics"].attrs["deviation"])
    return out


def test_sweep_parses_seeds_and_grid():
    assert parse_seeds("0:3") == [0, 1, 2] and parse_seeds("4,9") == [4, 9]
    assert parse_grid(["rule.kappa=0.3,0.5", "task.arm_lengths=[1.8,1.8],[1.8,1.2,0.6]"]) == [
        ("rule.kappa", ["0.3", "0.5"]), ("task.arm_lengths", ["[1.8,1.8]", "[1.8,1.2,0.6]"])]
    for bad in ("3:1", "x", "-1,2"):
        with pytest.raises(ConfigError, match="--seeds"):
            parse_seeds(bad)
    with pytest.raises(ConfigError, match="--grid"):
        parse_grid(["rule.kappa"])


def test_sweep_validates_every_condition_before_running(tmp_path):
    with pytest.raises(ConfigError, match="rule.kappa = 2.0"):
        run_sweep(["task1-supertrex"], [0], tmp_path, grid=[("rule.kappa", ["0.5", "2.0"])], overrides=SMALL)
    assert list(tmp_path.iterdir()) == []


def test_sweep_local_runs_every_condition_and_skips_finished_runs(tmp_path):
    grid = [("rule.kappa", ["0.3", "0.9"])]
    first = run_sweep(["task1-supertrex", "task1-rmhl"], "0:2", tmp_path, grid=grid,
                      overrides=SMALL + ["rule.transfer_threshold=1.0"], workers=2, progress=False)
    assert len(first) == 8 and all(s["status"] == "done" and not s["skipped"] for s in first)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.h5")}
    again = run_sweep(["task1-supertrex", "task1-rmhl"], "0:2", tmp_path, grid=grid,
                      overrides=SMALL + ["rule.transfer_threshold=1.0"], workers=2, progress=False)
    assert all(s["skipped"] for s in again)
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.h5")} == before
    rows = collect(tmp_path)
    assert [r["condition"] for r in rows] == ["task1-rmhl[rule.kappa=0.3]", "task1-rmhl[rule.kappa=0.9]",
                                              "task1-supertrex[rule.kappa=0.3]", "task1-supertrex[rule.kappa=0.9]"]
    assert all(r["n"] == 2 for r in rows)


def test_sweep_records_a_failing_run_and_carries_on(tmp_path):
    import numpy as np

    from reservoir_motor.studies.sweep import execute, plan

    curve = tmp_path / "curve.npy"
    np.save(curve, 0.5 * np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]]))
    out = tmp_path / "out"
    out.mkdir()
    runs = plan(["task1-force"], [0, 1, 2], out, overrides=SMALL + [f"task.target='{curve}'"])
    curve.rename(tmp_path / "moved.npy")  # the file vanishes after planning: seed 1 raises for real
    statuses = [execute(r.config.to_dict(), r.seed, str(r.path)) if r.seed == 1 else None for r in runs]
    (tmp_path / "moved.npy").rename(curve)
    statuses = [s or execute(r.config.to_dict(), r.seed, str(r.path)) for s, r in zip(statuses, runs, strict=True)]
    assert [s["status"] for s in statuses] == ["done", "failed", "done"]
    assert "does not exist" in json.loads(runs[1].failed_path.read_text())["error"]
    row = collect(out)[0]
    assert row["n"] == 2 and row["failed"] == 1 and sorted(row["seeds"]) == [0, 1, 2]
    # a resumed sweep leaves the failed run alone unless asked to retry it
    again = run_sweep(["task1-force"], [0, 1, 2], out, overrides=SMALL + [f"task.target='{curve}'"],
                      workers=1, progress=False)
    assert [s["status"] for s in again] == ["done", "failed", "done"]
    again = run_sweep(["task1-force"], [0, 1, 2], out, overrides=SMALL + [f"task.target='{curve}'"],
                      workers=1, progress=False, retry_failed=True)
    assert [s["status"] for s in again] == ["done", "done", "done"]
    assert collect(out)[0]["n"] == 3


def _sweep_cmd(out, *extra):
    sets = [a for s in MEDIUM for a in ("--set", s)]
    return [sys.executable, "-m", "reservoir_motor.cli", "sweep", "task1-supertrex", "task1-rmhl", "--seeds", "0:4",
            *sets, "--out", str(out), *extra]


def test_sweep_killed_with_sigkill_resumes_to_the_same_files_and_numbers(tmp_path):
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    subprocess.run(_sweep_cmd(reference, "--workers", "2", "--quiet"), check=True)
    proc = subprocess.Popen(_sweep_cmd(killed, "--workers", "2", "--quiet"), start_new_session=True)
    deadline = time.time() + 120
    while len(list(killed.glob("*.h5"))) < 2 and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the coordinator and its workers, mid-sweep
    proc.wait()
    n_at_kill = len(list(killed.glob("*.h5")))
    assert 2 <= n_at_kill < 8
    subprocess.run(_sweep_cmd(killed, "--workers", "2", "--quiet"), check=True)
    assert deviations(killed) == deviations(reference)
    assert sorted(p.name for p in killed.glob("*.h5")) == sorted(p.name for p in reference.glob("*.h5"))


def test_sweep_on_dask_survives_a_killed_worker_and_matches_local(tmp_path, dask_cluster):
    address, procs = dask_cluster
    local, remote = tmp_path / "local", tmp_path / "dask"
    run_sweep(["task1-supertrex", "task1-rmhl"], "0:4", local, overrides=MEDIUM, workers=2, progress=False)

    import threading

    done = {}
    thread = threading.Thread(target=lambda: done.update(statuses=run_sweep(
        ["task1-supertrex", "task1-rmhl"], "0:4", remote, overrides=MEDIUM, scheduler=address, progress=False)))
    thread.start()
    deadline = time.time() + 120
    while len(list(remote.glob("*.h5"))) < 1 and time.time() < deadline:
        time.sleep(0.05)
    procs[1].kill()  # one worker dies mid-sweep; its runs go to the other
    thread.join(timeout=600)
    assert not thread.is_alive()
    assert all(s["status"] == "done" for s in done["statuses"])
    assert deviations(remote) == deviations(local)


def parse_table1(table: str) -> dict:
    """{experiment: {"ours": (mean, median, within-run std), "across": std, "counts": (satisfactory, completed,
    diverged), "published": text}} from the markdown that reproduce prints."""
    rows = {}
    for line in table.splitlines()[2:]:
        name, ours, across, counts, published = (c.strip() for c in line.strip().strip("|").split("|"))
        satisfactory, completed, diverged = re.fullmatch(r"(\d+)/(\d+) \((\d+)\)", counts).groups()
        rows[name] = {"ours": tuple(float(v) for v in ours.split(" / ")), "across": float(across),
                      "counts": (int(satisfactory), int(completed), int(diverged)), "published": published}
    return rows


def numbers_from_files(directory, preset="faithful") -> dict:
    """Per experiment, Table 1's numbers computed here from the result files of ``preset``: the means over
    the seeds that did not diverge of each run's mean, median and std over its test window, the std across
    seeds of the means, and the satisfactory / completed / diverged counts."""
    metrics = {}
    for path in sorted(Path(directory).glob("*.h5")):
        with h5py.File(path) as f:
            if loads_toml(f.attrs["config_toml"])["preset"] == preset:
                metrics.setdefault(str(f.attrs["experiment"]), []).append(dict(f["metrics"].attrs))
    out = {}
    for name, runs in metrics.items():
        ok = [m for m in runs if not m["diverged"]]
        mean = np.array([m["deviation"] for m in ok])
        out[name] = {"ours": (mean.mean(), np.mean([m["deviation_median"] for m in ok]),
                              np.mean([m["deviation_std"] for m in ok])),
                     "across": mean.std(ddof=1),
                     "counts": (sum(bool(m["satisfactory"]) for m in runs), len(ok), len(runs) - len(ok))}
    return out


def assert_table_shows(rows: dict, expected: dict):
    """Every printed row carries the numbers computed from the files, to the 3 printed decimals."""
    assert rows.keys() == expected.keys()
    for name, want in expected.items():
        got = rows[name]
        np.testing.assert_allclose(got["ours"], want["ours"], atol=5e-4 + 1e-12, err_msg=name)
        assert got["across"] == pytest.approx(want["across"], abs=5e-4 + 1e-12), name
        assert got["counts"] == want["counts"], name


def test_reproduce_keeps_faithful_and_robust_runs_of_one_experiment_apart(tmp_path, monkeypatch):
    from reservoir_motor.paper import reproduce as R

    monkeypatch.setitem(R.TABLES, "table1", ["task2-rmhl", "task2-supertrex"])
    # different seed counts, so a row of the other preset shows even where the numbers agree at this size
    faithful = R.reproduce("table1", tmp_path, seeds="0:3", overrides=SMALL, workers=2, progress=False)
    robust = R.reproduce("table1", tmp_path, seeds="0:2", overrides=SMALL + ["preset=robust"], workers=2,
                         progress=False)
    assert len(list(tmp_path.glob("*.h5"))) == 10  # both kinds of run are stored side by side
    assert_table_shows(parse_table1(robust), numbers_from_files(tmp_path, "robust"))
    # asked again, the faithful table shows the faithful runs only, the robust ones next to them
    again = R.reproduce("table1", tmp_path, seeds="0:3", overrides=SMALL, workers=2, progress=False)
    assert again == faithful
    assert_table_shows(parse_table1(again), numbers_from_files(tmp_path, "faithful"))


def test_reproduce_prints_ours_beside_the_published_table(tmp_path):
    from reservoir_motor.paper.reproduce import TABLE1, reproduce

    table = reproduce("table1", tmp_path, seeds="0:2", overrides=MEDIUM, workers=2, progress=False)
    assert len(list(tmp_path.glob("*.h5"))) == 2 * len(TABLE1)
    rows = parse_table1(table)
    assert list(rows) == list(TABLE1)  # every experiment, in the table's order
    assert_table_shows(rows, numbers_from_files(tmp_path))
    for name, row in rows.items():  # each row beside its own published entry
        assert row["published"] == ", ".join(TABLE1[name])
