"""Target curves: one closed curve per period, sampled at every time step.

``task.target`` is a curve name (``butterfly``, ``circle``, ``lemniscate``, ``lissajous``) or the path
of a file of sampled (x, y) points (``.csv`` with two columns and at most one header line, or ``.npy``
of shape (n, 2)). File points are taken as evenly spaced in time over one period and resampled to the
period by periodic linear interpolation.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from .. import elementary
from . import arm

MIN_FILE_POINTS = 4


def _theta(n_samples: int) -> np.ndarray:
    # 0 to 2 pi inclusive, as in the scripts: the first and last samples coincide.
    return np.linspace(0.0, 2.0 * np.pi, n_samples)


def butterfly(n_samples: int, scale: float = 14.4734) -> np.ndarray:
    """The butterfly of Task 1 (spec 6.1), ``(n_samples, 2)``."""
    theta = _theta(n_samples)
    sin, cos = elementary.sin, elementary.cos
    rho = (9 - sin(theta) + 2 * sin(3 * theta) + 2 * sin(5 * theta) - sin(7 * theta)
           + 3 * cos(2 * theta) - 2 * cos(4 * theta))
    return np.column_stack([rho * cos(theta), rho * sin(theta)]) / scale


def circle(n_samples: int) -> np.ndarray:
    """A circle of radius 0.6 around the origin."""
    theta = _theta(n_samples)
    return 0.6 * np.column_stack([elementary.cos(theta), elementary.sin(theta)])


def lemniscate(n_samples: int) -> np.ndarray:
    """Bernoulli's lemniscate (a figure eight), half-width 0.9."""
    theta = _theta(n_samples)
    d = 1.0 + elementary.sin(theta) ** 2
    return 0.9 * np.column_stack([elementary.cos(theta) / d, elementary.sin(theta) * elementary.cos(theta) / d])


def lissajous(n_samples: int) -> np.ndarray:
    """A 3:2 Lissajous curve, amplitudes 0.8 (x) and 0.6 (y)."""
    theta = _theta(n_samples)
    return np.column_stack([0.8 * elementary.sin(3 * theta + np.pi / 2), 0.6 * elementary.sin(2 * theta)])


NAMED = {"butterfly": butterfly, "circle": circle, "lemniscate": lemniscate, "lissajous": lissajous}


def _is_numeric_row(line: str) -> bool:
    try:
        [float(v) for v in line.split(",")]
    except ValueError:
        return False
    return True


def _read_csv(path: Path) -> np.ndarray:
    """Rows of ``x,y``; a first line that is not numbers (a header such as ``x,y``) is skipped."""
    with path.open() as f:
        header = not _is_numeric_row(f.readline())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "no data": reported by the caller as 0 points
            pts = np.loadtxt(path, delimiter=",", ndmin=2, skiprows=int(header))
    except ValueError as exc:
        after = ", rows counted after the header line" if header else ""
        raise ValueError(f"{str(exc).rstrip('.')}{after}; write one x,y pair per line, after at most one "
                         "header line") from None
    return pts.reshape(0, 2) if pts.size == 0 else pts


def read_curve_file(path) -> np.ndarray:
    """Read (x, y) points from ``.csv`` (one optional header line) or ``.npy`` and check them; raises
    ``ValueError`` with the reason."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"file {str(path)!r} does not exist")
    try:
        pts = np.load(path) if path.suffix == ".npy" else _read_csv(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file for the user
        raise ValueError(f"cannot read {str(path)!r} as {path.suffix or 'csv'} points ({exc})") from None
    pts = np.asarray(pts, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"{str(path)!r} must hold points as rows of (x, y); got shape {pts.shape}")
    if pts.shape[0] < MIN_FILE_POINTS:
        raise ValueError(f"{str(path)!r} has {pts.shape[0]} points; at least {MIN_FILE_POINTS} are needed")
    if not np.all(np.isfinite(pts)):
        raise ValueError(f"{str(path)!r} has non-finite values")
    return pts


def resample_closed(points: np.ndarray, n_samples: int) -> np.ndarray:
    """Resample a closed curve, points evenly spaced in time, to ``n_samples`` (first = last, like theta)."""
    closed = np.vstack([points, points[:1]])
    src = np.linspace(0.0, 1.0, closed.shape[0])
    dst = np.linspace(0.0, 1.0, n_samples)
    return np.column_stack([np.interp(dst, src, closed[:, 0]), np.interp(dst, src, closed[:, 1])])


def curve(target: str, n_samples: int, scale: float = 14.4734) -> np.ndarray:
    """The target of one period, ``(n_samples, 2)``, from a curve name or a file path."""
    if target == "butterfly":
        return butterfly(n_samples, scale)
    if target in NAMED:
        return NAMED[target](n_samples)
    return resample_closed(read_curve_file(target), n_samples)


def check_reachable(points: np.ndarray, lengths) -> str | None:
    """Why the arm cannot reach every point, or None. The tip reaches the annulus around the pivot with
    outer radius sum(L) and inner radius max(0, 2 max(L) - sum(L))."""
    lengths = np.asarray(lengths, dtype=float)
    outer = arm.reach(lengths)
    inner = max(0.0, 2 * lengths.max() - outer)
    dist = np.hypot(points[:, 0] - arm.PIVOT[0], points[:, 1] - arm.PIVOT[1])
    if dist.max() > outer:
        return f"a target point lies {dist.max():.3g} from the shoulder (0, -2), beyond the arm's reach {outer:.3g}"
    if dist.min() < inner:
        return (f"a target point lies {dist.min():.3g} from the shoulder, inside the unreachable disc of "
                f"radius {inner:.3g}")
    return None


def make_target(config, target: str | None = None) -> np.ndarray:
    """The target of one period, ``(n_period_steps, 2)``: the task's curve, or ``target`` if given."""
    return curve(target or config.task.target, config.n_period_steps, config.task.target_scale)
