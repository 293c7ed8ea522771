"""Every condition figure in --quick mode: runs simulated through the sweep, drawn from stored files."""

import json

import pytest
from conftest import ROOT

from reservoir_motor.paper.figures import CONDITION_FIGURES, PAPER_FIGURES, make_condition_figure


@pytest.mark.parametrize("name", sorted(CONDITION_FIGURES))
def test_figure_quick_mode_writes_png_pdf_and_provenance(name, tmp_path):
    experiments, title = CONDITION_FIGURES[name]
    png = make_condition_figure(name, experiments, title=title, quick=True, out_dir=tmp_path / "out",
                                results_dir=tmp_path / "results", workers=2)
    assert png.read_bytes()[:4] == b"\x89PNG" and png.with_suffix(".pdf").read_bytes()[:4] == b"%PDF"
    record = json.loads(png.with_suffix(".provenance.json").read_text())
    assert set(record["conditions"]) == set(experiments) and record["seeds"] == [0, 1]
    assert "git_commit" in record["provenance"]
    assert set(record["run_commits"]) == set(experiments) and all(record["run_commits"].values())
    # a second call draws from the stored results without simulating again
    stored = sorted(p.stat().st_mtime_ns for p in (tmp_path / "results").rglob("*.h5"))
    make_condition_figure(name, experiments, title=title, quick=True, out_dir=tmp_path / "out",
                          results_dir=tmp_path / "results", workers=2)
    assert sorted(p.stat().st_mtime_ns for p in (tmp_path / "results").rglob("*.h5")) == stored


def test_figure_cli_rejects_unknown_names():
    from reservoir_motor.cli import main

    assert main(["figure", "fig99"]) == 2


@pytest.mark.parametrize("name", sorted(PAPER_FIGURES))
def test_paper_figure_quick_mode_draws_one_row_per_condition(name, tmp_path):
    from reservoir_motor.paper.figures import make_paper_figure

    png = make_paper_figure(name, quick=True, out_dir=tmp_path / "out", results_dir=tmp_path / "results",
                            workers=2)
    assert png.read_bytes()[:4] == b"\x89PNG" and png.with_suffix(".pdf").read_bytes()[:4] == b"%PDF"
    record = json.loads(png.with_suffix(".provenance.json").read_text())
    assert len(record["conditions"]) == len(PAPER_FIGURES[name][0])


def test_every_figure_has_its_script_in_figures():

    from reservoir_motor.paper.catalogue import ALL_FIGURES

    scripts = {p.stem for p in (ROOT / "figures").glob("*.py")}
    assert scripts == set(ALL_FIGURES)


def test_neural_dynamics_quick_mode_draws_from_recorded_runs(tmp_path):
    from reservoir_motor.paper.neural import neural_dynamics_figure

    png = neural_dynamics_figure(quick=True, out_dir=tmp_path / "out", results_dir=tmp_path / "results", workers=2)
    assert png.read_bytes()[:4] == b"\x89PNG" and png.with_suffix(".pdf").read_bytes()[:4] == b"%PDF"
    record = json.loads(png.with_suffix(".provenance.json").read_text())
    assert set(record["conditions"]) == {"task1-force", "task1-rmhl", "task1-supertrex", "l2-lesion-after-5"}
    assert all(c["recording"]["n_units"] == 50 for c in record["conditions"].values())
    import csv

    rows = list(csv.DictReader(png.with_suffix(".csv").open()))
    assert [(r["experiment"], r["seed"]) for r in rows] == [(e, str(s)) for e in record["conditions"] for s in (0, 1)]
    deviations = {(r["experiment"], int(r["seed"])): float(r["deviation"]) for r in rows}
    assert all(deviations[(e, i)] == d for e, ds in record["deviations"].items() for i, d in enumerate(ds))
    assert "| SUPERTREX | 2 |" in png.with_suffix(".md").read_text()


def test_state_stability_quick_mode_draws_every_condition_from_its_runs(tmp_path):
    import csv

    from reservoir_motor.paper.state import KINDS, QUICK_AMPLITUDES, TASKS, state_stability_figure

    png = state_stability_figure(quick=True, out_dir=tmp_path / "out", results_dir=tmp_path / "results", workers=2,
                                 tasks=["Task 1"])
    assert png.read_bytes()[:4] == b"\x89PNG" and png.with_suffix(".pdf").read_bytes()[:4] == b"%PDF"
    record = json.loads(png.with_suffix(".provenance.json").read_text())
    rows = list(csv.DictReader(png.with_suffix(".csv").open()))
    references = TASKS["Task 1"][1]
    assert len(rows) == 2 * (len(KINDS) * len(QUICK_AMPLITUDES) + len(references))
    for row in rows:  # each row's numbers are its stored run's, and a state row is a run with that input
        config = record["conditions"][row["condition"]]
        assert float(row["deviation"]) == record["deviations"][row["condition"]][int(row["seed"])]
        if row["state_signal"]:
            assert config["network"]["state_input"] and config["network"]["state_signal"] == row["state_signal"]
            assert config["network"]["state_amplitude"] == float(row["state_amplitude"])
            assert config["schedule"]["test_feedback"] == "autonomous"
        else:
            assert not config["network"]["state_input"] and references[row["reference"]] == row["condition"]
        assert row["divergence_rate_per_s"] != "" and float(row["dimensionality"]) > 1
    table = png.with_suffix(".md").read_text()
    assert all(f"state input {k}, amplitude {a:g} | 2 |" in table for k in KINDS for a in QUICK_AMPLITUDES)
    assert all(f"| Task 1 | {label} | 2 |" in table for label in references)
    # measured again in one process from the same stored runs: the same table, to the byte
    serial = state_stability_figure(quick=True, out_dir=tmp_path / "serial", results_dir=tmp_path / "results",
                                    workers=1, tasks=["Task 1"])
    assert serial.with_suffix(".csv").read_bytes() == png.with_suffix(".csv").read_bytes()
