"""The activity figure of one run with recorded units (``reservoir-motor activity RESULT.h5``).

Four panels, drawn from the stored file without simulating:

* the rates of the recorded units around the end of training (heat map; units ordered by the time of
  their peak in the window, the training / test boundary marked);
* the neural trajectory on the first two principal components of the test phase: the last training
  period and the test phase on the same axes, side by side;
* the cumulative variance explained by the test phase's components, in both phases, with the
  dimensionality (participation ratio);
* tangling Q(t) over time in both phases (Russo et al. 2018), on the top 8 components of each.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..studies.analysis import fit_pca, participation_ratio, phase_windows, tangling

PHASE_COLOURS = {"train_last": (0.85, 0.45, 0.1), "test": (0.2, 0.1, 0.9)}
PHASE_LABELS = {"train_last": "last training period", "test": "test"}
N_TANGLING_COMPONENTS = 8


def plot_activity(result, path=None, window_ms: tuple[float, float] | None = None) -> Figure:
    """Draw the activity figure of ``result`` (which must have recorded units) and optionally save it.

    ``window_ms``: the heat map's window; default the last training period and the first test period.
    """
    act = result.activity
    if act is None:
        raise ValueError("it has no recorded activity: run it with --set recording.n_units=100 (for example)")
    cfg = result.config
    windows = phase_windows(result)
    period = cfg.task.duration_ms
    t_train = windows["test"][0]
    if window_ms is None:
        window_ms = (t_train - period, t_train + period)
    phases = {name: act.window(*w) for name, w in windows.items()}
    phases = {name: (t, r.astype(np.float64)) for name, (t, r) in phases.items() if r.shape[0] >= 3}
    if "test" not in phases:
        raise ValueError("its test phase has no recorded samples (recording.units_window excludes it, or the run "
                         "diverged in training)")
    dt = float(np.median(np.diff(act.time_ms)))

    fig = Figure(figsize=(13, 8), dpi=110, layout="constrained")
    grid = fig.add_gridspec(2, 3)
    _heat_map(fig.add_subplot(grid[0, :]), fig, act, window_ms, t_train)
    pca = fit_pca(phases["test"][1], 10)
    ax_train, ax_test = fig.add_subplot(grid[1, 0]), None
    ax_test = fig.add_subplot(grid[1, 1], sharex=ax_train, sharey=ax_train)
    for name, ax in (("train_last", ax_train), ("test", ax_test)):
        if name not in phases:
            ax.set_title(f"{PHASE_LABELS[name]}: not recorded")
            continue
        t, r = phases[name]
        pcs = pca.project(r, 2)
        ax.plot(pcs[:, 0], pcs[:, 1], color=PHASE_COLOURS[name], lw=0.6)
        ax.plot(*pcs[0], "o", color="k", ms=4)
        ax.set_title(f"{PHASE_LABELS[name]} (PCs of the test phase)", fontsize="medium")
        ax.set_xlabel("PC 1")
    ax_train.set_ylabel("PC 2")
    _variance_and_tangling(fig, grid[1, 2], phases, pca, dt)
    fig.suptitle(f"{cfg.name}, seed {result.seed}: {act.units.size} recorded units every {dt:g} ms "
                 f"(deviation {result.metrics['deviation']:.3g})" if result.metrics["deviation"] is not None
                 else f"{cfg.name}, seed {result.seed}: {act.units.size} recorded units (diverged)")
    if path is not None:
        FigureCanvasAgg(fig)
        fig.savefig(Path(path))
    return fig


def _heat_map(ax, fig, act, window_ms, t_train):
    t, r = act.window(*window_ms)
    if r.shape[0] == 0:
        ax.set_title("no recorded samples in the window")
        return
    order = np.argsort(np.argmax(r, axis=0))
    image = ax.imshow(r[:, order].T, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest",
                      extent=(t[0] / 1000, t[-1] / 1000, r.shape[1] - 0.5, -0.5))
    ax.axvline(t_train / 1000, color="k", lw=1.0, ls="--")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("unit (ordered by peak time)")
    ax.set_title("rates of the recorded units; dashed: end of training", fontsize="medium")
    fig.colorbar(image, ax=ax, label="rate r", fraction=0.02, pad=0.01)


def _variance_and_tangling(fig, cell, phases, pca, dt):
    sub = cell.subgridspec(2, 1)
    ax_var, ax_q = fig.add_subplot(sub[0]), fig.add_subplot(sub[1])
    for name, (t, r) in phases.items():
        colour = PHASE_COLOURS[name]
        k = np.arange(1, pca.components.shape[0] + 1)
        captured = [pca.explained_by(r, n) for n in k]
        ax_var.plot(k, captured, "o-", color=colour, ms=3,
                    label=f"{PHASE_LABELS[name]}: PR {participation_ratio(r):.2f}")
        q = tangling(r, dt, n_components=min(N_TANGLING_COMPONENTS, r.shape[1]), block=1024)
        ax_q.semilogy(t / 1000, q, color=colour, lw=0.6, label=f"median {np.median(q):.3g}")
    ax_var.set_ylim(0, 1.02)
    ax_var.set_xlabel("test-phase components")
    ax_var.set_ylabel("variance captured")
    ax_var.legend(fontsize="small")
    ax_q.set_xlabel("time (s)")
    ax_q.set_ylabel(f"tangling Q (top {N_TANGLING_COMPONENTS} PCs)")
    ax_q.legend(fontsize="small")
