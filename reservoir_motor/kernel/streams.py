"""numpy's PCG64 stream in plain integer arithmetic, advanced by any number of draws in one step.

The compiled loop draws its noise from numpy generators (``simulation.network.make_streams``): every draw of
``random()`` advances a PCG64 state once and turns the new state into a double. A GPU engine that gives the CPU's
numbers must make the same draws, but many threads at a time: the thread that makes draw i of a step needs the
state i draws on. PCG64 is a linear congruential generator modulo 2**128, x <- a x + c, so i steps are one
affine map x <- A_i x + B_i whose constants the host computes once (square and multiply); a thread then jumps
to its first draw and on by the number of threads, each jump one 128-bit multiply-add.

The functions below the host part are plain Python on 64-bit unsigned integers (numpy's ``uint64``, with its
wrap-around), so the same source runs in Python (the CUDA simulator, the tests) and compiled by numba for the
CPU and the GPU. A 128-bit number is a pair (hi, lo) of ``uint64``.
"""

from __future__ import annotations

import numpy as np

MULTIPLIER = 0x2360ED051FC65DA44385DF649FCCF645  # PCG64's a (numpy's pcg64.h)
_MOD = 1 << 128
_MASK64 = (1 << 64) - 1

# --- host: Python integers ----------------------------------------------------------------------------


def state_of(generator: np.random.Generator) -> tuple[int, int]:
    """The (state, increment) of a numpy Generator on PCG64, as Python integers."""
    bits = generator.bit_generator.state
    if bits["bit_generator"] != "PCG64":
        raise ValueError(f"a generator on PCG64 is needed, not {bits['bit_generator']}")
    return bits["state"]["state"], bits["state"]["inc"]


def put_state(generator: np.random.Generator, hi, lo) -> None:
    """Set a numpy Generator on PCG64 to the state (hi, lo), keeping its increment: where a stream advanced
    elsewhere (``kernel.device``) stands."""
    bits = generator.bit_generator.state
    bits["state"]["state"] = (int(hi) << 64) | int(lo)
    generator.bit_generator.state = bits


def jump(n_draws: int, increment: int) -> tuple[int, int]:
    """(A, B) with the state n_draws draws on = A state + B (mod 2**128), for a stream with this increment."""
    if n_draws < 0:
        raise ValueError(f"n_draws = {n_draws} is not allowed: a stream only goes forward")
    a_total, b_total = 1, 0
    a, b = MULTIPLIER, increment  # one step
    while n_draws:
        if n_draws & 1:
            a_total, b_total = (a * a_total) % _MOD, (a * b_total + b) % _MOD
        a, b = (a * a) % _MOD, (a * b + b) % _MOD
        n_draws >>= 1
    return a_total, b_total


def split(value: int) -> tuple[np.uint64, np.uint64]:
    """(hi, lo) of a 128-bit integer."""
    return np.uint64(value >> 64), np.uint64(value & _MASK64)


def jump_table(offsets, increment: int) -> np.ndarray:
    """Rows (A_hi, A_lo, B_hi, B_lo) of ``jump(offset)`` for each offset: the constants a thread needs."""
    rows = [split(a) + split(b) for a, b in (jump(int(d), increment) for d in offsets)]
    return np.array(rows, dtype=np.uint64).reshape(len(rows), 4)


# --- compiled or interpreted: uint64 arithmetic -------------------------------------------------------

_M32 = np.uint64(0xFFFFFFFF)
_S11 = np.uint64(11)
_S32 = np.uint64(32)
_S58 = np.uint64(58)
_S63 = np.uint64(63)
_S64 = np.uint64(64)
_ONE = np.uint64(1)
_TWO_M53 = 1.0 / 9007199254740992.0


def mul_hi(a, b):
    """The high 64 bits of the 128-bit product a b."""
    a_lo, a_hi, b_lo, b_hi = a & _M32, a >> _S32, b & _M32, b >> _S32
    p0, p1, p2, p3 = a_lo * b_lo, a_lo * b_hi, a_hi * b_lo, a_hi * b_hi
    mid = (p0 >> _S32) + (p1 & _M32) + (p2 & _M32)
    return p3 + (p1 >> _S32) + (p2 >> _S32) + (mid >> _S32)


def affine(s_hi, s_lo, a_hi, a_lo, b_hi, b_lo):
    """(hi, lo) of A s + B mod 2**128."""
    lo = a_lo * s_lo
    hi = mul_hi(a_lo, s_lo) + a_lo * s_hi + a_hi * s_lo
    new_lo = lo + b_lo
    carry = _ONE if new_lo < lo else np.uint64(0)
    return hi + b_hi + carry, new_lo


def output(s_hi, s_lo):
    """PCG64's output of a state: the XOR of its halves rotated right by its top 6 bits (XSL-RR)."""
    x = s_hi ^ s_lo
    rot = s_hi >> _S58
    return (x >> rot) | (x << ((_S64 - rot) & _S63))


def to_unit(u):
    """numpy's ``random()`` of a 64-bit draw: its top 53 bits over 2**53, in [0, 1)."""
    return float(u >> _S11) * _TWO_M53
