"""A directory of results as a pandas table (``load_runs``) and as lazily read xarray traces (``load_traces``):
every number is the file's own (``==`` against ``load_result``), grid values are typed columns and
coordinates, and what cannot be stacked is refused in one line."""

import json

import numpy as np
import pytest
from conftest import SMALL

pd = pytest.importorskip("pandas")
xr = pytest.importorskip("xarray")

from reservoir_motor import ConfigError, cli, load_result  # noqa: E402
from reservoir_motor.studies.gather import grid_values, load_runs, load_traces  # noqa: E402
from reservoir_motor.studies.sweep import run_sweep  # noqa: E402

SEEDS = [0, 1]
GRID = [("rule.kappa", ["0.3", "0.7"]), ("schedule.test_feedback", ["'replay'", "'target'"])]


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    """A grid of 4 conditions x 2 seeds, one run that diverges and one failure record."""
    out = tmp_path_factory.mktemp("sweep")
    run_sweep(["task1-supertrex"], SEEDS, out, grid=GRID, overrides=SMALL, workers=1, progress=False)
    run_sweep(["task1-force"], [0], out, overrides=SMALL + ["recording.divergence_bound=0.05"], workers=1,
              progress=False)
    (out / "task1-rmhl-0123456789ab-seed3.failed.json").write_text(json.dumps(
        {"experiment": "task1-rmhl", "seed": 3, "error": "ValueError: the plant broke"}))
    return out


def test_grid_values_are_read_as_the_toml_they_were_written_in():
    assert grid_values("task1-supertrex[rule.kappa=0.3,task.arm_lengths=[1.8,1.2],network.state_signal='hand']") == (
        "task1-supertrex", {"rule.kappa": 0.3, "task.arm_lengths": [1.8, 1.2], "network.state_signal": "hand"})
    assert grid_values("task1-supertrex") == ("task1-supertrex", {})


def test_load_runs_has_one_row_per_run_with_the_files_numbers_and_typed_grid_columns(sweep_dir):
    table = load_runs(sweep_dir)
    assert len(table) == 4 * len(SEEDS) + 1 + 1
    ok = table[table.status == "ok"]
    assert len(ok) == 4 * len(SEEDS) and set(ok.experiment) == {"task1-supertrex"}
    assert table["rule.kappa"].dtype == np.float64 and set(ok["rule.kappa"]) == {0.3, 0.7}
    assert set(ok["schedule.test_feedback"]) == {"replay", "target"}
    assert table["seed"].dtype == np.int64 and table["diverged_step"].dtype == "Int64"
    for _, row in ok.iterrows():
        result = load_result(row.path)
        assert result.config.name == row.condition and result.seed == row.seed
        assert result.config.rule.kappa == row["rule.kappa"]  # the grid column is the run's config value
        assert result.config.schedule.test_feedback == row["schedule.test_feedback"]
        for key in ("deviation", "deviation_median", "deviation_std", "satisfactory", "wall_s", "n_steps"):
            assert row[key] == result.metrics[key], key
        periods = [row[f"distance_period_{k}"] for k in range(result.config.n_periods)]
        assert periods == list(result.traces["period_distance"])
        assert row.commit == result.provenance["git_commit"] and pd.isna(row.diverged_step)
    diverged = table[table.status == "diverged"].iloc[0]
    assert diverged.experiment == "task1-force" and diverged.diverged_step >= 0 and pd.isna(diverged.deviation)
    assert pd.isna(diverged["rule.kappa"])  # a condition without that grid key
    failed = table[table.status == "failed"].iloc[0]
    assert (failed.condition, failed.seed, failed.error) == ("task1-rmhl", 3, "ValueError: the plant broke")
    assert list(table.columns[:3]) == ["experiment", "condition", "rule.kappa"]


def test_load_traces_stacks_a_trace_over_conditions_and_seeds_lazily_and_exactly(sweep_dir):
    conditions = sorted({load_result(p).config.name for p in sweep_dir.glob("task1-supertrex*.h5")})
    hand = load_traces(sweep_dir, "hand", conditions=conditions)
    assert hand.dims == ("condition", "seed", "time_ms", "component") and hand.chunks is not None  # dask: lazy
    assert list(hand.condition.values) == conditions and list(hand.seed.values) == SEEDS
    assert sorted(set(hand["rule.kappa"].values)) == [0.3, 0.7]
    for path in sweep_dir.glob("task1-supertrex*.h5"):
        result = load_result(path)
        got = hand.sel(condition=result.config.name, seed=result.seed).values
        assert np.array_equal(got, result.traces["hand"])
        assert np.array_equal(hand.time_ms.values, result.traces["time_ms"])
    median = load_traces(sweep_dir, "distance", conditions=conditions).median("seed")
    assert median.dims == ("condition", "time_ms") and np.all(np.isfinite(median.values))


def test_load_traces_pads_a_diverged_run_and_a_missing_seed_with_nan(sweep_dir):
    both = [load_result(p).config.name for p in sorted(sweep_dir.glob("*.h5"))]
    diverged = next(n for n in both if n == "task1-force")
    other = next(n for n in both if n != "task1-force")
    distance = load_traces(sweep_dir, "distance", conditions=[other, diverged]).values
    force = load_result(next(sweep_dir.glob("task1-force*.h5")))
    n = force.traces["distance"].size
    assert np.array_equal(distance[1, 0, :n], force.traces["distance"]) and np.all(np.isnan(distance[1, 0, n:]))
    assert np.all(np.isnan(distance[1, 1]))  # task1-force has no seed 1


def test_load_traces_refuses_what_it_cannot_stack_in_one_line(sweep_dir, tmp_path):
    with pytest.raises(ConfigError, match="has no traces/speed: traces are .*distance"):
        load_traces(sweep_dir, "speed")
    with pytest.raises(ConfigError, match="condition 'nope' has no runs"):
        load_traces(sweep_dir, "distance", conditions=["nope"])
    run_sweep(["task1-rmhl"], [0], tmp_path, overrides=SMALL, workers=1, progress=False)
    run_sweep(["task1-force"], [0], tmp_path, overrides=SMALL + ["recording.record_every=7"], workers=1,
              progress=False)
    with pytest.raises(ConfigError, match="samples distance at other times"):
        load_traces(tmp_path, "distance")
    with pytest.raises(ConfigError, match="is not a directory of results"):
        load_runs(tmp_path / "missing")


def test_load_traces_stacks_the_recorded_units_with_their_indices(tmp_path):
    units = ["recording.n_units=6", "recording.units_every=4", "recording.units_window='test'"]
    run_sweep(["task1-rmhl"], SEEDS, tmp_path, overrides=SMALL + units + ["recording.n_units=[3, 8, 20]"],
              workers=1, progress=False)
    rates = load_traces(tmp_path, "rates")
    assert rates.dims == ("condition", "seed", "time_ms", "unit") and list(rates.unit.values) == [3, 8, 20]
    for path in tmp_path.glob("*.h5"):
        result = load_result(path)
        got = rates.sel(seed=result.seed).isel(condition=0).values
        assert np.array_equal(got, np.asarray(result.activity.rates, dtype=np.float64))
        assert np.array_equal(rates.time_ms.values, result.activity.time_ms)


def test_report_per_run_writes_the_same_table_as_load_runs(sweep_dir, tmp_path, capsys):
    assert cli.main(["report", str(sweep_dir), "--per-run", "--csv", str(tmp_path / "runs.csv")]) == 0
    assert "task1-supertrex[rule.kappa=0.3,schedule.test_feedback='replay']" in capsys.readouterr().out
    written = pd.read_csv(tmp_path / "runs.csv")
    expected = load_runs(sweep_dir)
    assert list(written.columns) == list(expected.columns) and len(written) == len(expected)
    assert written["deviation"].equals(expected["deviation"]) and list(written.path) == list(expected.path)
    assert cli.main(["report", str(sweep_dir), "--per-run", "--paired", "a=b"]) == 2
    assert "--per-run is not allowed with --paired" in capsys.readouterr().err
