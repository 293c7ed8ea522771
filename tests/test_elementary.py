"""Our elementary functions (``reservoir_motor.elementary``): close to the true value (mpmath at 120 bits), and the
same bits compiled into the loop (numba, scalars) as evaluated by numpy on arrays, so that the targets, the
plants' drawing code and the loop agree."""

import math

import mpmath
import numpy as np
import pytest
from numba import njit

from reservoir_motor import elementary as E
from reservoir_motor.kernel import loop as K

mpmath.mp.prec = 120


def ulps(got, exact):
    """|got - exact| in units of the last place of exact."""
    got, exact = np.asarray(got, dtype=float), np.asarray(exact, dtype=float)
    return np.abs(got - exact) / np.spacing(np.abs(exact))


def exact(func, xs):
    return np.array([float(func(mpmath.mpf(float(v)))) for v in xs])


RNG = np.random.default_rng(20261204)
ANGLES = np.concatenate([RNG.uniform(-50.0, 50.0, 3000), RNG.uniform(-8e5, 8e5, 300), RNG.uniform(-1e-3, 1e-3, 300),
                         np.arange(-40, 41) * (np.pi / 4)])


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_elementary_trigonometry_within_two_ulp(name):
    assert ulps(getattr(E, name)(ANGLES), exact(getattr(mpmath, name), ANGLES)).max() <= 2.0


def test_elementary_exp_log_pow_within_two_ulp():
    x = RNG.uniform(-700.0, 700.0, 3000)
    assert ulps(E.exp(x), exact(mpmath.exp, x)).max() <= 1.0
    y = np.exp(RNG.uniform(-740.0, 700.0, 3000))  # subnormals included
    assert ulps(E.log(y), exact(mpmath.log, y)).max() <= 1.0
    u = np.exp(RNG.uniform(-30.0, 5.0, 3000))
    for power in (0.25, 0.5, 1.0, 2.0):
        assert ulps(E.pow(u, power), exact(lambda v, p=power: v ** mpmath.mpf(p), u)).max() <= 2.0


def test_elementary_inverse_trigonometry_within_two_ulp():
    for x in RNG.uniform(-30.0, 30.0, 500):
        assert ulps(E.atan(x), float(mpmath.atan(x))) <= 1.0
    for y, x in RNG.uniform(-3.0, 3.0, (500, 2)):
        assert ulps(E.atan2(y, x), float(mpmath.atan2(y, x))) <= 2.0
    for x in RNG.uniform(-1.0, 1.0, 500):
        assert ulps(E.acos(x), float(mpmath.acos(x))) <= 2.0


def test_elementary_special_values():
    assert E.sin(0.0) == 0.0 and E.cos(0.0) == 1.0 and E.exp(0.0) == 1.0 and E.log(1.0) == 0.0
    assert E.acos(1.0) == 0.0 and E.acos(-1.0) == math.pi and E.acos(0.0) == math.pi / 2
    assert E.atan2(0.0, -1.0) == math.pi and E.atan2(1.0, 0.0) == math.pi / 2 and E.atan2(-1.0, 0.0) == -math.pi / 2
    assert E.atan(math.inf) == math.pi / 2 and math.isnan(E.atan(math.nan))
    with np.errstate(invalid="ignore"):
        assert math.isnan(E.log(-1.0))
    assert K._power(0.0, 0.25) == 0.0
    with pytest.raises(ValueError, match=r"acos takes x in \[-1, 1\], not 1.5"):
        E.acos(1.5)
    with pytest.raises(ValueError, match="atan2 takes finite arguments"):
        E.atan2(1.0, math.inf)


@njit
def _compiled(xs, out):
    for i in range(xs.size):
        out[0, i] = E.sin(xs[i])
        out[1, i] = E.cos(xs[i])
        out[2, i] = E.exp(xs[i] / 16.0)
        out[3, i] = E.log(abs(xs[i]))
        out[4, i] = E.pow(abs(xs[i]), 0.25)


def test_elementary_compiled_equals_numpy_bit_for_bit():
    xs = np.concatenate([RNG.uniform(-60.0, 60.0, 20000), RNG.uniform(-1e-6, 1e-6, 1000), [1e-310, -3e-320]])
    out = np.empty((5, xs.size))
    _compiled(xs, out)
    expected = [E.sin(xs), E.cos(xs), E.exp(xs / 16.0), E.log(np.abs(xs)), E.pow(np.abs(xs), 0.25)]
    for name, got, want in zip(["sin", "cos", "exp", "log", "pow"], out, expected, strict=True):
        assert np.array_equal(got, want), name


def test_elementary_scalar_tanh_of_the_loop():
    x = np.concatenate([np.linspace(-25.0, 25.0, 4001), [0.0, 1e-300, 19.0, -19.5]])
    out = np.empty_like(x)
    K.tanh_into(x, out)
    assert np.array_equal(out, [K.tanh(v) for v in x])
    assert ulps(out, exact(mpmath.tanh, x)).max() <= 5.0
