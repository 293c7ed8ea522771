"""The recurrent product J r of one run against J times a block of K runs' rates (lockstep runs, docs/lockstep.md).

Runs with one seed share J. This benchmark times, on the full-size network (N = 1000, about 95 000
nonzeros, J in float32), in one process, each compiled alone with the loop's flags:

* ``float``: the loop's product before the fixed point (commit 4015c08), a float sum per row (fast-math: LLVM
  vectorises it with gathers and picks the order of the sums, so no block product could reproduce it);
* ``fixed``: the loop's product now (``kernel.loop._spmv``): J times 2**e, each product truncated to an integer, the
  integers summed exactly, so that the order does not matter;
* ``block``: the lockstep product (``kernel.loop._spmm``): blocks of 8 runs, each nonzero reading 8 contiguous
  rates into 8 integer sums held in one vector register (compiled with LLVM's SLP vectoriser); K runs take
  ceil(K / 8) blocks. Every column is checked == the ``fixed`` product.

Prints the time of one product, per run for the block, and the K from which the block is faster per run
than K single products (``kernel.loop.BLOCK_MIN`` was chosen from this).

A strict float order was tried (commit fe501cc, 2026-12-04: four partial sums per row, no fast-math, called
not inlined): 3-6 % faster, but a process whose numba cache was filled after a standalone call gave other
numbers; the fixed point needs no order.

Usage::

    python benchmarks/bench_spmm.py [--reps 2000] [--blocks 2,3,4,5,6,8,12,16]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from numba import njit

from reservoir_motor import load_experiment
from reservoir_motor.kernel import loop as K
from reservoir_motor.simulation.network import make_network, make_streams


@njit(**K.JIT)
def float_spmv(data, indices, indptr, v, out):
    """The loop's product before the fixed point (commit 4015c08)."""
    for i in range(out.size):
        acc = 0.0
        for q in range(indptr[i], indptr[i + 1]):
            acc += data[q] * v[indices[q]]
        out[i] = acc


fixed_spmv = njit(**K.JIT)(K._spmv.py_func)


def per_call_us(f, reps):
    f()
    t0 = time.perf_counter()
    for _ in range(reps):
        f()
    return (time.perf_counter() - t0) / reps * 1e6


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=2000)
    ap.add_argument("--blocks", default="2,3,4,6,8,9,12,16", help="block widths K to time")
    args = ap.parse_args(argv)
    widths = [int(k) for k in args.blocks.split(",")]
    net = make_network(load_experiment("task1-supertrex"), make_streams(0))
    data, indices, indptr, unscale = net.csr_arrays()
    n = net.J.shape[0]
    rates = np.tanh(np.random.default_rng(1).standard_normal((n, max(widths))))
    v, out = rates[:, 0].copy(), np.zeros(n)
    raw = net.J.data, net.J.indices.astype(np.uint32), net.J.indptr.astype(np.uint64)
    print(f"N = {n}, {net.J.nnz} nonzeros ({data.dtype}), {args.reps} products each")
    t_float = per_call_us(lambda: float_spmv(*raw, v, out), args.reps)
    t_fixed = per_call_us(lambda: fixed_spmv(data, indices, indptr, v, out, unscale), args.reps)
    print(f"float (before):   {t_float:6.1f} us")
    print(f"fixed (the loop): {t_fixed:6.1f} us   ({t_float / t_fixed:.2f}x the float product)")
    for k in widths:
        blocks = -(-k // K.LANES)
        R = np.zeros((n, blocks * K.LANES))
        R[:, :k] = rates[:, :k]
        acc, step = np.zeros(R.shape, dtype=np.int64), np.ones(1, np.uint64)
        t = per_call_us(lambda: K._spmm(data, indices, indptr, R, acc, blocks, step), args.reps)  # noqa: B023
        same = True
        for c in range(k):
            fixed_spmv(data, indices, indptr, np.ascontiguousarray(R[:, c]), out, unscale)
            same &= np.array_equal(out, acc[:, c] * unscale)
        print(f"block K = {k:2d}: {t:6.1f} us, {t / k:5.1f} us per run ({t_fixed * k / t:.2f}x K fixed products);"
              f" every column == its fixed product: {same}")


if __name__ == "__main__":
    main()
