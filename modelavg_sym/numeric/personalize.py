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
    (analyse on a log scale, or compare with ``plugin``).
``james-stein``
    positive-part James-Stein shrinkage toward the size-weighted grand mean ybar
    (all nodes): estimate = ybar + (1 - b_j)(xbar_j - ybar) with
    b_j = min(1, (k - 3) s_L / sum_i (xbar_i - ybar)^2) (b_j = 0 when k <= 3).  Since
    ybar = (n_j L_j + N_j G_j)/(n_j + N_j) this is (1 - a) L_j + a G_j with
    a = b_j N_j / (n_j + N_j); its estimated MSE uses the random-effects moments.

Edge cases: a node with zero sample variance has s_L = 0, hence a* = 0 (nothing can
improve a local model with no variance, theorem ``independent_weight_positive_iff_local_
variance``); when D = s_L + s_G + Delta^2 = 0 every weight gives the same estimate
(L = G) and the weight is reported as 0.

Input: raw values in long format (a CSV path, ``(node, value)`` rows or a mapping
node -> values) or per-node summaries (node, n, mean, var), read by
:mod:`modelavg_sym.data.readers`.  Malformed input raises
:class:`~modelavg_sym.errors.DataError` with the file's line number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from modelavg_sym.data.readers import data_error, load_summaries
from modelavg_sym.errors import InvalidParameterError
from modelavg_sym.numeric import _generated_estimators as gen
from modelavg_sym.numeric import api
from modelavg_sym.numeric.nodes import leave_one_out

#: Weight estimators, default first.
METHODS: tuple[str, ...] = ("random-effects", "plugin", "naive", "james-stein")
#: Columns of the result, in order (``global`` is the other nodes' model).
COLUMNS: tuple[str, ...] = ("node", "n", "local", "global", "weight", "estimate", "est_mse",
                            "local_mse")

Array = npt.NDArray[np.float64]


# --------------------------------------------------------------------------- estimators


def tau2_dersimonian_laird(mean: Array, var_mean: Array) -> Array:
    """DerSimonian-Laird moment estimate of tau^2 along the last axis (k node means).

    With w_i = 1/sigma_i^2 (sigma_i^2 = ``var_mean``), ybar = sum w y / sum w,
    Q = sum w (y - ybar)^2: tau^2 = max(0, (Q - (k - 1)) / (sum w - sum w^2 / sum w)).
    Where some sigma_i^2 = 0 (infinite weight) the unweighted moment estimator
    max(0, sum (y - mean(y))^2 / (k - 1) - mean(sigma^2)) is used instead.
    """
    mean = np.asarray(mean, dtype=np.float64)
    var_mean = np.asarray(var_mean, dtype=np.float64)
    k = mean.shape[-1]
    zero = (var_mean <= 0).any(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(var_mean > 0, 1.0 / np.where(var_mean > 0, var_mean, 1.0), 0.0)
        sw = w.sum(axis=-1)
        ybar = (w * mean).sum(axis=-1) / sw
        q_stat = (w * (mean - ybar[..., None]) ** 2).sum(axis=-1)
        denom = sw - (w**2).sum(axis=-1) / sw
        dl = (q_stat - (k - 1)) / denom
    ybar_u = mean.mean(axis=-1)
    unweighted = ((mean - ybar_u[..., None]) ** 2).sum(axis=-1) / (k - 1) - var_mean.mean(axis=-1)
    est = np.where(zero, unweighted, dl)
    return np.maximum(0.0, np.nan_to_num(est, nan=0.0))


def _james_stein_weight(n: Array, mean: Array, s_l: Array) -> Array:
    """a = b_j N_j / (n_j + N_j), b_j = min(1, (k - 3) s_L / sum_i (xbar_i - ybar)^2)
    (b_j = 0 when k <= 3): positive-part James-Stein toward the size-weighted grand mean."""
    k = mean.shape[-1]
    n_all = n.sum(axis=-1, keepdims=True)
    grand = (n * mean).sum(axis=-1, keepdims=True) / n_all
    spread = ((mean - grand) ** 2).sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.where(spread > 0, (k - 3) * s_l / spread, 1.0)
    b = np.clip(b, 0.0, 1.0) if k > 3 else np.zeros_like(s_l)
    return b * leave_one_out(n) / n_all


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


def estimate_weights(n: npt.ArrayLike, mean: npt.ArrayLike, var: npt.ArrayLike,
                     method: str = "random-effects") -> WeightEstimate:
    """Every node's local/global models, estimated weight and personalized estimate.

    ``n``, ``mean``, ``var`` have nodes on the last axis (k >= 2) and optional leading
    batch axes (the risk study passes many replications at once).  Formulas: see the
    module docstring.  Vectorised; no Python loop over nodes.
    """
    if method not in METHODS:
        raise InvalidParameterError("method", f"must be one of {', '.join(METHODS)}",
                                    f"got {method!r}")
    n = np.asarray(n, dtype=np.float64)
    mean = np.asarray(mean, dtype=np.float64)
    var = np.asarray(var, dtype=np.float64)
    k = mean.shape[-1]
    if k < 2:
        raise InvalidParameterError("nodes", "need at least 2 nodes", f"got {k}")
    local = mean
    glob = gen.nodes_global_mean(n, mean)
    s_l = gen.nodes_var_local(n, var)
    s_g = gen.nodes_var_global(n, var)
    cov = gen.nodes_cov(n, var)
    gap_sq = gen.nodes_bias(n, mean) ** 2  # (G - L)^2
    tau2 = None
    if method in ("random-effects", "james-stein"):
        tau2 = tau2_dersimonian_laird(mean, s_l)
        delta_sq = gen.nodes_bias_sq_random_means(n, tau2[..., None])
    elif method == "plugin":
        delta_sq = np.maximum(0.0, gap_sq - gen.naive_delta_sq_bias(s_l, s_g, cov))
    else:  # naive
        delta_sq = gap_sq
    ok = gen.D(s_l, s_g, cov, delta_sq) > 0
    bias = np.sqrt(delta_sq)
    if method == "james-stein":
        weight = _james_stein_weight(n, mean, s_l)
    else:
        weight = np.where(ok, api.optimal_weight(np.where(ok, s_l, 1.0), s_g, bias, cov), 0.0)
    weight = np.asarray(weight, dtype=np.float64)
    estimate = (1.0 - weight) * local + weight * glob
    est_mse = np.asarray(api.mse(weight, s_l, s_g, bias, cov), dtype=np.float64)
    return WeightEstimate(local, glob, s_l, s_g, delta_sq, weight, estimate, est_mse, tau2)


# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class PersonalizedNode:
    """One row of :class:`PersonalizeResult` (``global_`` is the ``global`` column)."""

    node: str
    n: int
    local: float
    global_: float
    weight: float
    estimate: float
    est_mse: float
    local_mse: float

    def to_record(self) -> dict[str, Any]:
        """The row as a dict keyed by :data:`COLUMNS`."""
        return dict(zip(COLUMNS, (self.node, self.n, self.local, self.global_, self.weight,
                                  self.estimate, self.est_mse, self.local_mse), strict=True))


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


@dataclass(frozen=True)
class PersonalizeResult:
    """Table-like result: one :class:`PersonalizedNode` per node, sorted by node name.

    Attributes:
        method: the weight estimator used.
        rows: the per-node rows.
        tau2: the random-effects spread of node means (``random-effects``/``james-stein``).
    """

    method: str
    rows: tuple[PersonalizedNode, ...]
    tau2: float | None = None
    columns: tuple[str, ...] = COLUMNS

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.rows)

    def __getitem__(self, node: str) -> PersonalizedNode:
        for row in self.rows:
            if row.node == node:
                return row
        raise KeyError(node)

    def to_records(self) -> list[dict[str, Any]]:
        """A list of dicts keyed by :data:`COLUMNS` (JSON-ready)."""
        return [row.to_record() for row in self.rows]

    def _cells(self) -> list[list[str]]:
        return [[_fmt(v) for v in rec.values()] for rec in self.to_records()]

    def to_markdown(self) -> str:
        """A Markdown table."""
        lines = ["| " + " | ".join(self.columns) + " |",
                 "|" + "|".join("---" if c == "node" else "---:" for c in self.columns) + "|"]
        lines += ["| " + " | ".join(cells) + " |" for cells in self._cells()]
        return "\n".join(lines)

    def __str__(self) -> str:
        cells = [list(self.columns), *self._cells()]
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.columns))]
        out = []
        for r in cells:
            out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                 for i, (c, w) in enumerate(zip(r, widths, strict=True))))
        note = f"method: {self.method}"
        if self.tau2 is not None:
            note += f"; tau^2 (spread of node means) = {self.tau2:.6g}"
        return "\n".join([*out, note])


def personalize(data: Any = None, *, summaries: Any = None, node_col: str = "node",
                value_col: str = "value", method: str = "random-effects") -> PersonalizeResult:
    """Personalized estimate of every node's mean, with its estimated weight and MSE.

    Give exactly one of:

    * ``data``: raw values in long format -- a CSV path (columns ``node_col`` and
      ``value_col``), an iterable of ``(node, value)`` rows, or a mapping node -> values;
    * ``summaries``: per-node summaries -- a CSV path with columns node, n, mean, var, or
      rows (tuples, mappings or :class:`~modelavg_sym.data.readers.NodeSummary`).

    For each node j: local = xbar_j, global = the other nodes' size-weighted mean, the
    weight a by ``method`` (see :data:`METHODS` and the module docstring), estimate =
    (1 - a) local + a global, est_mse = MSE(a) at the estimated moments, local_mse =
    s_L = v_j/n_j.

    Raises:
        DataError: malformed input (with the file's line number).
        InvalidParameterError: unknown ``method``.
    """
    if method not in METHODS:
        raise InvalidParameterError("method", f"must be one of {', '.join(METHODS)}",
                                    f"got {method!r}")
    if (data is None) == (summaries is None):
        raise InvalidParameterError("data", "give exactly one of data= and summaries=")
    # overflow in the moments is reported as a data error below, not as numpy warnings
    with np.errstate(over="ignore", invalid="ignore"):
        table = load_summaries(data, summaries, node_col, value_col)
        n = np.array([s.n for s in table], dtype=np.float64)
        mean = np.array([s.mean for s in table])
        var = np.array([s.var for s in table])
        for s_, v_ in zip(table, var, strict=True):
            if not np.isfinite(v_):
                raise data_error("data", f"node {s_.node!r}: its sample variance overflows "
                             "float64 (values too large)")
        try:
            est = estimate_weights(n, mean, var, method)
        except InvalidParameterError as exc:
            raise data_error("data", "the per-node moments overflow float64 (values or sample "
                         f"sizes too large): {exc}") from None
    rows = tuple(
        PersonalizedNode(s.node, s.n, float(est.local[i]), float(est.global_[i]),
                         float(est.weight[i]), float(est.estimate[i]), float(est.est_mse[i]),
                         float(est.var_local[i]))
        for i, s in enumerate(table))
    tau2 = None if est.tau2 is None else float(est.tau2)
    return PersonalizeResult(method, rows, tau2)
