"""A directory of results for analysis in Python (extra ``analysis``: pandas, xarray, dask).

``load_runs(DIR)`` is a pandas DataFrame with one row per run: its condition, each grid key of the
condition's name as a typed column, the seed, the metrics and the per-period distances, the commit and
the path. It reads each file's attributes and its small ``period_distance`` dataset, never the traces.

``load_traces(DIR, NAME)`` stacks one trace of every run (``/traces/NAME``, or the recorded units'
``rates`` / ``states``) into an ``xarray.DataArray`` over (condition, seed, time, ...), backed by dask:
nothing is read until a value is asked for, and then only the files it needs.
"""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..storage.result import open_result
from .report import PROVENANCE, read_failed, read_run
from .sweep import split_top_level

#: Metrics of ``/metrics`` in the table, in this order (a file without one has a missing value).
METRICS = ("deviation", "deviation_median", "deviation_std", "satisfactory", "diverged", "diverged_step",
           "n_steps", "n_steps_planned", "n_train_steps", "train_distance_final", "wall_s")
ACTIVITY = ("rates", "states")


def _needs(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"this needs {module}: pip install 'reservoir-motor[analysis]'") from None


def grid_values(condition: str) -> tuple[str, dict]:
    """The experiment and the grid values of a condition's name, e.g. ``task1-supertrex[rule.kappa=0.3]`` ->
    ``('task1-supertrex', {'rule.kappa': 0.3})``; each value is read as the TOML it was written in."""
    if not condition.endswith("]") or "[" not in condition:
        return condition, {}
    experiment, _, inner = condition[:-1].partition("[")
    values = {}
    for item in split_top_level(inner, ","):
        key, _, text = item.partition("=")
        try:
            values[key] = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            values[key] = text
    return experiment, values


def _directory(directory) -> Path:
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(f"{str(directory)!r} is not a directory of results")
    return directory


def _row(run: dict) -> dict:
    """A table row of ``report.read_run``'s record: the periods as columns, no divergence step unless diverged."""
    row = {k: v for k, v in run.items() if k != "periods"}
    row["status"] = "diverged" if run["diverged"] else "ok"
    if not run["diverged"]:
        row["diverged_step"] = None  # stored as -1
    row.update({f"distance_period_{k}": float(d) for k, d in enumerate(run["periods"])})
    return row


def load_runs(directory, *, failed: bool = True):
    """One row per run of ``directory`` (its ``*.h5`` results and, with ``failed``, its ``*.failed.json``).

    Columns: ``experiment`` and ``condition`` (the experiment and the condition's full name), one column
    per grid key (``rule.kappa``, ... typed as written in the grid; missing where a condition lacks it),
    ``seed``, ``status`` ('ok', 'diverged' or 'failed'), the metrics ``METRICS`` (``diverged_step``
    missing unless diverged; the deviations missing when diverged), ``distance_period_0``, ... (the mean
    distance of each complete period, training first), ``digest``, ``commit``, ``package_version``,
    ``path`` and, for failed runs, ``error``. Sorted by condition and seed.

    Returns
    -------
    pandas.DataFrame
    """
    pd = _needs("pandas")
    directory = _directory(directory)
    rows = [_row(read_run(p)) for p in sorted(directory.glob("*.h5"))]
    if failed:
        rows += [{**read_failed(p), "status": "failed"} for p in sorted(directory.glob("*.failed.json"))]
    if not rows:
        raise ConfigError(f"{str(directory)!r} holds no result files")
    grid_keys = {}
    for row in rows:
        row["experiment"], values = grid_values(row["condition"])
        grid_keys.update(dict.fromkeys(values))
        row.update(values)
    periods = sorted({k for row in rows for k in row if k.startswith("distance_period_")},
                     key=lambda k: int(k.rsplit("_", 1)[1]))
    columns = (["experiment", "condition", *grid_keys, "seed", "status", *METRICS, *periods,
                "digest", *PROVENANCE, "path"] + (["error"] if any(r["status"] == "failed" for r in rows) else []))
    table = pd.DataFrame(rows, columns=columns)
    for col in ("diverged_step", "n_steps", "n_steps_planned", "n_train_steps"):
        table[col] = table[col].astype("Int64")  # integers with missing values (failed runs, no divergence)
    return table.sort_values(["condition", "seed"], kind="stable", ignore_index=True)


def _trace_shape(path: Path, name: str, conditions) -> dict | None:
    """The condition, seed, dataset, shape and sample times (and recorded units) of one run's trace; None
    for a run of a condition not in ``conditions`` (None: all)."""
    with open_result(path) as f:
        if conditions is not None and str(f.attrs["experiment"]) not in conditions:
            return None
        group = "activity" if name in ACTIVITY else "traces"
        if group not in f or name not in f[group]:
            raise ConfigError(f"{str(path)!r} has no {group}/{name}: traces are "
                              f"{', '.join(sorted(f['traces']))}" + (", activity/rates" if "activity" in f else ""))
        extra = {"units": f["activity"]["units"][()]} if group == "activity" else {}
        return dict(condition=str(f.attrs["experiment"]), seed=int(f.attrs["seed"]), shape=f[group][name].shape,
                    time=f[group]["time_ms"][()], dataset=f"{group}/{name}", **extra)


def _read_padded(path: str, dataset: str, n_time: int) -> np.ndarray:
    import h5py

    with h5py.File(path, "r") as f:
        arr = f[dataset][()].astype(np.float64)
    pad = np.full((n_time - arr.shape[0], *arr.shape[1:]), np.nan)
    return np.concatenate([arr, pad]) if pad.shape[0] else arr


def load_traces(directory, name: str, *, conditions=None):
    """The trace ``name`` of every run of ``directory``, as a lazily read ``xarray.DataArray``.

    ``name`` is a dataset of ``/traces`` (``distance``, ``hand``, ``z``, ``error``, ``plant_state``, ...)
    or ``rates`` / ``states`` of the recorded units. Dims: ``condition``, ``seed``, ``time_ms`` and, for a
    trace with columns, ``component`` (``unit`` for the recorded units, with the unit indices as its
    coordinate: every run must record the same units). A run that ended early (diverged) is NaN after its
    last sample, and so is a (condition, seed) without a file. Each grid key of the condition names is a
    coordinate along ``condition``. ``conditions`` restricts the conditions (names, in that order).

    The runs must sample the trace at the same times (the same ``record_every``, or ``units_every`` and
    ``units_window`` for the units); otherwise a ``ConfigError`` says which differ. Nothing is read until a
    value is asked for (``.values``, ``.median("seed")``, a plot): the array is backed by dask, one chunk
    per run.
    """
    xr, da = _needs("xarray"), _needs("dask.array")
    from dask import delayed

    directory = _directory(directory)
    runs = {p: {**r, "path": p} for p in sorted(directory.glob("*.h5"))
            if (r := _trace_shape(p, name, conditions)) is not None}
    unknown = [c for c in conditions or () if c not in {r["condition"] for r in runs.values()}]
    if unknown:
        raise ConfigError(f"condition {unknown[0]!r} has no runs in {str(directory)!r}")
    if not runs:
        raise ConfigError(f"{str(directory)!r} holds no result files" + (" of those conditions" if conditions else ""))
    longest = max(runs.values(), key=lambda r: r["time"].size)
    for path, r in runs.items():  # every run's samples are the first ones of the longest run's
        if not np.array_equal(r["time"], longest["time"][:r["time"].size]):
            raise ConfigError(f"{str(path)!r} samples {name} at other times than {str(longest['path'])!r}: load "
                              "conditions with one sampling (record_every, or units_every and units_window)")
        if r["shape"][1:] != longest["shape"][1:] or not np.array_equal(r.get("units"), longest.get("units")):
            raise ConfigError(f"{str(path)!r}: {name} has other columns (shape {r['shape']}) than "
                              f"{str(longest['path'])!r} (shape {longest['shape']})")
    names = list(conditions) if conditions is not None else sorted({r["condition"] for r in runs.values()})
    seeds = sorted({r["seed"] for r in runs.values()})
    n_time, tail = longest["shape"][0], longest["shape"][1:]
    by_key = {(r["condition"], r["seed"]): (p, r) for p, r in runs.items()}
    blocks = []
    for condition in names:
        row = []
        for seed in seeds:
            if (condition, seed) in by_key:
                path, r = by_key[(condition, seed)]
                lazy = delayed(_read_padded)(str(path), r["dataset"], n_time)
                row.append(da.from_delayed(lazy, shape=(n_time, *tail), dtype=np.float64))
            else:
                row.append(da.full((n_time, *tail), np.nan))
        blocks.append(da.stack(row))
    data = da.stack(blocks)
    dims = ["condition", "seed", "time_ms"] + (["unit" if name in ACTIVITY else "component"] if tail else [])
    coords = {"condition": names, "seed": seeds, "time_ms": longest["time"]}
    if "units" in longest:
        coords["unit"] = longest["units"]
    parsed = {c: grid_values(c) for c in names}
    coords["experiment"] = ("condition", [parsed[c][0] for c in names])
    for key in dict.fromkeys(k for c in names for k in parsed[c][1]):
        coords[key] = ("condition", [parsed[c][1].get(key) for c in names])
    return xr.DataArray(data, dims=dims, coords=coords, name=name)
