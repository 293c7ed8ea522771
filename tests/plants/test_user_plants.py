"""A user's own plant (``reservoir_motor/plants/user.py``), written in a module outside the package.

The modules are written into a temporary directory put on ``sys.path`` (and on ``PYTHONPATH`` for the
command-line runs), as a user's would be: the compiled loop against the reference with the plant's state,
an exact continuation from a checkpoint, every refusal in one line, and ``run``, ``sweep --workers 2`` and
``plot`` end to end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest
from conftest import ROOT, SMALL, TESTS
from helpers import assert_same
from kernel_cases import REFERENCE_SIZE
from reference import run_reference

from reservoir_motor import ConfigError, load_experiment, load_result, simulate

MODULE = "user_plants_under_test"



@pytest.fixture(scope="module")
def plant_dir(tmp_path_factory):
    where = tmp_path_factory.mktemp("user_plants")
    shutil.copy(TESTS / "plant_cases.py", where / f"{MODULE}.py")
    (where / "broken_user_plant.py").write_text("raise RuntimeError('boom at import')\n")
    sys.path.insert(0, str(where))
    yield where
    sys.path.remove(str(where))


def config_with(plant, *overrides, size=SMALL):
    return load_experiment("task1-supertrex", list(size) + [f"task.effector='{MODULE}:{plant}'",
                                                            "schedule.test_feedback='autonomous'", *overrides])


def test_plant_user_plant_matches_the_reference_step_by_step_with_its_state(plant_dir):
    config = config_with("POINT_MASS", "task.plant.mass=0.02", size=REFERENCE_SIZE)
    res, ref = simulate(config, 3), run_reference(config, 3)
    assert res.metrics["diverged_step"] == ref["diverged_step"] == -1
    for key, ref_key in (("z", "z"), ("hand", "hand"), ("error", "error"), ("plant_state", "plant_state")):
        assert_same(key, res.traces[key], ref[ref_key])
    assert res.traces["plant_state"].shape == (config.n_steps, 4)
    assert np.array_equal(res.traces["plant_state"][:, :2], res.traces["hand"])
    assert np.any(res.traces["plant_state"][:, 2:] != 0.0)  # the mass moved
    assert res.traces["plant_state"][0, 0] != 0.0 and abs(res.traces["plant_state"][0, 0] - 0.1) < 1e-3


def test_plant_parameters_change_the_run_and_are_part_of_the_config(plant_dir):
    light, heavy = config_with("POINT_MASS"), config_with("POINT_MASS", "task.plant={mass=0.5}")
    assert light.task.plant == {} and heavy.task.plant == {"mass": 0.5}
    a, b = simulate(light, 0), simulate(heavy, 0)
    assert not np.array_equal(a.traces["plant_state"], b.traces["plant_state"])
    assert a.default_filename() != b.default_filename()


def test_plant_continuing_from_a_checkpoint_is_exact_and_keeps_the_state(plant_dir, tmp_path):
    config = config_with("POINT_MASS", "recording.checkpoints=[2]")
    full = simulate(config, 1)
    path = full.save(tmp_path / "full.h5")
    from reservoir_motor.storage.checkpoint import load_checkpoint

    ck = load_checkpoint(path, 2)
    assert np.any(ck.state["plant_state"] != 0.0)
    continued = simulate(config, 1, start=ck)
    for key in full.traces:
        assert np.array_equal(full.traces[key], continued.traces[key]), key
    assert full.metrics["deviation"] == continued.metrics["deviation"]


@pytest.mark.parametrize("plant,overrides,words", [
    ("POINT_MASS", ["task.plant.friction=1.0"], "task.plant.friction = 1.0 is not allowed: unknown parameter"),
    ("POINT_MASS", ["task.plant.mass=0"], "task.plant = {'mass': 0} is not allowed: a trial step"),
    ("POINT_MASS", ["task.arm_lengths=[1.0]"], "task.arm_lengths"),
    ("WRONG_SIGNATURE", [], "its step must take exactly (command, state, params, dt_s, hand)"),
    ("WRONG_SIZE", [], "its initial state has 3 values for 4 state_names"),
    ("WRITES_COMMAND", [], "its step failed on a trial step"),
    ("INFINITE", [], "gave the hand [inf, 0.0]"),
    ("SILENT", [], "gave the hand [nan, nan] (not written"),
    ("RETURNS", [], "its step returned a value"),
    ("NOT_A_PLANT", [], "is a int, not a reservoir_motor.plants.Plant"),
    ("NO_SUCH_NAME", [], f"module {MODULE!r} has no 'NO_SUCH_NAME'"),
])
def test_plant_a_bad_plant_is_refused_in_one_line(plant_dir, plant, overrides, words):
    with pytest.raises(ConfigError) as info:
        config_with(plant, *overrides)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_plant_a_module_that_fails_to_import_or_a_rule_that_needs_targets_is_refused(plant_dir):
    with pytest.raises(ConfigError, match="importing 'broken_user_plant' failed: RuntimeError: boom at import"):
        load_experiment("task1-supertrex", ["task.effector='broken_user_plant:PLANT'"])
    with pytest.raises(ConfigError, match="task.effector = 'no.such:thing' is not allowed: importing 'no.such'"):
        load_experiment("task1-supertrex", ["task.effector='no.such:thing'"])
    with pytest.raises(ConfigError, match="rule.name = 'force' is not allowed"):
        load_experiment("task1-force", [f"task.effector='{MODULE}:POINT_MASS'"])
    with pytest.raises(ConfigError, match="'identity', 'arm', 'arm_dynamics', or 'package.module:name'"):
        load_experiment("task1-supertrex", ["task.effector='not a module'"])


def test_plant_a_step_numba_cannot_compile_is_refused_in_one_line_naming_the_cause(plant_dir):
    config = config_with("UNTYPABLE")  # plain Python runs it: the trial step passes
    with pytest.raises(ConfigError) as info:
        simulate(config, 0)
    message = str(info.value)
    assert "numba cannot compile its step" in message and "HALF" in message and "\n" not in message


def test_plant_built_ins_take_no_plant_parameters():
    with pytest.raises(ConfigError, match="task.plant.mass = 1.0 is not allowed: unknown parameter of "
                                          "task.effector = 'arm'; it takes none"):
        load_experiment("task2-supertrex", ["task.plant={mass=1.0}"])


def _cli(*args, cwd, plant_dir):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(plant_dir), str(ROOT), os.environ.get("PYTHONPATH", "")]),
               MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, "-m", "reservoir_motor.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_plant_outside_the_package_runs_end_to_end_through_run_sweep_and_plot(plant_dir, tmp_path):
    sets = [a for key in SMALL + [f"task.effector='{MODULE}:POINT_MASS'", "schedule.test_feedback='autonomous'"]
            for a in ("--set", key)]
    run = json.loads(_cli("run", "task1-supertrex", *sets, "--out", str(tmp_path / "run"), "--json", "--quiet",
                          cwd=tmp_path, plant_dir=plant_dir).stdout)
    _cli("sweep", "task1-supertrex", *sets, "--seeds", "0:2", "--workers", "2", "--out", str(tmp_path / "sweep"),
         "--quiet", cwd=tmp_path, plant_dir=plant_dir)
    swept = sorted((tmp_path / "sweep").rglob("*.h5"))
    assert len(swept) == 2
    seed0 = next(p for p in swept if p.name.endswith("-seed0.h5"))
    with h5py.File(run["path"]) as a, h5py.File(seed0) as b:  # a worker process compiled its own loop
        for key in a["traces"]:
            assert np.array_equal(a["traces"][key][()], b["traces"][key][()]), key
    result = load_result(run["path"])
    assert result.traces["plant_state"].shape[1] == 4
    _cli("plot", run["path"], "--out", str(tmp_path / "run.png"), cwd=tmp_path, plant_dir=plant_dir)
    assert (tmp_path / "run.png").stat().st_size > 10_000
