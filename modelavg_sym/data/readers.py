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
"""

from __future__ import annotations

import csv
import math
import os
import reprlib
import stat
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from modelavg_sym.errors import DataError, InvalidParameterError

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

Array = npt.NDArray[np.float64]

#: Columns of a summaries table with sample sizes and variances.
SUMMARY_COLUMNS: tuple[str, ...] = ("n", "mean", "var")
#: Columns of a summaries table with known standard errors (meta-analysis).
SE_COLUMNS: tuple[str, ...] = ("estimate", "se")
#: Longest quotation of input in an error message (characters, about).
QUOTE_LIMIT = 80
#: Longest header line read (bytes); a longer first line is refused.
MAX_HEADER_CHARS = 1 << 20
#: Largest n in a summaries table: 2^53, beyond which float64 no longer holds every integer.
MAX_N = 2**53
#: Boolean words pandas would silently read as 1.0 / 0.0 in an all-boolean column.
_BOOL_WORDS = frozenset({"true", "false"})
_TINY = np.finfo(np.float64).tiny
#: Group sums of squares outside [2^-960, 2^960] are recomputed with a per-group scale.
_SAFE_LO, _SAFE_HI = 2.0**-960, 2.0**960


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


# --------------------------------------------------------------------------- reductions


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


# --------------------------------------------------------------------------- small helpers


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


def _found(cols: Sequence[str]) -> str:
    text = ", ".join(repr(c) for c in cols)
    return text if len(text) <= QUOTE_LIMIT else text[: QUOTE_LIMIT] + f"... ({len(cols)} columns)"


def _need_nodes(names: Sequence[str], where: str, line: int | None) -> None:
    if len(names) < 2:
        found = ", ".join(quote(s) for s in names) or "none"
        raise data_error(where, f"need at least 2 nodes, found {len(names)} ({found})", line)


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


# --------------------------------------------------------------------------- files


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
                              (f"{name}, line {last}", last), name)


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


# --------------------------------------------------------------------------- in memory


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
