"""Task 1 acceptance: FORCE, RMHL and SUPERTREX at full size over 11 seeds, beside the published numbers.

Usage: python benchmarks/reproduce_task1.py [--seeds 0:11] [--workers 2] [--out results/task1]

Each run is written as an HDF5 file; runs already in --out are read back, not simulated again.
Prints, per rule: the mean over seeds of each run's test-window mean / median / within-run std
(ReScience's Table 1 convention, spec section 5), the across-seed std of the run means, the number of
satisfactory runs (deviation < 0.5), and the mean wall time per run.
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

PUBLISHED = {  # spec section 8.1-8.2: MATLAB scripts, mean / median / std, satisfactory out of 11
    "force": ("0.003 / 0.002 / 0.002", "11/11"),
    "rmhl": ("0.168 / 0.165 / 0.038", "11/11"),
    "supertrex": ("0.006 / 0.004 / 0.003", "11/11"),
}


def _one(job):
    rule, seed, out = job
    from reservoir_motor import load_experiment, load_result, simulate

    cfg = load_experiment(f"task1-{rule}")
    from reservoir_motor.result import config_digest

    path = Path(out) / f"{cfg.name}-{config_digest(cfg)}-seed{seed}.h5"
    if path.exists():
        return load_result(path).metrics
    res = simulate(cfg, seed)
    res.save(path)
    print(f"{rule} seed {seed}: deviation {res.metrics['deviation']} wall {res.metrics['wall_s']:.1f} s",
          file=sys.stderr, flush=True)
    return res.metrics


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0:11")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rules", default="force,rmhl,supertrex")
    ap.add_argument("--out", default="results/task1")
    args = ap.parse_args(argv)
    lo, hi = (int(v) for v in args.seeds.split(":"))
    rules = args.rules.split(",")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    jobs = [(rule, seed, args.out) for rule in rules for seed in range(lo, hi)]
    Path(args.out).mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(args.workers) as pool:
        metrics = list(pool.map(_one, jobs))
    print("| rule | seeds | mean / median / within-run std (ours) | across-seed std | satisfactory | "
          "diverged | wall per run | published (MATLAB) |")
    print("|---|---|---|---|---|---|---|---|")
    for rule in rules:
        ms = [m for (r, _, _), m in zip(jobs, metrics, strict=True) if r == rule]
        ok = [m for m in ms if not m["diverged"]]
        mean = np.mean([m["deviation"] for m in ok])
        med = np.mean([m["deviation_median"] for m in ok])
        std = np.mean([m["deviation_std"] for m in ok])
        across = np.std([m["deviation"] for m in ok], ddof=1)
        sat = sum(m["satisfactory"] for m in ms)
        div = sum(m["diverged"] for m in ms)
        wall = np.mean([m["wall_s"] for m in ms])
        pub = PUBLISHED.get(rule, ("", ""))
        print(f"| {rule} | {lo}-{hi - 1} | {mean:.4f} / {med:.4f} / {std:.4f} | {across:.4f} | {sat}/{len(ms)} | "
              f"{div} | {wall:.1f} s | {pub[0]}, {pub[1]} |")


if __name__ == "__main__":
    main()
