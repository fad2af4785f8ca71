"""Personalized estimates from per-node data: estimated weights and :func:`personalize`.

Setting (MATH.md section 2): nodes i = 1..k; node i holds n_i values with sample mean
xbar_i and sample variance v_i (divisor n_i - 1).  For each node j in turn ("the local
node"):

* local model      L_j = xbar_j,                      s_L = v_j / n_j;
* global model     G_j = sum_{i != j} n_i xbar_i / N_j (N_j = sum_{i != j} n_i),
                   s_G = Var(G_j) = sum_{i != j} n_i v_i / N_j^2 (variance of a weighted
                   sum of independent means; c = Cov(L_j, G_j) = 0);
* personalized     (1 - a) L_j + a G_j with a = a*(s_L, s_G, Delta^2, c = 0) from the
                   compiled :func:`modelavg_sym.optimal_weight` (never retyped here);
* estimated MSE    MSE(a) from the compiled :func:`modelavg_sym.mse` at the same
                   estimated moments; the local model's is s_L.

s_L, s_G, c, G_j, G_j - L_j, E[Delta_j^2] under random node means, the naive plug-in's
bias and D are not typed here: they run as code generated from the settings engine's
``other_nodes`` setting and the two-estimator derivation
(:mod:`modelavg_sym.numeric._generated_estimators`, tested equal to the engine on exact
rationals); the formulas in this docstring are what the engine derives.

Known standard errors (a meta-analysis table node, estimate, se): the sizes are unknown, so
the nodes are pooled by precision: n_i is taken proportional to 1/se_i^2 and v_i = n_i se_i^2,
so that s_L = se_j^2, G_j = sum_{i != j} w_i y_i / sum_{i != j} w_i with w_i = 1/se_i^2 and
s_G = 1 / sum_{i != j} w_i -- the same derived formulas, with precision as the size.

The methods differ in the estimate of Delta^2 = (E[G_j] - E[L_j])^2:

``plugin``
    Delta^2 = max(0, (G_j - L_j)^2 - s_L - s_G): the naive plug-in minus its bias
    s_L + s_G - 2c (theorem ``naive_delta_sq_bias``), clipped at 0 (theorem
    ``clipping_reduces_error``).
``naive``
    Delta^2 = (G_j - L_j)^2 (what the unit-averaging package does): biased upwards, so it
    under-weights the global model.
``random-effects`` (default)
    node means mu_i drawn i.i.d. with variance tau^2; tau^2 by the DerSimonian-Laird
    moment estimator across all k node means with within-node variances sigma_i^2 =
    v_i/n_i, w_i = 1/sigma_i^2, ybar = sum w_i xbar_i / sum w_i,
    Q = sum w_i (xbar_i - ybar)^2,
    tau^2 = max(0, (Q - (k - 1)) / (sum w_i - sum w_i^2 / sum w_i)).
    (If some sigma_i^2 = 0 the weights are infinite and the unweighted moment estimator
    tau^2 = max(0, sum (xbar_i - xbar)^2/(k - 1) - mean(sigma_i^2)) is used instead.)
    Then Delta_j = sum_{i != j} (n_i/N_j) mu_i - mu_j, so by linearity
    E[Delta_j^2] = tau^2 (1 + sum_{i != j} (n_i/N_j)^2), used as Delta^2.  With tau^2 = 0
    the weight is s_L/(s_L + s_G): complete (inverse-variance) pooling.  It assumes
    exchangeable node means: when the within-node variance grows with the mean (counts,
    money), DerSimonian-Laird's weights are dominated by the low-variance nodes, tau^2 is
    under-estimated and an outlying high-variance node is pulled far towards the others
    (analyse on a log scale, or compare with ``plugin``).  The random-effects pooled mean
    sum w*_i xbar_i / sum w*_i, w*_i = 1/(sigma_i^2 + tau^2), is reported alongside.
``james-stein``
    positive-part James-Stein shrinkage toward the size-weighted grand mean ybar
    (all nodes): estimate = ybar + (1 - b_j)(xbar_j - ybar) with
    b_j = min(1, (k - 3) s_L / sum_i (xbar_i - ybar)^2) (b_j = 0 when k <= 3).  Since
    ybar = (n_j L_j + N_j G_j)/(n_j + N_j) this is (1 - a) L_j + a G_j with
    a = b_j N_j / (n_j + N_j); its estimated MSE uses the random-effects moments.

Numerics (no silently wrong number): every sum is free of the cancellations the textbook
forms suffer when one node dominates.

* Sums over the other nodes are compensated prefix + suffix sums
  (:func:`modelavg_sym.numeric.nodes.leave_one_out`), never ``total - own``.
* G - L is computed from the means centred at their size-weighted grand mean c (a common
  shift of the means leaves it unchanged), so a large common offset costs no digits: its
  error is a few units in the last place of sum_{i != j} n_i |xbar_i - c| / N_j +
  |xbar_j - c|, at most 3 times that of the means' own rounding; G itself from the means
  as they are (a compensated sum, accurate relative to the terms it adds).
* DerSimonian-Laird is evaluated in scale-free form: with sigma_(2)^2 the second smallest
  sigma_i^2 and u_i = sigma_(2)^2 / sigma_i^2 (so the largest weight is >= 1 and every
  other <= 1, at least one equal to 1), S = sum u_i,
  sum w - sum w^2/sum w = (sum_i u_i (S - u_i) / S) / sigma_(2)^2, a sum of nonnegative
  terms with S - u_i the leave-one-out sum (instead of the difference of two nearly equal
  numbers), and Q sigma_(2)^2 = sum u_i (xbar_i - ybar)^2 with ybar refined once;
  tau^2 = (sum u_i (xbar_i - ybar)^2 - (k - 1) sigma_(2)^2) / (sum_i u_i (S - u_i) / S),
  in the units of xbar^2, with the terms formed as (|xbar_i - ybar| sqrt(u_i))^2, so
  nothing overflows or underflows unless tau^2 does.
* A quantity that does not fit float64 (overflow, or a non-zero variance below the normal
  range) is an error naming it, never an inf, a 0 or a NaN passed on.

Edge cases: a node with zero sample variance has s_L = 0, hence a* = 0 (nothing can
improve a local model with no variance, theorem ``independent_weight_positive_iff_local_
variance``); when D = s_L + s_G + Delta^2 = 0 every weight gives the same estimate
(L = G) and the weight is reported as 0.

Input: raw values in long format (a CSV path, a pandas DataFrame, ``(node, value)`` rows or
a mapping node -> values) or per-node summaries ((node, n, mean, var) or (node, estimate,
se)), read by :mod:`modelavg_sym.data.readers`.  Malformed input raises
:class:`~modelavg_sym.errors.DataError` with the file's line number.  The result type
(:class:`PersonalizeResult`, :data:`COLUMNS`) is in
:mod:`modelavg_sym.numeric.personalize_result`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from modelavg_sym.data.readers import SummaryTable, data_error, load_table, quote
from modelavg_sym.errors import InvalidParameterError
from modelavg_sym.numeric import _generated_estimators as gen
from modelavg_sym.numeric import api
from modelavg_sym.numeric.nodes import leave_one_out

# the result type lives in personalize_result; its names stay importable from here
from modelavg_sym.numeric.personalize_result import COLUMNS as COLUMNS
from modelavg_sym.numeric.personalize_result import PersonalizedNode as PersonalizedNode
from modelavg_sym.numeric.personalize_result import PersonalizeResult

#: Weight estimators, default first.
METHODS: tuple[str, ...] = ("random-effects", "plugin", "naive", "james-stein")

Array = npt.NDArray[np.float64]

_TINY = float(np.finfo(np.float64).tiny)
#: Largest precision ratio of a (node, estimate, se) table: 2^400 (se ratio 2^200), so the
#: pseudo-sizes n_i ~ 1/se_i^2 and their squares stay inside float64.
_MAX_SE_RATIO = 2.0**200
#: Cap of the dominant DerSimonian-Laird weight ratio u = sigma_(2)^2 / sigma_min^2: beyond
#: 2^200 the other nodes' share of the weight is below what float64 resolves.
_U_CAP = 2.0**200


# --------------------------------------------------------------------------- reductions


def _weighted_mean(u: Array, y: Array) -> Array:
    """sum u y / sum u along the last axis (keepdims), refined once:
    m = m0 + sum u (y - m0) / sum u."""
    total = u.sum(axis=-1, keepdims=True)
    m0 = (u * y).sum(axis=-1, keepdims=True) / total
    return m0 + (u * (y - m0)).sum(axis=-1, keepdims=True) / total


@dataclass(frozen=True)
class DerSimonianLaird:
    """DerSimonian-Laird estimates along the last axis (leading batch axes kept).

    Attributes:
        tau2: max(0, (Q - (k - 1)) / (sum w - sum w^2 / sum w)), w_i = 1/sigma_i^2 (the
            unweighted moment estimator where some sigma_i^2 = 0).
        pooled_mean: the random-effects mean sum w*_i y_i / sum w*_i,
            w*_i = 1/(sigma_i^2 + tau^2) (the mean of the zero-variance nodes' y where
            sigma_i^2 + tau^2 = 0).
        q: Cochran's Q = sum w_i (y_i - ybar)^2, ybar = sum w y / sum w (NaN where some
            sigma_i^2 = 0; inf where it exceeds float64).
        denominator: sum w - sum w^2 / sum w (NaN / inf likewise).
    """

    tau2: Array
    pooled_mean: Array
    q: Array
    denominator: Array


def dersimonian_laird(mean: npt.ArrayLike, var_mean: npt.ArrayLike) -> DerSimonianLaird:
    """DerSimonian-Laird tau^2, pooled mean, Q and denominator of k node means (last axis)
    with within-node variances sigma_i^2 = ``var_mean``, in the scale-free form of the
    module docstring (no cancellation in the denominator, no overflow of w^2).

    Relative weights u_i = sigma_(2)^2 / sigma_i^2 (capped at 2^200, which changes nothing
    float64 resolves: the other nodes' share is then below 2^-190); p_i = u_i / sum u;
    ybar = sum p y, refined once; d = y - ybar; Q sigma_(2)^2 = sum (|d_i| sqrt(u_i))^2
    - sum u (sum p d)^2 (the second term removes ybar's rounding, which enters Q as
    sum u (ybar error)^2); all in the units of y^2, so no term overflows or underflows
    unless tau^2 itself is out of range.
    """
    y = np.asarray(mean, dtype=np.float64)
    s = np.asarray(var_mean, dtype=np.float64)
    y, s = np.broadcast_arrays(y, s)
    k = y.shape[-1]
    zero = (s <= 0).any(axis=-1, keepdims=True)
    s_pos = np.where(zero, 1.0, s)
    s2 = np.partition(s_pos, 1, axis=-1)[..., 1:2]  # second smallest sigma^2
    with np.errstate(over="ignore", under="ignore"):
        u = np.minimum(s2 / s_pos, _U_CAP)
        total = u.sum(axis=-1, keepdims=True)
        p = u / total
        d = y - _weighted_mean(p, y)
        pd = (p * d).sum(axis=-1, keepdims=True)
        t = np.abs(d) * np.sqrt(u)
        q_s = np.maximum((t * t).sum(axis=-1, keepdims=True) - total * pd * pd, 0.0)
        den = (p * leave_one_out(u)).sum(axis=-1, keepdims=True)  # sum u (S - u) / S
        tau2_w = (q_s - (k - 1) * s2) / den
        # the unweighted moment estimator where some sigma^2 = 0
        du = y - _weighted_mean(np.ones_like(y), y)
        unweighted = (du * du).sum(axis=-1, keepdims=True) / (k - 1) - s.mean(
            axis=-1, keepdims=True)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        tau2 = np.maximum(np.where(zero, unweighted, tau2_w), 0.0) + 0.0  # + 0.0: no -0.0
        q = np.where(zero, np.nan, q_s / s2)  # inf where Q exceeds float64
        denominator = np.where(zero, np.nan, den / s2)
        v = s + tau2
        v_min = v.min(axis=-1, keepdims=True)
        w_star = np.where(v_min > 0, v_min / v, (v == 0).astype(np.float64))
        pooled = _weighted_mean(w_star, y)
    return DerSimonianLaird(tau2[..., 0], pooled[..., 0], q[..., 0], denominator[..., 0])


def tau2_dersimonian_laird(mean: npt.ArrayLike, var_mean: npt.ArrayLike) -> Array:
    """DerSimonian-Laird moment estimate of tau^2 along the last axis (k node means).

    With w_i = 1/sigma_i^2 (sigma_i^2 = ``var_mean``), ybar = sum w y / sum w,
    Q = sum w (y - ybar)^2: tau^2 = max(0, (Q - (k - 1)) / (sum w - sum w^2 / sum w)).
    Where some sigma_i^2 = 0 (infinite weight) the unweighted moment estimator
    max(0, sum (y - mean(y))^2 / (k - 1) - mean(sigma^2)) is used instead.  Evaluated by
    :func:`dersimonian_laird` (scale-free, no cancellation).
    """
    return dersimonian_laird(mean, var_mean).tau2


def _james_stein_weight(n: Array, mean_c: Array, s_l: Array) -> Array:
    """a = b_j N_j / (n_j + N_j), b_j = min(1, (k - 3) s_L / sum_i (xbar_i - ybar)^2)
    (b_j = 0 when k <= 3): positive-part James-Stein toward the size-weighted grand mean
    (``mean_c``: the means, centred)."""
    k = mean_c.shape[-1]
    n_all = n.sum(axis=-1, keepdims=True)
    dev = mean_c - _weighted_mean(n, mean_c)
    spread = (dev * dev).sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        b = np.where(spread > 0, (k - 3) * s_l / spread, 1.0)
    b = np.clip(b, 0.0, 1.0) if k > 3 else np.zeros_like(s_l)
    return b * (leave_one_out(n) / n_all)


@dataclass(frozen=True)
class WeightEstimate:
    """Arrays over nodes (last axis) and any leading batch axes."""

    local: Array
    global_: Array
    var_local: Array
    var_global: Array
    delta_sq: Array
    weight: Array
    estimate: Array
    est_mse: Array
    tau2: Array | None = None
    pooled_mean: Array | None = None


def _require(ok: Any, parameter: str, what: str) -> None:
    if not np.all(ok):
        raise InvalidParameterError(parameter, what)


def estimate_weights(n: npt.ArrayLike, mean: npt.ArrayLike, var: npt.ArrayLike,
                     method: str = "random-effects", *,
                     var_local: npt.ArrayLike | None = None) -> WeightEstimate:
    """Every node's local/global models, estimated weight and personalized estimate.

    ``n``, ``mean``, ``var`` have nodes on the last axis (k >= 2) and optional leading
    batch axes (the risk study passes many replications at once).  ``var_local``
    overrides s_L = v/n (a table of known standard errors gives s_L = se^2 directly).
    Formulas and numerics: see the module docstring.  Vectorised; no Python loop over
    nodes.

    Raises:
        InvalidParameterError: unknown method, fewer than 2 nodes, n <= 0, var < 0, a
            non-finite input, or a derived moment outside float64's range.
    """
    if method not in METHODS:
        raise InvalidParameterError("method", f"must be one of {', '.join(METHODS)}",
                                    f"got {quote(method)}")
    n = np.asarray(n, dtype=np.float64)
    mean = np.asarray(mean, dtype=np.float64)
    var = np.asarray(var, dtype=np.float64)
    k = mean.shape[-1] if mean.ndim else 1
    if k < 2:
        raise InvalidParameterError("nodes", "need at least 2 nodes", f"got {k}")
    _require(np.isfinite(n) & (n > 0), "n", "must be finite and > 0")
    _require(np.isfinite(mean), "mean", "must be finite")
    _require(np.isfinite(var) & (var >= 0), "var", "must be finite and >= 0")
    with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):
        # centre of the means: the size-weighted grand mean (weights n / sum n, no overflow)
        mean_c = mean - _weighted_mean(n / n.sum(axis=-1, keepdims=True), mean)
        s_l = gen.nodes_var_local(n, var) if var_local is None else np.broadcast_to(
            np.asarray(var_local, dtype=np.float64), mean.shape)
        s_g = gen.nodes_var_global(n, var)
        cov = gen.nodes_cov(n, var)
        gap = gen.nodes_bias(n, mean_c)  # G - L (a shift of every mean leaves it unchanged)
        glob = gen.nodes_global_mean(n, mean)
    for name, value in (("var_local", s_l), ("var_global", s_g)):
        _require(np.isfinite(value), "var", f"{name} overflows float64 (values or sample "
                 "sizes too large)")
        _require((value == 0) | (value >= _TINY), "var", f"{name} is below float64's normal "
                 "range (variances too small for their sizes; rescale the data)")
    _require(np.isfinite(gap) & np.isfinite(glob), "mean", "the global model G or the gap "
             "G - L overflows float64 (means too large)")
    tau2 = pooled = None
    with np.errstate(over="ignore", invalid="ignore"):
        if method in ("random-effects", "james-stein"):
            dl = dersimonian_laird(mean, s_l)
            tau2, pooled = dl.tau2, dl.pooled_mean
            _require(np.isfinite(tau2), "mean", "tau^2 (the spread of the node means) "
                     "overflows float64")
            delta_sq = gen.nodes_bias_sq_random_means(n, tau2[..., None])
        elif method == "plugin":
            delta_sq = np.maximum(0.0, gap * gap - gen.naive_delta_sq_bias(s_l, s_g, cov))
        else:  # naive
            delta_sq = gap * gap
    _require(np.isfinite(delta_sq), "mean", "Delta^2 overflows float64 (means too large)")
    ok = gen.D(s_l, s_g, cov, delta_sq) > 0
    bias = np.sqrt(delta_sq)
    if method == "james-stein":
        weight = _james_stein_weight(n, mean_c, s_l)
    else:
        weight = np.where(ok, api.optimal_weight(np.where(ok, s_l, 1.0), s_g, bias, cov), 0.0)
    weight = np.asarray(weight, dtype=np.float64)
    estimate = mean + weight * gap  # (1 - a) L + a G
    est_mse = np.asarray(api.mse(weight, s_l, s_g, bias, cov), dtype=np.float64)
    return WeightEstimate(mean, glob, s_l, s_g, delta_sq, weight, estimate, est_mse, tau2,
                          pooled)


# --------------------------------------------------------------------------- entry point


def _known_se_inputs(table: SummaryTable) -> tuple[Array, Array, Array]:
    """(pseudo-sizes n_i ~ 1/se_i^2, v_i = n_i se_i^2, s_L = se^2) for a table of known
    standard errors; the sizes are normalised by the second smallest se (module
    docstring), so the largest is >= 1 and the others <= 1."""
    assert table.se is not None
    se = table.se
    with np.errstate(over="ignore", under="ignore"):
        s_l = se * se
    for i in np.flatnonzero(~np.isfinite(s_l) | (s_l < _TINY)):
        raise data_error(table.source, f"node {quote(table.node[i])}: se = {se[i]:g} is "
                         "outside the range whose square float64 holds (1e-154 .. 1e154)")
    se2 = np.partition(se, 1)[1]
    r = se2 / se
    if r.max() > _MAX_SE_RATIO or r.min() < 1 / _MAX_SE_RATIO:
        raise data_error(table.source, "the standard errors span more than 2^200 (about "
                         "1e60): too wide a range of precisions to pool")
    n = r * r
    return n, n * s_l, s_l


def personalize(data: Any = None, *, summaries: Any = None, node_col: str = "node",
                value_col: str = "value", method: str = "random-effects") -> PersonalizeResult:
    """Personalized estimate of every node's mean, with its estimated weight and MSE.

    Give exactly one of:

    * ``data``: raw values in long format -- a CSV path (columns ``node_col`` and
      ``value_col``), a pandas DataFrame with those columns, an iterable of
      ``(node, value)`` rows, or a mapping node -> values;
    * ``summaries``: per-node summaries -- a CSV path or DataFrame with columns node, n,
      mean, var, or node, estimate, se (known standard errors, taken as they are); or rows
      (4-tuples (node, n, mean, var), 3-tuples (node, estimate, se), mappings or
      :class:`~modelavg_sym.data.readers.NodeSummary`).

    For each node j: local = xbar_j, global = the other nodes' size-weighted mean
    (precision-weighted with known standard errors), the weight a by ``method`` (see
    :data:`METHODS` and the module docstring), estimate = (1 - a) local + a global,
    est_mse = MSE(a) at the estimated moments, local_mse = s_L = v_j/n_j (se_j^2).

    Raises:
        DataError: malformed input (with the file's line number) or moments that do not
            fit float64.
        InvalidParameterError: unknown ``method``; ``data``/``summaries`` of the wrong
            kind, or neither or both given.
    """
    if method not in METHODS:
        raise InvalidParameterError("method", f"must be one of {', '.join(METHODS)}",
                                    f"got {quote(method)}")
    table = load_table(data, summaries, node_col, value_col)
    if table.se is not None:
        n, var, s_l = _known_se_inputs(table)
        sizes = None
    else:
        assert table.n is not None and table.var is not None
        n, var, s_l, sizes = table.n, table.var, None, table.n
    try:
        est = estimate_weights(n, table.mean, var, method, var_local=s_l)
    except InvalidParameterError as exc:
        raise data_error(table.source, f"the per-node moments do not fit float64: {exc}"
                         ) from None
    for name in ("weight", "estimate", "est_mse"):
        if not np.isfinite(getattr(est, name)).all():  # pragma: no cover - guarded above
            raise data_error(table.source, f"the {name} overflows float64")
    tau2 = None if est.tau2 is None else float(est.tau2)
    pooled = None if est.pooled_mean is None else float(est.pooled_mean)
    return PersonalizeResult(method, table.node, sizes, est.local, est.global_, est.weight,
                             est.estimate, est.est_mse, est.var_local, tau2, pooled)
