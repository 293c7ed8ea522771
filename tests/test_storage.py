import h5py
import numpy as np
import pytest
from conftest import small

from reservoir_motor import ConfigError, load_result, simulate
from reservoir_motor.result import SCHEMA_VERSION


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
