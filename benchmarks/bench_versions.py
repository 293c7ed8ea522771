"""One code of the loop against another, alternated in one sitting: a full-size run, and a lockstep group
against the same runs one at a time.

Each code runs from its own checkout (the working tree, and a temporary git worktree of ``--old``) in its own
processes with its own numba cache, warmed before anything is timed; the codes take turns ``--repeats``
times, so that a machine that slows down or speeds up during the sitting affects both alike. Reports the
median of each and the ratio new / old:

* ``run``: one ``task1-supertrex`` run at full size (N = 1000) of ``--periods`` training and 2 test periods
  of 10 s (3 + 2 = 250 000 steps by default; 10 + 5 is the scripts' 750 000);
* ``lockstep``: ``--group`` runs of one network (seeds differ only in the reservoir noise and exploration: the
  control and lesioned runs of one seed) in one group, against the same runs one at a time, at full size
  with 1 s periods; the ratio is the group's runs per hour over one-at-a-time's.

Usage: python benchmarks/bench_versions.py --old REV [--repeats 3] [--periods 3] [--group 8]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r'''
import json, sys, time
from reservoir_motor import ExperimentConfig, load_experiment, simulate
try:
    from reservoir_motor.simulation.simulate import simulate_group
except ImportError:  # a code from before the subpackages
    from reservoir_motor.simulate import simulate_group
what, periods, group = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
simulate(load_experiment("task1-supertrex", ["network.n_neurons=50", "task.duration_ms=4", "schedule.n_train_trials=2",
                                             "schedule.n_test_trials=1", "schedule.replay_lag_trials=1"]), 0)
if what == "run":
    config = load_experiment("task1-supertrex", [f"schedule.n_train_trials={periods}", "schedule.n_test_trials=2",
                                                 "schedule.replay_lag_trials=1"])
    t = time.perf_counter()
    result = simulate(config, 0)
    print(json.dumps({"seconds": time.perf_counter() - t, "steps": config.n_steps, "deviation": result.deviation}))
else:
    base = load_experiment("task1-supertrex", ["task.duration_ms=1000", "schedule.n_train_trials=6",
                                               "schedule.n_test_trials=2", "schedule.replay_lag_trials=1"]).to_dict()
    configs = [ExperimentConfig.from_dict({**base, "name": f"lesion-{k}", "manipulations": [
        {"kind": "lesion_exploratory", "start": 1 + k % 6}]}) for k in range(group)]
    simulate_group([dict(config=configs[0], seed=0), dict(config=configs[1], seed=0)])  # the group's loop warm
    t = time.perf_counter()
    alone = [simulate(c, 0).deviation for c in configs]
    t_alone = time.perf_counter() - t
    t = time.perf_counter()
    grouped = [r.deviation for r in simulate_group([dict(config=c, seed=0) for c in configs])]
    t_group = time.perf_counter() - t
    assert grouped == alone, "a grouped run differs from the same run alone"
    print(json.dumps({"alone": t_alone, "group": t_group, "ratio": t_alone / t_group}))
'''


def run_child(code: Path, cache: Path, what: str, periods: int, group: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(code), NUMBA_CACHE_DIR=str(cache), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", CHILD, what, str(periods), str(group)], env=env,
                          cwd=tempfile.gettempdir(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{code}: {what} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", required=True, help="the git revision to compare the working tree with")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--periods", type=int, default=3, help="training periods of the timed run (10 s each)")
    ap.add_argument("--group", type=int, default=8, help="runs of the lockstep group")
    args = ap.parse_args(argv)
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    old_rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.old], capture_output=True,
                             text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), old_rev], check=True,
                       capture_output=True)
        try:
            codes = {f"old {old_rev}": (old, Path(tmp) / "cache-old"),
                     f"new {head}+tree": (ROOT, Path(tmp) / "cache-new")}
            times = {name: {"run": [], "lockstep": []} for name in codes}
            for what in ("run", "lockstep"):
                for repeat in range(args.repeats):
                    for name, (code, cache) in codes.items():
                        out = run_child(code, cache, what, args.periods, args.group)
                        times[name][what].append(out)
                        print(f"{what} {repeat + 1}/{args.repeats} {name}: {json.dumps(out)}", flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], capture_output=True)
    (old_name, old_t), (new_name, new_t) = times.items()
    run_old = statistics.median(o["seconds"] for o in old_t["run"])
    run_new = statistics.median(o["seconds"] for o in new_t["run"])
    lock_old = statistics.median(o["ratio"] for o in old_t["lockstep"])
    lock_new = statistics.median(o["ratio"] for o in new_t["lockstep"])
    steps = old_t["run"][0]["steps"]
    print(f"\n| measure | {old_name} | {new_name} | new / old |\n|---|---|---|---|")
    print(f"| full-size run, {steps} steps (median of {args.repeats}) | {run_old:.2f} s | {run_new:.2f} s | "
          f"{run_new / run_old:.3f} |")
    print(f"| lockstep group of {args.group} against one at a time (runs per hour) | {lock_old:.2f}x | "
          f"{lock_new:.2f}x | {lock_new / lock_old:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
