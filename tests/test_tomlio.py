"""TOML written by tomli-w reads back to the same config; result TOML of the old hand-written writer still loads."""

from pathlib import Path

import h5py
import pytest
from conftest import small

from reservoir_motor import ExperimentConfig, load_experiment, load_result, simulate
from reservoir_motor.storage.result import config_digest
from reservoir_motor.tomlio import dumps_toml, loads_toml

TASKS = sorted((Path(__file__).resolve().parent.parent / "tasks").glob("*.toml"))
# config_toml attributes as the writer before tomli-w wrote them (one with manipulations, one with an arm)
DATA = Path(__file__).resolve().parent / "data"
OLD_WRITER = [DATA / "config_toml-old-writer.toml", DATA / "config_toml-old-writer-arm.toml"]


@pytest.mark.parametrize("path", TASKS, ids=[p.stem for p in TASKS])
def test_tomlio_every_bundled_experiment_round_trips_to_an_equal_config(path):
    cfg = load_experiment(str(path))
    back = ExperimentConfig.from_dict(loads_toml(dumps_toml(cfg.to_dict())))
    assert back == cfg and config_digest(back) == config_digest(cfg)


def test_tomlio_writes_manipulations_as_arrays_of_tables_and_odd_strings_verbatim():
    cfg = load_experiment("p3-pallidotomy", ['description="quote \\" backslash \\\\ tab \\t end"'])
    text = dumps_toml(cfg.to_dict())
    assert text.count("[[manipulations]]") == len(cfg.manipulations) > 0
    assert loads_toml(text)["description"] == cfg.description == 'quote " backslash \\ tab \t end'


@pytest.mark.parametrize("path", OLD_WRITER, ids=[p.stem for p in OLD_WRITER])
def test_tomlio_old_writer_text_loads_and_rewrites_to_the_same_config(path):
    old = ExperimentConfig.from_dict(loads_toml(path.read_text()))
    assert old.network.n_neurons == 100 and old.task.duration_ms == 40.0  # the values the fixture was made with
    assert ExperimentConfig.from_dict(loads_toml(dumps_toml(old.to_dict()))) == old


def test_tomlio_result_file_with_old_writer_config_loads(tmp_path):
    text = OLD_WRITER[0].read_text()
    path = simulate(small("task1-supertrex"), 0).save(tmp_path / "run.h5")
    with h5py.File(path, "r+") as f:
        f.attrs["config_toml"] = text
    assert load_result(path).config == ExperimentConfig.from_dict(loads_toml(text))
    assert len(load_result(path).config.manipulations) == text.count("[[manipulations]]") == 5
