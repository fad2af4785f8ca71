"""Per-node records and what every reader shares: :class:`NodeSummary`, the columnar
:class:`SummaryTable`, a :class:`~modelavg_sym.errors.DataError` naming the input's
location (:func:`data_error`), input quoted to about :data:`QUOTE_LIMIT` characters
(:func:`quote`), the checks of one cell (a finite number, a non-empty node name), the node
order (names that read as numbers first, numerically), and the validation of per-node
summary rows ((node, n, mean, var) or (node, estimate, se)) into a :class:`SummaryTable`.

The entry points are in :mod:`modelavg_sym.data.readers`.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from modelavg_sym.errors import DataError

Array = npt.NDArray[np.float64]

#: Columns of a summaries table with sample sizes and variances.
SUMMARY_COLUMNS: tuple[str, ...] = ("n", "mean", "var")
#: Columns of a summaries table with known standard errors (meta-analysis).
SE_COLUMNS: tuple[str, ...] = ("estimate", "se")
#: Longest quotation of input in an error message (characters, about).
QUOTE_LIMIT = 80
#: Largest n in a summaries table: 2^53, beyond which float64 no longer holds every integer.
MAX_N = 2**53


def data_error(where: str, message: str, line: int | None = None) -> DataError:
    """A :class:`DataError` ``"<where>: <message>"`` carrying the input's line number in
    ``.line`` (None when the input has no lines)."""
    err = DataError(f"{where}: {message}" if where else message)
    err.line = line  # type: ignore[attr-defined]
    return err


def quote(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` cut to about ``limit`` characters (errors must not echo 100 KB)."""
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}... ({len(value)} characters)"
    text = reprlib.repr(value)
    return text if len(text) <= 2 * limit else text[: 2 * limit] + "..."


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class NodeSummary:
    """One node's data summary: size, sample mean and sample variance (divisor n - 1).

    With known standard errors (a (node, estimate, se) table) ``n`` is None, ``mean`` is
    the estimate, ``var`` is se^2 and ``se`` is set.  ``where`` records the input location
    (``"data.csv, line 4"``) for error messages.
    """

    node: str
    n: int | None
    mean: float
    var: float
    where: str = field(default="", compare=False)
    line: int | None = field(default=None, compare=False)
    se: float | None = None


@dataclass(frozen=True, eq=False)
class SummaryTable:
    """Per-node summaries as columns, sorted by node name (names that read as numbers
    first, numerically).  Either ``n`` and ``var`` (sizes and sample variances) or ``se``
    (known standard errors of the estimates in ``mean``) is set.

    Attributes:
        node: node names.
        mean: sample means (or the given estimates).
        n: sample sizes (float64 holding integers >= 2), or None.
        var: sample variances (divisor n - 1), or None.
        se: known standard errors (> 0), or None.
        source: the input's name for messages (a file name, ``data`` or ``summaries``).
        lines: per node, the line (file) or row where it first appears, when known.
    """

    node: tuple[str, ...]
    mean: Array
    n: Array | None = None
    var: Array | None = None
    se: Array | None = None
    source: str = "data"
    lines: tuple[int | None, ...] | None = None

    def __len__(self) -> int:
        return len(self.node)

    def records(self) -> list[NodeSummary]:
        """The rows as :class:`NodeSummary` records."""
        lines = self.lines or (None,) * len(self.node)
        out = []
        for i, name in enumerate(self.node):
            line = lines[i]
            where = f"{self.source}, line {line}" if line is not None else self.source
            if self.se is not None:
                se = float(self.se[i])
                out.append(NodeSummary(name, None, float(self.mean[i]), se * se, where, line,
                                       se))
            else:
                assert self.n is not None and self.var is not None
                out.append(NodeSummary(name, int(self.n[i]), float(self.mean[i]),
                                       float(self.var[i]), where, line))
        return out


# --------------------------------------------------------------------------- cells


def _number(text: Any, where: str, column: str, line: int | None) -> float:
    if isinstance(text, bytes | bytearray | bool | np.bool_):
        raise data_error(where, f"value {quote(text)} in column {column!r} is not a number",
                         line)
    try:
        v = float(text)
    except (TypeError, ValueError, OverflowError):
        raise data_error(where, f"value {quote(text)} in column {column!r} is not a number",
                         line) from None
    if not math.isfinite(v):
        raise data_error(where, f"value {quote(text)} in column {column!r} is not a finite "
                         "number", line)
    return v


def _node_name(raw: Any, where: str, column: str, line: int | None) -> str:
    name = "" if raw is None or _is_missing(raw) else str(raw).strip()
    if not name:
        raise data_error(where, f"empty node name in column {column!r}", line)
    return name


def _is_missing(x: Any) -> bool:
    """NaN or pandas' NA/NaT (a missing cell of a DataFrame)."""
    try:
        return bool(x != x) or type(x).__name__ in ("NAType", "NaTType")
    except (TypeError, ValueError):
        return False


def _sort_key(node: str) -> tuple[int, float, str]:
    head = node[:1]
    if (head.isascii() and not head.isdigit() and head not in "+-."
            and node[:3].lower() not in ("inf", "nan")):
        return (1, 0.0, node)  # cannot read as a number: skip float()'s exception
    try:
        return (0, float(node), node)
    except ValueError:
        return (1, 0.0, node)


def _found(cols: Sequence[str]) -> str:
    text = ", ".join(repr(c) for c in cols)
    return text if len(text) <= QUOTE_LIMIT else text[: QUOTE_LIMIT] + f"... ({len(cols)} columns)"


def _need_nodes(names: Sequence[str], where: str, line: int | None) -> None:
    if len(names) < 2:
        found = ", ".join(quote(s) for s in names) or "none"
        raise data_error(where, f"need at least 2 nodes, found {len(names)} ({found})", line)


# --------------------------------------------------------------------------- summary rows


def _summaries(rows: Sequence[tuple[Any, ...]], locs: Sequence[tuple[str, int | None]],
               use_se: bool, end: tuple[str, int | None], source: str,
               node_col: str = "node") -> SummaryTable:
    """Validate summary rows ((node, n, mean, var) or (node, estimate, se)) in order and
    build the table."""
    names: list[str] = []
    seen: dict[str, str] = {}
    c1, c2, c3 = [], [], []
    for row, (where, line) in zip(rows, locs, strict=True):
        name = _node_name(row[0], where, node_col, line)
        if use_se:
            est = _number(row[1], where, "estimate", line)
            se = _number(row[2], where, "se", line)
            if se <= 0:
                raise data_error(where, f"se must be > 0 (got {quote(row[2])})", line)
            c1.append(est)
            c2.append(se)
        else:
            n_val = _number(row[1], where, "n", line)
            if n_val != int(n_val) or not 2 <= n_val <= MAX_N:
                raise data_error(where, f"n must be an integer >= 2 and <= 2**53 (got "
                                 f"{quote(row[1])})", line)
            m_val = _number(row[2], where, "mean", line)
            v_val = _number(row[3], where, "var", line)
            if v_val < 0:
                raise data_error(where, f"var must be >= 0 (got {quote(row[3])})", line)
            c1.append(n_val)
            c2.append(m_val)
            c3.append(v_val)
        if name in seen:
            raise data_error(where, f"node {quote(name)} appears twice (first at "
                             f"{seen[name]})", line)
        seen[name] = where
        names.append(name)
    _need_nodes(names, *end)
    order = sorted(range(len(names)), key=lambda i: _sort_key(names[i]))
    lines = tuple(locs[i][1] for i in order)
    node = tuple(names[i] for i in order)
    if use_se:
        return SummaryTable(node, np.array(c1)[order], se=np.array(c2)[order],
                            source=source, lines=lines)
    return SummaryTable(node, np.array(c2)[order], n=np.array(c1)[order],
                        var=np.array(c3)[order], source=source, lines=lines)
