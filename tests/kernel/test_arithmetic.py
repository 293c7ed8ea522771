"""The loop's arithmetic is written down: a fused multiply-add rounds once on every target, and a dot product
sums in the order its source gives. Both equal their exact numpy twins (``tests/reference.py``) with ``==``."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit
from reference import fma, lane_dot

from reservoir_motor.kernel import loop as K

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@njit
def compiled_fma(a, b, c):
    return K.fma(a, b, c)


def test_arithmetic_fma_rounds_once():
    """(1 + 2^-30)(1 - 2^-30) - 1 is -2^-60 exactly; a multiply rounded before the add gives 0."""
    a, b = 1.0 + 2.0**-30, 1.0 - 2.0**-30
    assert a * b - 1.0 == 0.0
    assert compiled_fma(a, b, -1.0) == fma(a, b, -1.0) == -(2.0**-60)


@settings(max_examples=300, deadline=None)
@given(finite, finite, finite)
def test_arithmetic_fma_equals_the_exact_twin(a, b, c):
    assert compiled_fma(a, b, c) == fma(a, b, c)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 40), st.integers(0, 2**32 - 1))
def test_arithmetic_dot_sums_in_its_written_order(n, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(n) * 10.0 ** rng.integers(-3, 4, n), rng.standard_normal(n)
    assert K.dot(a, b) == lane_dot(a, b)
