"""The compiled time loop: every step of a run, training and test, inside numba.

This is the only module that imports numba for the CPU (its codes are ``kernel.codes``; the GPU's loop is
``kernel.device``). ``run_group`` advances runs that share J in lockstep (a single run is the group of one); the
caller cuts a run into a few chunks only to report progress. All state lives in the arrays of ``State``, so
chunked and unchunked runs are bit-identical.

Symbols (spec sections 2-5)
---------------------------
x, r        reservoir state and rates, r = tanh(x) + noise
J, Q        recurrent (CSR) and output-feedback weights
W_exp       exploratory readout (RMHL, and SUPERTREX's basal-ganglia pathway)
W_mst       mastery readout (FORCE's only readout, SUPERTREX's cortical pathway), trained by RLS
P           running inverse correlation matrix of r; only its upper triangle is kept current
z, z_exp, z_mst   total, exploratory and mastery outputs; fb is the feedback used at the next step
zbar, ebar  output and fast error filters; beta the exploration amplitude Psi(ebar)
xi          exploration noise, U(-beta, beta) per step, or its low-pass with rule.exploration_filter < 1
m           slow error filter; the distance from target is sqrt(m)

Plants
------
The hand comes from the plant's step, ``plant_step(code, command, state, params, dt_s, hand)``: the
built-in plants are its branches; a user's plant gets a loop of its own (``loop_for``).

Arithmetic written down (docs/arithmetic.md)
--------------------------------------------
A run is the same function of (config, seed) on every x86-64 CPU, whatever vector width or FMA it has:

* exact: J r in fixed point (integer sums, ``_spmv``); +, -, *, / and sqrt are IEEE, rounded once;
* fused only where written: ``fma(a, b, c)`` rounds a * b + c once on every target; the compiler fuses nothing
  else (no fast-math: no 'contract', no 'reassoc', no 'arcp', no 'nsz');
* ordered: every sum runs in the order of its source. Long dot products (``dot``, the pass over P) keep 8
  interleaved partial sums (lane j % 8) combined in a fixed tree; the SLP vectoriser (``slp_vectorised``)
  packs those lanes into vector instructions of any width without changing a bit;
* our own functions where a library's may differ (libm's pick a variant for the CPU at run time): ``tanh``
  and ``tanh_into`` here; sin and cos of the plants and the targets, and pow in Phi and Psi, from
  ``reservoir_motor.elementary``, whose one source numpy evaluates before the loop and numba compiles into it.
  The random draws are numba's own integer code. Nothing in the loop calls libm.

RLS with one pass over P
------------------------
The update ``P <- P - g c k k^T`` of one RLS step is kept pending (``pend_k``, ``pend_c``) and applied in
the same pass over the upper triangle that computes the next ``k = P r``. This halves the memory traffic
of the N x N matrix, which dominates the cost of RLS. ``flush_pending`` applies it explicitly.
"""

from __future__ import annotations

import math
import re
import types as pytypes
from collections import namedtuple
from contextlib import contextmanager

import numpy as np
from numba import config, njit, types
from numba.core import errors
from numba.extending import intrinsic, overload
from numba.typed import List  # noqa: F401 - the members of a group (``simulate.simulate_group``)

from .. import elementary
from ..plants import arm, arm_dynamics
from .codes import (  # global constants, compiled into the loop
    EFFECTOR_ARM_DYNAMICS,
    EFFECTOR_IDENTITY,
    FEEDBACK_REPLAY,
    FEEDBACK_TARGET,
    NEUTRAL,
    OP_ADD,
    OP_MULTIPLY,
    OP_SET,
    S_BETA,
    S_DIVERGED,
    S_EBAR,
    S_EBEST,
    S_ESUM,
    S_GATE,
    S_M,
    S_PEND_C,
    S_STALLED,
    S_TRIAL_ERR,
    SLOT_BLOCK_TRANSFER,
    SLOT_CURVE,
    SLOT_DOPAMINE,
    SLOT_EXPLORATION_GAIN,
    SLOT_LESION,
    SLOT_REWARD_BIAS,
    STATE_HAND,
    STATE_TARGET,
    TEACHER_FILTERED,
    TEACHER_TARGET,
)

# Compiler flags, in one place. No fast-math flag: each would let LLVM pick an order of the sums or a fusion of
# multiply and add for the vector width and the FMA of the CPU at hand (module docstring). error_model='numpy'
# drops the ZeroDivisionError branch of every division, which otherwise blocks vectorisation.
FASTMATH = set()
JIT = dict(cache=True, fastmath=FASTMATH, error_model="numpy")
# Every function the loop calls is inlined into it by numba. A called (not inlined) function exists twice:
# in its own compiled library and linked into the loop's. Under fast-math a fresh compile ran the first copy,
# a load from numba's cache the second, optimised in different contexts: the same run gave numbers that
# differed in the last bits depending on whether the cache was warm. Inlined, there is one copy.
STAGE = dict(JIT, inline="always")

if config.DISABLE_JIT:  # interpreted (tests/kernel/test_nojit.py): not fused, compared within a tolerance
    def fma(a, b, c):
        return a * b + c
else:
    @intrinsic
    def fma(typingctx, a, b, c):
        """a * b + c rounded once (IEEE fused multiply-add): the FMA instruction where the CPU has one, libm's
        correctly rounded fma() where it does not, so every target gives the same bits."""
        sig = types.float64(types.float64, types.float64, types.float64)

        def codegen(context, builder, signature, args):
            a, b, c = (context.cast(builder, v, t, types.float64) for v, t in zip(args, signature.args, strict=True))
            return builder.fma(a, b, c)

        return sig, codegen


def _compiled_as(func, impl):
    """Let numba compile calls of the plain function ``func`` (from the plants, the targets, the loop) as ``impl``,
    with the loop's flags: its arithmetic stays the one written in its source. Called, not inlined by numba:
    inlined (numba's inline='always'), they left every record of the loop at zero (numba 0.68.1); a called
    copy computes the same bits (IEEE operations in a fixed order), and LLVM may still inline it."""
    overload(func, jit_options=JIT, strict=False)(lambda *args: impl)


# ``elementary``: the same source on numpy arrays and, compiled, on the loop's scalars, with its primitives as numba
# has them for scalars (no np.frexp: math.frexp splits the same way)
for _func in (elementary._quadrant_sin, elementary.sin, elementary.cos, elementary.exp, elementary.log,
              elementary.pow):
    _compiled_as(_func, _func)
_compiled_as(elementary.floor, lambda x: np.floor(x))
_compiled_as(elementary.ldexp, lambda y, k: np.ldexp(y, np.int64(k)))
_compiled_as(elementary.frexp, lambda x: math.frexp(x))
_compiled_as(elementary.sqrt, lambda x: np.sqrt(x))
_elementary_pow = elementary.pow  # a name of this module: ``kernel.device`` binds it to the device's pow


Params = namedtuple("Params", [
    # what the rule does, resolved before the loop (``kinds.RULES``)
    "has_exploratory", "has_mastery", "exploratory_in_test", "filters_in_test", "gated_transfer", "teacher",
    "effector", "test_feedback", "dt_s",
    "n_train_steps", "n_period_steps", "replay_lag", "rls_every", "record_every", "units_every",
    "dt_over_tau", "noise_amplitude", "state_source", "state_amplitude",
    "learning_rate", "phi_odd", "phi_gain", "phi_exponent", "psi_prefactor", "psi_exponent",
    "exploration_filter", "exploration_scale", "eligibility_filter", "hebbian_perturbation", "phase_baseline",
    "trial_steps",
    "error_filter", "output_filter", "kappa", "threshold", "gate_steepness",
    "transfer_moves", "adaptive_threshold", "cost_on_movement", "effort_cost",
    "distance_filter", "divergence_bound",
])

# The arrays that do not change during a run.
Fixed = namedtuple("Fixed", [
    "J_data", "J_indices", "J_indptr",   # recurrent weights times 2**e, CSR, in fixed point (see ``_spmv``)
    "J_unscale",                         # 2**-e
    "Q",                                 # output feedback weights, N x n_out
    "Q_state", "state_signal",           # state input weights (N x n_state, 0 columns when off) and the
                                         # signal per phase (STATE_TABLE only)
    "targets",                           # (n_curves, n_period_steps, 2): curve 0 unless switched
    "schedule",                          # manipulation rows (slot, op, start, stop, value)
    "costs", "plant_params",            # the movement costs; the plant's parameters (``kinds.Effector``)
    "units",                             # indices of the recorded reservoir units
    "unit_offsets",                      # per period: the index of its first unit sample, or -1 if unrecorded
])

State = namedtuple("State", [
    "x", "r", "Jr", "fb", "z", "z_exp", "z_mst", "zbar", "zbar_total", "hand", "plant_state", "xi",
    "W_exp", "W_mst", "elig", "baseline", "P", "k", "pend_k", "replay", "scalars", "mods",
])

Record = namedtuple("Record", [
    "error", "distance",                 # every step
    "z", "z_exp", "hand", "norm_exp", "norm_mst", "gate",   # every record_every steps
    "plant_state",                       # every record_every steps (samples x n_state; 0 columns when stateless)
    "rates", "states",                   # the recorded units, float32 (samples x units; states may be 0 x 0)
])


@njit(**STAGE)
def _spmv(data, indices, indptr, v, out, unscale):
    """out = J v for CSR J, in fixed point: ``data`` is J times 2**e (a power of two: exact), each product is
    truncated to an integer and the integers are summed exactly (``network.fixed_point_exponent`` keeps every sum
    below 2**63). Integer sums do not depend on their order, so LLVM may vectorise this loop any way it likes,
    on any CPU, and ``_spmm`` gives each column of a block the same numbers (lockstep runs).

    ``indptr`` is uint64 so the loop index is unsigned: numba then skips its negative-index wraparound
    code on every element, which more than halves the time of this loop.
    """
    for i in range(out.size):
        acc = np.int64(0)
        for q in range(indptr[i], indptr[i + 1]):
            acc += np.int64(data[q] * v[indices[q]])
        out[i] = acc * unscale


LANES = 8  # runs per block of ``_spmm``: one 512-bit vector of int64 sums


def _spmm_py(data, indices, indptr, R, acc, n_blocks, step):
    """acc[:, :8 n_blocks] = the integer sums of ``_spmv`` for the columns of R (N x 8 n_blocks, a row per
    neuron), ``LANES`` runs at a time: each nonzero reads 8 contiguous rates and adds to 8 sums that stay in
    registers, instead of gathering one rate per run.

    ``step`` is ``[1]``: a step read from memory makes the loop over a row's nonzeros one that LLVM's loop
    vectoriser leaves alone (it would gather along the row), so that its SLP vectoriser turns the 8 lanes into
    one vector (``_compile_with_slp``).
    """
    for b in range(n_blocks):
        o = LANES * b
        for i in range(acc.shape[0]):
            a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = np.int64(0)
            q, end = indptr[i], indptr[i + 1]
            while q < end:
                d, row = data[q], R[indices[q]]
                a0 += np.int64(d * row[o])
                a1 += np.int64(d * row[o + 1])
                a2 += np.int64(d * row[o + 2])
                a3 += np.int64(d * row[o + 3])
                a4 += np.int64(d * row[o + 4])
                a5 += np.int64(d * row[o + 5])
                a6 += np.int64(d * row[o + 6])
                a7 += np.int64(d * row[o + 7])
                q += step[0]
            out = acc[i]
            out[o], out[o + 1], out[o + 2], out[o + 3] = a0, a1, a2, a3
            out[o + 4], out[o + 5], out[o + 6], out[o + 7] = a4, a5, a6, a7


@contextmanager
def slp_vectorised():
    """Compile with LLVM's SLP vectoriser, which numba leaves off: it packs the lanes of the loop's partial sums
    (written out in the source, strict IEEE) into vector instructions, which changes no bit of the result."""
    old = config.SLP_VECTORIZE
    config.SLP_VECTORIZE = 1
    try:
        yield
    finally:
        config.SLP_VECTORIZE = old


def _compile_with_slp(func, signature):
    """``func`` compiled (or loaded from the cache) for ``signature`` with LLVM's SLP vectoriser, which numba
    leaves off by default, and called, not inlined, by the loop. A called function's copies may be optimised
    differently (``STAGE``), but this one is integer sums of IEEE products: every copy gives the same numbers."""
    dispatcher = njit(**JIT)(func)
    if not config.DISABLE_JIT:  # pragma: no cover - run by every compiled test; interpreted, nothing compiles
        with slp_vectorised():
            dispatcher.compile(signature)
        dispatcher.disable_compile()  # another signature would be compiled without SLP: fail loudly instead
    return dispatcher


_spmm = _compile_with_slp(_spmm_py, types.void(
    types.float32[::1], types.uint32[::1], types.uint64[::1], types.float64[:, ::1], types.int64[:, ::1],
    types.int64, types.uint64[::1]))


@njit(**STAGE)
def _apply_pending_and_multiply(P, pend_k, pend_c, r, k):
    """P <- P - pend_c pend_k pend_k^T on the upper triangle, and k = P r with the updated P, in one pass.

    Row i of the upper triangle adds P[i, j] r[j] to k[i] and P[i, j] r[i] to k[j] for j > i. Rows are
    taken two at a time, so each k[j] is loaded and stored once per pair of rows. The inner loop runs
    over views that start at index 0, which lets numba drop its negative-index wraparound checks.
    """
    n = r.size
    for i in range(n):
        k[i] = 0.0
    i = 0
    while i + 1 < n:
        c0, c1 = pend_c * pend_k[i], pend_c * pend_k[i + 1]
        r0, r1 = r[i], r[i + 1]
        p00 = fma(-c0, pend_k[i], P[i, i])
        p01 = fma(-c0, pend_k[i + 1], P[i, i + 1])
        p11 = fma(-c1, pend_k[i + 1], P[i + 1, i + 1])
        P[i, i], P[i, i + 1], P[i + 1, i + 1] = p00, p01, p11
        acc0 = fma(p01, r1, p00 * r0)
        acc1 = fma(p11, r1, p01 * r0)
        row0, row1, pk, rr, kk = P[i, i + 2:], P[i + 1, i + 2:], pend_k[i + 2:], r[i + 2:], k[i + 2:]
        # the two rows' dot products with r in 8 interleaved partial sums (lane j % 8), combined in a fixed tree
        u0 = u1 = u2 = u3 = u4 = u5 = u6 = u7 = 0.0
        v0 = v1 = v2 = v3 = v4 = v5 = v6 = v7 = 0.0
        m = row0.size - row0.size % 8
        for j in range(0, m, 8):
            a0 = fma(-c0, pk[j], row0[j])
            a1 = fma(-c0, pk[j + 1], row0[j + 1])
            a2 = fma(-c0, pk[j + 2], row0[j + 2])
            a3 = fma(-c0, pk[j + 3], row0[j + 3])
            a4 = fma(-c0, pk[j + 4], row0[j + 4])
            a5 = fma(-c0, pk[j + 5], row0[j + 5])
            a6 = fma(-c0, pk[j + 6], row0[j + 6])
            a7 = fma(-c0, pk[j + 7], row0[j + 7])
            b0 = fma(-c1, pk[j], row1[j])
            b1 = fma(-c1, pk[j + 1], row1[j + 1])
            b2 = fma(-c1, pk[j + 2], row1[j + 2])
            b3 = fma(-c1, pk[j + 3], row1[j + 3])
            b4 = fma(-c1, pk[j + 4], row1[j + 4])
            b5 = fma(-c1, pk[j + 5], row1[j + 5])
            b6 = fma(-c1, pk[j + 6], row1[j + 6])
            b7 = fma(-c1, pk[j + 7], row1[j + 7])
            row0[j], row0[j + 1], row0[j + 2], row0[j + 3] = a0, a1, a2, a3
            row0[j + 4], row0[j + 5], row0[j + 6], row0[j + 7] = a4, a5, a6, a7
            row1[j], row1[j + 1], row1[j + 2], row1[j + 3] = b0, b1, b2, b3
            row1[j + 4], row1[j + 5], row1[j + 6], row1[j + 7] = b4, b5, b6, b7
            u0 = fma(a0, rr[j], u0)
            u1 = fma(a1, rr[j + 1], u1)
            u2 = fma(a2, rr[j + 2], u2)
            u3 = fma(a3, rr[j + 3], u3)
            u4 = fma(a4, rr[j + 4], u4)
            u5 = fma(a5, rr[j + 5], u5)
            u6 = fma(a6, rr[j + 6], u6)
            u7 = fma(a7, rr[j + 7], u7)
            v0 = fma(b0, rr[j], v0)
            v1 = fma(b1, rr[j + 1], v1)
            v2 = fma(b2, rr[j + 2], v2)
            v3 = fma(b3, rr[j + 3], v3)
            v4 = fma(b4, rr[j + 4], v4)
            v5 = fma(b5, rr[j + 5], v5)
            v6 = fma(b6, rr[j + 6], v6)
            v7 = fma(b7, rr[j + 7], v7)
            kk[j] = fma(b0, r1, fma(a0, r0, kk[j]))
            kk[j + 1] = fma(b1, r1, fma(a1, r0, kk[j + 1]))
            kk[j + 2] = fma(b2, r1, fma(a2, r0, kk[j + 2]))
            kk[j + 3] = fma(b3, r1, fma(a3, r0, kk[j + 3]))
            kk[j + 4] = fma(b4, r1, fma(a4, r0, kk[j + 4]))
            kk[j + 5] = fma(b5, r1, fma(a5, r0, kk[j + 5]))
            kk[j + 6] = fma(b6, r1, fma(a6, r0, kk[j + 6]))
            kk[j + 7] = fma(b7, r1, fma(a7, r0, kk[j + 7]))
        acc0 += ((u0 + u1) + (u2 + u3)) + ((u4 + u5) + (u6 + u7))
        acc1 += ((v0 + v1) + (v2 + v3)) + ((v4 + v5) + (v6 + v7))
        for j in range(m, row0.size):  # the last row0.size % 8 columns, in order
            a = fma(-c0, pk[j], row0[j])
            b = fma(-c1, pk[j], row1[j])
            row0[j] = a
            row1[j] = b
            acc0 = fma(a, rr[j], acc0)
            acc1 = fma(b, rr[j], acc1)
            kk[j] = fma(b, r1, fma(a, r0, kk[j]))
        k[i] += acc0
        k[i + 1] += acc1
        i += 2
    if i < n:  # odd n: the last diagonal entry
        p = fma(-(pend_c * pend_k[i]), pend_k[i], P[i, i])
        P[i, i] = p
        k[i] = fma(p, r[i], k[i])


@njit(**JIT)
def flush_pending(P, pend_k, scalars):
    """Apply the pending rank-1 update and mirror the upper triangle, leaving P complete and symmetric."""
    n = pend_k.size
    c = scalars[S_PEND_C]
    for i in range(n):
        ci = c * pend_k[i]
        for j in range(i, n):  # as the pass over P applies it (``_apply_pending_and_multiply``)
            P[i, j] = fma(-ci, pend_k[j], P[i, j])
            P[j, i] = P[i, j]
    scalars[S_PEND_C] = 0.0


@njit(**STAGE)
def tanh(v):
    """tanh(v) of a float; within 5 ulp of libm's tanh, the same on every target.

    It uses tanh(a) = E / (E + 2) with E = expm1(2a): expm1 of 2a / 64 by its Taylor series (18 terms reach
    double precision for arguments up to 0.6), then six doublings expm1(2u) = expm1(u) (expm1(u) + 2),
    which keep the relative accuracy. |v| >= 19 gives +-1 exactly, as in double precision.
    """
    a = abs(v)
    a = 19.0 if a > 19.0 else a  # NaN passes through
    u = a * (2.0 / 64.0)
    p = 1.0 / 6402373705728000.0
    p = fma(p, u, 1.0 / 355687428096000.0)
    p = fma(p, u, 1.0 / 20922789888000.0)
    p = fma(p, u, 1.0 / 1307674368000.0)
    p = fma(p, u, 1.0 / 87178291200.0)
    p = fma(p, u, 1.0 / 6227020800.0)
    p = fma(p, u, 1.0 / 479001600.0)
    p = fma(p, u, 1.0 / 39916800.0)
    p = fma(p, u, 1.0 / 3628800.0)
    p = fma(p, u, 1.0 / 362880.0)
    p = fma(p, u, 1.0 / 40320.0)
    p = fma(p, u, 1.0 / 5040.0)
    p = fma(p, u, 1.0 / 720.0)
    p = fma(p, u, 1.0 / 120.0)
    p = fma(p, u, 1.0 / 24.0)
    p = fma(p, u, 1.0 / 6.0)
    p = fma(p, u, 0.5)
    p = fma(p, u, 1.0)
    e = p * u
    e = e * (e + 2.0)
    e = e * (e + 2.0)
    e = e * (e + 2.0)
    e = e * (e + 2.0)
    e = e * (e + 2.0)
    e = e * (e + 2.0)
    return math.copysign(e / (e + 2.0), v)


@njit(**STAGE)
def tanh_into(x, out):
    """out = tanh(x) (``tanh``), a loop that vectorises: numba would call libm's scalar tanh (about 12 ns each
    here), whose result may differ between machines."""
    for j in range(x.size):
        out[j] = tanh(x[j])


_arm_tip = njit(**STAGE)(arm.tip_position)
_arm_dynamics_step = njit(**STAGE)(arm_dynamics.step)


@njit(**STAGE)
def hand_position(effector, z, arm_lengths, out):
    """The stateless built-in plants: identity (Task 1) or the planar arm (``plants.arm``)."""
    if effector == EFFECTOR_IDENTITY:
        out[0] = z[0]
        out[1] = z[1]
    else:
        _arm_tip(z, arm_lengths, out)


@njit(**STAGE)
def plant_step(effector, command, state, params, dt_s, hand):
    """Advance the plant by one step of ``dt_s`` seconds under ``command`` and write its hand position.

    The signature of every plant's step (``plants.user``) with the built-in plant's code in front. A user's
    plant replaces this function in a loop compiled for it (``loop_for``).
    """
    if effector == EFFECTOR_ARM_DYNAMICS:  # the two-joint arm driven by torques (``plants.arm_dynamics``)
        _arm_dynamics_step(command, state, params, dt_s, hand)
    else:
        hand_position(effector, command, params, hand)


@njit(**STAGE)
def dot(a, b):
    """sum_j a_j b_j in a fixed order: 8 interleaved partial sums (lane j % 8, fused multiply-adds) combined in a
    fixed tree, then the last a.size % 8 terms in order. The SLP vectoriser packs the lanes (``slp_vectorised``)."""
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    m = a.size - a.size % 8
    for j in range(0, m, 8):
        s0 = fma(a[j], b[j], s0)
        s1 = fma(a[j + 1], b[j + 1], s1)
        s2 = fma(a[j + 2], b[j + 2], s2)
        s3 = fma(a[j + 3], b[j + 3], s3)
        s4 = fma(a[j + 4], b[j + 4], s4)
        s5 = fma(a[j + 5], b[j + 5], s5)
        s6 = fma(a[j + 6], b[j + 6], s6)
        s7 = fma(a[j + 7], b[j + 7], s7)
    total = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    for j in range(m, a.size):
        total = fma(a[j], b[j], total)
    return total


@njit(**STAGE)
def _frobenius(W):
    acc = 0.0
    for a in range(W.shape[0]):
        acc += dot(W[a], W[a])
    return np.sqrt(acc)


@njit(**STAGE)
def _power(x, y):
    """x**y for x >= 0 and y > 0: ``elementary.pow``, and 0 for x = 0."""
    return 0.0 if x == 0.0 else _elementary_pow(x, y)


@njit(**STAGE)
def _phi(u, odd, gain, exponent):
    """Reward function: reinforce when the error fell (u < 0); with ``odd``, anti-reinforce when it rose."""
    if u <= 0.0:
        return gain * _power(-u, exponent)
    if odd:
        return -gain * _power(u, exponent)
    return 0.0


@njit(**STAGE)
def adaptive_threshold(sc, e, s, n_period_steps, threshold, factor):
    """The transfer threshold at step s >= 1 of training, given the error e of this step.

    The error averaged over each period is read at the period's end. A period that does not beat the
    best earlier one means learning has stalled; only then does the gate open up to factor x that best.
    While the error still falls, the scripted threshold stands. The average is a plain one over the
    period: a running filter would remember the untrained error for several periods and hide a stall.
    """
    if s % n_period_steps == 0:
        mean = sc[S_ESUM] / n_period_steps
        sc[S_ESUM] = 0.0
        improved = mean < sc[S_EBEST]
        if improved:
            sc[S_EBEST] = mean
        sc[S_STALLED] = 0.0 if improved else 1.0
    sc[S_ESUM] += e
    if sc[S_STALLED] > 0.0:
        return max(threshold, factor * sc[S_EBEST])
    return threshold


# --- The stages of one step, in the order the loop calls them -------------------------------------

@njit(**STAGE)
def active_manipulations(schedule, s, mods):
    """The manipulated quantities at step ``s``: healthy values, then every active schedule row applied."""
    for q in range(mods.size):
        mods[q] = NEUTRAL[q]
    for q in range(schedule.shape[0]):
        if schedule[q, 2] <= s < schedule[q, 3]:
            slot, op, value = int(schedule[q, 0]), int(schedule[q, 1]), schedule[q, 4]
            if op == OP_MULTIPLY:
                mods[slot] *= value
            elif op == OP_ADD:
                mods[slot] += value
            elif op == OP_SET:
                mods[slot] = value
            else:
                mods[slot] = 1.0


@njit(**STAGE)
def reservoir_step(p, fx, st, phase, training, rng_noise, target_point):
    """Euler step of x driven by the previous rates (``st.Jr`` holds J r), the feedback and the state input;
    r = tanh(x) + noise. The state signal is a function of the phase, the hand position of the previous step or
    the target point."""
    x, r, Jr, fb, Q, Q_state = st.x, st.r, st.Jr, st.fb, fx.Q, fx.Q_state
    if p.state_source == STATE_HAND:
        signal = st.hand
    elif p.state_source == STATE_TARGET:
        signal = target_point
    else:
        signal = fx.state_signal[phase]
    for j in range(x.size):
        drive = Jr[j]
        for o in range(fb.size):
            drive = fma(Q[j, o], fb[o], drive)
        for c in range(Q_state.shape[1]):
            drive = fma(Q_state[j, c], p.state_amplitude * signal[c], drive)
        x[j] = fma(p.dt_over_tau, drive - x[j], x[j])
    tanh_into(x, r)
    if training and p.noise_amplitude > 0.0:
        lo, width = -p.noise_amplitude, 2.0 * p.noise_amplitude
        for j in range(r.size):
            r[j] += lo + width * rng_noise.random()


@njit(**STAGE)
def readouts(p, st, training, lesion, rng_explore):
    """z = z_mst + z_exp. The exploratory pathway is absent in the test (unless the rule keeps it) and
    when lesioned; its exploration noise is drawn at every training step all the same, so manipulated and
    control runs stay paired."""
    r, W_exp, W_mst = st.r, st.W_exp, st.W_mst
    beta = st.scalars[S_BETA]
    for o in range(st.z.size):
        zm = 0.0
        if p.has_mastery:
            zm = dot(W_mst[o], r)
        ze = 0.0
        if p.has_exploratory:
            xi = 0.0
            if training:
                xi = -beta + 2.0 * beta * rng_explore.random()
                if p.exploration_filter != 1.0:  # correlated exploration: a low-pass of the draws, same variance
                    a = p.exploration_filter
                    xi = (1.0 - a) * st.xi[o] + a * p.exploration_scale * xi
                st.xi[o] = xi
            if not lesion and (training or p.exploratory_in_test):
                ze = dot(W_exp[o], r) + xi
        st.z_mst[o] = zm
        st.z_exp[o] = ze
        st.z[o] = zm + ze


@njit(**STAGE)
def filter_into(zbar, z, a, first):
    """zbar <- (1 - a) zbar + a z; at the first step zbar = z."""
    for o in range(zbar.size):
        zbar[o] = z[o] if first else (1.0 - a) * zbar[o] + a * z[o]


@njit(**STAGE)
def task_error(effector, z, zbar, target_point, plant_state, plant_params, dt_s, costs, effort_cost, hand):
    """Advance the plant under the outputs ``z``, then the error of one step: squared distance of the hand
    (into ``hand``) from the target point, plus the movement cost sum_o c_o |z_o - zbar_o| and the effort
    cost c_e sum_o z_o^2. The Gymnasium env calls this same function."""
    plant_step(effector, z, plant_state, plant_params, dt_s, hand)
    e = (hand[0] - target_point[0]) ** 2 + (hand[1] - target_point[1]) ** 2
    for o in range(costs.size):
        e += costs[o] * abs(z[o] - zbar[o])
    if effort_cost != 0.0:
        for o in range(z.size):
            e += effort_cost * z[o] * z[o]
    return e


@njit(**STAGE)
def step_error(p, fx, st, s, training, target_point):
    """Filter the outputs, then the task error of this step. SUPERTREX filters its exploratory output (also
    in the test, as scripted); RMHL its total output during training. The cost's zbar is that filter (as
    scripted) or, with ``cost_on_movement``, a filter of the total output at every step."""
    if s == 0 or p.filters_in_test or training:
        filter_into(st.zbar, st.z_exp, p.output_filter, s == 0)
    zbar = st.zbar
    if fx.costs.size and p.cost_on_movement:
        filter_into(st.zbar_total, st.z, p.output_filter, s == 0)
        zbar = st.zbar_total
    return task_error(p.effector, st.z, zbar, target_point, st.plant_state, fx.plant_params, p.dt_s, fx.costs,
                      p.effort_cost, st.hand)


@njit(**STAGE)
def track_distance(p, sc, s, e, rec):
    """The slow error filter m (distance sqrt(m)); the filters start at the first step's error."""
    if s == 0:
        sc[S_EBAR] = e
        sc[S_M] = e
        sc[S_ESUM] = e  # the first period's average counts its first step, as every other period's does
        sc[S_EBEST] = np.inf
        sc[S_STALLED] = 0.0
    else:
        sc[S_M] = (1.0 - p.distance_filter) * sc[S_M] + p.distance_filter * e
    rec.error[s] = e
    rec.distance[s] = np.sqrt(sc[S_M])


@njit(**STAGE)
def hebbian(p, st, o):
    """The output factor of the exploratory Hebbian term: z_exp - zbar (the scripts) or the exploration xi
    itself (``rule.hebbian_term``)."""
    if p.hebbian_perturbation:
        return st.xi[o]
    return st.z_exp[o] - st.zbar[o]


@njit(**STAGE)
def eligibility_update(p, st):
    """E <- (1 - a_el) E + a_el h r^T, h the Hebbian output factor (``hebbian``): the exploratory Hebbian term
    low-passed, for a reward that shows the exploration's effect only later (``rule.eligibility_filter``)."""
    a, r = p.eligibility_filter, st.r
    for o in range(st.z.size):
        c_o = a * hebbian(p, st, o)
        E = st.elig[o]
        for j in range(r.size):
            E[j] = fma(c_o, r[j], (1.0 - a) * E[j])


@njit(**STAGE)
def reward_coefficient(p, e_hat, dopamine, reward_bias):
    """eta d Phi(e_hat + bias): what multiplies the exploratory Hebbian term (or its trace, or a trial's sum)."""
    return dopamine * p.learning_rate * _phi(e_hat + reward_bias, p.phi_odd, p.phi_gain, p.phi_exponent)


@njit(**STAGE)
def exploratory_update(p, st, e_hat, dopamine, reward_bias):
    """RMHL: W_exp += eta d Phi(e_hat + bias) h r^T (h: ``hebbian``), or times the eligibility trace E in its
    place."""
    coef = reward_coefficient(p, e_hat, dopamine, reward_bias)
    if coef != 0.0 and p.eligibility_filter != 1.0:
        for o in range(st.z.size):
            W, E = st.W_exp[o], st.elig[o]
            for j in range(W.size):
                W[j] = fma(coef, E[j], W[j])
    elif coef != 0.0:
        r = st.r
        for o in range(st.z.size):
            c_o = coef * hebbian(p, st, o)
            W = st.W_exp[o]
            for j in range(r.size):
                W[j] = fma(c_o, r[j], W[j])


@njit(**STAGE)
def trial_update(p, st, s, e, dopamine, reward_bias, lesion):
    """The trial-based form (``rule.trial_ms``): E sums the Hebbian term h r^T and the error over the trial; at
    its end W_exp += eta d Phi(mean error - its phase's baseline + bias) E, and both sums start again."""
    sc, r = st.scalars, st.r
    sc[S_TRIAL_ERR] += e
    for o in range(st.z.size):
        c_o, E = hebbian(p, st, o), st.elig[o]
        for j in range(r.size):
            E[j] = fma(c_o, r[j], E[j])
    if (s + 1) % p.trial_steps == 0:
        coef = reward_coefficient(p, reward_input(p, st, s, sc[S_TRIAL_ERR] / p.trial_steps, 0.0), dopamine,
                                  reward_bias)
        for o in range(st.z.size):
            W, E = st.W_exp[o], st.elig[o]
            for j in range(W.size):
                if not lesion:
                    W[j] = fma(coef, E[j], W[j])
                E[j] = 0.0
        sc[S_TRIAL_ERR] = 0.0


def unset_baseline(n_period_steps: int, phase_baseline: float) -> np.ndarray:
    """``State.baseline`` before any period set it: NaN per step of the period, or one entry when the rule keeps no
    baseline (``rule.phase_baseline`` = 0)."""
    return np.full(n_period_steps if phase_baseline else 1, np.nan)


@njit(**STAGE)
def reward_input(p, st, s, e, ebar):
    """What Phi rewards: the error against ebar (the scripts), or against the running baseline of this step of
    the period (``rule.phase_baseline``), which it then updates. A phase without a baseline yet (NaN, the first
    training period) only sets it: no reward."""
    if p.phase_baseline == 0.0:
        return e - ebar
    b = st.baseline
    phase = s % p.n_period_steps
    if np.isnan(b[phase]):
        b[phase] = e
        return 0.0
    e_hat = e - b[phase]
    b[phase] = (1.0 - p.phase_baseline) * b[phase] + p.phase_baseline * e
    return e_hat


@njit(**STAGE)
def rls_step(p, st, ebar, threshold, block, target_point):
    """One RLS step of the mastery pathway: FORCE on the target, or SUPERTREX's gated transfer of the
    exploratory output. P's update is left pending for the next pass over P (module docstring)."""
    sc, r, k = st.scalars, st.r, st.k
    if not p.gated_transfer:
        gate = 1.0
    elif block:
        gate = 0.0
    else:
        gate = 0.5 - 0.5 * tanh(p.gate_steepness * (abs(ebar) - threshold))
    sc[S_GATE] = gate
    if gate > 0.0:  # a closed gate changes neither P nor W: skip the N x N work
        _apply_pending_and_multiply(st.P, st.pend_k, sc[S_PEND_C], r, k)
        c = 1.0 / (1.0 + dot(r, k))
        for o in range(st.z.size):
            if p.teacher == TEACHER_TARGET:
                step = -c * (st.z[o] - target_point[o])
            elif p.teacher == TEACHER_FILTERED:
                step = p.kappa * gate * c * st.zbar[o]
            else:
                step = p.kappa * gate * c * st.z_exp[o]
            W_mst = st.W_mst[o]
            for j in range(r.size):
                W_mst[j] = fma(step, k[j], W_mst[j])
            if p.transfer_moves:
                W_exp = st.W_exp[o]
                for j in range(r.size):
                    W_exp[j] = fma(-step, k[j], W_exp[j])
        for j in range(r.size):
            st.pend_k[j] = k[j]
        sc[S_PEND_C] = gate * c


@njit(**STAGE)
def learn(p, st, s, e, target_point, mods):
    """Training step s >= 1: the error filter, the exploration amplitude of the next step, the exploratory
    update and, every ``rls_every`` steps, the RLS step."""
    sc = st.scalars
    ebar = (1.0 - p.error_filter) * sc[S_EBAR] + p.error_filter * e
    sc[S_EBAR] = ebar
    threshold = p.threshold
    if p.adaptive_threshold > 0.0:
        threshold = adaptive_threshold(sc, e, s, p.n_period_steps, threshold, p.adaptive_threshold)
    sc[S_BETA] = mods[SLOT_EXPLORATION_GAIN] * p.psi_prefactor * _power(10.0 * ebar, p.psi_exponent)
    lesion = mods[SLOT_LESION] > 0.0
    if p.trial_steps > 0:
        if p.has_exploratory:
            trial_update(p, st, s, e, mods[SLOT_DOPAMINE], mods[SLOT_REWARD_BIAS], lesion)
    else:
        e_hat = reward_input(p, st, s, e, ebar)
        if p.has_exploratory and p.eligibility_filter != 1.0:
            eligibility_update(p, st)
        if p.has_exploratory and not lesion:
            exploratory_update(p, st, e_hat, mods[SLOT_DOPAMINE], mods[SLOT_REWARD_BIAS])
    if p.has_mastery and (s + 1) % p.rls_every == 0:
        rls_step(p, st, ebar, threshold, mods[SLOT_BLOCK_TRANSFER] > 0.0, target_point)


@njit(**STAGE)
def feedback(p, st, s, training, target_point):
    """The feedback of the next step: the output in training (kept for replay); in the test the target,
    the replayed training output or the own output."""
    fb, z, replay = st.fb, st.z, st.replay
    lag_slot = s % p.replay_lag
    for o in range(fb.size):
        if training:
            fb[o] = z[o]
            replay[lag_slot, o] = z[o]
        elif p.test_feedback == FEEDBACK_TARGET:
            fb[o] = target_point[o]
        elif p.test_feedback == FEEDBACK_REPLAY:
            fb[o] = replay[lag_slot, o]
        else:
            fb[o] = z[o]


@njit(**STAGE)
def record(p, st, rec, s):
    """The downsampled traces, every ``record_every`` steps."""
    i = s // p.record_every
    for o in range(st.z.size):
        rec.z[i, o] = st.z[o]
        rec.z_exp[i, o] = st.z_exp[o]
    rec.hand[i, 0] = st.hand[0]
    rec.hand[i, 1] = st.hand[1]
    rec.norm_exp[i] = _frobenius(st.W_exp)
    rec.norm_mst[i] = _frobenius(st.W_mst)
    rec.gate[i] = st.scalars[S_GATE]
    for q in range(st.plant_state.size):
        rec.plant_state[i, q] = st.plant_state[q]


@njit(**STAGE)
def record_units(p, fx, st, rec, s, phase):
    """The rates (and states) of the recorded units, every ``units_every`` steps of a recorded period.
    The sample index follows from the step alone, so chunks and continued runs fill the same rows."""
    first = fx.unit_offsets[s // p.n_period_steps]
    if first >= 0 and phase % p.units_every == 0:
        i = first + phase // p.units_every
        for u in range(fx.units.size):
            rec.rates[i, u] = st.r[fx.units[u]]
        if rec.states.shape[0]:
            for u in range(fx.units.size):
                rec.states[i, u] = st.x[fx.units[u]]


@njit(**STAGE)
def out_of_bounds(z, bound):
    """Any output non-finite or beyond the divergence bound."""
    for o in range(z.size):
        if not abs(z[o]) <= bound:
            return True
    return False


@njit(**STAGE)
def step(s, p, fx, st, rec, rng_noise, rng_explore):
    """Step ``s`` (0-based) of a run whose ``st.Jr`` holds J r. Returns True, with ``scalars[S_DIVERGED]`` set
    to the step, when an output left the divergence bound."""
    training = s < p.n_train_steps
    phase = s % p.n_period_steps
    active_manipulations(fx.schedule, s, st.mods)
    target_point = fx.targets[int(st.mods[SLOT_CURVE]), phase]
    lesion = st.mods[SLOT_LESION] > 0.0

    reservoir_step(p, fx, st, phase, training, rng_noise, target_point)
    readouts(p, st, training, lesion, rng_explore)
    e = step_error(p, fx, st, s, training, target_point)
    track_distance(p, st.scalars, s, e, rec)
    if training and s > 0:
        learn(p, st, s, e, target_point, st.mods)
    feedback(p, st, s, training, target_point)
    if s % p.record_every == 0:
        record(p, st, rec, s)
    record_units(p, fx, st, rec, s, phase)
    if out_of_bounds(st.z, p.divergence_bound):
        st.scalars[S_DIVERGED] = s
        return True
    return False


#: A step's J r comes from block products of ``LANES`` runs (``_spmm``) for the runs that fill a block or a
#: block's BLOCK_MIN lanes (``n_blocks``); with fewer, each run's own ``_spmv`` is faster (measured in
#: benchmarks/bench_spmm.py). Both give the same numbers.
BLOCK_MIN = 3


@njit(**STAGE)
def n_blocks(k):
    """The blocks of ``LANES`` runs for k runs: the whole ones, and a last partial one if it holds BLOCK_MIN
    runs or more; the runs left over take their own product."""
    return k // LANES + (k % LANES >= BLOCK_MIN)

# What the runs of a group share: J times 2**e in CSR (``_spmm``), the rates block R (N x a multiple of
# LANES), the integer sums acc (the same shape), ``step = [1]`` (``_spmm``) and the members' indices of the lanes.
Shared = namedtuple("Shared", ["data", "indices", "indptr", "R", "acc", "step", "lanes"])


@njit(**JIT)
def run_group(members, s_now, s_end, sh):
    """Advance the runs ``members`` (tuples ``(Params, Fixed, State, Record, rng_noise, rng_explore)`` of runs
    with one J), member m from step ``s_now[m]`` towards ``s_end[m]``, in lockstep: at each step one product
    gives every active run its J r. Returns when a member reaches its end or diverges (its ``s_end`` is then
    its last step + 1); ``s_now`` holds where each member stands. A member's numbers do not depend on the
    others: J r is exact integer arithmetic in every path (``_spmv``), and the rest of a step is one run's.
    A single run is the group of one; ``s_now == s_end`` only compiles.
    """
    lanes = sh.lanes
    while True:
        k = 0
        for m in range(len(members)):
            if s_now[m] < s_end[m]:
                lanes[k] = m
                k += 1
        if k == 0:
            return
        blocks = n_blocks(k)
        in_blocks = min(k, blocks * LANES)
        if blocks:
            for c in range(in_blocks):
                r = members[lanes[c]][2].r
                for j in range(r.size):
                    sh.R[j, c] = r[j]
            _spmm(sh.data, sh.indices, sh.indptr, sh.R, sh.acc, blocks, sh.step)
        for c in range(in_blocks, k):  # before any step changes the rates
            fx, st = members[lanes[c]][1], members[lanes[c]][2]
            _spmv(fx.J_data, fx.J_indices, fx.J_indptr, st.r, st.Jr, fx.J_unscale)
        stop = False
        for c in range(k):
            m = lanes[c]
            p, fx, st, rec, rng_noise, rng_explore = members[m]
            if c < in_blocks:
                for i in range(st.Jr.size):
                    st.Jr[i] = sh.acc[i, c] * fx.J_unscale
            s = s_now[m]
            s_now[m] = s + 1
            if step(s, p, fx, st, rec, rng_noise, rng_explore):
                s_end[m] = s + 1
            stop = stop or s_now[m] == s_end[m]
        if stop:
            return


# --- A user's plant: the loop compiled again with the plant's step in place of ``plant_step`` ----------------

NumbaError = errors.NumbaError
#: A user's loop is compiled in each process and never cached (see ``loop_for``).
FRESH = dict(fastmath=FASTMATH, error_model="numpy")
#: The loop's functions between ``run_group`` and the plant's step: compiled again for a user's plant.
_PLANT_CALLERS = ("task_error", "step_error", "step")
#: The array types of a plant step's arguments in the loop: command, state, params, dt_s, hand.
PLANT_SIGNATURE = types.void(types.float64[::1], types.float64[::1], types.float64[::1], types.float64,
                             types.float64[::1])
_user_plant = None  # bound, in the globals of a user's loop, to the plant's compiled step


def _user_plant_step(effector, command, state, params, dt_s, hand):
    _user_plant(command, state, params, dt_s, hand)


def _rebound(func, namespace, **flags):
    """``func``'s code compiled with its global names looked up in ``namespace``."""
    func = getattr(func, "py_func", func)
    return njit(**flags)(pytypes.FunctionType(func.__code__, namespace, func.__name__, func.__defaults__,
                                              func.__closure__))


_LOOPS = {}


def loop_for(step):
    """``run_group`` for a plant whose plain-Python ``step`` replaces ``plant_step``; compiled once per process.

    The plant is not passed to the loop as an argument (a first-class function). numba can cache such a
    function since 0.53 (numba PR #6373, issue #6251), but it calls the argument, never inlines it (its IR
    keeps ``call fn(...)``; ``inline="always"`` acts on global names only), and a called function is what
    ``STAGE`` rules out: its compiled copy differed between a fresh compile and a load from the cache. Nor
    does the shared loop change: the built-in plants keep their compiled code, numbers and cache. Instead
    the loop's own code is compiled again with its global names looked up in a copy of this module's
    namespace, where ``plant_step`` calls the user's step, inlined like every other stage. That copy must not
    be cached: numba keys its cache by a function's file, name, bytecode and closure (numba issues #6264 and
    #2956), not by the globals it resolves, so a cached copy would be taken for the built-in loop or for
    another plant's. It is compiled fresh in every process (a few seconds): one way of compiling, one set of
    numbers, whichever process runs it.
    """
    step = getattr(step, "py_func", step)
    if step not in _LOOPS:
        namespace = dict(globals())
        namespace["_user_plant"] = njit(**FRESH, inline="always")(step)
        namespace["plant_step"] = _rebound(_user_plant_step, namespace, **FRESH, inline="always")
        for name in _PLANT_CALLERS:
            namespace[name] = _rebound(globals()[name], namespace, **FRESH, inline="always")
        _LOOPS[step] = _rebound(run_group, namespace, **FRESH)
    return _LOOPS[step]


def numba_message(exc: Exception) -> str:
    """One line of a numba error: its first informative line and where in the plant's code it points."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    skip = ("Failed in ", "During: ", "File ", "<source", "^", "- ", "Resolution failure")
    useful = [ln for ln in lines if not ln.startswith(skip)] or lines or [type(exc).__name__]
    where = re.search(r'File "([^"]+)", line (\d+)', text)
    return useful[0] + (f" (at {where.group(1)}, line {where.group(2)})" if where else "")


def plant_compile_error(step) -> str:
    """Why numba cannot compile a plant's ``step`` alone for the loop's argument types, or ''."""
    if config.DISABLE_JIT:  # nothing is compiled (tests/kernel/test_nojit.py)
        return ""
    try:
        njit(**FRESH)(getattr(step, "py_func", step)).compile(PLANT_SIGNATURE)
    except errors.NumbaError as exc:
        return numba_message(exc)
    return ""
