"""Full-size reproductions: bundled experiments over seeds, beside the published numbers.

Usage: python benchmarks/reproduce.py EXPERIMENT [EXPERIMENT ...] [--seeds 0:11] [--workers 2]
                                      [--out results/reproduce] [--set KEY=VALUE ...]

Each run is written as an HDF5 file named by experiment, config digest and seed; runs already in --out
are read back, not simulated again. Prints, per experiment: the mean over seeds of each run's test-window
mean / median / within-run std (ReScience's Table 1 convention, spec section 5), the across-seed std of
the run means, satisfactory (deviation < 0.5) and diverged counts, and the mean wall time per run.
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

# Spec sections 8.1-8.2, MATLAB scripts: mean / median / std, satisfactory / completed.
PUBLISHED = {
    "task1-force": "0.003 / 0.002 / 0.002, 11/11",
    "task1-rmhl": "0.168 / 0.165 / 0.038, 11/11",
    "task1-supertrex": "0.006 / 0.004 / 0.003, 11/11",
    "task2-rmhl": "0.759 / 0.740 / 0.284, 0/11",
    "task2-supertrex": "0.011 / 0.010 / 0.003, 11/11",
    "task3-rmhl": "0.850 / 0.794 / 0.313, 1/11",
    "task3-supertrex": "0.881 / 0.845 / 0.224, 5/11",
    "task2-3seg-rmhl": "0.846 / 0.807 / 0.299, 0/11",
    "task2-3seg-supertrex": "0.016 / 0.015 / 0.007 (n = 2), 2/2 (9 diverged)",
    "task3b-rmhl": "0.806, 1/11",
    "task3b-supertrex": "0.576, 5/11",
}


def _one(job):
    name, overrides, seed, out = job
    from reservoir_motor import load_experiment, load_result, simulate
    from reservoir_motor.result import config_digest

    cfg = load_experiment(name, overrides)
    path = Path(out) / f"{cfg.name}-{config_digest(cfg)}-seed{seed}.h5"
    if path.exists():
        return load_result(path).metrics
    res = simulate(cfg, seed)
    res.save(path)
    m = res.metrics
    print(f"{name} seed {seed}: deviation {m['deviation']} diverged {m['diverged']} wall {m['wall_s']:.1f} s",
          file=sys.stderr, flush=True)
    return m


def summarise(name, ms, seeds) -> str:
    ok = [m for m in ms if not m["diverged"]]
    sat = sum(m["satisfactory"] for m in ms)
    div = sum(m["diverged"] for m in ms)
    wall = np.mean([m["wall_s"] for m in ms])
    if ok:
        mean = np.mean([m["deviation"] for m in ok])
        med = np.mean([m["deviation_median"] for m in ok])
        std = np.mean([m["deviation_std"] for m in ok])
        across = np.std([m["deviation"] for m in ok], ddof=1) if len(ok) > 1 else float("nan")
        stats = f"{mean:.4f} / {med:.4f} / {std:.4f} (n = {len(ok)}) | {across:.4f}"
    else:
        stats = "all diverged | -"
    return (f"| {name} | {seeds} | {stats} | {sat}/{len(ms)} | {div} | {wall:.1f} s | "
            f"{PUBLISHED.get(name, '')} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("experiments", nargs="+")
    ap.add_argument("--seeds", default="0:11")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="results/reproduce")
    ap.add_argument("--set", action="append", default=[])
    args = ap.parse_args(argv)
    lo, hi = (int(v) for v in args.seeds.split(":"))
    jobs = [(name, args.set, seed, args.out) for name in args.experiments for seed in range(lo, hi)]
    Path(args.out).mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(args.workers) as pool:
        metrics = list(pool.map(_one, jobs))
    print("| experiment | seeds | deviation mean / median / within-run std (ours) | across-seed std | "
          "satisfactory | diverged | wall per run | published (MATLAB scripts) |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.experiments:
        ms = [m for (n, *_), m in zip(jobs, metrics, strict=True) if n == name]
        print(summarise(name, ms, f"{lo}-{hi - 1}"))


if __name__ == "__main__":
    main()
