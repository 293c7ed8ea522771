"""Experiment files that inherit: ``extends = "NAME"`` or ``extends = "PATH.toml"``."""

import tomllib
from pathlib import Path

import pytest

from reservoir_motor import ConfigError, load_experiment
from reservoir_motor.cli import main
from reservoir_motor.tomlio import loads_toml

TASKS = Path(__file__).resolve().parent.parent / "tasks"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def without(data: dict, section: str, key: str) -> dict:
    return {**data, section: {k: v for k, v in data[section].items() if k != key}}


def test_extends_child_keys_override_and_the_rest_is_the_parents(tmp_path):
    child = load_experiment(str(write(tmp_path, "faster.toml", 'extends = "task1-supertrex"\n[rule]\nkappa = 0.3\n')))
    parent = load_experiment("task1-supertrex")
    assert child.rule.kappa == 0.3 != parent.rule.kappa
    mine, theirs = child.to_dict(), parent.to_dict()
    assert without(mine, "rule", "kappa") == {**without(theirs, "rule", "kappa"), "name": "faster", "description": ""}


def test_extends_chain_of_paths_relative_to_each_file(tmp_path):
    write(tmp_path, "base.toml", 'description = "base"\nextends = "task1-supertrex"\n[schedule]\nn_train_trials = 4\n')
    write(tmp_path, "mid.toml", 'extends = "base.toml"\n[rule]\nkappa = 0.3\n')
    leaf = write(tmp_path, "sub/leaf.toml", 'extends = "../mid.toml"\n[network]\nn_neurons = 200\n')
    cfg = load_experiment(str(leaf))
    assert (cfg.schedule.n_train_trials, cfg.rule.kappa, cfg.network.n_neurons) == (4, 0.3, 200)
    assert cfg.rule.psi_prefactor == load_experiment("task1-supertrex").rule.psi_prefactor
    assert cfg.name == "leaf" and cfg.description == ""  # neither is inherited


def test_extends_child_manipulations_replace_the_parents_and_none_inherits_them(tmp_path):
    parent = load_experiment("p1-dopamine-0.1")
    assert [m.kind for m in parent.manipulations] == ["dopamine", "exploration_gain"]
    write(tmp_path, "one.toml", 'extends = "p1-dopamine-0.1"\n[[manipulations]]\nkind = "reward_bias"\nvalue = 0.02\n')
    write(tmp_path, "same.toml", 'extends = "p1-dopamine-0.1"\n[schedule]\nn_train_trials = 20\n')
    assert [m.kind for m in load_experiment(str(tmp_path / "one.toml")).manipulations] == ["reward_bias"]
    assert load_experiment(str(tmp_path / "same.toml")).manipulations == parent.manipulations


@pytest.mark.parametrize("files,words", [
    ({"a.toml": 'extends = "b.toml"', "b.toml": 'extends = "a.toml"'}, ["a.toml -> ", "b.toml -> ", "each other"]),
    ({"a.toml": 'extends = "a.toml"'}, ["a.toml", "each other"]),
    ({"a.toml": 'extends = "task9"'}, ["a.toml", "'task9'", "bundled experiment"]),
    ({"a.toml": 'extends = "nosuch.toml"'}, ["a.toml", "'nosuch.toml'", "does not exist"]),
    ({"a.toml": "extends = 5"}, ["a.toml", "extends = 5", "bundled experiment name or a path"]),
    ({"a.toml": 'extends = "b.toml"', "b.toml": "[rule\n"}, ["b.toml", "not valid TOML"]),
])
def test_extends_refuses_cycles_unknown_parents_and_bad_values_in_one_line(tmp_path, files, words):
    for name, text in files.items():
        write(tmp_path, name, text + "\n")
    with pytest.raises(ConfigError) as err:
        load_experiment(str(tmp_path / "a.toml"))
    message = str(err.value)
    assert "\n" not in message
    for word in words:
        assert word in message


BUNDLED_CHILDREN = sorted(p for p in TASKS.glob("*.toml") if "extends" in tomllib.loads(p.read_text()))


def test_extends_is_used_by_the_bundled_files_that_repeated_task_1():
    names = {p.stem for p in BUNDLED_CHILDREN}
    assert {"l1-supertrex-lesion", "p-control-20", "state-task1-replay", "arm-n5-supertrex"} <= names


@pytest.mark.parametrize("path", BUNDLED_CHILDREN, ids=[p.stem for p in BUNDLED_CHILDREN])
def test_extends_bundled_files_say_only_what_differs_from_their_parent(path):
    raw = tomllib.loads(path.read_text())
    child, parent = load_experiment(path.stem), load_experiment(raw["extends"])
    for section, values in raw.items():
        if isinstance(values, dict):
            for key, value in values.items():
                assert value != getattr(getattr(parent, section), key), f"{section}.{key} repeats the parent"
    if "manipulations" in raw:
        assert child.manipulations != parent.manipulations
    assert child.description and child.description != parent.description


def test_extends_show_prints_the_fully_resolved_config(capsys):
    assert main(["show", "l2-lesion-after-1"]) == 0
    shown = loads_toml(capsys.readouterr().out)
    parent = load_experiment("task1-supertrex").to_dict()
    assert "extends" not in shown and shown["name"] == "l2-lesion-after-1"
    for section in ("network", "task", "rule", "schedule", "recording"):
        assert shown[section] == parent[section]
    assert [(m["kind"], m["start"]) for m in shown["manipulations"]] == [("lesion_exploratory", 1)]
