"""Population analysis of recorded reservoir activity (numpy / scipy).

Every function takes activity as an array of shape (samples, units) (``Result.activity.rates``, or any
other recording) and is a direct transcription of its definition:

- :func:`fit_pca` / :class:`PCA`: principal components fitted on one window, projected on others;
- :func:`participation_ratio`: dimensionality PR = (sum_i l_i)^2 / sum_i l_i^2 of the covariance
  eigenvalues l_i (Gao & Ganguli 2015; Litwin-Kumar et al. 2017);
- :func:`period_trajectories`: the samples of each period stacked, (periods, samples per period, units);
- :func:`tangling`: Russo et al. (2018), Q(t) = max_t' |dx(t) - dx(t')|^2 / (|x(t) - x(t')|^2 + eps),
  on the top principal components, with eps = 0.1 times the total variance of x (their convention).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg


def _samples(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"activity of shape {x.shape} is not allowed: must be (samples >= 2, units)")
    return x


@dataclass(frozen=True)
class PCA:
    """Principal components of a window of activity.

    Attributes
    ----------
    mean : ndarray, shape (units,)
    components : ndarray, shape (n_components, units)
        Orthonormal rows, by decreasing variance.
    variance : ndarray, shape (n_components,)
        Variance of the fitted window along each component.
    total_variance : float
        Total variance of the fitted window (the trace of its covariance).
    """

    mean: np.ndarray
    components: np.ndarray
    variance: np.ndarray
    total_variance: float

    @property
    def explained_ratio(self) -> np.ndarray:
        """Fraction of the fitted window's variance along each component."""
        return self.variance / self.total_variance

    def project(self, x, n_components: int | None = None) -> np.ndarray:
        """Coordinates of activity ``x`` (samples, units) on the first ``n_components`` components."""
        x = np.asarray(x, dtype=np.float64)
        return (x - self.mean) @ self.components[:n_components].T

    def explained_by(self, x, n_components: int) -> float:
        """Fraction of the variance of another window ``x`` captured by the first components of this fit."""
        x = _samples(x)
        centred = x - x.mean(axis=0)
        proj = centred @ self.components[:n_components].T
        return float(np.sum(proj ** 2) / np.sum(centred ** 2))


def fit_pca(x, n_components: int | None = None) -> PCA:
    """Fit principal components to activity ``x`` (samples, units) by the eigendecomposition of its covariance."""
    x = _samples(x)
    mean = x.mean(axis=0)
    cov = np.cov(x, rowvar=False, ddof=1).reshape(x.shape[1], x.shape[1])
    eigval, eigvec = scipy.linalg.eigh(cov)
    order = np.argsort(eigval)[::-1][:n_components]
    return PCA(mean=mean, components=eigvec[:, order].T, variance=np.clip(eigval[order], 0.0, None),
               total_variance=float(np.trace(cov)))


def participation_ratio(x) -> float:
    """Dimensionality of activity ``x`` (samples, units): (sum l)^2 / sum l^2 of its covariance eigenvalues.

    1 for activity on a line, n for activity spread equally over n orthogonal directions.
    """
    x = _samples(x)
    centred = x - x.mean(axis=0)
    # the eigenvalues' sum and sum of squares are trace(C) and |C|_F^2: no eigendecomposition needed
    cov = centred.T @ centred / (x.shape[0] - 1)
    return float(np.trace(cov) ** 2 / np.sum(cov * cov))


def period_trajectories(time_ms, x, period_ms: float) -> np.ndarray:
    """The samples of every complete period of ``x``, stacked: shape (periods, samples per period, units).

    Samples are assigned to the period their time falls in; periods with fewer samples than the most
    common count (a run that diverged inside one) are left out.
    """
    time_ms, x = np.asarray(time_ms), np.asarray(x)
    period = np.floor(time_ms / period_ms + 1e-9).astype(np.int64)
    ids, counts = np.unique(period, return_counts=True)
    full = ids[counts == counts.max()]
    return np.stack([x[period == k] for k in full])


def tangling(x, dt_ms: float, n_components: int | None = 8, eps: float | None = None, *,
             block: int = 2048) -> np.ndarray:
    """Trajectory tangling Q(t) of Russo et al. (2018), for every sample of ``x`` (samples, units).

    Q(t) = max over t' of ``|dx(t) - dx(t')|^2 / (|x(t) - x(t')|^2 + eps)``, with x on its top
    ``n_components`` principal components (None: all units), dx its time derivative (central
    differences, ``np.gradient``, per ms) and eps = 0.1 times the total variance of x unless given.
    High Q: similar states with different futures (a tangled flow); a smooth dynamical system has low Q.
    Computed in blocks of ``block`` rows so memory stays O(block x samples).
    """
    x = _samples(x)
    if n_components is not None:
        x = fit_pca(x, n_components).project(x)
    dx = np.gradient(x, dt_ms, axis=0)
    if eps is None:
        eps = 0.1 * float(np.sum(np.var(x, axis=0)))
    q = np.empty(x.shape[0])
    sq_x, sq_dx = np.sum(x * x, axis=1), np.sum(dx * dx, axis=1)
    for i0 in range(0, x.shape[0], block):
        i1 = min(i0 + block, x.shape[0])
        dist_x = sq_x[i0:i1, None] + sq_x[None, :] - 2.0 * x[i0:i1] @ x.T
        dist_dx = sq_dx[i0:i1, None] + sq_dx[None, :] - 2.0 * dx[i0:i1] @ dx.T
        q[i0:i1] = np.max(np.clip(dist_dx, 0.0, None) / (np.clip(dist_x, 0.0, None) + eps), axis=1)
    return q


def phase_windows(result) -> dict[str, tuple[float, float]]:
    """The time windows (ms) of a run's phases: 'train_last' (its last training period) and 'test'."""
    cfg = result.config
    period = cfg.task.duration_ms
    t_train = cfg.n_train_steps * cfg.network.dt_ms
    return {"train_last": (t_train - period, t_train), "test": (t_train, cfg.n_steps * cfg.network.dt_ms)}


def window_measures(activity, t0_ms: float, t1_ms: float, n_components: int = 8) -> dict | None:
    """Dimensionality (participation ratio of the rates) and tangling (median and 90th percentile, on the top
    ``n_components``) of the recorded samples with t0 <= t < t1; None when fewer than 3 samples fall there."""
    _, rates = activity.window(t0_ms, t1_ms)
    if rates.shape[0] < 3:
        return None
    dt = float(np.median(np.diff(activity.time_ms)))
    q = tangling(rates, dt, n_components=min(n_components, rates.shape[1]), block=1024)
    return {"dimensionality": participation_ratio(rates), "tangling_median": float(np.median(q)),
            "tangling_p90": float(np.percentile(q, 90))}


def activity_measures(result, n_components: int = 8) -> dict:
    """:func:`window_measures` of the recorded units in the last training period and in the test phase of
    ``result``: keys ``dimensionality_<phase>``, ``tangling_median_<phase>`` and ``tangling_p90_<phase>``
    for the phases of :func:`phase_windows` that have recorded samples.
    """
    if result.activity is None:
        raise ValueError("the result has no recorded activity: run it with recording.n_units > 0")
    out = {}
    for phase, window in phase_windows(result).items():
        measures = window_measures(result.activity, *window, n_components=n_components)
        out.update({f"{key}_{phase}": value for key, value in (measures or {}).items()})
    return out
