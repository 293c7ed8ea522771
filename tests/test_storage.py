import hashlib
import json

import h5py
import numpy as np
import pytest
from conftest import SMALL, small

from reservoir_motor import ConfigError, experiment_names, load_experiment, load_result, simulate
from reservoir_motor.result import SCHEMA_VERSION, config_digest


@pytest.fixture(scope="module")
def result():
    return simulate(small("task1-supertrex", "rule.transfer_threshold=1.0"), 7)


def test_storage_round_trip_keeps_everything(result, tmp_path):
    path = result.save(tmp_path)
    assert path.parent == tmp_path and path.name == result.default_filename()
    back = load_result(path)
    assert back.config == result.config and back.seed == 7
    assert back.metrics == result.metrics
    for group in ("traces", "weights"):
        mine, theirs = getattr(result, group), getattr(back, group)
        assert mine.keys() == theirs.keys()
        for key in mine:
            np.testing.assert_array_equal(mine[key], theirs[key])
    for key in ("package_version", "git_commit", "numpy_version", "numba_version"):
        assert back.provenance[key] == result.provenance[key]


def test_storage_file_carries_provenance_and_config(result, tmp_path):
    path = result.save(tmp_path / "run.h5")
    with h5py.File(path) as f:
        assert f.attrs["schema_version"] == SCHEMA_VERSION and f.attrs["complete"]
        assert "[network]" in f.attrs["config_toml"] and f.attrs["seed"] == 7
        assert f["traces/z"].shape[1] == 2


def test_storage_leaves_no_partial_file_when_writing_fails(result, tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(h5py.Group, "create_dataset", boom)
    with pytest.raises(RuntimeError):
        result.save(tmp_path / "run.h5")
    assert list(tmp_path.iterdir()) == []


def test_storage_refuses_incomplete_file(result, tmp_path):
    path = result.save(tmp_path / "run.h5")
    with h5py.File(path, "r+") as f:
        f.attrs["complete"] = False
    with pytest.raises(ConfigError, match="not a complete"):
        load_result(path)


def test_storage_diverged_run_round_trips_with_none_deviation(tmp_path):
    res = simulate(small("task1-rmhl", "rule.learning_rate=50.0", "recording.divergence_bound=5.0"), 0)
    back = load_result(res.save(tmp_path))
    assert back.metrics["diverged"] and back.metrics["deviation"] is None
    assert back.metrics["diverged_step"] == res.metrics["diverged_step"]


def _digest_without_target_files(config):
    """The digest by the formula used before file contents entered it: the sorted JSON of the config,
    name and description left out."""
    data = config.to_dict()
    del data["name"], data["description"]
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


@pytest.mark.parametrize("name", experiment_names())
def test_digest_of_a_built_in_curve_config_is_the_one_existing_results_are_keyed_by(name):
    for preset in ("faithful", "robust"):
        config = load_experiment(name, [f"preset={preset}"])
        assert config_digest(config) == _digest_without_target_files(config)


def _square(path, size):
    np.savetxt(path, size * np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]]), delimiter=",")
    return path


@pytest.mark.parametrize("where", ["task", "switch_target"])
def test_digest_follows_the_content_of_a_target_file_not_its_path(tmp_path, where):
    curve = _square(tmp_path / "curve.csv", 0.5)
    sets = ([f"task.target='{curve}'"] if where == "task" else
            [f"manipulations=[{{kind='switch_target', start=2, target='{curve}'}}]"])
    before = config_digest(small("task1-force", *sets))
    assert config_digest(small("task1-force", *sets)) == before  # same content, same digest
    _square(curve, 0.4)
    assert config_digest(small("task1-force", *sets)) != before
    # so a sweep plans a new file for the new curve instead of skipping the old curve's result
    from reservoir_motor.sweep import plan

    _square(curve, 0.5)
    old = plan(["task1-force"], [0], tmp_path, overrides=SMALL + sets)[0].path
    _square(curve, 0.4)
    assert plan(["task1-force"], [0], tmp_path, overrides=SMALL + sets)[0].path != old


def test_result_file_records_the_hash_of_its_target_file(tmp_path):
    curve = _square(tmp_path / "curve.csv", 0.5)
    res = simulate(small("task1-force", f"task.target='{curve}'"), 0)
    back = load_result(res.save(tmp_path / "run.h5"))
    assert back.provenance["target_files"] == {str(curve): hashlib.sha256(curve.read_bytes()).hexdigest()}
