"""The result of :func:`modelavg_sym.numeric.personalize.personalize`: a
:class:`PersonalizeResult` table, one :class:`PersonalizedNode` row per node sorted by node
name, stored by column (:data:`COLUMNS`), with lookup by node and exports (records,
pandas, Markdown, plain text).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

#: Columns of the result, in order (``global`` is the other nodes' model).
COLUMNS: tuple[str, ...] = ("node", "n", "local", "global", "weight", "estimate", "est_mse",
                            "local_mse")

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PersonalizedNode:
    """One row of :class:`PersonalizeResult` (``global_`` is the ``global`` column; ``n``
    is None for a table of known standard errors)."""

    node: str
    n: int | None
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
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


class PersonalizeResult:
    """Table-like result, one row per node sorted by node name, stored by column.

    ``result[node]`` is a dict lookup (O(1)); iteration and :attr:`rows` give
    :class:`PersonalizedNode` rows; :meth:`to_records`, :meth:`to_pandas` and
    :meth:`column` export.

    Attributes:
        method: the weight estimator used.
        tau2: the random-effects spread of node means (``random-effects``/``james-stein``).
        pooled_mean: the DerSimonian-Laird random-effects pooled mean (same methods).
        columns: :data:`COLUMNS`.
    """

    columns: tuple[str, ...] = COLUMNS

    def __init__(self, method: str, node: tuple[str, ...], n: npt.ArrayLike | None,
                 local: Array, global_: Array, weight: Array, estimate: Array,
                 est_mse: Array, local_mse: Array, tau2: float | None = None,
                 pooled_mean: float | None = None) -> None:
        self.method = method
        self.tau2 = tau2
        self.pooled_mean = pooled_mean
        self._node = tuple(node)
        self._n = None if n is None else np.asarray(n, dtype=np.int64)
        cols = {"local": local, "global": global_, "weight": weight, "estimate": estimate,
                "est_mse": est_mse, "local_mse": local_mse}
        self._float = {k: np.array(v, dtype=np.float64) for k, v in cols.items()}
        for arr in self._float.values():
            arr.flags.writeable = False
        self._rows: tuple[PersonalizedNode, ...] | None = None
        self._index: dict[str, PersonalizedNode] | None = None

    def __len__(self) -> int:
        return len(self._node)

    @property
    def rows(self) -> tuple[PersonalizedNode, ...]:
        """Every row as a :class:`PersonalizedNode` (built once, on first use)."""
        if self._rows is None:
            n = [None] * len(self) if self._n is None else self._n.tolist()
            f = [self._float[c].tolist() for c in COLUMNS[2:]]
            self._rows = tuple(PersonalizedNode(node, *vals) for node, *vals in
                               zip(self._node, n, *f, strict=True))
        return self._rows

    def __iter__(self) -> Iterator[PersonalizedNode]:
        return iter(self.rows)

    def __contains__(self, node: object) -> bool:
        return node in (self._index or self._lookup())

    def _lookup(self) -> dict[str, PersonalizedNode]:
        if self._index is None:
            self._index = dict(zip(self._node, self.rows, strict=True))
        return self._index

    def __getitem__(self, node: str) -> PersonalizedNode:
        """The row of ``node`` (a dict lookup, built on first use)."""
        index = self._index
        if index is None:
            index = self._lookup()
        return index[node]

    def column(self, name: str) -> npt.NDArray[Any]:
        """One column of :data:`COLUMNS` as a (read-only) numpy array (``node`` as an
        object array; ``n`` as int64, or an object array of None for known standard
        errors)."""
        if name == "node":
            return np.array(self._node, dtype=object)
        if name == "n":
            return np.full(len(self), None, dtype=object) if self._n is None else self._n
        if name not in self._float:
            raise KeyError(name)
        return self._float[name]

    def to_records(self) -> list[dict[str, Any]]:
        """A list of dicts keyed by :data:`COLUMNS` (JSON-ready)."""
        return [row.to_record() for row in self.rows]

    def to_pandas(self) -> Any:
        """A pandas DataFrame with :data:`COLUMNS` (``n`` is a nullable integer column)."""
        # pandas is imported here only: the numeric layer does not need it otherwise
        import pandas as pd

        data: dict[str, Any] = {"node": list(self._node)}
        data["n"] = pd.array([None] * len(self) if self._n is None else self._n,
                             dtype="Int64")
        data.update({c: self._float[c] for c in COLUMNS[2:]})
        return pd.DataFrame(data, columns=list(COLUMNS))

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

    def __repr__(self) -> str:
        return f"<PersonalizeResult method={self.method!r} nodes={len(self)}>"
