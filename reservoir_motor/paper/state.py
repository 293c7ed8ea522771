"""Figure state_stability: when does a learned skill survive without teacher forcing?

SUPERTREX on Task 1 and Task 2, trained with a state input of each kind (``network.state_signal``) at
each amplitude (``network.state_amplitude``), tested on its own feedback (``test_feedback =
'autonomous'``); the references are the same learner without state input tested with teacher forcing,
with replay and autonomously, and FORCE tested autonomously. Every run records 100 units every 5 ms in
the test phase and keeps its learner at the end of training (one checkpoint), so the figure also
measures what the input does to the reservoir: test-phase dimensionality and tangling
(``analysis``), and the divergence of two nearby trajectories over the first test period
(``stability.nearby_divergence`` under each run's own test feedback, on the first ``DIVERGENCE_SEEDS``
seeds: it simulates two periods per run).

Runs go through the sweep (stored runs are reused; runs that differ only in their test share their
training when the sweep shares prefixes) and are drawn from the stored files. The figure writes
``state_stability.png/.pdf``, a provenance JSON, the per-run numbers (CSV) and the README's table
(markdown: median [quartiles] and the satisfactory count per condition).
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from ..storage.checkpoint import load_checkpoint
from ..storage.result import load_result
from ..studies.analysis import activity_measures
from ..studies.report import write_csv
from ..studies.stability import nearby_divergence
from ..studies.sweep import parse_seeds, plan, run_sweep
from .figures import COLOURS, QUICK, write_provenance
from .neural import median_iqr

KINDS = ("phase", "harmonics", "ramp", "hand", "target")
AMPLITUDES = (0.25, 1.0, 4.0)
QUICK_AMPLITUDES = (0.25, 4.0)
#: task: (the experiment with a state input tested autonomously, {reference label: experiment}).
TASKS = {
    "Task 1": ("state-task1-autonomous-state", {
        "teacher forcing": "task1-supertrex", "replay": "state-task1-replay",
        "autonomous, no state input": "state-task1-autonomous",
        "FORCE, autonomous": "state-task1-force-autonomous"}),
    "Task 2": ("state-task2-autonomous-state", {
        "replay": "task2-supertrex", "autonomous, no state input": "state-task2-autonomous"}),
}
RECORDING = ["recording.n_units=100", "recording.units_every=25", "recording.units_window='test'"]
QUICK_RECORDING = ["recording.n_units=50", "recording.units_every=10", "recording.units_window='test'"]
DIVERGENCE_SEEDS = 3


def _overrides(experiment: str, quick: bool) -> list[str]:
    """Size, recording and the checkpoint at the end of training (the divergence starts there)."""
    from ..experiments import load_experiment

    sets = (QUICK if quick else []) + (QUICK_RECORDING if quick else RECORDING)
    n_train = load_experiment(experiment, sets).schedule.n_train_trials
    return sets + [f"recording.checkpoints=[{n_train}]"]


def _grid(amplitudes) -> list[tuple[str, list[str]]]:
    return [("network.state_signal", [f"'{k}'" for k in KINDS]),
            ("network.state_amplitude", [repr(float(a)) for a in amplitudes])]


def _runs(experiments, seeds, results_dir, *, grid=(), quick, workers, progress, device="cpu"):
    """Sweep what is missing and return the planned runs; experiments with the same overrides go into one
    sweep, so that those that differ only in their test share their training."""
    groups = {}
    for experiment in experiments:
        groups.setdefault(tuple(_overrides(experiment, quick)), []).append(experiment)
    out = []
    for sets, names in groups.items():
        run_sweep(names, seeds, results_dir, grid=grid, overrides=list(sets), workers=workers, device=device,
                  progress=progress)
        out += plan(names, seeds, results_dir, grid=grid, overrides=list(sets))
    return out


def _measure_runs(runs, seeds, workers) -> list[dict]:
    """``_measure`` of every run, in ``workers`` processes (default: one per core): the divergence simulates
    two periods per run. Each number is the same function of its file in any process."""
    with_divergence = [run.seed in seeds[:DIVERGENCE_SEEDS] for run in runs]
    workers = min(workers or os.cpu_count() or 1, len(runs))
    if workers <= 1:
        return [_measure(run, d) for run, d in zip(runs, with_divergence, strict=True)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_measure, runs, with_divergence))


def _measure(run, with_divergence: bool) -> dict:
    """The deviation, satisfaction, test-phase activity measures and (optionally) divergence of one run."""
    result = load_result(run.path)
    row = {"condition": run.config.name, "seed": run.seed, "deviation": result.deviation,
           "satisfactory": bool(result.metrics["satisfactory"]), "diverged": result.diverged,
           "state_signal": run.config.network.state_signal if run.config.network.state_input else None,
           "state_amplitude": run.config.network.state_amplitude if run.config.network.state_input else None}
    if result.diverged:
        return row
    measures = activity_measures(result)
    row.update(dimensionality=measures.get("dimensionality_test"), tangling=measures.get("tangling_median_test"))
    if with_divergence:
        ck = load_checkpoint(run.path, run.config.schedule.n_train_trials)
        div = nearby_divergence(run.config, ck, n_periods=1)  # under the run's own test feedback
        row.update(divergence_rate_per_s=div.rate_per_s,
                   # 0 when the copies merged to float32 rounding: drawn at the rounding's level
                   divergence_ratio=float(max(div.distance[-1], np.finfo(np.float32).eps) / div.distance[0]))
    return row


def state_stability_figure(*, quick=False, seeds="0:11", out_dir="figures/out", results_dir="results/figures",
                           workers=None, device="cpu", tasks=None, amplitudes=None) -> Path:
    """Run what is missing, draw the figure, write its tables and provenance; returns the PNG path.

    ``tasks`` (keys of ``TASKS``) and ``amplitudes`` restrict the study (default: all of them; in quick mode
    ``QUICK_AMPLITUDES``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    seeds = parse_seeds("0:2" if quick and seeds == "0:11" else seeds)
    results_dir = Path(results_dir) / ("quick" if quick else "full")
    amplitudes = tuple(amplitudes or (QUICK_AMPLITUDES if quick else AMPLITUDES))
    tasks = list(tasks or TASKS)
    rows, grouped = {}, {}
    for task in tasks:
        experiment, references = TASKS[task]
        runs = _runs([experiment], seeds, results_dir, grid=_grid(amplitudes), quick=quick, workers=workers,
                     device=device, progress=not quick)
        runs += _runs(list(references.values()), seeds, results_dir, quick=quick, workers=workers, device=device,
                      progress=not quick)
        label_of = {v: k for k, v in references.items()}
        rows[task] = _measure_runs(runs, seeds, workers)
        for run, row in zip(runs, rows[task], strict=True):
            row["reference"] = label_of.get(run.config.name)
            grouped.setdefault(run.config.name, []).append(load_result(run.path))

    fig = Figure(figsize=(5.2 * max(len(tasks), 2), 11), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(3, len(tasks) * 2)
    for col, task in enumerate(tasks):
        ax = fig.add_subplot(grid[0, 2 * col:2 * col + 2])
        _curves(ax, rows[task], "deviation", amplitudes, log=True, references=True)
        ax.set_title(f"{task}: autonomous test against the state input's amplitude", fontsize="medium")
        ax.set_ylabel("test deviation (median, quartiles)")
        for j, (key, ylabel, log) in enumerate((("dimensionality", "test dimensionality (PR)", False),
                                                ("tangling", "test tangling (median Q)", True))):
            ax = fig.add_subplot(grid[1, 2 * col + j])
            _curves(ax, rows[task], key, amplitudes, log=log, references=True)
            ax.set_ylabel(ylabel)
            ax.set_title(f"{task}, test phase", fontsize="medium")
        nearby = (("divergence_rate_per_s", "nearby trajectories: growth rate (1/s)", False),
                  ("divergence_ratio", "nearby trajectories: d(1 period) / d(0)", True))
        for j, (key, ylabel, log) in enumerate(nearby):
            ax = fig.add_subplot(grid[2, 2 * col + j])
            _curves(ax, rows[task], key, amplitudes, log=log, references=True)
            if key == "divergence_rate_per_s":
                ax.axhline(0, color=(0.3, 0.3, 0.3), lw=0.8)
            ax.set_ylabel(ylabel)
            ax.set_title(f"{task}, first test period, seeds {seeds[0]}-{seeds[:DIVERGENCE_SEEDS][-1]}",
                         fontsize="medium")
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=5, fontsize="small")
    size = "quick: N = 200, 400 ms periods" if quick else "N = 1000, the scripts' periods"
    fig.suptitle(f"State information and closed-loop stability, SUPERTREX ({size}; seeds {seeds[0]}-{seeds[-1]})")
    path = Path(out_dir) / "state_stability.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    fig.savefig(path.with_suffix(".pdf"))
    write_provenance(path, grouped, seeds)
    write_tables(path, rows, amplitudes)
    return path


def _by_condition(rows, key):
    """{(state_signal, amplitude) or reference label: [values over seeds]} (diverged runs left out)."""
    out = {}
    for row in rows:
        name = row["reference"] or (row["state_signal"], row["state_amplitude"])
        if not row["diverged"] and row.get(key) is not None:
            out.setdefault(name, []).append(row[key])
    return out


def _curves(ax, rows, key, amplitudes, *, log, references):
    values = _by_condition(rows, key)
    x = np.asarray(amplitudes, dtype=float)
    for i, kind in enumerate(KINDS):
        stats = [np.percentile(values[(kind, a)], [25, 50, 75]) if values.get((kind, a)) else [np.nan] * 3
                 for a in amplitudes]
        q1, med, q3 = np.asarray(stats).T
        colour = COLOURS[i % len(COLOURS)]
        ax.plot(x, med, "o-", color=colour, lw=1.4, label=f"state input: {kind}")
        ax.fill_between(x, q1, q3, color=colour, alpha=0.15, lw=0)
    if references:
        for j, (label, vals) in enumerate((k, v) for k, v in values.items() if isinstance(k, str)):
            ax.axhline(np.median(vals), color=(0.2, 0.2, 0.2), lw=1.0, ls=["--", ":", "-.", (0, (5, 1))][j % 4],
                       label=label)
    ax.set_xscale("log")
    ax.minorticks_off()  # the log axis's minor labels would crowd the amplitudes
    ax.set_xticks(x, [f"{a:g}" for a in amplitudes])
    ax.set_xlabel("state amplitude")
    if log:
        ax.set_yscale("log")


def write_tables(path, rows, amplitudes) -> None:
    """Per run (CSV) and per condition (markdown, median [quartiles] and the satisfactory count)."""
    write_csv(path.with_suffix(".csv"), [dict(task=task, **row) for task, task_rows in rows.items()
                                         for row in task_rows])
    lines = ["| task | condition | n | test deviation | satisfactory | test PR | test tangling (median Q) | "
             "divergence rate (1/s) |", "|---|---|---|---|---|---|---|---|"]
    for task, task_rows in rows.items():
        names = [r for r in dict.fromkeys(row["reference"] for row in task_rows) if r]
        names += [(kind, a) for kind in KINDS for a in amplitudes]
        for name in names:
            sel = [r for r in task_rows if (r["reference"] or (r["state_signal"], r["state_amplitude"])) == name]
            if not sel:
                continue
            label = name if isinstance(name, str) else f"state input {name[0]}, amplitude {name[1]:g}"
            ok = [r for r in sel if not r["diverged"]]
            lines.append(f"| {task} | {label} | {len(sel)} | {median_iqr(r['deviation'] for r in ok)} | "
                         f"{sum(r['satisfactory'] for r in sel)}/{len(sel)} | "
                         f"{median_iqr(r.get('dimensionality') for r in ok)} | "
                         f"{median_iqr(r.get('tangling') for r in ok)} | "
                         f"{median_iqr(r.get('divergence_rate_per_s') for r in ok)} |")
    path.with_suffix(".md").write_text("\n".join(lines) + "\n")
