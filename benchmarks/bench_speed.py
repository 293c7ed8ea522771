"""Speed of the compiled time loop against the plain numpy reference loop, on the full-size Task 1.

One process: a complete ``task1-supertrex`` run (N = 1000, 750 000 steps) through
``reservoir_motor.simulation.simulate``, then the reference of ``tests/reference.py`` (sparse CSR J, dense P) timed
for a limited number of steps in three regimes and extrapolated to the full run:

* training steps with the transfer gate shut (``rule.transfer_threshold = 0``: no N x N work);
* training steps with the gate open (``rule.transfer_threshold = 10``, ``rule.kappa = 0`` so that the
  run stays finite): an RLS step, with all of its work, every 10 steps;
* test steps (no noise, no learning).

The full-run estimate of the reference weights the two training regimes by the fraction of RLS steps on
which the compiled run's gate was open. BLAS runs on one thread by default (``--blas-threads``), like the
compiled loop; seeds are parallelised over processes, one per core.

Usage::

    python benchmarks/bench_speed.py              # full size: about 1-2 minutes of compiled run
    python benchmarks/bench_speed.py --quick      # a 15 000-step compiled run, 2 000 reference steps
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="shortened check: 3 periods of 1000 ms (15 000 steps) and 2 000 reference steps")
    ap.add_argument("--ref-steps", type=int, default=None,
                    help="reference steps timed per regime (default 20 000; 2 000 with --quick)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--blas-threads", type=int, default=1, help="BLAS threads of the numpy reference")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.blas_threads)  # before numpy is imported
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

    import numpy as np
    from reference import run_reference

    import reservoir_motor as rm

    quick = ["task.duration_ms=1000", "schedule.n_train_trials=2", "schedule.n_test_trials=1",
             "schedule.replay_lag_trials=1"] if args.quick else []
    ref_steps = args.ref_steps or (2000 if args.quick else 20000)
    config = rm.load_experiment("task1-supertrex", quick)
    n, n_steps, n_train = config.network.n_neurons, config.n_steps, config.n_train_steps
    n_test = n_steps - n_train
    print(f"task1-supertrex: N = {n}, {n_steps} steps ({n_train} training, {n_test} test), seed {args.seed}, "
          f"BLAS threads {args.blas_threads}")

    # Load (or compile) the kernel outside the timed run.
    t0 = time.perf_counter()
    rm.simulate(rm.load_experiment("task1-supertrex", ["network.n_neurons=20", "task.duration_ms=2",
                                                       "schedule.n_train_trials=1", "schedule.n_test_trials=1",
                                                       "schedule.replay_lag_trials=1"]), 0)
    print(f"kernel load/compile: {time.perf_counter() - t0:.2f} s")

    # Compiled: the whole run in one chunk per period, timestamped to split training and test rates.
    stamps = []
    n_periods = config.schedule.n_train_trials + config.schedule.n_test_trials
    t0 = time.perf_counter()
    res = rm.simulate(config, args.seed, n_chunks=n_periods,
                      progress=lambda done, total: stamps.append((done, time.perf_counter())))
    wall = time.perf_counter() - t0
    done_steps = res.metrics["n_steps"]
    train_t = next(t for d, t in stamps if d >= n_train) - t0
    comp_rate = done_steps / wall
    comp_train = min(done_steps, n_train) / train_t
    comp_test = (done_steps - n_train) / (wall - train_t) if done_steps > n_train else float("nan")
    every = config.recording.record_every
    rec_steps = np.arange(res.traces["gate"].size) * every
    gate_rls = res.traces["gate"][(rec_steps < n_train) & (rec_steps >= config.rule.rls_every)]
    open_frac = float(np.mean(gate_rls > 0)) if gate_rls.size else 0.0
    print(f"compiled run: wall time {wall:.1f} s for {done_steps} steps (diverged: {res.diverged}; "
          f"deviation {res.metrics['deviation']})")
    print(f"  gate open on {100 * open_frac:.1f}% of training RLS steps")

    # Reference, three regimes.
    def time_reference(cfg, steps):
        t = time.perf_counter()
        out = run_reference(cfg, args.seed, n_steps=steps, sparse=True)
        return time.perf_counter() - t, out

    # Gate forced shut (threshold 0): no N x N work. (As configured, Task 1 opens the gate within the first
    # few thousand steps.)
    cfg_shut = rm.load_experiment("task1-supertrex", quick + ["rule.transfer_threshold=0.0"])
    t_shut, out = time_reference(cfg_shut, ref_steps)
    # The gate can still open for an instant when the output crosses the target (e near 0).
    shut_open = float(np.mean(out["gate"][config.rule.rls_every - 1::config.rule.rls_every] > 0))
    print(f"  'gate shut' regime: gate open on {100 * shut_open:.2f}% of its RLS steps")
    # Gate forced open; kappa = 0 keeps the mastery readout at zero (an open gate from the first step makes
    # the run diverge) while every RLS step still does all of its work.
    cfg_open = rm.load_experiment("task1-supertrex", quick + ["rule.transfer_threshold=10.0", "rule.kappa=0.0"])
    t_open, out = time_reference(cfg_open, ref_steps)
    assert np.all(out["gate"][config.rule.rls_every:] == 1.0), "the gate should be open on every RLS step"
    period_ms = 1000 * config.network.dt_ms  # 1000 steps per period
    cfg_test = rm.load_experiment("task1-supertrex", [
        f"task.duration_ms={period_ms}", "schedule.n_train_trials=1", "schedule.replay_lag_trials=1",
        f"schedule.n_test_trials={-(-ref_steps // 1000)}"])
    t_train_only, _ = time_reference(cfg_test, 1000)
    t_all, _ = time_reference(cfg_test, 1000 + ref_steps)
    t_test = max(t_all - t_train_only, 1e-9)

    ref_shut, ref_open, ref_test = ref_steps / t_shut, ref_steps / t_open, ref_steps / t_test
    ref_full = n_train * ((1 - open_frac) / ref_shut + open_frac / ref_open) + n_test / ref_test
    ref_worst = n_train / ref_open + n_test / ref_test

    print(f"reference ({ref_steps} steps per regime, sparse J):")
    rows = [
        ("training, gate shut", ref_shut, comp_train if open_frac == 0 else float("nan")),
        ("training, RLS every 10 steps", ref_open, float("nan")),
        ("test", ref_test, comp_test),
        ("training, compiled run's gate mix", n_train / (n_train * ((1 - open_frac) / ref_shut
                                                               + open_frac / ref_open)), comp_train),
        ("whole run", n_steps / ref_full, comp_rate),
    ]
    print(f"  {'regime':36s} {'reference steps/s':>18s} {'compiled steps/s':>17s} {'ratio':>8s}")
    for label, ref_r, comp_r in rows:
        ratio = comp_r / ref_r if np.isfinite(comp_r) else float("nan")
        comp_txt = f"{comp_r:17,.0f}" if np.isfinite(comp_r) else f"{'-':>17s}"
        ratio_txt = f"{ratio:7.1f}x" if np.isfinite(ratio) else f"{'-':>8s}"
        print(f"  {label:36s} {ref_r:18,.0f} {comp_txt} {ratio_txt}")
    print(f"full run ({n_steps} steps): compiled {wall:.1f} s measured; reference {ref_full:.0f} s "
          f"({ref_full / 60:.1f} min) extrapolated with the compiled run's gate mix, {ref_worst:.0f} s "
          f"({ref_worst / 60:.1f} min) with the gate open throughout training")
    print(f"speed-up of the compiled loop over the reference, whole run: {ref_full / wall:.1f}x")


if __name__ == "__main__":
    main()
