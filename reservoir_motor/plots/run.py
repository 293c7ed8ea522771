"""The paper-style figure of one run (spec section 12).

``plot_run`` draws, from a stored :class:`~reservoir_motor.storage.result.Result` and without simulating:

* the test-phase drawing against the red target (for an arm, with the arm at a few instants),
* x(t) and y(t) of the hand over all periods, the target dashed,
* the joint angles over time (arm tasks only),
* the distance from target on a log axis against t / tau, with the deviation metric over the test window,
* the readout norms (SUPERTREX: exploratory and mastery; FORCE and RMHL: their single readout).

The figure is a plain :class:`matplotlib.figure.Figure` on an Agg canvas: no pyplot, no global state, and
importing this module does not change the user's matplotlib backend.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from scipy.signal import lfilter

from .. import kinds
from ..config import TaskConfig
from ..plants import make_target
from ..plants.arm import PIVOT

TARGET = (1, 0.2, 0.2)
EXPLORATORY = (0, 0.6, 0.3)
MASTERY = (0.2, 0.1, 0.9)
GREY = (0.2, 0.2, 0.2)
BOXED_LEGEND = dict(loc="best", fontsize="small", framealpha=0.85, edgecolor="none")  # readable over curves
DIVERGED = "red"
SMOOTHING = 0.2  # the 0.8 / 0.2 display filter of spec 12.3, per simulation step
N_ARM_POSES = 4  # arm configurations drawn in the drawing panel


def plot_run(result, path=None) -> Figure:
    """Draw the paper-style figure of one run and optionally save it.

    Parameters
    ----------
    result : Result
        A finished or diverged run (see :func:`reservoir_motor.simulate`, :func:`reservoir_motor.load_result`).
    path : str or Path, optional
        Where to save the figure; the format follows the suffix (``.png``, ``.pdf``, ...).

    Returns
    -------
    matplotlib.figure.Figure
        Five axes (drawing, x(t), y(t), distance, norms) for the identity effector; six for an arm, which
        adds the joint angles.

    Notes
    -----
    Plot conventions of spec 12.3: outputs, angles and hand positions are smoothed with the exponential
    filter y <- 0.8 y + 0.2 u of the scripts. The traces are sampled every ``record_every`` steps, so the
    filter is applied per sample with the coefficient 1 - 0.8**record_every, which keeps its time constant
    in ms (the scripts filter every step and then subsample).
    """
    run = _RunView(result)
    fig = Figure(figsize=(12, 7), dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    axes = _make_axes(fig, run.is_arm)
    _plot_drawing(axes["drawing"], run)
    for k, name in enumerate("xy"):
        _plot_coordinate(axes[name], run, k)
    if run.is_arm:
        _plot_angles(axes["angles"], run)
    _plot_distance(axes["distance"], run)
    _plot_norms(axes["norms"], run)
    fig.suptitle(_title(run))
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    return fig


class _RunView:
    """The arrays and numbers that the panels need, derived once from a result."""

    def __init__(self, result):
        cfg = result.config
        self.result, self.config, self.metrics = result, cfg, result.metrics
        self.plant = kinds.effector(cfg.task.effector)
        # the joint-angle panel: the kinematic arm's command (units of pi), or a plant's angle states (rad)
        self.angle_states = [self.plant.state_names.index(n) for n in self.plant.angle_states]
        self.is_arm = cfg.task.effector == "arm" or bool(self.angle_states)
        # the task's length unit: 1 at the scripts' target_scale, 0.1 for a butterfly of radius 0.1 m
        self.unit = TaskConfig.target_scale / cfg.task.target_scale
        self.has_limb = self.plant.joints is not None  # a limb to draw (the plant entry's joints)
        self.plant_state = np.asarray(result.traces.get("plant_state", np.zeros((len(result.traces["z"]), 0))))
        tr = result.traces
        alpha = 1 - (1 - SMOOTHING) ** cfg.recording.record_every
        self.t_ms = np.asarray(tr["time_ms"], dtype=float)
        self.hand = _smooth(tr["hand"], alpha)
        self.z = _smooth(tr["z"], alpha)
        self.angles = (_smooth(self.plant_state[:, self.angle_states], alpha) if self.angle_states
                       else self.z)
        self.target = np.asarray(tr["target"], dtype=float)
        self.n_period_samples = -(-cfg.n_period_steps // cfg.recording.record_every)
        self.t_train_ms = cfg.n_train_steps * cfg.network.dt_ms
        self.tau_ms = cfg.network.tau_ms
        self.test = self.t_ms >= self.t_train_ms
        step = self.metrics.get("diverged_step", -1)
        self.diverged_step = step if self.metrics.get("diverged") else None
        self.t_diverged_ms = None if self.diverged_step is None else self.diverged_step * cfg.network.dt_ms
        # the end of the time axes: the planned run, or for a diverged one what it ran and at least a period
        self.t_end_ms = cfg.n_steps * cfg.network.dt_ms
        if self.t_diverged_ms is not None:
            self.t_end_ms = min(self.t_end_ms, max(2 * self.t_diverged_ms, cfg.task.duration_ms))


def _smooth(u, alpha):
    """Exponential filter y_i = (1 - alpha) y_{i-1} + alpha u_i along axis 0, started at y_0 = u_0."""
    u = np.asarray(u, dtype=float)
    if u.shape[0] == 0:
        return u
    return lfilter([alpha], [1, alpha - 1], u, axis=0, zi=(1 - alpha) * u[:1])[0]


def _make_axes(fig, is_arm):
    """Top row: drawing, x(t) over y(t), joint angles (arm); bottom row: distance (wide), norms."""
    grid = fig.add_gridspec(2, 3, height_ratios=(1.15, 1))
    xy = (grid[0, 1] if is_arm else grid[0, 1:]).subgridspec(2, 1, hspace=0)
    axes = {"drawing": fig.add_subplot(grid[0, 0])}
    axes["x"] = fig.add_subplot(xy[0])
    axes["y"] = fig.add_subplot(xy[1], sharex=axes["x"])
    if is_arm:
        axes["angles"] = fig.add_subplot(grid[0, 2], sharex=axes["x"])
    axes["distance"] = fig.add_subplot(grid[1, :2])
    axes["norms"] = fig.add_subplot(grid[1, 2])
    axes["norms"].xaxis.set_major_locator(MaxNLocator(4))
    return axes


def _time_markers(ax, run, scale_ms, label=False):
    """The train/test boundary (black, dotted) and, for a diverged run, the divergence time (red).

    A run that never reached the test (it diverged in training) has no boundary, as in _drawn_samples.
    """
    if run.test.any():
        ax.axvline(run.t_train_ms / scale_ms, color="k", ls=":", lw=1)
    if run.t_diverged_ms is not None:
        ax.axvline(run.t_diverged_ms / scale_ms, color=DIVERGED, lw=1.2,
                   label=f"diverged at step {run.diverged_step}" if label else None)


def _drawn_samples(run):
    """The samples shown in the drawing: the test phase, else (no test, or diverged before it) the last period."""
    if run.test.any():
        return run.test, "test phase"
    last = run.t_ms >= run.t_ms[-1] - run.config.task.duration_ms if run.t_ms.size else run.test
    return last, "last recorded period (training)"


def _plot_drawing(ax, run):
    shown, what = _drawn_samples(run)
    target = _target_period(run)
    ax.plot(*target.T, color=TARGET, lw=2, label="target")
    ax.plot(*run.hand[shown].T, color="k", lw=0.9, label="hand")
    boxes = [target, run.hand[shown]]
    if run.has_limb:
        boxes.append(_plot_arm(ax, run, shown))
    # An arm keeps everything within its reach; a free hand that ran away is cut at 3x the target's size.
    cap = np.inf if run.has_limb else 3.0 * np.abs(target).max()
    lim = _drawing_limits(boxes, minimum=(1.5 if run.has_limb else 1.0) * run.unit, cap=cap)
    ax.set(xlim=lim[0], ylim=lim[1], xlabel="x", ylabel="y", title=f"drawing, {what}")
    ax.set_aspect("equal", adjustable="box")
    ax.legend(**BOXED_LEGEND)


def _target_period(run):
    """One closed period of the target: from the traces, or rebuilt from the config if the run stopped early."""
    if run.target.shape[0] > run.n_period_samples:
        return run.target[: run.n_period_samples + 1]
    target = make_target(run.config)
    return np.vstack([target[:: run.config.recording.record_every], target[:1]])


def _plot_arm(ax, run, shown):
    """Thin grey arms at a few instants of the first shown period; returns the joint positions drawn."""
    idx = np.flatnonzero(shown)[: run.n_period_samples]
    picks = idx[np.linspace(0, idx.size - 1, N_ARM_POSES).astype(int)] if idx.size else idx
    joints = np.asarray(run.plant.joints(run.z[picks], run.plant_state[picks],
                                         run.plant.params(run.config.task)))
    for pose in joints:
        ax.plot(*pose.T, color="0.55", lw=0.8, marker="o", ms=2.5, zorder=1)
    ax.plot(*joints[0, 0] if len(joints) else PIVOT, marker="s", color="0.3", ms=5)
    return joints.reshape(-1, 2)


def _drawing_limits(point_sets, minimum, cap):
    """(xlim, ylim) containing every finite point and the square +-minimum, but nothing beyond +-cap."""
    pts = np.concatenate([np.asarray(p, dtype=float).reshape(-1, 2) for p in point_sets])
    pts = pts[np.isfinite(pts).all(axis=1)]
    lo = np.clip(pts.min(axis=0), -cap, None) if pts.size else np.array([-minimum] * 2)
    hi = np.clip(pts.max(axis=0), None, cap) if pts.size else np.array([minimum] * 2)
    lo, hi = np.minimum(lo, -minimum), np.maximum(hi, minimum)
    pad = 0.05 * (hi - lo)
    return (lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1])


def _plot_coordinate(ax, run, k):
    """Hand coordinate k (0: x, 1: y) over all periods against the dashed target."""
    name = "xy"[k]
    t_s = run.t_ms / 1000
    ax.plot(t_s, run.target[:, k], color=TARGET, ls="--", lw=1.2)
    ax.plot(t_s, run.hand[:, k], color="k", lw=0.7)
    ref = max(run.unit, np.abs(run.target[:, k]).max(initial=0))
    ax.set_ylim(*_clipped_range(run.hand[:, k], -1.2 * ref, 1.2 * ref, cap=3 * ref))
    ax.set(ylabel=f"{name}(t)", xlim=(0, run.t_end_ms / 1000))
    _time_markers(ax, run, 1000)
    if k == 0:
        ax.tick_params(labelbottom=False)
        ax.set_title("hand (black) and target (red, dashed)")
    else:
        ax.set_xlabel("time (s)")


def _clipped_range(values, lo, hi, cap):
    """(lo, hi) widened to the finite values (with a 5% margin), but never beyond +-cap."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size:
        lo, hi = min(lo, v.min()), max(hi, v.max())
        pad = 0.05 * (hi - lo)
        lo, hi = max(lo - pad, -cap), min(hi + pad, cap)
    return lo, hi


def _plot_angles(ax, run):
    """Joint angles: the kinematic arm's z_j(t) in units of pi, a plant's angle states in rad; a legend for a few
    joints only."""
    t_s = run.t_ms / 1000
    colors = _joint_colors(run.angles.shape[1])
    for j, c in enumerate(colors):
        ax.plot(t_s, run.angles[:, j], color=c, lw=0.7, label=rf"$\theta_{{{j + 1}}}$")
    unit = "rad" if run.angle_states else r"$\pi$"
    ax.set(xlabel="time (s)", ylabel=f"joint angle ({unit})", title="joint angles", xlim=(0, run.t_end_ms / 1000))
    _time_markers(ax, run, 1000)
    if len(colors) <= 6:
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi + 0.2 * (hi - lo))  # a free band at the top for the legend
        ax.legend(loc="upper right", ncols=len(colors), fontsize="small", frameon=False)


def _joint_colors(n):
    return colormaps["plasma"](np.linspace(0, 0.75, n)) if n > 1 else [(0, 0, 0, 1)]


def _plot_distance(ax, run):
    """sqrt(m) on a log axis against t / tau, with the deviation metric over the test window."""
    dist = np.asarray(run.result.traces["distance"], dtype=float)
    t_tau = run.t_ms / run.tau_ms
    ax.semilogy(t_tau, np.where(dist > 0, dist, np.nan), color="k", lw=0.9)
    deviation = run.metrics.get("deviation")
    if deviation is not None:
        window = (run.t_train_ms / run.tau_ms, run.t_end_ms / run.tau_ms)
        ax.hlines(deviation, *window, color=GREY, lw=2.5, alpha=0.8, label=f"deviation {deviation:.2e}")
    _time_markers(ax, run, run.tau_ms, label=True)
    lo, hi = ax.get_ylim()
    if hi < 10 * lo:  # a near-constant distance (a run that stopped early): show one decade around it
        ax.set_ylim(np.sqrt(lo * hi) / np.sqrt(10), np.sqrt(lo * hi) * np.sqrt(10))
    ax.set(xlabel=r"time ($t/\tau$)", ylabel="distance from target", title="distance from target",
           xlim=(0, run.t_end_ms / run.tau_ms))
    if ax.get_legend_handles_labels()[0]:  # wherever it hides the least of the curve
        ax.legend(**BOXED_LEGEND)


def _plot_norms(ax, run):
    """Readout Frobenius norms: both pathways for SUPERTREX, the single readout (grey) otherwise."""
    tr, t_tau = run.result.traces, run.t_ms / run.tau_ms
    rule = run.config.rule.name
    if rule == "supertrex":
        # exploratory last and dashed: with a moving transfer the two norms can coincide
        lines = [("mastery", tr["norm_mastery"], MASTERY, "-"),
                 ("exploratory", tr["norm_exploratory"], EXPLORATORY, "--")]
    else:
        key = "norm_mastery" if rule == "force" else "norm_exploratory"
        lines = [("readout", tr[key], GREY, "-")]
    top = 0.0
    for label, values, color, style in lines:
        ax.plot(t_tau, values, color=color, ls=style, lw=1.2, label=label)
        finite = np.asarray(values, dtype=float)[np.isfinite(values)]
        top = max(top, finite.max(initial=0))
    _time_markers(ax, run, run.tau_ms)
    ax.set(xlabel=r"time ($t/\tau$)", ylabel="readout norm (Frobenius)", title="readout norms",
           xlim=(0, run.t_end_ms / run.tau_ms), ylim=(0, max(0.5, 1.1 * top)))
    ax.legend(loc="upper left", fontsize="small", frameon=False)


def _title(run):
    m, cfg = run.metrics, run.config
    head = f"{cfg.name}  |  {cfg.rule.name.upper()}  |  seed {run.result.seed}"
    if run.diverged_step is not None:
        return f"{head}  |  diverged at step {run.diverged_step}"
    if m.get("deviation") is None:
        return f"{head}  |  no test phase"
    verdict = "satisfactory" if m.get("satisfactory") else "not satisfactory"
    return f"{head}  |  deviation {m['deviation']:.2e} ({verdict})"


#: Up to this many joints a comparison row shows the joint angles (the paper's Figures 3 and 4); beyond
#: it, the hand's x(t) and y(t) (the replication's scalability figure).
MAX_ANGLES_SHOWN = 3


def plot_comparison(results, path=None, *, title="", labels=None) -> Figure:
    """One row per run: test-phase drawing; x(t) over y(t) of the hand against the target, or the joint
    angles of an arm of up to ``MAX_ANGLES_SHOWN`` joints; distance from target; readout norms.

    The layout of the paper's Figures 2-4 (one row per learning rule or condition), built from the same
    panels as :func:`plot_run`.
    """
    fig = Figure(figsize=(13, 2.9 * len(results) + 0.6), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(len(results), 4, width_ratios=(1, 2, 2, 1.2))
    for i, result in enumerate(results):
        run = _RunView(result)
        ax_draw = fig.add_subplot(grid[i, 0])
        _plot_drawing(ax_draw, run)
        ax_draw.set_title((labels or [None] * len(results))[i] or _title(run), fontsize=10, fontweight="bold")
        if run.is_arm and run.z.shape[1] <= MAX_ANGLES_SHOWN:
            _plot_angles(fig.add_subplot(grid[i, 1]), run)
        else:
            xy = grid[i, 1].subgridspec(2, 1, hspace=0)
            ax_x = fig.add_subplot(xy[0])
            _plot_coordinate(ax_x, run, 0)
            _plot_coordinate(fig.add_subplot(xy[1], sharex=ax_x), run, 1)
        _plot_distance(fig.add_subplot(grid[i, 2]), run)
        _plot_norms(fig.add_subplot(grid[i, 3]), run)
    fig.suptitle(title)
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    return fig
