"""Sweeps on the GPU engine (``sweep --device cuda``), here in numba's CUDA simulator: batches in this process and
on a real Dask cluster, the files those of the runs alone, refusals in one line before anything runs."""

import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from reservoir_motor import ConfigError, load_result, simulate
from reservoir_motor.studies.sweep import device_batches, plan, run_sweep

pytest.importorskip("numba.cuda")
from reservoir_motor.simulation.on_device import device_provenance  # noqa: E402

DEVICE = device_provenance()  # the simulator's in the default test run
TINY = ["network.n_neurons=20", "task.duration_ms=6", "schedule.n_train_trials=2", "schedule.n_test_trials=1",
        "schedule.replay_lag_trials=1"]
EXPERIMENTS = ["task1-force", "task1-rmhl"]


@pytest.fixture(autouse=True, scope="module")
def quick_thread_switches():
    """The simulator's threads meet at every barrier; a short switch interval makes each meeting quick."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


def traces(directory) -> dict:
    out = {}
    for path in Path(directory).glob("*.h5"):
        with h5py.File(path) as f:
            out[path.name] = (f["traces"]["z"][...], f.attrs["device"])
    return out


def test_a_device_sweep_writes_each_runs_file_in_any_batching(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    statuses = run_sweep(EXPERIMENTS, "0:1", one, overrides=TINY, device="cuda", progress=False)
    assert [s["status"] for s in statuses] == ["done"] * 2 and {s["group_size"] for s in statuses} == {2}
    run_sweep(EXPERIMENTS, "0:1", two, overrides=TINY, device="cuda", batch_size=1, progress=False)
    a, b = traces(one), traces(two)
    assert sorted(a) == sorted(b) and len(a) == 2
    for name in a:  # a run's numbers do not depend on the batch it ran in
        assert np.array_equal(a[name][0], b[name][0]) and a[name][1] == DEVICE["device"]
    for run in plan(EXPERIMENTS, [0], one, overrides=TINY):  # each the CPU's run, to rounding
        cpu = simulate(run.config, run.seed)
        assert load_result(run.path).deviation == pytest.approx(cpu.deviation, rel=1e-9)
    again = run_sweep(EXPERIMENTS, "0:1", one, overrides=TINY, device="cuda", progress=False)
    assert all(s["skipped"] for s in again)


def test_device_batches_take_the_longest_runs_first_and_fit_the_memory(tmp_path):
    """... and the runs of a user's plant, compiled into their kernel, go apart."""
    from reservoir_motor.simulation.on_device import batch_bytes

    runs = plan(["task1-force"], [0, 1, 2], tmp_path, overrides=TINY)
    runs += plan(["task1-force"], [0], tmp_path, overrides=TINY + ["schedule.n_train_trials=5"])
    assert [len(b) for b in device_batches(runs, None, 3)] == [3, 1]
    assert device_batches(runs, None, 3)[0][0].config.schedule.n_train_trials == 5
    one = batch_bytes([runs[0].config])
    assert [len(b) for b in device_batches(runs, int(2.5 * one / 0.9), None)] == [2, 2]
    user = plan(["task1-rmhl"], [0, 1], tmp_path, overrides=TINY + ["task.effector='plant_cases:POINT_MASS'",
                                                                  "schedule.test_feedback='autonomous'"])
    mixed = device_batches(runs + user, None, None)
    assert sorted(len(b) for b in mixed) == [2, 4]
    assert {r.config.task.effector for r in mixed[0]} != {r.config.task.effector for r in mixed[1]}


def test_a_device_sweep_refuses_in_one_line_before_anything_runs(tmp_path, capsys):
    from reservoir_motor.cli import main

    for extra, why in ((["--workers", "2"], "--workers is not allowed with --device cuda"),
                       (["--lockstep"], "--lockstep is not allowed with --device cuda"),
                       (["--batch-size", "4", "--device", "cpu"], "--batch-size is not allowed without --device cuda")):
        assert main(["sweep", "task1-force", "--out", str(tmp_path / "y"), "--device", "cuda", *extra]) == 2
        assert capsys.readouterr().err.startswith(f"reservoir-motor: error: {why}")
    assert not (tmp_path / "y").exists()
    with pytest.raises(ConfigError, match="--batch-size 0 is not allowed: must be an integer >= 1"):
        run_sweep(["task1-force"], "0:1", tmp_path / "z", overrides=TINY, device="cuda", batch_size=0)


def test_a_device_sweep_on_dask_sends_batches_to_the_workers(tmp_path, dask_cluster):
    address, _ = dask_cluster
    local, remote = tmp_path / "local", tmp_path / "dask"
    run_sweep(["task1-rmhl"], "0:2", local, overrides=TINY, device="cuda", progress=False)
    statuses = run_sweep(["task1-rmhl"], "0:2", remote, overrides=TINY, device="cuda", batch_size=1,
                         scheduler=address, progress=False)
    assert [s["status"] for s in statuses] == ["done"] * 2 and {s["group_size"] for s in statuses} == {1}
    a, b = traces(local), traces(remote)
    assert sorted(a) == sorted(b)
    for name in a:
        assert np.array_equal(a[name][0], b[name][0])


def test_a_table_names_the_gpu_that_made_its_runs(tmp_path):
    from reservoir_motor.paper.results import provenance_line

    run_sweep(["task1-force"], "0:1", tmp_path, overrides=TINY, device="cuda", progress=False)
    line = provenance_line("reservoir-motor results --device cuda", sorted(tmp_path.glob("*.h5")))
    driver = DEVICE["cuda_driver"] or "-"
    assert f"; machine GPU {DEVICE['device']} (CUDA driver {driver}, numba-cuda {DEVICE['numba_cuda_version']})" in line
    assert line.startswith("Made by `reservoir-motor results --device cuda`; 1 runs;")


def test_outcomes_run_on_the_device_and_read_like_the_cpus(tmp_path, capsys):
    """``outcomes --run --device cuda``: the study's runs made on the GPU, evaluated and reported from their files."""
    import json

    from reservoir_motor.cli import main
    from reservoir_motor.studies.report import collect

    sets = [item for s in TINY for item in ("--set", s)]
    assert main(["outcomes", str(tmp_path), "--only", "L3", "--run", "--device", "cuda", "--seeds", "0:2",
                 "--json", *sets]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == ["L3", "L3"] and all(r["n"] == 2 and r["verdict"] != "not run" for r in rows)
    files = sorted(tmp_path.glob("*.h5"))
    assert len(files) == 4 and all(load_result(f).provenance["device"] == DEVICE["device"] for f in files)
    assert {row["condition"] for row in collect(tmp_path)} == {"task1-supertrex", "l3-lesion-before-training"}


@pytest.mark.parametrize("name", ["fig2_task1", "lesion_l1", "neural_dynamics", "state_stability"])
def test_every_kind_of_figure_sends_its_runs_to_the_device(name, monkeypatch, tmp_path):
    """``figure NAME --device cuda``: the figure's sweep gets the device (the figures' quick runs are too long for
    the simulator; the sweep's device path is tested above)."""
    from reservoir_motor.paper import catalogue, figures, state

    class Sent(Exception):
        pass

    def sweep(*args, **kwargs):
        raise Sent(kwargs.get("device"))

    monkeypatch.setattr(figures, "run_sweep", sweep)
    monkeypatch.setattr(state, "run_sweep", sweep)
    assert name in catalogue.ALL_FIGURES
    with pytest.raises(Sent, match="^cuda$"):
        catalogue.draw(name, quick=True, seeds="0:1", out_dir=tmp_path, device="cuda")
