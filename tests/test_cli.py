import json
import subprocess
import sys

import pytest
from conftest import SMALL

from reservoir_motor import ConfigError, load_result
from reservoir_motor.cli import main

SETS = [arg for key in SMALL for arg in ("--set", key)]


def run_cli(*args):
    """The real console entry point, in a subprocess."""
    return subprocess.run([sys.executable, "-m", "reservoir_motor.cli", *args], capture_output=True, text=True)


def test_cli_run_json_prints_one_line_and_writes_the_file(tmp_path):
    proc = run_cli("run", "task1-supertrex", "--seed", "3", *SETS, "--out", str(tmp_path), "--json")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    summary = json.loads(lines[0])
    assert set(summary) == {"experiment", "seed", "deviation", "satisfactory", "diverged", "n_steps", "wall_s",
                            "path"}
    assert summary["experiment"] == "task1-supertrex" and summary["seed"] == 3
    back = load_result(summary["path"])
    assert back.metrics["deviation"] == summary["deviation"]
    assert "100.0%" in proc.stderr  # the progress bar reached the end


def test_cli_run_quiet_prints_nothing(tmp_path):
    proc = run_cli("run", "task1-force", *SETS, "--out", str(tmp_path), "--quiet")
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == ""
    assert len(list(tmp_path.glob("*.h5"))) == 1


@pytest.mark.parametrize("args,words", [
    (["run", "nosuch"], ["unknown experiment", "task1-supertrex"]),
    (["run", "task1-force", "--set", "network.n_neurons=-5"], ["network.n_neurons", "-5", ">= 1"]),
    (["run", "task1-force", "--set", "network.dt_ms=20"], ["network.dt_ms", "20", "tau_ms"]),
    (["run", "task1-force", "--set", "network.n_neurons=many"], ["network.n_neurons", "'many'", "integer"]),
    (["run", "task1-force", "--set", "network.size=5"], ["unknown key network.size", "n_neurons"]),
    (["run", "task1-force", "--seed", "x"], ["--seed", "integer"]),
    (["run", "/no/such/file.toml"], ["does not exist"]),
    (["plot", "/no/such/result.h5"], ["does not exist"]),
    (["run", "task1-force", "--set", "network.n_neurons=1000000000"],  # P alone would be 8e18 bytes
     ["network.n_neurons = 1000000000", "would need about", "PiB of memory", "are available"]),
])
def test_cli_bad_input_is_one_clear_line_and_writes_nothing(tmp_path, args, words):
    proc = run_cli(*args, "--out", str(tmp_path)) if args[0] == "run" else run_cli(*args)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_cli_list_names_every_bundled_experiment(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("task1-force", "task1-rmhl", "task1-supertrex"):
        assert name in out


def test_cli_show_prints_every_key_with_overrides(capsys):
    assert main(["show", "task1-rmhl", "--set", "network.n_neurons=321"]) == 0
    out = capsys.readouterr().out
    assert "n_neurons = 321" in out and "[recording]" in out and "transfer_threshold" in out


def test_cli_show_output_extended_by_a_manipulations_table_is_an_experiment(tmp_path):
    """The natural way to branch an experiment: show it, append a [[manipulations]] table, run the file."""
    shown = run_cli("show", "task1-supertrex", *SETS)
    assert shown.returncode == 0, shown.stderr
    path = tmp_path / "branch.toml"
    path.write_text(shown.stdout + '\n[[manipulations]]\nkind = "lesion_exploratory"\nstart = 3\n')
    back = run_cli("show", str(path))
    assert back.returncode == 0, back.stderr
    assert '[[manipulations]]\nkind = "lesion_exploratory"\nstart = 3' in back.stdout
    assert back.stdout.replace(back.stdout[back.stdout.index("\n[[manipulations]]"):], "") == shown.stdout


def test_cli_run_then_plot_writes_a_png(tmp_path):
    proc = run_cli("run", "task1-supertrex", *SETS, "--out", str(tmp_path), "--json", "--quiet")
    path = json.loads(proc.stdout)["path"]
    proc = run_cli("plot", path, "--out", str(tmp_path / "fig.png"))
    assert proc.returncode == 0, proc.stderr
    png = (tmp_path / "fig.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_cli_animate_writes_a_gif_of_the_arm(tmp_path):
    proc = run_cli("run", "task2-supertrex", *SETS, "--set", "task.arm_lengths=[1.8, 1.2, 0.6]",
                   "--set", "recording.record_every=1",
                   "--out", str(tmp_path), "--json", "--quiet")
    assert proc.returncode == 0, proc.stderr
    path = json.loads(proc.stdout)["path"]
    proc = run_cli("animate", path, "--out", str(tmp_path / "arm.gif"), "--frames", "12")
    assert proc.returncode == 0, proc.stderr
    from PIL import Image

    with Image.open(tmp_path / "arm.gif") as im:
        assert im.n_frames == 12


def test_describe_gives_the_first_line_or_nothing_for_a_file_without_description(tmp_path):
    from reservoir_motor.experiments import describe

    bare = tmp_path / "bare.toml"
    bare.write_text("[network]\nn_neurons = 50\n")
    assert describe(str(bare)) == ""
    bare.write_text('description = """\n  first line\nsecond line"""\n')
    assert describe(str(bare)) == "first line"


def _not_a_result(tmp_path, kind):
    """A file that is no reservoir-motor result: plain text, an HDF5 file of someone else, or none at all."""
    import h5py

    path = tmp_path / "data" / "other.h5"
    path.parent.mkdir()
    if kind == "text":
        path.write_text("deviation = 0.1\n")
    elif kind == "foreign-hdf5":
        with h5py.File(path, "w") as f:
            f.attrs["creator"] = "another program"
            f.create_dataset("x", data=[1.0, 2.0])
    return path


@pytest.mark.parametrize("kind", ["text", "foreign-hdf5", "missing"])
@pytest.mark.parametrize("command", ["plot", "animate", "report", "report-paired"])
def test_cli_a_file_that_is_not_a_result_is_named_in_one_line(tmp_path, capsys, command, kind):
    path = _not_a_result(tmp_path, kind)
    if command.startswith("report"):
        argv = ["report", str(path.parent)] + (["--paired", "a=b"] if command == "report-paired" else [])
        if kind == "missing":  # an empty directory: there is no file to name, the directory is named
            assert main(argv) != 0
            assert capsys.readouterr().err.strip().endswith(f"{str(path.parent)!r} holds no result files")
            return
    else:
        argv = [command, str(path), "--out", str(tmp_path / "fig.png" if command == "plot" else tmp_path / "a.gif")]
    assert main(argv) != 0
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1, err
    expected = "does not exist" if kind == "missing" else "is not a reservoir-motor result"
    assert str(path) in err and expected in err, err
    assert "signature" not in err and "Unable to" not in err  # not h5py's own words
    assert not (tmp_path / "fig.png").exists() and not (tmp_path / "a.gif").exists()


@pytest.mark.parametrize("kind", ["text", "foreign-hdf5", "missing"])
def test_load_result_names_a_file_that_is_not_a_result(tmp_path, kind):
    path = _not_a_result(tmp_path, kind)
    with pytest.raises(ConfigError, match="does not exist" if kind == "missing" else "not a reservoir-motor result"):
        load_result(path)
