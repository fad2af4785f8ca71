"""The verification report: every route on every registered theorem.

:func:`verification_table` runs the routes (in the fixed order of
:data:`modelavg_sym.theorems.ALL_ROUTES`) on the theorems (in registry order) and returns
one :class:`~modelavg_sym.verify.RouteResult` per theorem and route, ``not-applicable``
where the theorem does not list the route or the route is not installed.
:func:`render_markdown` and :func:`render_json` format it; :func:`failures` says what
makes the verification fail (the ``verify`` command's exit code 1):

* a route ``failed`` or ``refuted``;
* a route ``unknown`` on a theorem the registry does not mark ``expected_unknown``;
* an ``smt`` proof whose deliberately false variant was not ``refuted`` (the check
  would not have been able to fail).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence

from modelavg_sym.runtime.pool import parallel_map
from modelavg_sym.theorems import ALL_ROUTES, Theorem, all_theorems
from modelavg_sym.verify import ROUTE_MODULES, RouteResult, run
from modelavg_sym.verify.profiles import PROFILES

#: Cell text for each status (``passed`` and ``agreed`` get details appended).
_STATUS_TEXT = {
    "proved": "proved",
    "passed": "passed",
    "agreed": "agreed within CI",
    "failed": "FAILED",
    "refuted": "REFUTED",
    "unknown": "unknown",
    "not-applicable": "n/a",
}


def select_theorems(names: Sequence[str] | None = None) -> list[Theorem]:
    """The registered theorems called ``names`` (all, in registry order, when empty)."""
    thms = all_theorems()
    if not names:
        return list(thms.values())
    missing = [n for n in names if n not in thms]
    if missing:
        raise ValueError(f"--theorem must name a registered theorem; unknown: {', '.join(missing)}")
    return [thms[n] for n in dict.fromkeys(names)]


def select_routes(routes: Sequence[str] | None = None) -> list[str]:
    """``routes`` in the canonical order (all five when empty)."""
    if not routes:
        return list(ALL_ROUTES)
    bad = sorted(set(routes) - set(ALL_ROUTES))
    if bad:
        raise ValueError(f"--route must be one of {', '.join(ALL_ROUTES)}; got {', '.join(bad)}")
    return [r for r in ALL_ROUTES if r in routes]


def run_route(thm: Theorem, route: str, profile: str = "ci",
              smt_timeout: float | None = None) -> RouteResult:
    """One route on one theorem; an exception inside a route is reported as ``failed``."""
    t0 = time.perf_counter()
    try:
        if route == "smt" and smt_timeout is not None and "smt" in thm.routes \
                and "smt" in ROUTE_MODULES:
            from modelavg_sym.verify import smt  # z3 is optional (smt extra) and slow to load

            res = smt.check(thm, profile, timeout=smt_timeout)
            res.seconds = round(time.perf_counter() - t0, 3)
        else:
            res = run(thm, route, profile)
    except Exception as exc:  # a crashing route is a failed check, not a crashed report
        res = RouteResult(thm.name, route, "failed", round(time.perf_counter() - t0, 3),
                          detail=f"{type(exc).__name__}: {exc}".splitlines()[0])
    if res.status == "not-applicable" and route in thm.routes and route not in ROUTE_MODULES:
        res.detail = res.detail or "route not installed"
    if route == "smt":
        res.extra.setdefault("false_variant", "not-applicable")
    return res


def verification_table(profile: str = "ci", theorems: Sequence[str] | None = None,
                       routes: Sequence[str] | None = None, smt_timeout: float | None = None,
                       progress: bool | None = None, jobs: int = 1) -> list[RouteResult]:
    """Run every route (or ``routes``) on every registered theorem (or ``theorems``).

    Returns one result per theorem and route, theorems in registry order and routes in
    the order ``symbolic, smt, rational, float, montecarlo``.  ``progress`` shows a
    progress bar on stderr (default: when stderr is a terminal, rich is installed and
    there are enough checks; :func:`modelavg_sym.runtime.pool.parallel_map`).
    ``jobs > 1`` runs the (theorem, route) checks in that many worker processes; the
    results and their order do not depend on it.
    """
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}; got {profile!r}")
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    thms = select_theorems(theorems)
    rts = select_routes(routes)
    tasks = [(thm.name, route) for thm in thms for route in rts]
    # fork: the workers inherit the registry as built here (theorem areas added at run
    # time included) instead of rebuilding it; every task is submitted at once, since
    # checks differ in length by orders of magnitude.
    return list(parallel_map(_run_named, len(tasks), lambda t: tasks[t],
                             shared=(profile, smt_timeout), workers=jobs, window=len(tasks),
                             start_method="fork", progress=progress, label="verifying",
                             describe=lambda t: " / ".join(tasks[t])))


def _run_named(profile: str, smt_timeout: float | None, name: str, route: str
               ) -> RouteResult:
    return run_route(all_theorems()[name], route, profile, smt_timeout)


def failures(results: Iterable[RouteResult]) -> list[str]:
    """One line per result that makes the verification fail (see the module docstring)."""
    thms = all_theorems()
    out: list[str] = []
    for res in results:
        thm = thms.get(res.theorem)
        where = f"{res.theorem} / {res.route}"
        if res.status in ("failed", "refuted"):
            out.append(f"{where}: {res.status}: {res.detail}")
        elif res.status == "unknown" and not (thm and thm.expected_unknown):
            out.append(f"{where}: unknown (not marked expected_unknown): {res.detail}")
        elif res.route == "smt" and res.status == "proved" \
                and res.extra.get("false_variant") != "refuted":
            out.append(f"{where}: false variant not refuted "
                       f"({res.extra.get('false_variant')}): {res.detail}")
    return out


def cell(res: RouteResult, with_times: bool = True) -> str:
    """Table cell for one result, e.g. ``passed (100 examples)``."""
    text = _STATUS_TEXT.get(res.status, res.status)
    if res.status == "passed" and res.examples:
        text += f" ({res.examples} examples)"
    if res.route == "smt" and res.status == "proved":
        fv = res.extra.get("false_variant")
        text += "; false variant refuted" if fv == "refuted" else f"; false variant {fv}!"
    if with_times and res.status != "not-applicable":
        text += f", {res.seconds:.2f} s"
    return text


def render_markdown(results: Sequence[RouteResult], with_times: bool = True,
                    heading: str = "##") -> str:
    """Markdown table theorem x route, then the details of anything not proved/passed
    (the one verification-table renderer: ``verify`` prints it, ``reports/report.md``
    embeds it).

    ``with_times=False`` omits timings so that the output is deterministic (for the
    committed reports).  ``heading`` marks the sections after the table (``###`` to nest
    them in a document's section).
    """
    routes = [r for r in ALL_ROUTES if any(x.route == r for x in results)]
    by_thm: dict[str, dict[str, RouteResult]] = {}
    for res in results:
        by_thm.setdefault(res.theorem, {})[res.route] = res
    lines = [
        "| theorem | " + " | ".join(routes) + " |",
        "|---|" + "---|" * len(routes),
    ]
    for name, row in by_thm.items():
        cells = [cell(row[r], with_times) if r in row else "" for r in routes]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    counts: dict[str, int] = {}
    for res in results:
        counts[res.status] = counts.get(res.status, 0) + 1
    lines += ["", "Totals: " + ", ".join(f"{k} {counts[k]}" for k in sorted(counts)) + "."]
    if with_times:
        lines[-1] += f" Total time {sum(r.seconds for r in results):.1f} s."
    bad = failures(results)
    thms = all_theorems()
    unknown = [r for r in results if r.status == "unknown"
               and r.theorem in thms and thms[r.theorem].expected_unknown]
    if bad:
        lines += ["", f"{heading} Failures", ""] + [f"- {b}" for b in bad]
    if unknown:
        lines += ["", f"{heading} Expected unknown", ""]
        lines += [f"- {r.theorem} / {r.route}: {r.detail}" for r in unknown]
    smt_rows = [r for r in results if r.route == "smt" and r.status == "proved"]
    if smt_rows:
        lines += ["", f"{heading} SMT proofs and refuted false variants", ""]
        for r in smt_rows:
            lines.append(f"- `{r.theorem}`: {r.detail}"
                         + ("" if r.extra.get("definedness", "implied") == "implied"
                            else f" (definedness {r.extra.get('definedness')})"))
    return "\n".join(lines) + "\n"


def render_json(results: Sequence[RouteResult]) -> str:
    """The results as a JSON list, one object per theorem and route."""
    return json.dumps([r.to_json() for r in results], indent=2, sort_keys=False)
