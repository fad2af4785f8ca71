"""CSV files: long-format values (columns node and value) or per-node summaries (node,
n, mean, var or node, estimate, se), header on line 1, errors naming the file's line.

A long CSV is parsed by pandas' C reader (column-wise, correctly rounded floats; pandas is
imported inside the functions that read a file) and reduced by
:mod:`modelavg_sym.data.reductions`.  The columns are validated vectorised; only when they
are not clean is the file re-read line by line (standard ``csv`` module) to report the
first bad line exactly.  A summaries file is read line by line.  Only regular files are
read (a device, pipe or directory is refused), and a first line longer than
:data:`MAX_HEADER_CHARS` is refused.
"""

from __future__ import annotations

import csv
import os
import stat
from array import array
from collections.abc import Iterable, Iterator, Sequence
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
from modelavg_sym.data.reductions import Locate, _table_from_groups
from modelavg_sym.errors import InvalidParameterError

#: Longest header line read (bytes); a longer first line is refused.
MAX_HEADER_CHARS = 1 << 20
#: Boolean words pandas would silently read as 1.0 / 0.0 in an all-boolean column.
_BOOL_WORDS = frozenset({"true", "false"})


def _regular_file(path: str | os.PathLike[str]) -> str:
    """The path as a string, or a DataError unless it names a regular file (a device such
    as /dev/zero, a pipe or a directory would be read without end or not at all)."""
    name = os.fspath(path)
    try:
        st = os.stat(name)
    except OSError as exc:
        raise data_error(name, f"cannot read file ({exc.strerror or exc})") from None
    except ValueError as exc:  # embedded NUL
        raise data_error(quote(name), f"cannot read file ({exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise data_error(name, "cannot read file (it is a directory)")
    if not stat.S_ISREG(st.st_mode):
        raise data_error(name, "not a regular file (a device, pipe or socket); give a CSV "
                         "file")
    return name


def _open(name: str) -> Any:
    return open(name, newline="", encoding="utf-8-sig")  # utf-8-sig: tolerate a BOM


def _header(name: str, required: Sequence[str], alternatives: Sequence[Sequence[str]] = ()
            ) -> tuple[list[str], int]:
    """(stripped column names of line 1, 1).  Raises for an empty file, a first line
    longer than :data:`MAX_HEADER_CHARS`, or none of the column sets present."""
    try:
        with _open(name) as fh:
            first = fh.readline(MAX_HEADER_CHARS + 1)
    except OSError as exc:
        raise data_error(name, f"cannot read file ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise data_error(name, f"not a readable CSV file ({exc.reason} at byte "
                         f"{exc.start})") from None
    if not first:
        raise data_error(f"{name}, line 1", "empty file; expected a header with columns "
                         + ", ".join(repr(c) for c in required), 1)
    if len(first) > MAX_HEADER_CHARS:
        raise data_error(f"{name}, line 1", f"line longer than {MAX_HEADER_CHARS} characters; "
                         "expected a CSV header", 1)
    try:
        row = next(csv.reader([first]), [])
    except csv.Error as exc:
        raise data_error(f"{name}, line 1", f"not a readable CSV header ({exc})", 1) from None
    cols = [h.strip() for h in row]
    for option in (required, *alternatives):
        if all(c in cols for c in option):
            return cols, 1
    missing = next(c for c in required if c not in cols)
    for option in alternatives:  # name the set the header comes closest to
        if any(c in cols for c in option if c not in required):
            missing = next(c for c in option if c not in cols)
    raise data_error(f"{name}, line 1", f"missing column {missing!r} (found: {_found(cols)})",
                     1)


def _csv_records(name: str) -> Iterator[tuple[int, list[str]]]:
    """(line number where the record ends, fields) of every non-blank record after the
    header, by the standard ``csv`` module."""
    with _open(name) as fh:
        reader = csv.reader(fh)
        next(reader, None)
        for row in reader:
            if not row or all(not f.strip() for f in row):
                continue
            yield reader.line_num, row


def _record_lines(name: str, wanted: Iterable[int]) -> dict[int, int]:
    """Line numbers of the non-blank data records with the given indices (0-based)."""
    todo = set(wanted)
    out: dict[int, int] = {}
    if not todo:
        return out
    last = max(todo)
    try:
        for r, (line, _row) in enumerate(_csv_records(name)):
            if r in todo:
                out[r] = line
            if r >= last:
                break
    except (csv.Error, OSError, UnicodeDecodeError):
        pass
    return out


def _file_locator(name: str) -> Locate:
    def locate(r: int) -> tuple[str, int | None]:
        line = _record_lines(name, [r]).get(r)
        return (f"{name}, line {line}", line) if line is not None else (
            f"{name}, data row {r + 1}", None)
    return locate


def _file_end(name: str, header_line: int) -> tuple[str, int | None]:
    last = header_line
    try:
        for line, _row in _csv_records(name):
            last = line
    except (csv.Error, OSError, UnicodeDecodeError):
        pass
    return f"{name}, line {last}", last


def _field(row: list[str], idx: int, where: str, line: int) -> str:
    if idx >= len(row):
        raise data_error(where, f"expected at least {idx + 1} fields, found {len(row)}", line)
    return row[idx]


def _pandas_long(name: str, i_node: int, i_value: int) -> tuple[Any, Array] | None:
    """(node column, values) parsed by pandas' C reader, or None when the columns are not
    clean (a value that is not a finite number, an empty node name, a quoting or encoding
    problem...): the caller then re-reads the file line by line for the exact message."""
    # pandas is imported here, not at module level: it costs ~0.5 s and ~70 MB, and only
    # reading a file needs it (`import modelavg_sym` stays light; tests/test_no_sympy.py).
    import pandas as pd

    lo = min(i_node, i_value)
    try:
        df = pd.read_csv(name, usecols=[i_node, i_value],
                         dtype={i_node: str, i_value: np.float64},
                         keep_default_na=False, na_values=[], encoding="utf-8-sig",
                         engine="c")
    except (ValueError, TypeError, OverflowError, IndexError, csv.Error):
        return None  # ParserError, UnicodeDecodeError and EmptyDataError are ValueErrors
    if df.shape[1] != 2:
        return None
    nodes = df.iloc[:, 0 if i_node == lo else 1]
    x = df.iloc[:, 1 if i_node == lo else 0].to_numpy(dtype=np.float64)
    if not np.isfinite(x).all():
        return None
    if x.size and ((x == 0) | (x == 1)).all() and _has_bool_words(name, i_value):
        return None  # pandas reads an all-boolean column as 1.0/0.0: refuse like csv does
    return nodes, x


def _has_bool_words(name: str, i_value: int) -> bool:
    import pandas as pd  # deferred: see _pandas_long

    col = pd.read_csv(name, usecols=[i_value], dtype=str, keep_default_na=False,
                      na_values=[], encoding="utf-8-sig").iloc[:, 0]
    return bool(col.str.strip().str.lower().isin(_BOOL_WORDS).any())


def read_values_table(path: str | os.PathLike[str], node_col: str = "node",
                      value_col: str = "value") -> SummaryTable:
    """Per-node summaries of a long-format CSV (one value per line, header on line 1).

    Raises:
        DataError: unreadable or not a regular file, a missing column (line 1), a
            non-numeric or non-finite value or an empty node name (its line), a node with
            fewer than 2 values (the line of its value), fewer than 2 nodes (the last line),
            a variance that overflows or underflows float64.
    """
    name = _regular_file(path)
    cols, hline = _header(name, (node_col, value_col))
    i_node, i_value = cols.index(node_col), cols.index(value_col)
    if i_node == i_value:
        raise InvalidParameterError("value_col", "must name a different column from node_col",
                                    f"both are {value_col!r}")
    parsed = _pandas_long(name, i_node, i_value)
    if parsed is not None:
        import pandas as pd  # deferred: see _pandas_long

        nodes, x = parsed
        codes, uniques = pd.factorize(nodes, use_na_sentinel=True)
        labels = [str(u).strip() for u in np.asarray(uniques, dtype=object)]
        if not (codes < 0).any() and all(labels):
            return _table_from_groups(codes.astype(np.intp, copy=False), labels, x,
                                      _file_locator(name), lambda: _file_end(name, hline),
                                      name)
    return _read_values_slowly(name, i_node, i_value, node_col, value_col, hline)


def _read_values_slowly(name: str, i_node: int, i_value: int, node_col: str, value_col: str,
                        hline: int) -> SummaryTable:
    """The line-by-line reader (standard ``csv``): exact line numbers and messages for a
    file pandas' reader would not take as it is; values are then grouped vectorised."""
    index: dict[str, int] = {}
    codes = array("q")
    values = array("d")
    lines = array("q")
    last = hline
    try:
        for line, row in _csv_records(name):
            where = f"{name}, line {line}"
            node = _node_name(_field(row, i_node, where, line), where, node_col, line)
            value = _number(_field(row, i_value, where, line).strip(), where, value_col, line)
            codes.append(index.setdefault(node, len(index)))
            values.append(value)
            lines.append(line)
            last = line
    except (UnicodeDecodeError, csv.Error) as exc:
        raise data_error(name, f"not a readable CSV file ({_reason(exc)})") from None
    except OSError as exc:
        raise data_error(name, f"cannot read file ({exc.strerror or exc})") from None

    def locate(r: int) -> tuple[str, int | None]:
        return f"{name}, line {lines[r]}", lines[r]

    return _table_from_groups(np.frombuffer(codes, dtype=np.int64).astype(np.intp),
                              list(index), np.frombuffer(values, dtype=np.float64), locate,
                              lambda: (f"{name}, line {last}", last), name)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"{exc.reason} at byte {exc.start}"
    return str(exc)


def read_values_csv(path: str | os.PathLike[str], node_col: str = "node",
                    value_col: str = "value") -> list[NodeSummary]:
    """:func:`read_values_table` as a list of :class:`NodeSummary` records (each with the
    line of the node's first value)."""
    table = read_values_table(path, node_col, value_col)
    name = table.source
    cols, _ = _header(name, (node_col, value_col))
    i_node = cols.index(node_col)
    first: dict[str, int] = {}
    for line, row in _csv_records(name):
        if i_node < len(row):
            first.setdefault(row[i_node].strip(), line)
        if len(first) == len(table):
            break
    recs = table.records()
    return [NodeSummary(s.node, s.n, s.mean, s.var, f"{name}, line {first.get(s.node)}",
                        first.get(s.node)) for s in recs]


def read_summaries_table(path: str | os.PathLike[str], node_col: str = "node"
                         ) -> SummaryTable:
    """Per-node summaries from a CSV with columns node, n, mean, var -- or node, estimate,
    se (known standard errors) -- header on line 1 (one line per node, read line by line).

    Raises:
        DataError: as :func:`read_values_table`, plus n not an integer in [2, 2^53],
            var < 0, se <= 0, or a node listed twice (each with its line number).
    """
    name = _regular_file(path)
    cols, _hline = _header(name, (node_col, *SUMMARY_COLUMNS), [(node_col, *SE_COLUMNS)])
    use_se = not all(c in cols for c in SUMMARY_COLUMNS)
    want = (node_col, *(SE_COLUMNS if use_se else SUMMARY_COLUMNS))
    idx = {c: cols.index(c) for c in want}
    rows: list[tuple[Any, ...]] = []
    locs: list[tuple[str, int]] = []
    try:
        for line, row in _csv_records(name):
            where = f"{name}, line {line}"
            rows.append(tuple(_field(row, idx[c], where, line).strip() for c in want))
            locs.append((where, line))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise data_error(name, f"not a readable CSV file ({_reason(exc)})") from None
    end = locs[-1] if locs else (f"{name}, line 1", 1)
    return _summaries(rows, locs, use_se, end, name, node_col)


def read_summaries_csv(path: str | os.PathLike[str], node_col: str = "node"
                       ) -> list[NodeSummary]:
    """:func:`read_summaries_table` as a list of :class:`NodeSummary` records."""
    return read_summaries_table(path, node_col).records()
