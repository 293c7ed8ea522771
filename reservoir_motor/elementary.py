"""Elementary functions with their arithmetic written down: the same bits on every machine.

The C library's ``sin``, ``cos``, ``atan2``, ``exp``, ``log`` and ``pow`` are not the same function everywhere:
glibc picks a variant for the CPU at run time (on x86-64 one built for FMA and one without), and other C
libraries (macOS, Windows, musl) round some results differently again. Measured on this project's machine:
glibc's ``sin`` of 200 001 points of [0, 2 pi] gave other bits in some of them once its FMA variant was
masked (``GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,-FMA``), and so did every run that draws a butterfly or moves
an arm. These versions use only +, -, *, / and sqrt (IEEE, rounded once each), floor, copysign and exact
scaling by powers of two, in an order fixed by the source, so they give the same bits wherever IEEE doubles
do; they are within a few ulp of the true value (``tests/test_elementary.py`` checks them against mpmath).

``sin``, ``cos``, ``exp``, ``log`` and ``pow`` have no branches: the same source runs on numpy arrays (the
targets, the plants' drawing code, the plain-numpy reference) and on scalars inside the compiled loop, which
compiles it with numba (``kernel.loop`` registers these functions); the two give equal bits. They reach numpy
only through four exact primitives (``floor``, ``ldexp``, ``frexp``, ``sqrt``), which each compiled target
supplies its own way (``kernel.loop`` for the CPU, ``kernel.device`` for the GPU). ``atan``, ``atan2``
and ``acos`` are scalar Python, used before a run (the dynamical arm's initial posture). The polynomials and
the reductions are those of fdlibm (Sun Microsystems, 1993), the C library that Java's StrictMath specifies
for the same reason.

Domain: ``sin`` and ``cos`` keep their accuracy for |x| < 2**19 pi / 2 (about 8e5 rad); beyond, they stay
deterministic but lose digits. ``log`` and ``pow`` take positive normal numbers; ``exp`` arguments in
[-708, 709].
"""

from __future__ import annotations

import math

import numpy as np

# pi / 2 in three pieces of 33 bits and a tail: k * piece is exact for |k| < 2**20 (Cody and Waite's reduction),
# and the tail keeps the remainder accurate near the zeros of sin and cos
_PIO2_1 = 1.57079632673412561417e+00
_PIO2_2 = 6.07710050630396597660e-11
_PIO2_3 = 2.02226624871116645580e-21
_PIO2_3T = 8.47842766036889956997e-32
_TWO_OVER_PI = 6.36619772367581382433e-01
# sin(r) = r + r^3 S(r^2), cos(r) = 1 - r^2 / 2 + r^4 C(r^2) on [-pi/4, pi/4] (fdlibm's __kernel_sin/cos)
_S1, _S2, _S3 = -1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04
_S4, _S5, _S6 = 2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10
_C1, _C2, _C3 = 4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05
_C4, _C5, _C6 = -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11


def floor(x):
    """The largest integer <= x, as a float (or an array of them)."""
    return np.floor(x)


def ldexp(y, k):
    """y 2**k for k a float that holds an integer: exact."""
    return np.ldexp(y, np.int64(k))


def frexp(x):
    """(m, e) with x = m 2**e and m in [0.5, 1), of a float or an array: exact."""
    return np.frexp(x)


def sqrt(x):
    """The square root, IEEE (rounded once), of a float or an array."""
    return np.sqrt(x)


def _quadrant_sin(x, shift):
    """sin(x + shift pi / 2) for shift 0 or 1: reduce x by multiples k of pi / 2, evaluate both kernels on the
    remainder and pick by the quadrant (k + shift) mod 4 with exact arithmetic (times 0 or +-1), not a branch."""
    k = floor(x * _TWO_OVER_PI + 0.5)
    r = (((x - k * _PIO2_1) - k * _PIO2_2) - k * _PIO2_3) - k * _PIO2_3T
    z = r * r
    s = r + (z * r) * (_S1 + z * (_S2 + z * (_S3 + z * (_S4 + z * (_S5 + z * _S6)))))
    hz = 0.5 * z
    w = 1.0 - hz
    c = w + (((1.0 - w) - hz) + (z * z) * (_C1 + z * (_C2 + z * (_C3 + z * (_C4 + z * (_C5 + z * _C6))))))
    n = k + shift
    n = n - 4.0 * floor(n * 0.25)  # 0, 1, 2 or 3
    half = floor(n * 0.5)             # 0 for quadrants 0 and 1, 1 for 2 and 3: the sign
    odd = n - 2.0 * half              # 1 for quadrants 1 and 3: cos of the remainder, not sin
    return (1.0 - 2.0 * half) * (s * (1.0 - odd) + c * odd)


def sin(x):
    """sin(x) of a float or an array."""
    return _quadrant_sin(x, 0.0)


def cos(x):
    """cos(x) of a float or an array."""
    return _quadrant_sin(x, 1.0)


_LN2_HI = 6.93147180369123816490e-01  # ln 2 in two pieces: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e+00
# exp(r) = 1 + 2 r / (2 - R(r)) with R(r) = r - r^2 P(r^2) on [-ln2/2, ln2/2] (fdlibm's e_exp)
_P1, _P2, _P3 = 1.66666666666666019037e-01, -2.77777777770155933842e-03, 6.61375632143793436117e-05
_P4, _P5 = -1.65339022054652515390e-06, 4.13813679705723846039e-08
# log(1 + f) = 2s + s R(s^2), s = f / (2 + f) (fdlibm's e_log)
_LG1, _LG2, _LG3 = 6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01
_LG4, _LG5, _LG6 = 2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_SQRT_HALF = 7.07106781186547524401e-01


def exp(x):
    """e**x of a float or an array."""
    k = floor(x * _INV_LN2 + 0.5)
    hi = x - k * _LN2_HI
    lo = k * _LN2_LO
    r = hi - lo
    t = r * r
    c = r - t * (_P1 + t * (_P2 + t * (_P3 + t * (_P4 + t * _P5))))
    y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)
    return ldexp(y, k)  # times 2**k: exact


def log(x):
    """Natural logarithm of a positive float or array."""
    m, e = frexp(x)
    below = floor(_SQRT_HALF / m)        # 1 where m < sqrt(1/2): take m in [sqrt(1/2), sqrt(2)) instead
    f = m * (1.0 + below) - 1.0          # exact: doubling, then Sterbenz
    k = e - below
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    big = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7))) + w * (_LG2 + w * (_LG4 + w * _LG6))
    hfsq = 0.5 * f * f
    nan_if_negative = sqrt(x) * 0.0
    return k * _LN2_HI - ((hfsq - (s * (hfsq + big) + k * _LN2_LO)) - f) + nan_if_negative


def pow(x, y):  # noqa: A001 - the name of the function it replaces
    """x**y for positive x, as exp(y log x): within a few ulp where |y log x| is small (the reward and exploration
    exponents), of a float or an array."""
    return exp(y * log(x))


_ATAN_HI = (4.63647609000806093515e-01, 7.85398163397448278999e-01, 9.82793723247329054082e-01,
            1.57079632679489655800e+00)
_ATAN_LO = (2.26987774529616870924e-17, 3.06161699786838301793e-17, 1.39033110312309984516e-17,
            6.12323399573676603587e-17)
_AT = (3.33333333333329318027e-01, -1.99999999998764832476e-01, 1.42857142725034663711e-01,
       -1.11111104054623557880e-01, 9.09088713343650656196e-02, -7.69187620504482999495e-02,
       6.66107313738753120669e-02, -5.83357013379057348645e-02, 4.97687799461593236017e-02,
       -3.65315727442169155270e-02, 1.62858201153657823623e-02)
_PI = 3.14159265358979311600e+00
_PI_LO = 1.2246467991473531772e-16


def atan(x: float) -> float:
    """arctan(x) of a float (fdlibm's s_atan: a reduction to |x| < 7/16 around one of four points)."""
    a = abs(x)
    if math.isnan(x):
        return x
    if a >= 2.0 ** 66:
        return math.copysign(_ATAN_HI[3] + _ATAN_LO[3], x)
    if a < 0.4375:
        if a < 2.0 ** -27:
            return x
        i = -1
    elif a < 0.6875:
        i, a = 0, (2.0 * a - 1.0) / (2.0 + a)
    elif a < 1.1875:
        i, a = 1, (a - 1.0) / (a + 1.0)
    elif a < 2.4375:
        i, a = 2, (a - 1.5) / (1.0 + 1.5 * a)
    else:
        i, a = 3, -1.0 / a
    z = a * a
    w = z * z
    s1 = z * (_AT[0] + w * (_AT[2] + w * (_AT[4] + w * (_AT[6] + w * (_AT[8] + w * _AT[10])))))
    s2 = w * (_AT[1] + w * (_AT[3] + w * (_AT[5] + w * (_AT[7] + w * _AT[9]))))
    if i < 0:
        return x - x * (s1 + s2)
    return math.copysign(_ATAN_HI[i] - ((a * (s1 + s2) - _ATAN_LO[i]) - a), x)


def atan2(y: float, x: float) -> float:
    """The angle of the point (x, y), in (-pi, pi], of finite floats."""
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(f"atan2 takes finite arguments, not ({y!r}, {x!r})")
    if y == 0.0:
        return y if math.copysign(1.0, x) > 0 else math.copysign(_PI, y)
    if x == 0.0:
        return math.copysign(0.5 * _PI, y)
    z = atan(abs(y / x))
    return math.copysign(z if x > 0.0 else _PI - (z - _PI_LO), y)


def acos(x: float) -> float:
    """arccos(x) for x in [-1, 1], as 2 atan2(sqrt(1 - x), sqrt(1 + x))."""
    if not -1.0 <= x <= 1.0:
        raise ValueError(f"acos takes x in [-1, 1], not {x!r}")
    return 2.0 * atan2(math.sqrt(1.0 - x), math.sqrt(1.0 + x))
