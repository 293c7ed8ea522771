"""The paper's figures of conditions and its comparison figures: ask for runs, draw from stored results only.

A figure script names its experiments; :func:`make_condition_figure` runs what is missing through the
sweep (so stored runs are reused), loads the results, and draws the distance-to-target curves of every
condition (median over seeds, with the 25-75 % band) on a log axis, with the train/test boundary and
every manipulation onset marked. ``quick`` shrinks the runs so the tests can draw every figure.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..storage.provenance import provenance
from ..storage.result import load_result
from ..studies.sweep import plan, run_sweep

QUICK = ["network.n_neurons=200", "task.duration_ms=400", "schedule.replay_lag_trials=1"]
COLOURS = [(0.2, 0.1, 0.9), (0.0, 0.6, 0.3), (1.0, 0.5, 0.0), (1.0, 0.2, 0.2), (0.2, 0.2, 0.2),
           (0.55, 0.25, 0.6), (0.1, 0.6, 0.8)]
# a dash pattern per condition, so that two conditions with the same curve (P1's d = 0.1 and d = 0) both show
DASHES = ["-", "--", "-.", ":"]


def ensure_runs(experiments, seeds, out_dir, *, quick=False, workers=None, device="cpu", overrides=()):
    """Simulate what is missing, then return {experiment: [Result, ...]} read from the stored files."""
    sets = (QUICK if quick else []) + list(overrides)
    run_sweep(experiments, seeds, out_dir, overrides=sets, workers=workers, device=device, progress=not quick)
    grouped = {}
    for run in plan(experiments, seeds, out_dir, overrides=sets):
        grouped.setdefault(run.config.name, []).append(load_result(run.path))
    return grouped


def plot_condition_curves(grouped: dict, path, *, title: str, labels: dict | None = None):
    """Distance from target (median and quartiles over seeds) of each condition against time."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4.8), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    marks = set()
    for i, (name, results) in enumerate(grouped.items()):
        ok = [r for r in results if not r.diverged]
        colour = COLOURS[i % len(COLOURS)]
        label = (labels or {}).get(name, name)
        if not ok:
            ax.plot([], [], color=colour, label=f"{label} (all {len(results)} diverged)")
            continue
        n = min(len(r.traces["distance"]) for r in ok)
        d = np.array([r.traces["distance"][:n] for r in ok])
        t = ok[0].traces["time_ms"][:n] / 1000
        # the first condition is the control: a broad translucent line, so that a condition identical to
        # it (SUPERTREX lesioned after training, say) shows as a thin line inside it instead of hiding it
        width, alpha, dash = (2.6, 0.55, "-") if i == 0 else (1.2, 1.0, DASHES[(i - 1) % len(DASHES)])
        ax.plot(t, np.median(d, axis=0), color=colour, lw=width, alpha=alpha, ls=dash,
                label=f"{label} (n = {len(ok)})")
        ax.fill_between(t, *np.percentile(d, [25, 75], axis=0), color=colour, alpha=0.2, lw=0)
        cfg = ok[0].config
        dt = cfg.network.dt_ms / 1000
        marks.add((cfg.n_train_steps * dt, "test", (0.2, 0.2, 0.2)))
        for m in cfg.manipulations:
            start, stop = cfg.manipulation_steps(m)
            what = m.kind.replace("_", " ")
            marks.add((start * dt, what, colour))
            if stop < cfg.n_steps:  # a manipulation that ends is a treatment too (P4's L-DOPA)
                marks.add((stop * dt, f"{what} ends", colour))
    by_time = {}
    for x, text, colour in sorted(marks):
        by_time.setdefault(x, []).append((text, colour))
    for x, items in by_time.items():  # one line and one label per instant
        ax.axvline(x, color=items[0][1], ls=":", lw=1)
        text = " / ".join(dict.fromkeys(t for t, _ in items))
        ax.annotate(text, (x, 1.0), xycoords=("data", "axes fraction"), rotation=90, va="top", ha="right",
                    fontsize=7, color=(0.2, 0.2, 0.2))
    ax.set_yscale("log")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("distance from target")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path.with_suffix(".png"))
    fig.savefig(path.with_suffix(".pdf"))
    return fig


def write_provenance(path, grouped: dict, seeds) -> Path:
    """A JSON file beside the figure: every config, the seeds, the versions and commit of the code that drew
    it, and the commits of the code that made each condition's runs (stored runs may be older)."""
    record = {"seeds": list(seeds), "provenance": provenance(),
              "run_commits": {name: sorted({r.provenance["git_commit"] for r in results})
                              for name, results in grouped.items()},
              "conditions": {name: results[0].config.to_dict() for name, results in grouped.items()},
              "deviations": {name: [r.deviation for r in results] for name, results in grouped.items()}}
    out = Path(path).with_suffix(".provenance.json")
    out.write_text(json.dumps(record, indent=1))
    return out


def make_condition_figure(name, experiments, *, title, quick=False, seeds="0:11", out_dir="figures/out",
                          results_dir="results/figures", labels=None, workers=None, device="cpu"):
    """Run, draw and record one figure; returns the PNG path."""
    from ..studies.sweep import parse_seeds

    seeds = parse_seeds("0:2" if quick and seeds == "0:11" else seeds)
    results_dir = Path(results_dir) / ("quick" if quick else "full")
    grouped = ensure_runs(experiments, seeds, results_dir, quick=quick, workers=workers, device=device)
    path = Path(out_dir) / name
    plot_condition_curves(grouped, path, title=title, labels=labels)
    write_provenance(path, grouped, seeds)
    return path.with_suffix(".png")


#: name: (experiments, title). One script per figure in figures/ draws it; so does `reservoir-motor figure`.
CONDITION_FIGURES = {
    "lesion_l1": (["task1-supertrex", "l1-supertrex-lesion", "task1-rmhl", "l1-rmhl-lesion"],
                  "L1 automaticity: exploratory pathway lesioned at the end of training"),
    "lesion_l2": (["task1-supertrex", "l2-lesion-after-1", "l2-lesion-after-2", "l2-lesion-after-5",
                   "l1-supertrex-lesion"], "L2 lesion timing: lesion after 1, 2, 5, 10 training periods"),
    "lesion_l3": (["task1-supertrex", "l3-lesion-before-training"], "L3: lesion before training"),
    "lesion_l4": (["task1-supertrex", "l4-blocked-transfer", "task1-rmhl"], "L4: transfer blocked in training"),
    "parkinson_p1": (["task1-supertrex", "p1-dopamine-0.5", "p1-dopamine-0.25", "p1-dopamine-0.1",
                      "p1-dopamine-0.0"], "P1: dopamine (and exploration gain) d from t = 0"),
    "parkinson_p2_p3": (["p-control-20", "p2-parkinson-after-learning", "p3-pallidotomy-same-target", "p3-pallidotomy"],
                        "P2-P3: disease after learning, pallidotomy, a new target"),
    "parkinson_p4": (["p-control-20", "p4-parkinson-untreated", "p4-ldopa"], "P4: L-DOPA restores dopamine"),
    "state_information": (["task1-supertrex", "state-task1-replay", "state-task1-autonomous",
                           "state-task1-autonomous-state", "task2-supertrex", "state-task2-autonomous",
                           "state-task2-autonomous-state"], "State information: test-phase feedback modes"),
}


#: name: ([(experiment, extra overrides, row label[, seed])], seed, title). Drawn row by row with
#: plot_comparison; a row's own seed, if given, replaces the figure's.
PAPER_FIGURES = {
    "fig2_task1": ([("task1-force", [], "FORCE"), ("task1-rmhl", [], "RMHL"), ("task1-supertrex", [], "SUPERTREX")],
                   0, "Figure 2: Task 1, the butterfly with a known target"),
    "fig3_task2": ([("task2-rmhl", [], "RMHL"), ("task2-supertrex", [], "SUPERTREX")],
                   0, "Figure 3: Task 2, two-joint arm, scalar reward"),
    "fig4_task3": ([("task3-rmhl", [], "RMHL"), ("task3-supertrex", [], "SUPERTREX (faithful)"),
                    ("task3-supertrex", ["preset=robust", "name=task3-supertrex-robust"], "SUPERTREX (robust)")],
                   0, "Figure 4: Task 3, three-joint arm with movement costs"),
    # ReScience's Figure 5: the scripts' SUPERTREX breaks on the redundant arm (Task 2'), the robust one does not
    "fig5_task2prime": ([("task2-3seg-supertrex", [], "faithful, seed 0"),
                         ("task2-3seg-supertrex", [], "faithful, seed 1", 1),
                         ("task2-3seg-supertrex", ["preset=robust", "name=task2-3seg-supertrex-robust"],
                          "robust, seed 1", 1)], 0, "Task 2': SUPERTREX on the three-joint arm without costs"),
    "scalability": ([("task2-3seg-supertrex", ["preset=robust", "name=task2-3seg-supertrex-robust"], "3 segments")]
                    + [(f"task2-n{n}-supertrex", ["preset=robust", f"name=task2-n{n}-robust"], f"{n} segments")
                       for n in (5, 10, 20, 50)], 0, "Scalability: robust SUPERTREX on arms of 3-50 segments"),
}


def make_paper_figure(name, *, quick=False, out_dir="figures/out", results_dir="results/figures", workers=None,
                      device="cpu"):
    """Run what is missing for one of PAPER_FIGURES, draw it from the stored results; returns the PNG path."""
    from ..plots.run import plot_comparison

    rows, seed, title = PAPER_FIGURES[name]
    results_dir = Path(results_dir) / ("quick" if quick else "full")
    grouped = {}  # by row label: a row may show the same experiment as another one, at its own seed
    for experiment, extra, label, *row_seed in rows:
        found = ensure_runs([experiment], row_seed or [seed], results_dir, quick=quick, workers=workers, device=device,
                            overrides=extra)
        grouped[label] = next(iter(found.values()))
    path = Path(out_dir) / f"{name}.png"
    fig = plot_comparison([runs[0] for runs in grouped.values()], path, title=title, labels=list(grouped))
    fig.savefig(path.with_suffix(".pdf"))
    write_provenance(path, grouped, sorted({r.seed for runs in grouped.values() for r in runs}))
    return path
