"""Per-node reductions of raw values: each node's size n, sample mean and sample
variance (divisor n - 1), for all nodes at once.

Values are grouped with ``np.bincount`` on the node codes: no Python loop over rows.  The
per-node mean is the compensated (refined) mean m = m0 + sum(x - m0)/n, m0 = sum(x)/n, and
the variance the corrected two-pass form (sum d^2 - (sum d)^2/n)/(n - 1) with d = x - m
(Chan, Golub and LeVeque), so near-constant nodes keep their digits; groups whose sums
leave the comfortable float64 range are recomputed with a power-of-two scale per group, and
a variance that truly overflows or underflows float64 is an error, never a silent 0 or inf.
:func:`_table_from_groups` builds the :class:`~modelavg_sym.data.records.SummaryTable` of
grouped values (labels merged and sorted; at least 2 values per node and 2 nodes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from modelavg_sym.data.records import (
    Array,
    SummaryTable,
    _need_nodes,
    _sort_key,
    data_error,
    quote,
)

_TINY = np.finfo(np.float64).tiny
#: Group sums of squares outside [2^-960, 2^960] are recomputed with a per-group scale.
_SAFE_LO, _SAFE_HI = 2.0**-960, 2.0**960


def summarize(values: Sequence[float]) -> tuple[int, float, float]:
    """(n, mean, sample variance with divisor n - 1) of one node's values, by the same
    compensated two-pass reduction as :func:`group_moments`."""
    x = np.asarray(values, dtype=np.float64)
    n, mean, var, bad = group_moments(np.zeros(x.size, dtype=np.intp), x, 1)
    if bad[0]:
        raise data_error("values", "the sample variance " + ("overflows" if bad[0] > 0 else
                                                             "underflows") + " float64")
    return int(n[0]), float(mean[0]), float(var[0])


def group_moments(codes: npt.NDArray[np.intp], x: Array, k: int
                  ) -> tuple[npt.NDArray[np.int64], Array, Array, npt.NDArray[np.int8]]:
    """Per-group (n, mean, var, status) of values ``x`` in groups ``codes`` (0..k-1).

    mean = m0 + sum(x - m0)/n with m0 = sum(x)/n (one step of iterative refinement);
    var = (sum d^2 - (sum d)^2/n)/(n - 1) with d = x - mean (corrected two-pass), each sum
    an ``np.bincount`` over the codes.  Groups whose sums are not finite or whose sum of
    squares lies outside [2^-960, 2^960] (but is not an exact 0) are recomputed with a
    power-of-two scale of their own values and deviations (:func:`_scaled_moments`).
    ``status`` is 0, or +1 where the variance overflows float64 and -1 where a non-zero
    variance is below float64's normal range (it would be imprecise or 0).
    """
    n = np.bincount(codes, minlength=k)
    nf = n.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        mean = np.bincount(codes, x, minlength=k) / nf
        d = x - mean[codes]
        mean += np.bincount(codes, d, minlength=k) / nf
        np.subtract(x, mean[codes], out=d)
        s1 = np.bincount(codes, d, minlength=k)
        d *= d
        s2 = np.bincount(codes, d, minlength=k)
        var = (s2 - s1 * s1 / nf) / (nf - 1.0)
    del d
    var = np.maximum(var, 0.0)
    suspect = ~np.isfinite(mean) | ~np.isfinite(var) | (s2 > _SAFE_HI) | (s2 < _SAFE_LO)
    status = np.zeros(k, dtype=np.int8)
    if suspect.any():
        # exact zeros (constant groups) are fine: only groups with some x != mean are redone
        redo = suspect & (np.bincount(codes, x != mean[codes], minlength=k) > 0)
        redo |= suspect & ~np.isfinite(mean)
        if redo.any():
            rows = redo[codes]
            ids = np.flatnonzero(redo)
            remap = np.full(k, -1, dtype=np.intp)
            remap[ids] = np.arange(ids.size)
            m2, v2, st = _scaled_moments(remap[codes[rows]], x[rows], ids.size, nf[ids])
            mean[ids], var[ids], status[ids] = m2, v2, st
    return n, mean, var, status


def _pow2_exponent(a: Array) -> npt.NDArray[np.intc]:
    """e with a < 2^e (a >= 0; e = 0 where a = 0)."""
    _, e = np.frexp(a)
    return e


def _scaled_moments(codes: npt.NDArray[np.intp], x: Array, k: int, nf: Array
                    ) -> tuple[Array, Array, npt.NDArray[np.int8]]:
    """:func:`group_moments`' formulas on x / 2^e_g (|x| < 2^e_g per group), then on the
    deviations / 2^f_g, so no intermediate overflows or underflows; the results are scaled
    back exactly (powers of two)."""
    top = np.zeros(k)
    np.maximum.at(top, codes, np.abs(x))
    e = _pow2_exponent(top)
    xs = np.ldexp(x, -e[codes])
    mean_s = np.bincount(codes, xs, minlength=k) / nf
    mean_s += np.bincount(codes, xs - mean_s[codes], minlength=k) / nf
    d = xs - mean_s[codes]
    dtop = np.zeros(k)
    np.maximum.at(dtop, codes, np.abs(d))
    f = _pow2_exponent(dtop)
    d = np.ldexp(d, -f[codes])
    s1 = np.bincount(codes, d, minlength=k)
    s2 = np.bincount(codes, d * d, minlength=k)
    var_s = np.maximum((s2 - s1 * s1 / nf) / (nf - 1.0), 0.0)
    with np.errstate(over="ignore", under="ignore"):
        mean = np.ldexp(mean_s, e)
        var = np.ldexp(var_s, 2 * (e + f))
    status = np.zeros(k, dtype=np.int8)
    status[~np.isfinite(var)] = 1
    status[(dtop > 0) & (var < _TINY)] = -1
    return mean, var, status


def _sorted_labels(labels: Sequence[str], codes: npt.NDArray[np.intp]
                   ) -> tuple[list[str], npt.NDArray[np.intp]]:
    """Merge equal labels, sort them (:func:`_sort_key`) and recode: (names, codes)."""
    index: dict[str, int] = {}
    merged = np.empty(len(labels), dtype=np.intp)
    for i, name in enumerate(labels):
        merged[i] = index.setdefault(name, len(index))
    names = sorted(index, key=_sort_key)
    rank = np.empty(len(names), dtype=np.intp)
    for r, name in enumerate(names):
        rank[index[name]] = r
    return names, rank[merged][codes]


Locate = Callable[[int], tuple[str, int | None]]


def _table_from_groups(codes: npt.NDArray[np.intp], labels: Sequence[str], x: Array,
                       locate: Locate, end: Callable[[], tuple[str, int | None]], source: str
                       ) -> SummaryTable:
    """Group values ``x`` by ``codes`` into labels (merged, sorted) and reduce; errors name
    the record located by ``locate(record index)``, or ``end()`` (the last record) when
    there are fewer than 2 nodes."""
    names, codes = _sorted_labels(labels, codes)
    k = len(names)
    if k == 0:
        _need_nodes(names, *end())
    n = np.bincount(codes, minlength=k)
    if (n < 2).any():
        first = int(np.flatnonzero(n[codes] < 2)[0])
        where, line = locate(first)
        node = names[codes[first]]
        raise data_error(where, f"node {quote(node)} has only 1 value; at least 2 are needed "
                         "to estimate its variance", line)
    if k < 2:
        _need_nodes(names, *end())
    n, mean, var, status = group_moments(codes, x, k)
    if status.any():
        i = int(np.flatnonzero(status)[0])
        what = ("overflows float64 (values too large)" if status[i] > 0 else
                "is below float64's normal range (the values differ by too little for "
                "their scale; rescale them)")
        raise data_error(source, f"node {quote(names[i])}: its sample variance {what}")
    return SummaryTable(tuple(names), mean, n.astype(np.float64), var, source=source,
                        lines=None)
