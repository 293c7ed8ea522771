"""Compare the runs of an outcomes study with a stored per-run table of an earlier code, number for number.

The table is ``reservoir-motor report DIR --per-run --csv FILE`` of the earlier study (CSV floats round-trip
exactly). Every run of the table must be in DIR with the same file name, and every metric and per-period
distance must be equal (``==``; missing in both counts as equal). Prints the count and each difference.

Only on the CPU model that made the table: numba compiles the loop's sums for the host CPU, and on another
model a chaotic run ends with other numbers (``cpu`` in a result's provenance). ``benchmarks/data`` holds the
study of 8161ec7 run on a znver5 machine on 2026-12-04 (commit 1bcad67); the same study run on 2026-12-03
on another machine (commit 276f267) differed from it in all 275 runs.

Usage: python benchmarks/compare_outcomes.py STORED.csv DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from reservoir_motor import load_runs

COMPARED = ("deviation", "deviation_median", "deviation_std", "satisfactory", "diverged", "diverged_step",
            "n_steps", "train_distance_final")


def compare(stored_csv, directory) -> list[str]:
    stored = pd.read_csv(stored_csv)
    now = load_runs(directory)
    stored["file"], now["file"] = (t.path.map(lambda p: Path(p).name) for t in (stored, now))
    merged = stored.merge(now, on="file", how="left", suffixes=("_stored", "_now"), indicator=True)
    problems = [f"{f}: missing" for f in merged.loc[merged._merge != "both", "file"]]
    columns = list(COMPARED) + [c for c in stored.columns if c.startswith("distance_period_")]
    for col in columns:
        a, b = merged[f"{col}_stored"], merged[f"{col}_now"]
        same = (a == b) | (a.isna() & b.isna())
        problems += [f"{f}: {col} {x!r} != {y!r}" for f, x, y in zip(merged.file[~same], a[~same], b[~same],
                                                                         strict=True)]
    print(f"{len(stored)} stored runs, {len(now)} in {directory}; {len(columns)} columns compared; "
          f"{len(problems)} differences")
    return problems


if __name__ == "__main__":
    diffs = compare(*sys.argv[1:3])
    print("\n".join(diffs[:50]))
    sys.exit(1 if diffs else 0)
