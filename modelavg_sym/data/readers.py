"""Reading per-node data: long-format values or per-node summaries, from CSV files, pandas
DataFrames or in-memory rows, into a columnar :class:`SummaryTable`.

Input parsing and per-node reduction only (no estimation):

* raw values in long format -- a CSV path, a DataFrame with a node and a value column,
  ``(node, value)`` rows or a mapping node -> values -- reduced to each node's size n,
  sample mean and sample variance (divisor n - 1);
* per-node summaries -- (node, n, mean, var), or (node, estimate, se) with known standard
  errors (a meta-analysis table) -- from a CSV path, a DataFrame or rows.

A long CSV is parsed by pandas' C reader (column-wise, correctly rounded floats) and
grouped with ``np.bincount`` on the node codes: no Python loop over rows.  The per-node
mean is the compensated (refined) mean m = m0 + sum(x - m0)/n, m0 = sum(x)/n, and the
variance the corrected two-pass form (sum d^2 - (sum d)^2/n)/(n - 1) with d = x - m (Chan,
Golub and LeVeque), so near-constant nodes keep their digits; groups whose sums leave the
comfortable float64 range are recomputed with a power-of-two scale per group, and a
variance that truly overflows or underflows float64 is an error, never a silent 0 or inf.

Malformed input raises :class:`~modelavg_sym.errors.DataError` naming the location (the
file's line number, or ``row k``), with the line also in its ``line`` attribute.  The
columns are validated vectorised; only when they are not clean is the file re-read line by
line (standard ``csv`` module) to report the first bad line exactly.  Quoted input is cut
to about :data:`QUOTE_LIMIT` characters.

The parts, one module each: :mod:`~modelavg_sym.data.records` (records, error helpers,
cell checks), :mod:`~modelavg_sym.data.reductions` (per-node moments),
:mod:`~modelavg_sym.data.csvfiles` (CSV files) and :mod:`~modelavg_sym.data.frames`
(in-memory rows, mappings and DataFrames); this module holds the entry points and
re-exports their public names.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from modelavg_sym.data.csvfiles import MAX_HEADER_CHARS as MAX_HEADER_CHARS
from modelavg_sym.data.csvfiles import _read_values_slowly as _read_values_slowly
from modelavg_sym.data.csvfiles import (
    read_summaries_csv,
    read_summaries_table,
    read_values_csv,
    read_values_table,
)
from modelavg_sym.data.frames import (
    _is_dataframe,
    _summaries_from_frame,
    _values_from_frame,
    summaries_from_table,
    summaries_from_values,
    summary_rows_table,
    values_table,
)
from modelavg_sym.data.records import MAX_N as MAX_N
from modelavg_sym.data.records import QUOTE_LIMIT as QUOTE_LIMIT
from modelavg_sym.data.records import (
    SE_COLUMNS,
    SUMMARY_COLUMNS,
    NodeSummary,
    SummaryTable,
    _found,
    data_error,
    quote,
)
from modelavg_sym.data.reductions import group_moments, summarize
from modelavg_sym.errors import InvalidParameterError

__all__ = [
    "SE_COLUMNS",
    "SUMMARY_COLUMNS",
    "NodeSummary",
    "SummaryTable",
    "data_error",
    "group_moments",
    "load_summaries",
    "load_table",
    "quote",
    "read_summaries_csv",
    "read_values_csv",
    "summaries_from_table",
    "summaries_from_values",
    "summarize",
]


# --------------------------------------------------------------------------- entry point


def _is_path(x: Any) -> bool:
    return isinstance(x, str | os.PathLike)


def _kind_error(parameter: str, x: Any) -> InvalidParameterError:
    what = ("a CSV path, a pandas DataFrame, a mapping node -> values or an iterable of "
            "(node, value) rows" if parameter == "data" else
            "a CSV path, a pandas DataFrame or an iterable of (node, n, mean, var) or "
            "(node, estimate, se) rows")
    return InvalidParameterError(parameter, f"must be {what}", f"got {type(x).__name__}")


def load_table(data: Any = None, summaries: Any = None, node_col: str = "node",
               value_col: str = "value") -> SummaryTable:
    """Per-node summaries from exactly one of ``data`` and ``summaries``, as a
    :class:`SummaryTable` sorted by node name.

    ``data``: raw values -- a CSV path with columns ``node_col`` and ``value_col``, a
    pandas DataFrame with those columns (or, without ``value_col``, summary columns as
    below), a mapping node -> values, or ``(node, value)`` rows.
    ``summaries``: a CSV path or DataFrame with columns node, n, mean, var or node,
    estimate, se, or rows (4-tuples, 3-tuples, mappings or :class:`NodeSummary`).

    Raises:
        InvalidParameterError: neither or both given, or an argument of the wrong kind.
        DataError: malformed input, with its location.
    """
    if (data is None) == (summaries is None):
        raise InvalidParameterError("data", "give exactly one of data= and summaries=")
    if summaries is not None:
        if _is_path(summaries):
            return read_summaries_table(summaries, node_col)
        if _is_dataframe(summaries):
            return _summaries_from_frame(summaries, node_col)
        if isinstance(summaries, bytes | bytearray) or not isinstance(summaries, Iterable):
            raise _kind_error("summaries", summaries)
        return summary_rows_table(summaries)
    if _is_path(data):
        return read_values_table(data, node_col, value_col)
    if _is_dataframe(data):
        cols = [str(c) for c in data.columns]
        if node_col in cols and value_col in cols:
            return _values_from_frame(data, node_col, value_col)
        if node_col in cols and (all(c in cols for c in SUMMARY_COLUMNS)
                                 or all(c in cols for c in SE_COLUMNS)):
            return _summaries_from_frame(data, node_col)
        missing = node_col if node_col not in cols else value_col
        raise data_error("data", f"the DataFrame has no column {missing!r} (found: "
                         f"{_found(cols)}); give raw values in columns {node_col!r} and "
                         f"{value_col!r}, or summaries (n, mean, var or estimate, se)")
    if isinstance(data, bytes | bytearray) or not isinstance(data, Iterable):
        raise _kind_error("data", data)
    return values_table(data)


def load_summaries(data: Any = None, summaries: Any = None, node_col: str = "node",
                   value_col: str = "value") -> list[NodeSummary]:
    """:func:`load_table` as a list of :class:`NodeSummary` records, sorted by node."""
    if _is_path(data) and summaries is None:
        return read_values_csv(data, node_col, value_col)
    return load_table(data, summaries, node_col, value_col).records()
