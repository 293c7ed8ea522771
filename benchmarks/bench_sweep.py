"""Sweep throughput, measured in one invocation.

Default: runs per minute with 1 and with 2 worker processes. Each run is a full-size network (N = 1000)
simulating 2 training + 1 test periods of 2 s (30 000 steps), so the numbers reflect the compiled loop, not
process start-up. Both sweeps run the same 8 runs into fresh directories; on this 2-core machine the target
is >= 1.8x.

``--lockstep``: runs per hour of two studies, each swept into fresh directories one run at a time and then
in lockstep (``run_sweep(lockstep=True)``: a worker advances all runs of one network together), at full size
with the scripts' periods unless ``--set`` says otherwise:

* ``table1``: the Table 1 reproduction (``reproduce.TABLE1``, 9 experiments);
* ``lesions``: the lesion study (outcomes L1-L4, 9 experiments; prefixes shared in both modes).

over ``--seeds`` (default 0:2, one job per seed and worker). Prints each study's runs per hour in both
modes, their ratio, the steps simulated, and checks that both modes wrote the same files (==). Where the
time goes is in the group sizes: at each step a group's runs take their J r from block products of 8 runs
(``kernel.loop.LANES``; a last partial block from ``BLOCK_MIN`` runs), the others and the rest of the step
(readouts, learning, RLS, records) are each run's own.

Usage: python benchmarks/bench_sweep.py [--runs 8] [--workers-max 2]
       python benchmarks/bench_sweep.py --lockstep [--study table1,lesions] [--seeds 0:2] [--set KEY=VALUE]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from reservoir_motor.paper.outcomes import experiments as outcome_experiments
from reservoir_motor.paper.outcomes import select
from reservoir_motor.paper.reproduce import TABLE1
from reservoir_motor.storage.result import load_result
from reservoir_motor.studies.sweep import parse_seeds, run_sweep

RUN = ["task.duration_ms=2000", "schedule.n_train_trials=2", "schedule.n_test_trials=1",
       "schedule.replay_lag_trials=1"]
STUDIES = {"table1": list(TABLE1), "lesions": outcome_experiments(select(["L1", "L2", "L3", "L4"]))}


def scaling(args):
    with tempfile.TemporaryDirectory() as tmp:
        run_sweep(["task1-supertrex"], [10_000], Path(tmp) / "warm", overrides=RUN, workers=1, progress=False)
        rates = {}
        for workers in range(1, args.workers_max + 1):
            t0 = time.perf_counter()
            run_sweep(["task1-supertrex"], list(range(args.runs)), Path(tmp) / f"w{workers}", overrides=RUN,
                      workers=workers, progress=False)
            wall = time.perf_counter() - t0
            rates[workers] = args.runs / wall * 60
            print(f"{workers} worker(s): {args.runs} runs in {wall:.1f} s = {rates[workers]:.2f} runs/min")
    top = max(rates)
    print(f"speed-up with {top} workers over 1: {rates[top] / rates[1]:.2f}x")


def same_files(a: Path, b: Path) -> bool:
    """Every run's metrics (but the wall time), traces and weights equal (==) in both directories."""
    from numpy import array_equal

    names = sorted(p.name for p in a.glob("*.h5"))
    if names != sorted(p.name for p in b.glob("*.h5")):
        return False
    for name in names:
        x, y = load_result(a / name), load_result(b / name)
        if {k: v for k, v in x.metrics.items() if k != "wall_s"} != {k: v for k, v in y.metrics.items()
                                                                    if k != "wall_s"}:
            return False
        for group in ("traces", "weights"):
            gx, gy = getattr(x, group), getattr(y, group)
            if gx.keys() != gy.keys() or not all(array_equal(gx[k], gy[k]) for k in gx):
                return False
    return True


def lockstep(args):
    seeds = parse_seeds(args.seeds)
    with tempfile.TemporaryDirectory() as tmp:
        # compile (or load) the loop in this process's cache first, so neither mode pays for it
        run_sweep(["task1-supertrex"], [10_000], Path(tmp) / "warm", overrides=RUN, workers=1, progress=False)
        for study in args.study.split(","):
            names, rates = STUDIES[study], {}
            for mode in ("alone", "lockstep"):
                out = Path(tmp) / f"{study}-{mode}"
                t0 = time.perf_counter()
                statuses = run_sweep(names, seeds, out, overrides=args.set, workers=args.workers, progress=False,
                                     lockstep=mode == "lockstep")
                wall = time.perf_counter() - t0
                rates[mode] = len(statuses) / wall * 3600
                steps = sum(s["steps_simulated"] for s in statuses)
                sizes = sorted({s.get("group_size", 1) for s in statuses})
                print(f"{study} {mode:8s}: {len(statuses)} runs in {wall:7.1f} s = {rates[mode]:6.1f} runs/hour; "
                      f"{steps} steps simulated; group sizes {sizes}", flush=True)
            same = same_files(Path(tmp) / f"{study}-alone", Path(tmp) / f"{study}-lockstep")
            print(f"{study}: lockstep {rates['lockstep'] / rates['alone']:.2f}x the runs per hour of one run at a "
                  f"time; same files (==): {same}", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--workers-max", type=int, default=2)
    ap.add_argument("--lockstep", action="store_true", help="one run at a time against lockstep, per study")
    ap.add_argument("--study", default="table1,lesions")
    ap.add_argument("--seeds", default="0:2")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args(argv)
    lockstep(args) if args.lockstep else scaling(args)


if __name__ == "__main__":
    main()
