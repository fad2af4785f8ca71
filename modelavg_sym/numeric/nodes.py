"""Sums over the other nodes: the one aggregation the generated node formulas use.

Arrays hold nodes on the last axis (any leading batch axes).  Float input is computed in
float64 with compensated (error-free) summation; an object array (of ``Fraction``, say) is
summed exactly in its own arithmetic, which is how the tests evaluate the generated code on
rationals.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["leave_one_out", "two_sum"]

Array = npt.NDArray[np.float64]


def two_sum(a: Array, b: Array) -> tuple[Array, Array]:
    """(s, e) with s = fl(a + b) and s + e = a + b exactly (Knuth's TwoSum, elementwise;
    valid whenever a + b does not overflow)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _exclusive_prefix(x: Array) -> tuple[Array, Array]:
    """(hi, lo): hi_j + lo_j = sum_{i < j} x_i along the last axis, compensated.

    hi is numpy's sequential running sum (``np.cumsum`` adds in order); the rounding error
    of each step, recovered exactly by TwoSum, is summed alongside (Ogita, Rump and Oishi's
    Sum2, prefix by prefix): |hi + lo - exact| <= eps |exact| + (k eps)^2 sum |x_i|.
    """
    run = np.cumsum(x, axis=-1)
    prev = np.zeros_like(run)
    prev[..., 1:] = run[..., :-1]
    with np.errstate(invalid="ignore"):  # inf - inf after an overflow: caught by the caller
        _s, err = two_sum(prev, x)
    lo = np.cumsum(err, axis=-1)
    hi = np.zeros_like(run)
    hi[..., 1:] = run[..., :-1]
    lo_ex = np.zeros_like(lo)
    lo_ex[..., 1:] = lo[..., :-1]
    return hi, lo_ex


def leave_one_out(x: npt.ArrayLike) -> Array:
    """sum_{i != j} x_i for every node j (last axis).

    Float input: the sum of the exclusive prefix and suffix sums, each compensated (see
    :func:`_exclusive_prefix`), joined by TwoSum.  There is no ``total - own`` cancellation
    when one node's term dominates, and the error is about one rounding of the result plus
    (k eps)^2 sum_i |x_i| (k nodes), even when the terms cancel each other.  Object arrays
    (``Fraction``) are summed exactly.
    """
    x = np.asarray(x)
    if x.dtype == object:
        zero = np.zeros_like(x[..., :1])
        before = np.concatenate([zero, np.cumsum(x, axis=-1)[..., :-1]], axis=-1)
        after = np.concatenate([np.cumsum(x[..., ::-1], axis=-1)[..., -2::-1], zero], axis=-1)
        return before + after
    x = x.astype(np.float64, copy=False)
    p_hi, p_lo = _exclusive_prefix(x)
    s_hi, s_lo = _exclusive_prefix(x[..., ::-1])
    s_hi, s_lo = s_hi[..., ::-1], s_lo[..., ::-1]
    with np.errstate(invalid="ignore"):
        hi, lo = two_sum(p_hi, s_hi)
    return hi + (lo + (p_lo + s_lo))
