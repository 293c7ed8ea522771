"""Sweep throughput: runs per minute with 1 and with 2 worker processes, measured in one invocation.

Each run is a full-size network (N = 1000) simulating 2 training + 1 test periods of 2 s (30 000 steps),
so the numbers reflect the compiled loop, not process start-up. Both sweeps run the same 8 runs into
fresh directories. Prints both rates and the speed-up; on this 2-core machine the target is >= 1.8x.

Usage: python benchmarks/bench_sweep.py [--runs 8] [--workers-max 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from reservoir_motor.sweep import run_sweep

RUN = ["task.duration_ms=2000", "schedule.n_train_trials=2", "schedule.n_test_trials=1",
       "schedule.replay_lag_trials=1"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--workers-max", type=int, default=2)
    args = ap.parse_args(argv)
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


if __name__ == "__main__":
    main()
