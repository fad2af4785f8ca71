"""In-memory input: raw values as a mapping node -> values, ``(node, value)`` rows or a
pandas DataFrame with a node and a value column; per-node summaries as rows (4-tuples,
3-tuples, mappings, :class:`~modelavg_sym.data.records.NodeSummary`) or a DataFrame.
Locations in errors are ``row k`` (counting from 1) or ``node 'name'``.  pandas is never
imported to recognise a DataFrame: one can exist only once pandas is loaded.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from modelavg_sym.data.records import (
    SE_COLUMNS,
    SUMMARY_COLUMNS,
    Array,
    NodeSummary,
    SummaryTable,
    _found,
    _node_name,
    _number,
    _summaries,
    data_error,
    quote,
)
from modelavg_sym.data.reductions import _table_from_groups


def _dataframe_type() -> type | None:
    """pandas.DataFrame if pandas is already imported (a DataFrame cannot exist otherwise)."""
    pd = sys.modules.get("pandas")
    return getattr(pd, "DataFrame", None) if pd is not None else None


def _is_dataframe(x: Any) -> bool:
    frame = _dataframe_type()
    return frame is not None and isinstance(x, frame)


def _values_from_frame(df: Any, node_col: str, value_col: str) -> SummaryTable:
    """Raw values from a DataFrame's node and value columns (errors name ``row k``, the
    position counting from 1)."""
    import pandas as pd  # deferred: a DataFrame was given, so pandas is loaded already

    nodes, raw = df[node_col], df[value_col]
    try:
        x = raw.to_numpy(dtype=np.float64)
        clean = bool(np.isfinite(x).all())
    except (TypeError, ValueError):
        clean = False
    if not clean or raw.dtype == bool:
        for k, v in enumerate(raw.tolist(), start=1):
            if isinstance(v, bool | np.bool_):
                raise data_error(f"row {k}", f"value {v!r} in column {value_col!r} is not a "
                                 "number", k)
            _number(v, f"row {k}", value_col, k)
    codes, uniques = pd.factorize(nodes, use_na_sentinel=True)
    labels = [str(u).strip() for u in uniques]
    bad = (codes < 0) | ~np.asarray([bool(s) for s in labels], dtype=bool)[codes]
    if bad.any():
        k = int(np.flatnonzero(bad)[0]) + 1
        raise data_error(f"row {k}", f"empty node name in column {node_col!r}", k)
    return _table_from_groups(codes.astype(np.intp, copy=False), labels, x,
                              lambda r: (f"row {r + 1}", r + 1),
                              lambda: (f"row {len(x)}", len(x)), "data")


def summaries_from_values(data: Mapping[Any, Iterable[Any]] | Iterable[Sequence[Any]],
                          ) -> list[NodeSummary]:
    """Per-node summaries of in-memory raw data: a mapping node -> values, or an iterable
    of ``(node, value)`` rows (locations in errors are ``row k``, counting from 1)."""
    return values_table(data).records()


def values_table(data: Mapping[Any, Iterable[Any]] | Iterable[Sequence[Any]]
                 ) -> SummaryTable:
    """:func:`summaries_from_values` as a :class:`SummaryTable`."""
    if isinstance(data, Mapping):
        return _values_from_mapping(data)
    index: dict[str, int] = {}
    codes: list[int] = []
    values: list[float] = []
    k = 0
    for k, row in enumerate(data, start=1):
        where = f"row {k}"
        try:
            node, value = row
        except (TypeError, ValueError):
            raise data_error(where, f"expected a (node, value) pair, got {quote(row)}",
                             k) from None
        name = _node_name(node, where, "node", k)
        values.append(_number(value, where, "value", k))
        codes.append(index.setdefault(name, len(index)))
    return _table_from_groups(np.asarray(codes, dtype=np.intp), list(index),
                              np.asarray(values, dtype=np.float64),
                              lambda r: (f"row {r + 1}", r + 1), lambda: (f"row {k}", k),
                              "data")


def _values_from_mapping(data: Mapping[Any, Iterable[Any]]) -> SummaryTable:
    index: dict[str, int] = {}
    chunks: list[Array] = []
    owners: list[int] = []
    for node, values in data.items():
        name = _node_name(node, "", "node", None)
        where = f"node {quote(name)}"
        if isinstance(values, str | bytes | bytearray) or not isinstance(values, Iterable):
            raise data_error(where, f"expected a sequence of values, got {quote(values)}")
        vals = list(values)
        try:
            x = np.asarray(vals, dtype=np.float64)
            ok = x.ndim == 1 and bool(np.isfinite(x).all()) and not any(
                isinstance(v, str | bytes | bool | np.bool_) for v in vals)
        except (TypeError, ValueError, OverflowError):
            ok = False
        if not ok:  # the first offending value, with the message of the scalar check
            for j, v in enumerate(vals, start=1):
                if isinstance(v, bool | np.bool_):
                    raise data_error(f"{where}, value {j}", f"value {v!r} in column 'value' "
                                     "is not a number")
                _number(v, f"{where}, value {j}", "value", None)
            x = np.asarray([float(v) for v in vals], dtype=np.float64)
        if x.size == 0 and name not in index:
            raise data_error(where, f"node {quote(name)} has no values", None)
        code = index.setdefault(name, len(index))
        chunks.append(x)
        owners.append(code)
    x = np.concatenate(chunks) if chunks else np.zeros(0)
    codes = np.repeat(np.asarray(owners, dtype=np.intp), [c.size for c in chunks])
    labels = list(index)

    def locate(r: int) -> tuple[str, int | None]:
        return f"node {quote(labels[codes[r]])}", None

    return _table_from_groups(codes, labels, x, locate, lambda: ("data", None), "data")


def summaries_from_table(rows: Iterable[Any]) -> list[NodeSummary]:
    """Per-node summaries from in-memory rows: :class:`NodeSummary`, mappings with keys
    node, n, mean, var (or node, estimate, se), 4-tuples (node, n, mean, var) or 3-tuples
    (node, estimate, se)."""
    return summary_rows_table(rows).records()


def summary_rows_table(rows: Iterable[Any], source: str = "summaries") -> SummaryTable:
    """:func:`summaries_from_table` as a :class:`SummaryTable`."""
    out: list[tuple[Any, ...]] = []
    locs: list[tuple[str, int | None]] = []
    kind: bool | None = None  # True: (node, estimate, se)
    k = 0
    for k, row in enumerate(rows, start=1):
        where = f"row {k}"
        if isinstance(row, NodeSummary):
            row = ((row.node, row.mean, row.se) if row.se is not None
                   else (row.node, row.n, row.mean, row.var))
        if isinstance(row, Mapping):
            if all(c in row for c in ("node", *SUMMARY_COLUMNS)):
                row = (row["node"], *(row[c] for c in SUMMARY_COLUMNS))
            elif all(c in row for c in ("node", *SE_COLUMNS)):
                row = (row["node"], *(row[c] for c in SE_COLUMNS))
            else:
                cols = ("node", *SUMMARY_COLUMNS)
                if any(c in row for c in SE_COLUMNS):
                    cols = ("node", *SE_COLUMNS)
                missing = next(c for c in cols if c not in row)
                raise data_error(where, f"missing key {missing!r}", k)
        try:
            fields = tuple(row)
        except TypeError:
            fields = ()
        if isinstance(row, str | bytes) or len(fields) not in (3, 4):
            raise data_error(where, "expected (node, n, mean, var) or (node, estimate, se), "
                             f"got {quote(row)}", k)
        this = len(fields) == 3
        if kind is not None and this != kind:
            raise data_error(where, "mixes (node, estimate, se) and (node, n, mean, var) rows",
                             k)
        kind = this
        out.append(fields)
        locs.append((where, k))
    return _summaries(out, locs, bool(kind), (f"row {k}", k), source)


def _summaries_from_frame(df: Any, node_col: str) -> SummaryTable:
    cols = [str(c) for c in df.columns]
    if node_col in cols and all(c in cols for c in SUMMARY_COLUMNS):
        want = (node_col, *SUMMARY_COLUMNS)
    elif node_col in cols and all(c in cols for c in SE_COLUMNS):
        want = (node_col, *SE_COLUMNS)
    else:
        raise data_error("summaries", f"a DataFrame of summaries needs columns {node_col!r}, "
                         "'n', 'mean', 'var' or "
                         f"{node_col!r}, 'estimate', 'se' (found: {_found(cols)})")
    rows = list(df[list(want)].itertuples(index=False, name=None))
    locs = [(f"row {k}", k) for k in range(1, len(rows) + 1)]
    end = locs[-1] if locs else ("summaries", None)
    return _summaries(rows, locs, want[1] == "estimate", end, "summaries", node_col)
