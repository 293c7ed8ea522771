"""How the cost of a step grows with the network and the arm: time per step against N and against the joints,
one run alone and per run of a lockstep group, beside the bytes a step must move.

* N = 250 ... 4000: FORCE on Task 1 (``task1-force``, RLS every 10 steps at every training step: the same work
  per step at every N, which SUPERTREX's gate would not give);
* joints 2 ... 50: SUPERTREX with the robust preset on the arms of Task 2 and the scaled arms
  (``task2-supertrex``, ``task2-3seg-supertrex``, ``task2-n{5,10,20,50}-supertrex``), N = 1000 (the faithful
  settings diverge on the longer arms, and a diverged run stops early). Time per step is the wall time over
  the steps simulated.

Each point simulates 2 training periods and 1 test period of ``--period-ms`` (shortened for large N so that
a point takes seconds), seed 0, alone and as a group of ``--group`` runs of that network (the same config with
``rule.learning_rate`` scaled by 1 + i / 100, so that the runs differ but share J); per run, the group's wall
time divided by its runs. The loop is compiled first. Bytes per step: J (float32 values and uint32 indices of
its nonzeros, uint64 row pointers), and P's upper triangle read and written once every ``rls_every`` steps.
Written: a CSV and a figure (``--out``, default docs/images/scaling.png) with the machine's cache sizes.

Usage: python benchmarks/bench_scaling.py [--quick]
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import time
from pathlib import Path

import numpy as np

from reservoir_motor import load_experiment, simulate
from reservoir_motor.simulation.network import make_network, make_streams
from reservoir_motor.simulation.simulate import simulate_group

N_VALUES = (250, 500, 1000, 2000, 4000)
JOINTS = {2: "task2-supertrex", 3: "task2-3seg-supertrex", 5: "task2-n5-supertrex", 10: "task2-n10-supertrex",
          20: "task2-n20-supertrex", 50: "task2-n50-supertrex"}


def caches() -> dict[str, int]:
    """Per-core L1d and L2 and the shared L3, in bytes, from lscpu (empty if it cannot tell)."""
    out = {}
    try:
        text = subprocess.run(["lscpu", "-B"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return out
    for line in text.splitlines():
        for level in ("L1d", "L2", "L3"):
            if line.startswith(f"{level} cache:"):
                value = line.split(":", 1)[1].split()
                total, instances = int(value[0]), int(value[1].strip("(")) if len(value) > 1 else 1
                out[level] = total // instances if level != "L3" else total
    return out


def step_bytes(config) -> tuple[int, float]:
    """Bytes of J a step reads, and of P it reads and writes (amortised over ``rls_every``)."""
    net = make_network(config, make_streams(0))
    n = config.network.n_neurons
    j_bytes = net.J.nnz * 8 + (n + 1) * 8
    p_bytes = n * (n + 1) / 2 * 8 * 2 / config.rule.rls_every
    return j_bytes, p_bytes


def point(name: str, sets: list[str], group: int) -> dict:
    config = load_experiment(name, sets)
    simulate(load_experiment(name, sets + ["task.duration_ms=10", "schedule.n_train_trials=1",
                                           "schedule.n_test_trials=1"]), 0)  # compiled, and the pages touched
    t0 = time.perf_counter()
    steps_alone = simulate(config, 0).metrics["n_steps"]  # the steps simulated: fewer if it diverged
    alone = time.perf_counter() - t0
    lr = config.rule.learning_rate
    configs = [load_experiment(name, sets + [f"rule.learning_rate={lr * (1 + i / 100)!r}"]) for i in range(group)]
    t0 = time.perf_counter()
    steps_grouped = sum(r.metrics["n_steps"] for r in simulate_group([dict(config=c, seed=0) for c in configs]))
    grouped = time.perf_counter() - t0
    j_bytes, p_bytes = step_bytes(config)
    return {"experiment": name, "n_neurons": config.network.n_neurons, "n_outputs": config.task.n_outputs,
            "steps": config.n_steps, "steps_alone": steps_alone, "steps_grouped": steps_grouped,
            "us_per_step_alone": alone / steps_alone * 1e6, "us_per_step_grouped": grouped / steps_grouped * 1e6,
            "group": group,
            "J_bytes": j_bytes, "P_bytes_per_step": p_bytes}


def schedule(period_ms: float) -> list[str]:
    return [f"task.duration_ms={period_ms:g}", "schedule.n_train_trials=2", "schedule.n_test_trials=1",
            "schedule.replay_lag_trials=1"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes and short periods: a smoke test")
    ap.add_argument("--period-ms", type=float, default=2000.0, help="the period at N = 1000")
    ap.add_argument("--group", type=int, default=8)
    ap.add_argument("--out", default="docs/images/scaling.png")
    ap.add_argument("--from-csv", help="draw the figure again from a CSV this benchmark wrote, without running")
    args = ap.parse_args(argv)
    if args.from_csv:
        with open(args.from_csv) as f:
            rows = [{k: (v if k in ("axis", "experiment") else float(v) if v else None) for k, v in r.items()}
                    for r in csv.DictReader(f)]
        draw(rows, caches(), Path(args.out), int(rows[0]["group"]))
        return
    n_values, joints, period = ((250, 500), {2: JOINTS[2], 5: JOINTS[5]}, 100.0) if args.quick else \
        (N_VALUES, JOINTS, args.period_ms)
    rows = []
    for n in n_values:  # the P pass grows as N^2: shorter periods keep a point to seconds
        ms = period * min(1.0, (1000 / n) ** 2)
        rows.append(dict(point("task1-force", schedule(ms) + [f"network.n_neurons={n}"], args.group), axis="N"))
        print(rows[-1], flush=True)
    for k, name in joints.items():
        rows.append(dict(point(name, schedule(period) + ["preset='robust'"], args.group), axis="joints", joints=k))
        print(rows[-1], flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_suffix(".csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=sorted({k for r in rows for k in r}))
        writer.writeheader()
        writer.writerows(rows)
    draw(rows, caches(), out, args.group)
    print(f"wrote {out} and {out.with_suffix('.csv')}")


def draw(rows, cache, out: Path, group: int) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.4), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax_n, ax_j = fig.subplots(1, 2)
    by_n = [r for r in rows if r["axis"] == "N"]
    n = np.array([r["n_neurons"] for r in by_n], dtype=float)
    ax_n.plot(n, [r["us_per_step_alone"] for r in by_n], "o-", label="one run alone")
    ax_n.plot(n, [r["us_per_step_grouped"] for r in by_n], "s-", label=f"per run, {group} in lockstep")
    ax_n.set(xscale="log", yscale="log", xlabel="N (neurons)", ylabel="time per step (us)",
             title="Task 1, FORCE: cost against N")
    ax_n.set_xticks(n, [f"{v:g}" for v in n])
    ax_n.minorticks_off()
    ax_b = ax_n.twinx()
    ax_b.plot(n, [r["J_bytes"] / 1e6 for r in by_n], "k:", lw=1, label="J per step (MB)")
    ax_b.plot(n, [(r["J_bytes"] + r["P_bytes_per_step"] * 10) / 1e6 for r in by_n], "k--", lw=1,
              label="J + P (MB, one RLS pass)")
    ax_b.plot(n, [(r["J_bytes"] + r["P_bytes_per_step"] * 10 * group) / 1e6 for r in by_n], "k-.", lw=1,
              label=f"J + {group} runs' P (MB)")
    ax_b.set(yscale="log", ylabel="bytes moved (MB)")
    for level, size in cache.items():
        ax_b.axhline(size / 1e6, color=(0.6, 0.6, 0.6), lw=0.8)
        label = f" {level} {size / 2**20:g} MiB" if size >= 2**20 else f" {level} {size // 1024} KiB"
        ax_b.text(n[0], size / 1e6, label, va="bottom", ha="left", fontsize="x-small", color=(0.4, 0.4, 0.4))
    handles = ax_n.get_legend_handles_labels()[0] + ax_b.get_legend_handles_labels()[0]
    labels = ax_n.get_legend_handles_labels()[1] + ax_b.get_legend_handles_labels()[1]
    ax_n.legend(handles, labels, fontsize="small", loc="lower right")
    by_j = [r for r in rows if r["axis"] == "joints"]
    k = np.array([r["joints"] for r in by_j], dtype=float)
    ax_j.plot(k, [r["us_per_step_alone"] for r in by_j], "o-", label="one run alone")
    ax_j.plot(k, [r["us_per_step_grouped"] for r in by_j], "s-", label=f"per run, {group} in lockstep")
    ax_j.set(xscale="log", xlabel="joints (outputs)", ylabel="time per step (us)", ylim=(0, None),
             title="Task 2 arms, SUPERTREX robust, N = 1000")
    ax_j.set_xticks(k, [f"{v:g}" for v in k])
    ax_j.minorticks_off()
    ax_j.legend(fontsize="small")
    fig.savefig(out)


if __name__ == "__main__":
    main()
