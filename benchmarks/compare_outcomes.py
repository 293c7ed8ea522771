"""Compare the runs of an outcomes study with a stored per-run table of an earlier code, number for number.

The table is ``reservoir-motor report DIR --per-run --csv FILE`` of the earlier study (CSV floats round-trip
exactly). Every run of the table must be in DIR with the same file name, and every metric and per-period
distance must be equal (``==``; missing in both counts as equal). Prints the count and each difference.

``benchmarks/data`` holds the study of commit aa7dee3 (outcomes-aa7dee3-runs.csv and its outcome table), made
with the loop's arithmetic written down and its own elementary functions (docs/arithmetic.md) on an Intel Xeon
(LLVM ``rocketlake``) on 2026-12-04 by ``reservoir-motor results --only outcomes --workers 2 --lockstep``: it
holds on every x86-64 CPU (what one machine cannot vary is in docs/arithmetic.md). The studies made
before it (8161ec7, fast-math sums) held only on the CPU model that made them and were removed.

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
