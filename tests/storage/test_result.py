import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import SMALL, small

from reservoir_motor import ConfigError, ExperimentConfig, experiment_names, load_experiment, load_result, simulate
from reservoir_motor.storage.result import SCHEMA_VERSION, config_digest


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
    for key in ("package_version", "git_commit", "numpy_version", "numba_version", "cpu", "cpu_model"):
        assert back.provenance[key] == result.provenance[key]
    assert back.provenance["cpu"] and back.provenance["cpu"] != "generic"


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


#: Keys added after results were first named by their digest (recording of units, checkpoints, the state
#: signal, the plant's parameters); at their defaults they must not enter it.
ADDED_KEYS = {"recording": ("n_units", "units_every", "units_window", "record_states", "checkpoints"),
              "network": ("state_signal", "state_amplitude", "state_harmonics"), "task": ("plant", "effort_cost"),
              "rule": ("exploration_filter", "eligibility_filter", "hebbian_term", "phase_baseline",
                       "trial_ms")}


def _digest_without_target_files(config):
    """The digest by the formula used before file contents entered it: the sorted JSON of the config,
    name, description and the later keys at their defaults left out."""
    data = config.to_dict()
    del data["name"], data["description"]
    defaults = ExperimentConfig().to_dict()
    for sec, keys in ADDED_KEYS.items():
        for key in keys:
            if data[sec][key] == defaults[sec][key]:  # a later key set away from its default is in the digest
                del data[sec][key]
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


@pytest.mark.parametrize("name", experiment_names())
def test_digest_of_a_built_in_curve_config_is_the_one_existing_results_are_keyed_by(name):
    for preset in ("faithful", "robust"):
        try:
            config = load_experiment(name, [f"preset={preset}"])
        except ConfigError as error:  # an experiment that sets a field the preset owns refuses the preset
            assert preset == "robust" and "is not allowed with preset = 'robust'" in str(error)
            continue
        assert config_digest(config) == _digest_without_target_files(config)


def test_digests_are_those_of_the_stored_results():
    # computed by the code of commit 89820f5, whose results/ directories carry these names
    known = {("task1-supertrex", "faithful"): "84f1eb312e71", ("task1-supertrex", "robust"): "c0aaae823851",
             ("task2-n5-supertrex", "robust"): "b3072f720a0f", ("l2-lesion-after-5", "faithful"): "aa89788814eb"}
    for (name, preset), digest in known.items():
        assert config_digest(load_experiment(name, [f"preset={preset}"])) == digest


def test_recording_units_is_a_new_condition():
    base = load_experiment("task1-supertrex")
    assert config_digest(load_experiment("task1-supertrex", ["recording.n_units=10"])) != config_digest(base)


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
    from reservoir_motor.studies.sweep import plan

    _square(curve, 0.5)
    old = plan(["task1-force"], [0], tmp_path, overrides=SMALL + sets)[0].path
    _square(curve, 0.4)
    assert plan(["task1-force"], [0], tmp_path, overrides=SMALL + sets)[0].path != old


def test_result_file_records_the_hash_of_its_target_file(tmp_path):
    curve = _square(tmp_path / "curve.csv", 0.5)
    res = simulate(small("task1-force", f"task.target='{curve}'"), 0)
    back = load_result(res.save(tmp_path / "run.h5"))
    assert back.provenance["target_files"] == {str(curve): hashlib.sha256(curve.read_bytes()).hexdigest()}


def test_provenance_version_is_the_installed_package_metadata():
    from importlib.metadata import version

    import reservoir_motor
    from reservoir_motor.storage.provenance import provenance

    assert reservoir_motor.__version__ == version("reservoir-motor")
    assert provenance()["package_version"] == version("reservoir-motor")


@pytest.mark.parametrize("version,commit", [
    ("0.1.dev12+g1a2b3c4", "1a2b3c4"),
    ("0.2.1.dev3+g89820f5.d20250101", "89820f5-dirty"),  # built from a checkout with uncommitted changes
    ("0.1.1.dev94+unknown.g316ee763c.d20261202", "316ee763c-dirty"),  # a fallback's local label kept
    ("0.2.0", None), ("0.2.0+d20250101", None),  # a tagged release: setuptools-scm writes no hash
])
def test_commit_is_read_from_a_setuptools_scm_version(version, commit):
    from reservoir_motor.storage.provenance import commit_of_version

    assert commit_of_version(version) == commit


def _git(where, *args):
    return subprocess.run(["git", "-C", str(where), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def test_provenance_commit_is_not_that_of_a_repository_an_installed_copy_sits_in(tmp_path):
    """A copy installed under another project's checkout (a venv inside a repository) must not record that
    project's HEAD: the commit then comes from the installed version string."""
    from importlib.metadata import version

    import reservoir_motor
    from reservoir_motor.storage.provenance import commit_of_version

    project = tmp_path / "project"
    site = project / ".venv" / "site-packages"
    shutil.copytree(Path(reservoir_motor.__file__).parent, site / "reservoir_motor",
                    ignore=shutil.ignore_patterns("__pycache__"))
    _git(tmp_path, "init", "-q", str(project))
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "another project")
    code = "import json; from reservoir_motor.storage.provenance import provenance; print(json.dumps(provenance()))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(site)}, check=True)
    commit = json.loads(proc.stdout)["git_commit"]
    assert _git(project, "rev-parse", "HEAD") not in commit
    from_version = commit_of_version(version("reservoir-motor"))
    assert commit == from_version if from_version else commit.startswith("unknown")


def test_provenance_commit_of_a_checkout_is_its_head():
    import reservoir_motor
    from reservoir_motor.storage.provenance import provenance

    root = Path(reservoir_motor.__file__).resolve().parents[1]
    if not (root / ".git").exists():
        pytest.skip("the package is not imported from a git checkout")
    assert provenance()["git_commit"].removesuffix("-dirty") == _git(root, "rev-parse", "HEAD")
