"""Planar n-joint arm (spec 6.2): outputs are joint angles in units of pi, the shoulder pivot sits at
(0, -2), angles are measured from the +y axis and accumulate along the arm.

``tip_position`` is plain Python on scalars and arrays so that the compiled loop can compile the very
same function (``kernel.loop`` wraps it with numba); ``joint_positions`` is its vectorised companion for
drawing and for the Gymnasium environment.
"""

from __future__ import annotations

import math

import numpy as np

from .. import elementary

PIVOT = (0.0, -2.0)


def tip_position(z, lengths, out):
    """End-effector position of the arm with joint angles ``z`` (units of pi) into ``out[0:2]``."""
    phi = 0.0
    hx, hy = PIVOT
    for j in range(lengths.size):
        phi += math.pi * z[j]
        hx += lengths[j] * elementary.sin(phi)
        hy += lengths[j] * elementary.cos(phi)
    out[0] = hx
    out[1] = hy


def joint_positions(angles, lengths) -> np.ndarray:
    """Positions of the pivot, every joint and the tip.

    Parameters
    ----------
    angles : array, shape (..., n_joints)
        Joint angles in units of pi.
    lengths : array, shape (n_joints,)

    Returns
    -------
    array, shape (..., n_joints + 1, 2)
    """
    angles = np.asarray(angles, dtype=float)
    lengths = np.asarray(lengths, dtype=float)
    phi = np.pi * np.cumsum(angles, axis=-1)
    steps = np.stack([lengths * elementary.sin(phi), lengths * elementary.cos(phi)], axis=-1)
    start = np.broadcast_to(np.asarray(PIVOT), angles.shape[:-1] + (1, 2))
    return np.concatenate([start, start + np.cumsum(steps, axis=-2)], axis=-2)


def reach(lengths) -> float:
    """Radius of the disc around the pivot that the tip can reach."""
    return float(np.sum(lengths))
