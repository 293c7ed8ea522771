"""Figure neural_dynamics: the reservoir's population activity under FORCE, RMHL and SUPERTREX on Task 1,
and SUPERTREX before and after a lesion of its exploratory pathway.

Runs record 100 units every 5 ms (25 steps) over the whole run; they are simulated through the sweep
(stored runs are reused) and drawn from the stored files:

* top row: the test-phase trajectory of seed 0 on its own first two principal components, per rule; and
  the lesioned run (``l2-lesion-after-5``: lesion after 5 training periods) in the period before and the
  period after the lesion, on the PCs of the period before;
* bottom row: per rule over seeds, the test-phase dimensionality (participation ratio) and tangling
  (median Q on the top 8 PCs), and the same measures before / after the lesion, paired by seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..studies.analysis import activity_measures, fit_pca, window_measures
from ..studies.report import write_csv
from .figures import COLOURS, ensure_runs, write_provenance

RULES = {"task1-force": "FORCE", "task1-rmhl": "RMHL", "task1-supertrex": "SUPERTREX"}
LESIONED = "l2-lesion-after-5"
RECORDING = ["recording.n_units=100", "recording.units_every=25"]
QUICK_RECORDING = ["recording.n_units=50", "recording.units_every=10"]


def lesion_windows(result) -> dict[str, tuple[float, float]]:
    """The training period before the lesion and the one after it (ms)."""
    cfg = result.config
    start, _ = cfg.manipulation_steps(cfg.manipulations[0])
    t, period = start * cfg.network.dt_ms, cfg.task.duration_ms
    return {"before": (t - period, t), "after": (t, t + period)}


def neural_dynamics_figure(*, quick=False, seeds="0:11", out_dir="figures/out", results_dir="results/figures",
                           workers=None, device="cpu") -> Path:
    """Run what is missing, draw the figure, write its provenance; returns the PNG path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..studies.sweep import parse_seeds

    seeds = parse_seeds("0:2" if quick and seeds == "0:11" else seeds)
    results_dir = Path(results_dir) / ("quick" if quick else "full")
    grouped = ensure_runs(list(RULES) + [LESIONED], seeds, results_dir, quick=quick, workers=workers, device=device,
                          overrides=QUICK_RECORDING if quick else RECORDING)

    fig = Figure(figsize=(15, 7.5), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 4)
    for col, (name, label) in enumerate(RULES.items()):
        ax = fig.add_subplot(grid[0, col])
        run = grouped[name][0]
        _trajectory(ax, run, *_test_window(run), None, COLOURS[col], f"{label}, test phase, seed {run.seed}")
    ax = fig.add_subplot(grid[0, 3])
    run = grouped[LESIONED][0]
    windows = lesion_windows(run)
    _, before = run.activity.window(*windows["before"])
    pca = fit_pca(before, 2)
    for (phase, window), colour in zip(windows.items(), ((0.85, 0.45, 0.1), (0.4, 0.4, 0.4)), strict=True):
        _trajectory(ax, run, *window, pca, colour, f"SUPERTREX, lesion after 5 periods, seed {run.seed}", phase)
    ax.legend(fontsize="small")

    measures = {name: [activity_measures(r) if not r.diverged else None for r in grouped[name]] for name in RULES}
    for col, (key, ylabel) in enumerate((("dimensionality_test", "test-phase dimensionality (PR)"),
                                         ("tangling_median_test", "test-phase tangling (median Q)"))):
        ax = fig.add_subplot(grid[1, col])
        for i, name in enumerate(RULES):
            values = [m[key] for m in measures[name] if m and key in m]
            _dots(ax, i, values, COLOURS[i])
        ax.set_xticks(range(len(RULES)), list(RULES.values()))
        ax.set_ylabel(ylabel)
        if "tangling" in key:
            ax.set_yscale("log")
    lesion = [{p: window_measures(r.activity, *w) for p, w in lesion_windows(r).items()} for r in grouped[LESIONED]]
    for col, (key, ylabel) in enumerate((("dimensionality", "dimensionality (PR)"),
                                         ("tangling_median", "tangling (median Q)")), start=2):
        ax = fig.add_subplot(grid[1, col])
        pairs = np.array([[m["before"][key], m["after"][key]] for m in lesion if m["before"] and m["after"]])
        for pair in pairs:
            ax.plot([0, 1], pair, color=(0.6, 0.6, 0.6), lw=0.8)
        _dots(ax, 0, pairs[:, 0], (0.85, 0.45, 0.1), spread=0.0)
        _dots(ax, 1, pairs[:, 1], (0.4, 0.4, 0.4), spread=0.0)
        ax.set_xticks([0, 1], ["period before\nthe lesion", "period after\nthe lesion"])
        ax.set_ylabel(ylabel)
        ax.set_title(f"SUPERTREX lesion, paired by seed (n = {len(pairs)})", fontsize="medium")
        if "tangling" in key:
            ax.set_yscale("log")
    size = "quick: N = 200, 400 ms periods" if quick else "N = 1000, 10 s periods"
    fig.suptitle(f"Reservoir dynamics on Task 1 ({size}; {grouped[LESIONED][0].activity.units.size} recorded units; "
                 f"seeds {seeds[0]}-{seeds[-1]})")
    path = Path(out_dir) / "neural_dynamics.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    fig.savefig(path.with_suffix(".pdf"))
    write_provenance(path, grouped, seeds)
    write_tables(path, grouped, measures, lesion)
    return path


def write_tables(path, grouped, measures, lesion) -> None:
    """Per run (CSV) and per rule (markdown: median [25th-75th percentile] over seeds) the deviation and
    the activity measures, beside the figure."""

    keys = ["dimensionality_test", "tangling_median_test", "tangling_p90_test",
            "dimensionality_train_last", "tangling_median_train_last"]
    rows = []
    for name in RULES:
        for run, m in zip(grouped[name], measures[name], strict=True):
            rows.append({"experiment": name, "seed": run.seed, "deviation": run.deviation,
                         **{k: (m or {}).get(k) for k in keys}})
    for run, m in zip(grouped[LESIONED], lesion, strict=True):
        rows.append({"experiment": LESIONED, "seed": run.seed, "deviation": run.deviation,
                     **{f"{key}_{phase}": (m[phase] or {}).get(key) for phase in ("before", "after")
                        for key in ("dimensionality", "tangling_median", "tangling_p90")}})
    write_csv(path.with_suffix(".csv"), rows)

    lines = ["| rule | n | deviation | test dimensionality (PR) | test tangling, median Q | test tangling, 90th "
             "percentile | last training period: PR |", "|---|---|---|---|---|---|---|"]
    for name, label in RULES.items():
        sel = [r for r in rows if r["experiment"] == name]
        lines.append(f"| {label} | {len(sel)} | " + " | ".join(median_iqr(r[k] for r in sel) for k in (
            "deviation", "dimensionality_test", "tangling_median_test", "tangling_p90_test",
            "dimensionality_train_last")) + " |")
    sel = [r for r in rows if r["experiment"] == LESIONED]
    lines += ["", "| SUPERTREX, lesion after 5 periods | n | period before | period after |", "|---|---|---|---|"]
    for key in ("dimensionality", "tangling_median"):
        lines.append(f"| {key.replace('_', ' ')} | {len(sel)} | {median_iqr(r[f'{key}_before'] for r in sel)} | "
                     f"{median_iqr(r[f'{key}_after'] for r in sel)} |")
    path.with_suffix(".md").write_text("\n".join(lines) + "\n")


def median_iqr(values) -> str:
    """``median [25th-75th percentile]`` of the values that are not None, to 3 digits ("-" if none)."""
    v = np.asarray([x for x in values if x is not None], dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return "-"
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return f"{med:.3g} [{q1:.3g}-{q3:.3g}]"


def _test_window(run):
    cfg = run.config
    return cfg.n_train_steps * cfg.network.dt_ms, cfg.n_steps * cfg.network.dt_ms


def _trajectory(ax, run, t0, t1, pca, colour, title, label=None):
    _, rates = run.activity.window(t0, t1)
    if rates.shape[0] < 3:
        ax.set_title(f"{title}: no samples")
        return
    pcs = (pca or fit_pca(rates, 2)).project(rates, 2)
    ax.plot(pcs[:, 0], pcs[:, 1], color=colour, lw=0.6, label=label)
    ax.set_title(title, fontsize="medium")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")


def _dots(ax, x, values, colour, spread=0.12):
    """One dot per seed (spread sideways so they do not hide each other), the median as a bar."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return
    jitter = np.linspace(-spread, spread, values.size) if values.size > 1 else np.zeros(1)
    ax.plot(x + jitter, values, "o", color=colour, ms=4, alpha=0.8)
    ax.plot([x - 0.25, x + 0.25], [np.median(values)] * 2, color="k", lw=2)
