"""The GPU engine on a GPU: speed against batch size, P's bandwidth against the device's copy ceiling, and Task 1's
statistical parity with the CPU, all in one run (docs/gpu.md).

Usage, on a machine with a CUDA GPU (numba-cuda installed; on an H200 with 16 CPU cores parts 1-3 are about 6
minutes, part 4's goals are 2 and 4 minutes: on a lease of 15 minutes run them as two commands):
    python benchmarks/bench_gpu.py --out gpu-bench --studies none
    python benchmarks/bench_gpu.py --out gpu-studies --batches 32 --parity-seeds none
In numba's CUDA simulator, only to check that the script runs (seconds):
    NUMBA_ENABLE_CUDASIM=1 python benchmarks/bench_gpu.py --out /tmp/b --n 16 --batches 1,2 --steps 20 \
        --threads 4 --parity-seeds 0:2 --parity-set network.n_neurons=16 --parity-set task.duration_ms=10 \
        --parity-set schedule.n_train_trials=2 --parity-set schedule.n_test_trials=1 \
        --parity-set schedule.replay_lag_trials=1 --studies table1 --study-set network.n_neurons=16 \
        --study-set task.duration_ms=4 --study-set schedule.n_train_trials=1 --study-set schedule.n_test_trials=1 \
        --study-set schedule.replay_lag_trials=1 --study-seeds 0:1

1. The copy ceiling: a device-to-device copy of ``--copy-gib`` GiB, best of 5 (bytes read plus written per second).
2. Scaling: Task 1 FORCE at N = ``--n``, batches of ``--batches`` runs (seeds 0, 1, ...), ``--steps`` training steps
   and as many test steps: microseconds per run and step, and P's bandwidth (an RLS step reads and writes P once:
   16 N^2 bytes) against the ceiling. The first, one-run launch also compiles the kernel; it is timed apart.
3. Parity: Task 1 FORCE, RMHL and SUPERTREX at full size (or ``--parity-set`` overrides), seeds ``--parity-seeds``,
   all in one batch on the GPU while a process pool of ``--cpu-workers`` runs them on the CPU; per rule, the
   per-seed deviations side by side and a paired Wilcoxon signed-rank test of GPU against CPU.
4. Studies: the whole commands ``reservoir-motor reproduce table1`` (99 runs) and ``reservoir-motor outcomes --run``
   (275 runs) with ``--device cuda`` (``--studies``; ``--study-set`` overrides), wall time and runs per hour.

Writes ``bench_gpu.json`` and ``bench_gpu.md`` into ``--out`` and prints the markdown.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

RULES = ("task1-force", "task1-rmhl", "task1-supertrex")


def copy_ceiling(gib: float) -> float:
    """Bytes per second of a device-to-device copy (read plus written), best of 5."""
    from numba import cuda

    a = cuda.device_array(int(gib * 2**30) // 8)
    b = cuda.device_array_like(a)
    best = np.inf
    for _ in range(5):
        cuda.synchronize()
        t0 = time.perf_counter()
        b.copy_to_device(a)
        cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return 2 * a.nbytes / best


def scaling(n: int, batches: list[int], steps: int, threads: int) -> list[dict]:
    from reservoir_motor import load_experiment
    from reservoir_motor.kernel import device
    from reservoir_motor.simulation.on_device import Batch
    from reservoir_motor.simulation.simulate import _Member

    dt_ms = load_experiment("task1-force").network.dt_ms
    config = load_experiment("task1-force", [f"network.n_neurons={n}", f"task.duration_ms={steps * dt_ms}",
                                             "schedule.n_train_trials=1", "schedule.n_test_trials=1",
                                             "schedule.replay_lag_trials=1", f"recording.record_every={steps}"])
    rows = []
    for b in [1] + batches:  # the first launch compiles
        t0 = time.perf_counter()
        members = [_Member(config=config, seed=s) for s in range(b)]  # prepared as simulate_group prepares them
        batch = Batch(members, threads)
        batch.upload()
        prepared = time.perf_counter() - t0
        s_now, s_end = np.zeros(b, np.int64), np.full(b, config.n_steps, np.int64)
        t1 = time.perf_counter()
        batch.launch(device.kernel(threads), s_now, s_end)  # the whole run, one launch (synchronised)
        wall = time.perf_counter() - t1
        n_steps, n_rls = config.n_steps, config.n_train_steps // config.rule.rls_every
        rows.append(dict(runs=b, n=n, steps=n_steps, wall_s=wall, preparation_s=prepared,
                         us_per_run_step=1e6 * wall / (b * n_steps),
                         p_bytes_per_s=16.0 * n * n * n_rls * b / wall, compiling=not rows))
    return rows


#: the whole commands of two studies on the GPU; the CPU's times for them are in docs/gpu.md
STUDIES = {"table1": ["reproduce", "table1", "--quiet", "--out"], "outcomes": ["outcomes", "--run", "--json"]}


def studies(names: list[str], sets: list[str], seeds: str, out: Path) -> list[dict]:
    """Each study's whole command with ``--device cuda`` into an empty directory: its wall time, its runs, and
    its runs per hour."""
    import subprocess
    import sys

    rows = []
    for name in names:
        where = out / f"study-{name}"
        cmd = [sys.executable, "-m", "reservoir_motor.cli", *STUDIES[name], str(where), "--device", "cuda",
               "--seeds", seeds, *(f"--set={s}" for s in sets)]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        n_runs = len(list(where.glob("*.h5")))
        rows.append(dict(study=name, command=" ".join(["reservoir-motor", *cmd[3:]]), runs=n_runs, wall_s=wall,
                         runs_per_hour=3600.0 * n_runs / wall))
    return rows


def _cpu_deviation(args) -> float:
    name, extra, seed = args
    from reservoir_motor import load_experiment, simulate

    return simulate(load_experiment(name, extra), seed).deviation


def parity(seeds: list[int], extra: list[str], threads: int, workers: int) -> dict:
    from scipy.stats import wilcoxon

    from reservoir_motor import load_experiment
    from reservoir_motor.simulation.simulate import simulate_group

    jobs = [(name, extra, s) for name in RULES for s in seeds]
    with ProcessPoolExecutor(workers) as pool:
        cpu_future = pool.map(_cpu_deviation, jobs)
        t0 = time.perf_counter()
        gpu = simulate_group([dict(config=load_experiment(name, extra), seed=s) for name, _, s in jobs],
                             device="cuda", threads=threads)
        gpu_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        cpu = list(cpu_future)
        cpu_wait_s = time.perf_counter() - t1
    out = dict(gpu_s=gpu_s, cpu_s_after_gpu=cpu_wait_s, rules={})
    for i, name in enumerate(RULES):
        g = np.array([r.deviation for r in gpu[i * len(seeds):(i + 1) * len(seeds)]])
        c = np.array(cpu[i * len(seeds):(i + 1) * len(seeds)])
        differ = g != c
        p = float(wilcoxon(g, c).pvalue) if differ.sum() >= 1 and len(seeds) > 1 else 1.0
        out["rules"][name] = dict(gpu=g.tolist(), cpu=c.tolist(), wilcoxon_p=p,
                                  max_relative_difference=float(np.max(np.abs(g - c) / np.abs(c))))
    return out


def markdown(made: dict, ceiling: float, rows: list[dict], par: dict | None, study_rows: list[dict]) -> str:
    lines = [f"Made by `python benchmarks/bench_gpu.py` on {made['device']} (driver {made['cuda_driver']}, numba-cuda "
             f"{made['numba_cuda_version']}), host {made['host']}, commit {made['git_commit']}, {made['date']}.", "",
             f"Device-to-device copy: {ceiling / 1e12:.2f} TB/s (read plus written, best of 5).", "",
             "| runs | N | steps | wall (s) | us per run and step | P's bandwidth (TB/s) | of the copy ceiling |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        note = " (compiling)" if r["compiling"] else ""
        lines.append(f"| {r['runs']}{note} | {r['n']} | {r['steps']} | {r['wall_s']:.2f} | "
                     f"{r['us_per_run_step']:.3f} | {r['p_bytes_per_s'] / 1e12:.2f} | "
                     f"{r['p_bytes_per_s'] / ceiling:.0%} |")
    if par:
        lines += ["", f"Parity, one GPU batch of every run ({par['gpu_s']:.1f} s); the CPU pool finished "
                  f"{par['cpu_s_after_gpu']:.1f} s after the GPU.", "",
                  "| rule | seeds | GPU deviations | CPU deviations | max relative difference | Wilcoxon p |",
                  "|---|---|---|---|---|---|"]
        for name, v in par["rules"].items():
            lines.append(f"| {name} | {len(v['gpu'])} | {', '.join(f'{x:.4g}' for x in v['gpu'])} | "
                         f"{', '.join(f'{x:.4g}' for x in v['cpu'])} | {v['max_relative_difference']:.2g} | "
                         f"{v['wilcoxon_p']:.3g} |")
    if study_rows:
        lines += ["", "| study (whole command) | runs | wall (s) | runs per hour |", "|---|---|---|---|"]
        for r in study_rows:
            lines.append(f"| `{r['command']}` | {r['runs']} | {r['wall_s']:.1f} | {r['runs_per_hour']:.0f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="directory for bench_gpu.json and bench_gpu.md")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--batches", default="32,132,264,528", help="batch sizes, comma-separated")
    ap.add_argument("--steps", type=int, default=2000, help="training steps (and as many test steps) per run")
    ap.add_argument("--threads", type=int, default=256)
    ap.add_argument("--copy-gib", type=float, default=4.0)
    ap.add_argument("--parity-seeds", default="0:11", help="START:STOP, or 'none' to skip the parity")
    ap.add_argument("--parity-set", action="append", default=[], metavar="KEY=VALUE",
                    help="overrides of the parity runs (default: full size)")
    ap.add_argument("--cpu-workers", type=int, default=16)
    ap.add_argument("--studies", default="table1,outcomes", help="whole studies to time: table1, outcomes, or none")
    ap.add_argument("--study-set", action="append", default=[], metavar="KEY=VALUE",
                    help="overrides of the studies' runs (default: full size)")
    ap.add_argument("--study-seeds", default="0:11")
    args = ap.parse_args(argv)

    from reservoir_motor.simulation.on_device import device_provenance, unavailable
    from reservoir_motor.storage.provenance import provenance

    why = unavailable()
    if why:
        raise SystemExit(why)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    made = {**device_provenance(), "host": platform.node(), "git_commit": provenance()["git_commit"],
            "date": time.strftime("%Y-%m-%d")}
    ceiling = copy_ceiling(args.copy_gib)
    rows = scaling(args.n, [int(b) for b in args.batches.split(",")], args.steps, args.threads)
    par = None
    if args.parity_seeds != "none":
        start, stop = map(int, args.parity_seeds.split(":"))
        par = parity(list(range(start, stop)), args.parity_set, args.threads, args.cpu_workers)
    study_rows = studies([s for s in args.studies.split(",") if s != "none"], args.study_set, args.study_seeds, out)
    (out / "bench_gpu.json").write_text(json.dumps(dict(made=made, copy_bytes_per_s=ceiling, scaling=rows,
                                                        parity=par, studies=study_rows), indent=1))
    text = markdown(made, ceiling, rows, par, study_rows)
    (out / "bench_gpu.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
