"""The population measures against direct computations and synthetic data with known answers."""

import numpy as np
import pytest

from reservoir_motor.studies.analysis import fit_pca, participation_ratio, period_trajectories, tangling


def _embed(low, n_units=30, seed=0):
    """Low-dimensional activity placed in n_units dimensions by a random orthonormal map."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n_units, low.shape[1])))
    return low @ q.T + 0.5


def _circle(n=2000, radius=2.0, omega=2 * np.pi / 500, dt=1.0):  # whole turns
    t = np.arange(n) * dt
    return np.column_stack([radius * np.cos(omega * t), radius * np.sin(omega * t)])


def test_pca_components_are_the_covariance_eigenvectors():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((500, 6)) @ rng.standard_normal((6, 6))
    pca = fit_pca(x)
    eig = np.sort(np.linalg.eigvalsh(np.cov(x, rowvar=False)))[::-1]
    np.testing.assert_allclose(pca.variance, eig, rtol=1e-10)
    np.testing.assert_allclose(pca.components @ pca.components.T, np.eye(6), atol=1e-12)
    np.testing.assert_allclose(pca.explained_ratio.sum(), 1.0)
    proj = pca.project(x)
    np.testing.assert_allclose(proj @ pca.components + pca.mean, x, atol=1e-10)
    np.testing.assert_allclose(np.var(proj, axis=0, ddof=1), eig, rtol=1e-10)


def test_pca_fitted_on_one_window_projects_another():
    plane = _embed(_circle())
    pca = fit_pca(plane[:1000], 2)
    assert pca.explained_by(plane[1000:], 2) == pytest.approx(1.0, abs=1e-12)  # the same plane
    other = _embed(_circle(), seed=5)  # another plane of the same space
    assert pca.explained_by(other, 2) < 0.5


@pytest.mark.parametrize("low,expected", [
    (np.column_stack([np.linspace(-1, 1, 400)]), 1.0),  # a line
    (_circle(), 2.0),  # a planar rotation: two directions of equal variance
])
def test_participation_ratio_of_known_shapes(low, expected):
    assert participation_ratio(_embed(low)) == pytest.approx(expected, rel=1e-3)


def test_participation_ratio_equals_the_eigenvalue_formula():
    x = np.random.default_rng(2).standard_normal((300, 12)) * np.arange(1, 13)
    eig = np.linalg.eigvalsh(np.cov(x, rowvar=False))
    assert participation_ratio(x) == pytest.approx(eig.sum() ** 2 / np.sum(eig ** 2), rel=1e-12)


def test_tangling_equals_the_definition_computed_pair_by_pair():
    x = np.cumsum(np.random.default_rng(3).standard_normal((120, 4)), axis=0)
    q = tangling(x, dt_ms=0.5, n_components=None, eps=0.3, block=7)
    dx = np.gradient(x, 0.5, axis=0)
    direct = [max(np.sum((dx[t] - dx[s]) ** 2) / (np.sum((x[t] - x[s]) ** 2) + 0.3) for s in range(120))
              for t in range(120)]
    np.testing.assert_allclose(q, direct, rtol=1e-9)


def test_tangling_of_a_circle_is_its_known_value():
    # For a circle |dx - dx'| = w |x - x'| with w the finite-difference speed sin(omega dt) / dt, so
    # Q = w^2 max d^2 / (d^2 + eps), reached at the antipode d = 2 r; eps = 0.1 r^2 (total variance r^2).
    omega, radius, dt = 2 * np.pi / 500, 2.0, 1.0
    x = _circle(n=5000, radius=radius, omega=omega, dt=dt)
    q = tangling(_embed(x), dt_ms=dt, n_components=2)
    w = np.sin(omega * dt) / dt
    expected = w ** 2 * 4 / (4 + 0.1)
    np.testing.assert_allclose(np.median(q), expected, rtol=1e-3)


def test_a_self_crossing_path_is_more_tangled_than_a_circle():
    t = np.linspace(0, 2 * np.pi, 1000, endpoint=False)
    circle = np.column_stack([np.cos(t), np.sin(t)])
    eight = np.column_stack([np.sin(t), np.sin(2 * t) / 2])  # crosses itself at the origin
    assert np.max(tangling(eight, 1.0, None)) > 10 * np.max(tangling(circle, 1.0, None))


def test_period_trajectories_stack_complete_periods():
    time_ms = np.arange(0, 1000, 10.0)
    x = np.arange(100)[:, None] * np.ones((1, 3))
    traj = period_trajectories(time_ms[:95], x[:95], 250.0)  # the last period is cut short
    assert traj.shape == (3, 25, 3)
    np.testing.assert_array_equal(traj[1, :, 0], np.arange(25, 50))


def test_too_few_samples_are_refused():
    with pytest.raises(ValueError, match="samples >= 2"):
        participation_ratio(np.zeros((1, 3)))
