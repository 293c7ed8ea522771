"""The API reference (docs/api, Sphinx with autodoc and numpydoc) builds with warnings as errors and covers
every public name."""

from pathlib import Path

import pytest

import reservoir_motor

sphinx_build = pytest.importorskip("sphinx.cmd.build")
pytest.importorskip("numpydoc")

API = Path(__file__).resolve().parents[1] / "docs" / "api"


def test_api_reference_builds_without_a_warning(tmp_path):
    status = sphinx_build.build_main(["-W", "--keep-going", "-q", "-b", "html", str(API), str(tmp_path)])
    assert status == 0
    page = (tmp_path / "index.html").read_text()
    for name in ("load_experiment", "simulate", "Result", "load_result", "load_runs", "load_traces",
                 "studies.sweep.run_sweep", "studies.analysis.activity_measures",
                 "studies.stability.nearby_divergence", "plants.Plant"):
        assert f'id="reservoir_motor.{name}"' in page, name


def test_api_reference_lists_every_name_of_the_package():
    index = (API / "index.rst").read_text()
    missing = [name for name in reservoir_motor.__all__
               if name != "__version__" and f"reservoir_motor.{name}" not in index]
    assert not missing, f"docs/api/index.rst does not document {missing}"
