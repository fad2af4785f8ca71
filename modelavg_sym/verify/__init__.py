"""Verification routes.  Each route module exposes ``check(theorem, profile) -> RouteResult``.

Routes: ``symbolic`` (identity simplifies to 0), ``rational`` (exact property tests with
hypothesis), ``float`` (compiled functions against 50-digit evaluation), and the routes
added later (``smt``, ``montecarlo``).  :func:`run` dispatches by name; a route a theorem
does not list is reported as ``not-applicable``.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # (importing this package must not build the theorems: see profiles)
    from modelavg_sym.theorems import Theorem

Status = Literal["proved", "passed", "agreed", "failed", "refuted", "unknown", "not-applicable"]

#: Route name -> module implementing ``check``.
ROUTE_MODULES: dict[str, str] = {
    "symbolic": "modelavg_sym.verify.symbolic",
    "rational": "modelavg_sym.verify.rational",
    "float": "modelavg_sym.verify.floating",
    "smt": "modelavg_sym.verify.smt",
    "montecarlo": "modelavg_sym.verify.montecarlo",
}


@dataclass
class RouteResult:
    """Outcome of one route on one theorem."""

    theorem: str
    route: str
    status: Status
    seconds: float = 0.0
    detail: str = ""
    examples: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"RouteResult({self.theorem!r}, {self.route!r}, {self.status!r})"

    def _repr_markdown_(self) -> str:
        return (f"`{self.theorem}` on the **{self.route}** route: **{self.status}**"
                + (f" ({self.detail})" if self.detail else ""))

    def _repr_latex_(self) -> str:
        name = self.theorem.replace("_", "\\_")
        return (f"$\\texttt{{{name}}}$: {self.route} route, "
                f"\\textbf{{{self.status}}}")

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        extra = d.pop("extra")
        d.update(extra)
        return d


def run(thm: Theorem, route: str, profile: str = "ci") -> RouteResult:
    """Run ``route`` on ``thm`` and time it."""
    if route not in thm.routes or route not in ROUTE_MODULES:
        return RouteResult(thm.name, route, "not-applicable")
    mod = importlib.import_module(ROUTE_MODULES[route])
    t0 = time.perf_counter()
    res: RouteResult = mod.check(thm, profile)
    res.seconds = round(time.perf_counter() - t0, 3)
    return res


def run_many(items: Sequence[tuple[Theorem, str]], profile: str = "ci") -> list[RouteResult]:
    """:func:`run` on each (theorem, route), results in the same order and the same; the
    rational route's theorems go to :func:`modelavg_sym.verify.rational.check_many` together
    (theorems sharing a sampler are checked at their common points in one run)."""
    out: dict[int, RouteResult] = {}
    rational = [i for i, (thm, route) in enumerate(items)
                if route == "rational" and route in thm.routes]
    for i, (thm, route) in enumerate(items):
        if i not in rational:
            out[i] = run(thm, route, profile)
    if rational:
        mod = importlib.import_module(ROUTE_MODULES["rational"])
        for i, res in zip(rational, mod.check_many([items[i][0] for i in rational], profile),
                          strict=True):
            out[i] = res
    return [out[i] for i in range(len(items))]
