"""An animation of the test phase: the arm (or the pen, for Task 1) drawing the curve."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.animation import FFMpegWriter, FuncAnimation, PillowWriter
from matplotlib.figure import Figure

from .. import kinds

TARGET_RED = (1.0, 0.2, 0.2)


def animate_run(result, path, *, n_frames: int = 150, fps: int = 25, trail_periods: float = 1.0) -> Path:
    """Write a GIF (or MP4, by suffix) of the last test period of ``result``.

    The target is red; the drawn trail covers the last ``trail_periods`` periods; for a plant with a limb
    (``joints`` of its registry entry: the arm's segments from the shoulder at (0, -2)) the limb is drawn.
    """
    cfg, tr = result.config, result.traces
    every = cfg.recording.record_every
    n_test0 = cfg.n_train_steps // every
    hand, z = tr["hand"], tr["z"]
    if hand.shape[0] <= n_test0:
        raise ValueError("the run has no test phase to animate (it diverged or has no test periods)")
    per = max(1, cfg.n_period_steps // every)
    start = max(n_test0, hand.shape[0] - per)
    frames = np.linspace(start, hand.shape[0] - 1, n_frames).astype(int)
    plant = kinds.effector(cfg.task.effector)
    is_arm = plant.joints is not None  # a limb to draw
    params = plant.params(cfg.task)
    states = np.asarray(tr.get("plant_state", np.zeros((hand.shape[0], 0))))

    def limb(rows):
        return np.asarray(plant.joints(z[rows], states[rows], params))

    if is_arm:  # the region the limb visits in the animated frames (a long arm reaches far beyond it)
        joints = np.concatenate([limb(frames).reshape(-1, 2), tr["target"][start:]])
        lo, hi = joints.min(axis=0) - 0.3, joints.max(axis=0) + 0.3
        xlim, ylim = (lo[0], hi[0]), (lo[1], hi[1])
    else:
        xlim = ylim = (-1.1, 1.1)
    fig = Figure(figsize=(5.5, 5.5 * (ylim[1] - ylim[0]) / (xlim[1] - xlim[0]) + 0.4), dpi=100)
    ax = fig.add_subplot()
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.plot(tr["target"][start:, 0], tr["target"][start:, 1], color=TARGET_RED, lw=1.5, label="target")
    (trail,) = ax.plot([], [], color="k", lw=1.0, label="drawn")
    (segments,) = ax.plot([], [], "-o", color=(0.2, 0.1, 0.9), lw=2, ms=3)
    ax.legend(loc="upper right", fontsize=8)
    title = ax.set_title("")
    trail_len = int(trail_periods * per)

    def draw(i):
        lo = max(n_test0, i - trail_len)
        trail.set_data(hand[lo:i + 1, 0], hand[lo:i + 1, 1])
        if is_arm:
            joints = limb([i])[0]
            segments.set_data(joints[:, 0], joints[:, 1])
        else:
            segments.set_data([hand[i, 0]], [hand[i, 1]])
        title.set_text(f"{cfg.name}  seed {result.seed}  t = {tr['time_ms'][i] / 1000:.3f} s")
        return trail, segments, title

    anim = FuncAnimation(fig, draw, frames=frames, blit=False)
    path = Path(path)
    writer = FFMpegWriter(fps=fps) if path.suffix == ".mp4" else PillowWriter(fps=fps)
    anim.save(path, writer=writer)
    return path
