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
node -> values) or per-node summaries (node, n, mean, var).  Malformed input raises
:class:`~modelavg_sym.errors.DataError` with the file's line number.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from modelavg_sym.errors import DataError, InvalidParameterError
from modelavg_sym.numeric import api

#: Weight estimators, default first.
METHODS: tuple[str, ...] = ("random-effects", "plugin", "naive", "james-stein")
#: Columns of the result, in order (``global`` is the other nodes' model).
COLUMNS: tuple[str, ...] = ("node", "n", "local", "global", "weight", "estimate", "est_mse",
                            "local_mse")
#: Columns of a summaries table.
SUMMARY_COLUMNS: tuple[str, ...] = ("n", "mean", "var")

Array = npt.NDArray[np.float64]


def _error(where: str, message: str, line: int | None = None) -> DataError:
    err = DataError(f"{where}: {message}" if where else message)
    err.line = line  # type: ignore[attr-defined]
    return err


# --------------------------------------------------------------------------- summaries


@dataclass(frozen=True)
class NodeSummary:
    """One node's data summary: size, sample mean and sample variance (divisor n - 1).

    ``where`` records the input location (``"data.csv, line 4"``) for error messages.
    """

    node: str
    n: int
    mean: float
    var: float
    where: str = field(default="", compare=False)
    line: int | None = field(default=None, compare=False)


def summarize(values: Sequence[float]) -> tuple[int, float, float]:
    """(n, mean, sample variance with divisor n - 1), two-pass for accuracy."""
    x = np.asarray(values, dtype=np.float64)
    n = x.size
    mean = float(x.mean())
    var = float(((x - mean) ** 2).sum() / (n - 1))
    return n, mean, var


def _number(text: Any, where: str, column: str, line: int | None) -> float:
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise _error(where, f"value {text!r} in column {column!r} is not a number",
                     line) from None
    if not math.isfinite(v):
        raise _error(where, f"value {text!r} in column {column!r} is not a finite number", line)
    return v


def _node_name(raw: Any, where: str, column: str, line: int | None) -> str:
    name = str(raw).strip() if raw is not None else ""
    if not name:
        raise _error(where, f"empty node name in column {column!r}", line)
    return name


def _sort_key(node: str) -> tuple[int, float, str]:
    try:
        return (0, float(node), node)
    except ValueError:
        return (1, 0.0, node)


def _check_nodes(summaries: list[NodeSummary], end: str, end_line: int | None) -> list[NodeSummary]:
    if len(summaries) < 2:
        found = ", ".join(repr(s.node) for s in summaries) or "none"
        raise _error(end, f"need at least 2 nodes, found {len(summaries)} ({found})", end_line)
    return sorted(summaries, key=lambda s: _sort_key(s.node))


def _from_groups(groups: dict[str, list[tuple[float, str, int | None]]], end: str,
                 end_line: int | None) -> list[NodeSummary]:
    out = []
    for node, vals in groups.items():
        if len(vals) < 2:
            _v, where, line = vals[0]
            raise _error(where, f"node {node!r} has only 1 value; at least 2 are needed to "
                                "estimate its variance", line)
        n, mean, var = summarize([v for v, _w, _l in vals])
        out.append(NodeSummary(node, n, mean, var, vals[0][1], vals[0][2]))
    return _check_nodes(out, end, end_line)


def _open_csv(path: str | os.PathLike[str]) -> tuple[list[tuple[int, list[str]]], str]:
    name = os.fspath(path)
    try:
        with open(name, newline="", encoding="utf-8-sig") as fh:  # tolerate a BOM
            reader = csv.reader(fh)
            rows = []
            for row in reader:
                rows.append((reader.line_num, row))
    except OSError as exc:
        raise _error(name, f"cannot read file ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise _error(name, f"not a readable CSV file ({exc})") from None
    return rows, name


def _header(rows: list[tuple[int, list[str]]], name: str, required: Sequence[str]
            ) -> dict[str, int]:
    if not rows:
        raise _error(f"{name}, line 1", "empty file; expected a header with columns "
                     + ", ".join(repr(c) for c in required), 1)
    line, header = rows[0]
    cols = [h.strip() for h in header]
    for col in required:
        if col not in cols:
            raise _error(f"{name}, line {line}",
                         f"missing column {col!r} (found: {', '.join(map(repr, cols))})", line)
    return {col: cols.index(col) for col in required}


def _field(row: list[str], idx: int, where: str, line: int) -> str:
    if idx >= len(row):
        raise _error(where, f"expected at least {idx + 1} fields, found {len(row)}", line)
    return row[idx]


def read_values_csv(path: str | os.PathLike[str], node_col: str = "node",
                    value_col: str = "value") -> list[NodeSummary]:
    """Per-node summaries of a long-format CSV (one value per line, header on line 1).

    Raises:
        DataError: unreadable file, a missing column (line 1), a non-numeric value
            (its line), a node with fewer than 2 values, or fewer than 2 nodes.
    """
    rows, name = _open_csv(path)
    idx = _header(rows, name, (node_col, value_col))
    groups: dict[str, list[tuple[float, str, int | None]]] = {}
    last = rows[0][0]
    for line, row in rows[1:]:
        if not row or all(not f.strip() for f in row):
            continue
        where = f"{name}, line {line}"
        node = _node_name(_field(row, idx[node_col], where, line), where, node_col, line)
        value = _number(_field(row, idx[value_col], where, line).strip(), where, value_col, line)
        groups.setdefault(node, []).append((value, where, line))
        last = line
    return _from_groups(groups, f"{name}, line {last}", last)


def read_summaries_csv(path: str | os.PathLike[str], node_col: str = "node"
                       ) -> list[NodeSummary]:
    """Per-node summaries from a CSV with columns node, n, mean, var (header on line 1).

    Raises:
        DataError: as :func:`read_values_csv`, plus n not an integer >= 2, var < 0, or a
            node listed twice (each with its line number).
    """
    rows, name = _open_csv(path)
    idx = _header(rows, name, (node_col, *SUMMARY_COLUMNS))
    out: list[NodeSummary] = []
    last = rows[0][0]
    for line, row in rows[1:]:
        if not row or all(not f.strip() for f in row):
            continue
        where = f"{name}, line {line}"
        fields = {col: _field(row, i, where, line).strip() for col, i in idx.items()}
        out.append(_summary(fields[node_col], fields["n"], fields["mean"], fields["var"],
                            where, line, node_col))
        last = line
    _no_duplicates(out)
    return _check_nodes(out, f"{name}, line {last}", last)


def _summary(node: Any, n: Any, mean: Any, var: Any, where: str, line: int | None,
             node_col: str = "node") -> NodeSummary:
    name = _node_name(node, where, node_col, line)
    n_val = _number(n, where, "n", line)
    if n_val != int(n_val) or n_val < 2:
        raise _error(where, f"n must be an integer >= 2 (got {n!r})", line)
    m_val = _number(mean, where, "mean", line)
    v_val = _number(var, where, "var", line)
    if v_val < 0:
        raise _error(where, f"var must be >= 0 (got {var!r})", line)
    return NodeSummary(name, int(n_val), m_val, v_val, where, line)


def _no_duplicates(summaries: list[NodeSummary]) -> None:
    seen: dict[str, str] = {}
    for s in summaries:
        if s.node in seen:
            raise _error(s.where, f"node {s.node!r} appears twice (first at {seen[s.node]})",
                         s.line)
        seen[s.node] = s.where


def summaries_from_values(data: Mapping[Any, Iterable[Any]] | Iterable[Sequence[Any]],
                          ) -> list[NodeSummary]:
    """Per-node summaries of in-memory raw data: a mapping node -> values, or an iterable
    of ``(node, value)`` rows (locations in errors are ``row k``, counting from 1)."""
    groups: dict[str, list[tuple[float, str, int | None]]] = {}
    if isinstance(data, Mapping):
        for node, values in data.items():
            name = _node_name(node, "", "node", None)
            where = f"node {name!r}"
            for k, v in enumerate(values, start=1):
                groups.setdefault(name, []).append(
                    (_number(v, f"{where}, value {k}", "value", None), where, None))
            if name not in groups:
                raise _error(where, f"node {name!r} has no values", None)
        return _from_groups(groups, "data", None)
    k = 0
    for k, row in enumerate(data, start=1):
        where = f"row {k}"
        try:
            node, value = row
        except (TypeError, ValueError):
            raise _error(where, f"expected a (node, value) pair, got {row!r}", k) from None
        name = _node_name(node, where, "node", k)
        groups.setdefault(name, []).append((_number(value, where, "value", k), where, k))
    return _from_groups(groups, f"row {k}", k)


def summaries_from_table(rows: Iterable[Any]) -> list[NodeSummary]:
    """Per-node summaries from in-memory rows: :class:`NodeSummary`, mappings with keys
    node, n, mean, var, or 4-tuples (node, n, mean, var)."""
    out: list[NodeSummary] = []
    k = 0
    for k, row in enumerate(rows, start=1):
        where = f"row {k}"
        if isinstance(row, NodeSummary):
            row = (row.node, row.n, row.mean, row.var)
        if isinstance(row, Mapping):
            missing = [c for c in ("node", *SUMMARY_COLUMNS) if c not in row]
            if missing:
                raise _error(where, f"missing key {missing[0]!r}", k)
            row = (row["node"], row["n"], row["mean"], row["var"])
        try:
            node, n, mean, var = row
        except (TypeError, ValueError):
            raise _error(where, f"expected (node, n, mean, var), got {row!r}", k) from None
        out.append(_summary(node, n, mean, var, where, k))
    _no_duplicates(out)
    return _check_nodes(out, f"row {k}", k)


# --------------------------------------------------------------------------- estimators


def _loo(x: Array) -> Array:
    """Leave-one-out sums along the last axis: sum_{i != j} x_i for every j, as the sum of
    the exclusive prefix and suffix sums (no ``total - own`` cancellation when one node's
    term dominates the others)."""
    x = np.asarray(x, dtype=np.float64)
    zero = np.zeros((*x.shape[:-1], 1))
    before = np.concatenate([zero, np.cumsum(x, axis=-1)[..., :-1]], axis=-1)
    after = np.concatenate([np.cumsum(x[..., ::-1], axis=-1)[..., -2::-1], zero], axis=-1)
    return before + after


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
    n_other = _loo(n)
    local = mean
    glob = _loo(n * mean) / n_other
    s_l = var / n
    s_g = _loo(n * var) / n_other**2
    gap_sq = (glob - local) ** 2
    tau2 = None
    if method in ("random-effects", "james-stein"):
        tau2 = tau2_dersimonian_laird(mean, s_l)
        share_sq = _loo(n**2) / n_other**2
        delta_sq = tau2[..., None] * (1.0 + share_sq)
    elif method == "plugin":
        delta_sq = np.maximum(0.0, gap_sq - s_l - s_g)
    else:  # naive
        delta_sq = gap_sq
    d_total = s_l + s_g + delta_sq
    ok = d_total > 0
    bias = np.sqrt(delta_sq)
    if method == "james-stein":
        n_all = n.sum(axis=-1, keepdims=True)
        grand = (n * mean).sum(axis=-1, keepdims=True) / n_all
        spread = ((mean - grand) ** 2).sum(axis=-1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            b = np.where(spread > 0, (k - 3) * s_l / spread, 1.0)
        b = np.clip(b, 0.0, 1.0) if k > 3 else np.zeros_like(s_l)
        weight = b * n_other / n_all
    else:
        weight = np.where(ok, api.optimal_weight(np.where(ok, s_l, 1.0), s_g, bias, 0.0), 0.0)
    weight = np.asarray(weight, dtype=np.float64)
    estimate = (1.0 - weight) * local + weight * glob
    est_mse = np.asarray(api.mse(weight, s_l, s_g, bias, 0.0), dtype=np.float64)
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


def _is_path(x: Any) -> bool:
    return isinstance(x, str | os.PathLike)


def personalize(data: Any = None, *, summaries: Any = None, node_col: str = "node",
                value_col: str = "value", method: str = "random-effects") -> PersonalizeResult:
    """Personalized estimate of every node's mean, with its estimated weight and MSE.

    Give exactly one of:

    * ``data``: raw values in long format -- a CSV path (columns ``node_col`` and
      ``value_col``), an iterable of ``(node, value)`` rows, or a mapping node -> values;
    * ``summaries``: per-node summaries -- a CSV path with columns node, n, mean, var, or
      rows (tuples, mappings or :class:`NodeSummary`).

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
        if summaries is not None:
            table = (read_summaries_csv(summaries, node_col) if _is_path(summaries)
                     else summaries_from_table(summaries))
        elif _is_path(data):
            table = read_values_csv(Path(data), node_col, value_col)
        else:
            table = summaries_from_values(data)
        n = np.array([s.n for s in table], dtype=np.float64)
        mean = np.array([s.mean for s in table])
        var = np.array([s.var for s in table])
        for s_, v_ in zip(table, var, strict=True):
            if not np.isfinite(v_):
                raise _error("data", f"node {s_.node!r}: its sample variance overflows "
                             "float64 (values too large)")
        try:
            est = estimate_weights(n, mean, var, method)
        except InvalidParameterError as exc:
            raise _error("data", "the per-node moments overflow float64 (values or sample "
                         f"sizes too large): {exc}") from None
    rows = tuple(
        PersonalizedNode(s.node, s.n, float(est.local[i]), float(est.global_[i]),
                         float(est.weight[i]), float(est.estimate[i]), float(est.est_mse[i]),
                         float(est.var_local[i]))
        for i, s in enumerate(table))
    tau2 = None if est.tau2 is None else float(est.tau2)
    return PersonalizeResult(method, rows, tau2)
