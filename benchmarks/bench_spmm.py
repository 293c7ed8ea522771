"""The recurrent product J r of one run against J times a block of K runs' rates (issue 20, a first measure).

Runs with one seed share J. This benchmark times, on the full-size network (N = 1000, about 95 000
nonzeros, J in float32), in one process:

* ``current``: the loop's ``_spmv``, compiled alone with the loop's flags (fast-math: LLVM vectorises the
  row sums with gathers, so their order is LLVM's choice, and depends on the CPU);
* ``strict``: a candidate for the single run, without fast-math, each row summed in four partial sums over
  the row's nonzeros taken in turn, then (a0 + a1) + (a2 + a3): an order written down, the same on every
  compile and CPU with IEEE arithmetic;
* ``block``: the candidate for K runs in lockstep, the same four partial sums per column of an N x K block
  of rates, so that each column is, bit for bit, the ``strict`` product of that run alone (checked).

The numbers are the time of one product, and per run for the block. Candidates only: the loop does not use
them. They are compiled here (not in the package) so that the measurement changes nothing of the loop.

Tried in session 11: the loop's product as ``strict_spmv``, called (not inlined, which would give it the
loop's fast-math flags). A full-size Task 1 run was 3-6 % faster, but tests/test_determinism.py failed: a
process whose numba cache was filled after a standalone call of the product gave a z trace differing by up
to 4.4e-16 from a fresh compile. A called function's copies are not interchangeable, so the loop keeps its
inlined product; an order a block product can reproduce must be found inside the inlined loop.

Usage::

    python benchmarks/bench_spmm.py            # about 1 minute
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from numba import njit

from reservoir_motor import _kernel as K
from reservoir_motor import load_experiment
from reservoir_motor.network import make_network, make_streams

STRICT = dict(error_model="numpy")  # no fast-math: the order of every sum is the one written
U1, U2, U3, U4 = np.uint64(1), np.uint64(2), np.uint64(3), np.uint64(4)  # unsigned steps keep q unsigned


@njit(**STRICT)
def strict_spmv(data, indices, indptr, v, out):
    """out = J v, each row's nonzeros dealt to four partial sums in turn."""
    for i in range(out.size):
        a0 = a1 = a2 = a3 = 0.0
        q, end = indptr[i], indptr[i + 1]
        while q + U3 < end:
            a0 += data[q] * v[indices[q]]
            a1 += data[q + U1] * v[indices[q + U1]]
            a2 += data[q + U2] * v[indices[q + U2]]
            a3 += data[q + U3] * v[indices[q + U3]]
            q += U4
        if q < end:
            a0 += data[q] * v[indices[q]]
        if q + U1 < end:
            a1 += data[q + U1] * v[indices[q + U1]]
        if q + U2 < end:
            a2 += data[q + U2] * v[indices[q + U2]]
        out[i] = (a0 + a1) + (a2 + a3)


@njit(**STRICT)
def block_spmm(data, indices, indptr, R, out, acc):
    """out = J R for an N x K block R (row-major: a nonzero reads K contiguous rates); per column the partial
    sums of ``strict_spmv``. ``acc`` is 4 x K scratch. The loop over columns has no reduction, so it vectorises
    without fast-math."""
    n_cols = R.shape[1]
    for i in range(out.shape[0]):
        acc[:, :] = 0.0
        q, end = indptr[i], indptr[i + 1]
        m = 0
        while q < end:
            d, row, a = data[q], R[indices[q]], acc[m]
            for c in range(n_cols):
                a[c] += d * row[c]
            q += U1
            m = (m + 1) & 3
        o = out[i]
        for c in range(n_cols):
            o[c] = (acc[0, c] + acc[1, c]) + (acc[2, c] + acc[3, c])


def per_call_us(f, reps):
    f()
    t0 = time.perf_counter()
    for _ in range(reps):
        f()
    return (time.perf_counter() - t0) / reps * 1e6


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=3000)
    ap.add_argument("--blocks", default="2,4,8,12", help="block widths K to time")
    args = ap.parse_args(argv)
    widths = [int(k) for k in args.blocks.split(",")]
    config = load_experiment("task1-supertrex")
    data, indices, indptr = make_network(config, make_streams(0)).csr_arrays()
    n = config.network.n_neurons
    current = njit(**K.JIT)(K._spmv.py_func)
    rates = np.tanh(np.random.default_rng(1).standard_normal((n, max(widths))))
    v, out = rates[:, 0].copy(), np.zeros(n)
    print(f"N = {n}, {data.size} nonzeros ({data.dtype}), {args.reps} products each")
    t_cur = per_call_us(lambda: current(data, indices, indptr, v, out), args.reps)
    t_str = per_call_us(lambda: strict_spmv(data, indices, indptr, v, out), args.reps)
    print(f"current (fast-math, gathers): {t_cur:6.1f} us")
    print(f"strict (4 partial sums):      {t_str:6.1f} us   ({t_cur / t_str:.2f}x the current)")
    for k in widths:
        R, block = np.ascontiguousarray(rates[:, :k]), np.zeros((n, k))
        acc = np.zeros((4, k))
        t = per_call_us(lambda: block_spmm(data, indices, indptr, R, block, acc), args.reps)  # noqa: B023
        same = True
        for c in range(k):
            strict_spmv(data, indices, indptr, np.ascontiguousarray(R[:, c]), out)
            same &= np.array_equal(out, block[:, c])
        print(f"block K = {k:2d}: {t:6.1f} us, {t / k:5.1f} us per run ({t_str * k / t:.2f}x strict runs one by one);"
              f" every column == its strict product: {same}")


if __name__ == "__main__":
    main()
