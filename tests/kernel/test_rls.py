"""Recursive least squares against the offline answer, and the compiled one-pass RLS pieces.

RLS started from P(0) = I / gamma and fed samples (r_t, y_t), each step correcting the prediction
W r_t made before the step, is ridge regression computed one sample at a time: after T samples

    P = (R^T R + gamma I)^{-1},    W = Y^T R (R^T R + gamma I)^{-1},

with R the T x N matrix of the r_t and Y the T x n_out matrix of the y_t. The kernel keeps each rank-1
update of P pending and applies it, to the upper triangle only, in the pass that computes the next
k = P r; ``flush_pending`` applies the last one and mirrors the triangle.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import rls_step

from reservoir_motor.kernel import codes
from reservoir_motor.kernel import loop as K

PROPERTY = settings(max_examples=60, deadline=None)


def make_samples(seed, n_samples, n, n_out=2):
    """Rates in (-1, 1) with some noise, like a reservoir's, and arbitrary targets."""
    rng = np.random.default_rng(seed)
    R = np.tanh(1.5 * rng.standard_normal((n_samples, n))) + rng.uniform(-0.025, 0.025, (n_samples, n))
    Y = rng.standard_normal((n_samples, n_out))
    return R, Y


def ridge(R, Y, gamma):
    """The closed-form ridge solution and the inverse of the regularised correlation matrix."""
    A = R.T @ R + gamma * np.eye(R.shape[1])
    return np.linalg.solve(A, R.T @ Y).T, np.linalg.inv(A)


def rls_reference(R, Y, gamma):
    P, W = np.eye(R.shape[1]) / gamma, np.zeros((Y.shape[1], R.shape[1]))
    for r, y in zip(R, Y, strict=True):
        rls_step(P, W, r, W @ r - y)
    return W, P


def rls_kernel(R, Y, gamma, gates=None):
    """The kernel's RLS: fused pending update and k = P r, gated like SUPERTREX, then a final flush."""
    n = R.shape[1]
    P, W = np.eye(n) / gamma, np.zeros((Y.shape[1], n))
    k, pend_k, scalars = np.zeros(n), np.zeros(n), np.zeros(codes.N_SCALARS)
    for t, (r, y) in enumerate(zip(R, Y, strict=True)):
        g = 1.0 if gates is None else gates[t]
        r = np.ascontiguousarray(r)
        K._apply_pending_and_multiply(P, pend_k, scalars[codes.S_PEND_C], r, k)
        c = 1.0 / (1.0 + r @ k)
        W -= g * c * np.outer(W @ r - y, k)
        pend_k[:] = k
        scalars[codes.S_PEND_C] = g * c
    K.flush_pending(P, pend_k, scalars)
    assert scalars[codes.S_PEND_C] == 0.0
    return W, P


@pytest.mark.parametrize("n_samples", [30, 400], ids=["fewer-samples-than-neurons", "more-samples"])
@pytest.mark.parametrize("gamma", [0.1, 10.0])
@pytest.mark.parametrize("rls", [rls_reference, rls_kernel], ids=["reference", "kernel"])
def test_rls_converges_to_ridge_solution(rls, n_samples, gamma):
    R, Y = make_samples(1, n_samples, 60)
    W_ridge, P_ridge = ridge(R, Y, gamma)
    W, P = rls(R, Y, gamma)
    np.testing.assert_allclose(W, W_ridge, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(P, P_ridge, rtol=1e-8, atol=1e-12)
    assert np.array_equal(P, P.T)


def test_rls_step_closed_gate_changes_nothing():
    R, _ = make_samples(3, 1, 20)
    P, W = np.eye(20) / 10.0, np.ones((2, 20))
    P0, W0 = P.copy(), W.copy()
    rls_step(P, W, R[0], np.array([0.3, -0.2]), gate=0.0, rate=0.5)
    assert np.array_equal(P, P0) and np.array_equal(W, W0)


def assert_symmetric_positive_definite(P, gamma):
    assert np.array_equal(P, P.T)
    np.linalg.cholesky(P)  # raises unless positive definite
    eig = np.linalg.eigvalsh(P)
    # Each step removes a positive semi-definite term, never more than a full RLS step: 0 < P <= I / gamma.
    assert eig.min() > 0 and eig.max() <= (1 + 1e-12) / gamma


rls_runs = dict(
    n=st.integers(2, 25),
    n_updates=st.integers(1, 200),
    gamma=st.floats(0.05, 100.0),
    scale=st.floats(0.01, 3.0),
    repeated=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)


def draw_rates(n, n_updates, scale, repeated, seed):
    """Rates of any scale; ``repeated`` feeds one vector again and again (the worst-conditioned case)."""
    rng = np.random.default_rng(seed)
    R = scale * rng.uniform(-1, 1, (1 if repeated else n_updates, n))
    return np.repeat(R, n_updates, axis=0) if repeated else R, rng.uniform(0, 1, n_updates)


@PROPERTY
@given(**rls_runs)
def test_rls_reference_P_stays_symmetric_positive_definite(n, n_updates, gamma, scale, repeated, seed):
    R, gates = draw_rates(n, n_updates, scale, repeated, seed)
    P, W = np.eye(n) / gamma, np.zeros((1, n))
    for r, g in zip(R, gates, strict=True):
        rls_step(P, W, r, np.ones(1), gate=g)
    assert_symmetric_positive_definite(P, gamma)


@PROPERTY
@given(**rls_runs)
def test_rls_kernel_P_stays_symmetric_positive_definite_and_equals_reference(n, n_updates, gamma, scale,
                                                                             repeated, seed):
    R, gates = draw_rates(n, n_updates, scale, repeated, seed)
    Y = np.zeros((n_updates, 1))
    W_k, P_k = rls_kernel(R, Y, gamma, gates)
    assert_symmetric_positive_definite(P_k, gamma)
    P, W = np.eye(n) / gamma, np.zeros((1, n))
    for r, g in zip(R, gates, strict=True):
        rls_step(P, W, r, W @ r, gate=g)
    np.testing.assert_allclose(P_k, P, rtol=1e-9, atol=1e-12 / gamma)


@PROPERTY
@given(
    n=st.integers(1, 30),
    pend_c=st.floats(-2.0, 2.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_rls_fused_update_equals_two_step_update(n, pend_c, seed):
    """One pass (apply the pending P -= c k k^T, then k = P r) equals the two plain steps."""
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((n, n))
    P = np.linalg.inv(B @ B.T + np.eye(n))  # a symmetric positive definite P
    P[np.tril_indices(n, -1)] = rng.standard_normal(n * (n - 1) // 2)  # stale lower triangle: must be ignored
    pend_k, r = rng.standard_normal(n), rng.uniform(-1, 1, n)
    upper = np.triu(P) + np.triu(P, 1).T  # the symmetric matrix the upper triangle stands for

    P_plain = upper - pend_c * np.outer(pend_k, pend_k)
    k_plain = P_plain @ r

    P_fused, k_fused = P.copy(), np.full(n, np.nan)
    K._apply_pending_and_multiply(P_fused, pend_k, pend_c, r, k_fused)

    scale = np.abs(upper).max() + abs(pend_c) * np.abs(pend_k).max() ** 2
    np.testing.assert_allclose(np.triu(P_fused), np.triu(P_plain), rtol=1e-13, atol=1e-14 * scale)
    np.testing.assert_allclose(k_fused, k_plain, rtol=1e-12, atol=1e-13 * scale * n)
    assert np.array_equal(np.tril(P_fused, -1), np.tril(P, -1))  # only the upper triangle is touched
