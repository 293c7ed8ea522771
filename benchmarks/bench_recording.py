"""Cost of recording reservoir units: wall time with and without, and the memory of recording everything.

One process, the same run (task1-supertrex, seed 0) simulated alternately without recording and with
``--units`` units every ``--every`` steps, ``--repeats`` times each; the ratio of the fastest times is the
overhead (the fastest, because the other core of a shared machine only ever adds time). ``--memory``
then simulates the full-size run recording all 1000 units every 10 steps, saves it to HDF5 and reports
the peak resident memory of the process, the size of the activity and of the file.

Usage::

    python benchmarks/bench_recording.py                 # 4 periods of 10 s (200 000 steps), 3 repeats
    python benchmarks/bench_recording.py --memory        # and the full-size, all-unit recording
    python benchmarks/bench_recording.py --quick         # 4 periods of 1 s
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--units", type=int, default=100)
    ap.add_argument("--every", type=int, default=25, help="steps between samples (25 = 5 ms)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--memory", action="store_true", help="also the full-size run recording all units every 10 steps")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import reservoir_motor as rm

    base = ["schedule.n_train_trials=3", "schedule.n_test_trials=1"] + (["task.duration_ms=1000"] if args.quick else [])
    variants = {"no recording": base,
                f"{args.units} units every {args.every} steps": base + [f"recording.n_units={args.units}",
                                                                         f"recording.units_every={args.every}"]}
    rm.simulate(rm.load_experiment("task1-supertrex", ["network.n_neurons=20", "task.duration_ms=2",
                                                       "recording.n_units=2"]), 0)  # compile outside the timing
    times = {name: [] for name in variants}
    deviations = set()
    for _ in range(args.repeats):
        for name, overrides in variants.items():
            res = rm.simulate(rm.load_experiment("task1-supertrex", overrides), 0)
            times[name].append(res.metrics["wall_s"])
            deviations.add(res.metrics["deviation"])
    n_steps = rm.load_experiment("task1-supertrex", base).n_steps
    for name, ts in times.items():
        print(f"{name:32s} {', '.join(f'{t:.2f}' for t in ts)} s; fastest {min(ts):.2f} s "
              f"({1e6 * min(ts) / n_steps:.1f} us/step)")
    plain, recorded = (min(ts) for ts in times.values())
    print(f"overhead of recording (fastest against fastest): {100 * (recorded / plain - 1):+.1f} %")
    print(f"deviation identical in every run: {len(deviations) == 1} ({deviations.pop()!r})")

    if args.memory:
        config = rm.load_experiment("task1-supertrex", ["recording.n_units=1000", "recording.units_every=10"])
        t0 = time.perf_counter()
        res = rm.simulate(config, 0)
        t_run = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            path = res.save(tmp)
            t_save, size = time.perf_counter() - t0, os.path.getsize(path)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
        print(f"all {config.network.n_neurons} units every 10 steps, full run: rates {res.activity.rates.shape}, "
              f"{res.activity.rates.nbytes / 1e6:.0f} MB in memory; run {t_run:.1f} s, save {t_save:.1f} s, "
              f"file {size / 1e6:.0f} MB; peak resident memory of the process {peak:.0f} MB")


if __name__ == "__main__":
    main()
