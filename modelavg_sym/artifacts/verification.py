"""Verification statuses for the reports, cached by content hash.

Every (theorem, route) pair is run through :func:`modelavg_sym.verify.run` once per
*content*: the cache key is a hash of the theorem's data (srepr of its assumptions, claim,
variables, routes, ...), the route, the profile and the source of the package code that
can change a verdict (every ``*.py`` file of the package, tracked by git or not, except
the presentation layers ``artifacts/`` and ``commands/``).  Timestamps play no part.
Results are looked up, in order, in the cache directory (``.modelavg-cache/verify/``)
and in the committed ``reports/verification.json`` (so a fresh clone whose artifacts are
current verifies nothing), and computed otherwise, in parallel worker processes.
Timings are dropped: they are not deterministic.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import sympy as sp

from modelavg_sym.runtime import sources
from modelavg_sym.runtime.pool import parallel_map
from modelavg_sym.runtime.store import ContentStore, stable_hash
from modelavg_sym.theorems import ALL_ROUTES, Theorem, get
from modelavg_sym.verify.report import run_route

#: The package directory whose sources key the verdicts (a test may point it elsewhere).
PACKAGE_DIR = sources.PACKAGE_DIR
_PRESENTATION = sources.PRESENTATION


def source_hash(exclude: Iterable[str] = _PRESENTATION) -> str:
    """:func:`modelavg_sym.runtime.sources.source_hash` of :data:`PACKAGE_DIR`: the
    package's ``*.py`` and ``*.toml`` files by relative path and content, minus the
    ``exclude`` subpackages."""
    return sources.source_hash(exclude, PACKAGE_DIR)


def _srepr(x: Any) -> str:
    if isinstance(x, sp.Basic):
        return sp.srepr(x)
    if isinstance(x, Mapping):
        return "{" + ",".join(f"{_srepr(k)}:{_srepr(v)}"
                              for k, v in sorted(x.items(), key=lambda kv: str(kv[0]))) + "}"
    if isinstance(x, tuple | list):
        return "(" + ",".join(_srepr(v) for v in x) + ")"
    return repr(x)


_THEOREM_HASHES: dict[int, tuple[Theorem, str]] = {}


def theorem_hash(thm: Theorem) -> str:
    """Content hash of a theorem: every field, sympy objects by srepr (memoised per
    object; theorems are frozen)."""
    hit = _THEOREM_HASHES.get(id(thm))
    if hit is not None and hit[0] is thm:
        return hit[1]
    h = _theorem_hash(thm)
    _THEOREM_HASHES[id(thm)] = (thm, h)
    return h


def _theorem_hash(thm: Theorem) -> str:
    fields = ("name", "statement", "assumptions", "claim", "variables", "routes", "source",
              "derivation", "functions", "false_variant", "expected_unknown", "witness")
    return stable_hash(*(f"{f}={_srepr(getattr(thm, f, None))}" for f in fields))


def route_names() -> list[str]:
    """Routes implemented in :data:`modelavg_sym.verify.ROUTE_MODULES`, in ALL_ROUTES order."""
    from modelavg_sym.verify import ROUTE_MODULES

    known = [r for r in ALL_ROUTES if r in ROUTE_MODULES]
    return known + sorted(set(ROUTE_MODULES) - set(known))


@cache
def _verifier_hash() -> str:
    return source_hash()


def result_key(thm: Theorem, route: str, profile: str) -> str:
    """Cache key of one verification."""
    return stable_hash(theorem_hash(thm), route, profile, _verifier_hash())


def _run_one(name: str, route: str, profile: str) -> dict[str, Any]:
    """One route on one theorem, through ``verify.report.run_route`` (the ``verify``
    command's runner: a crashing route counts as failed)."""
    res = run_route(get(name), route, profile).to_json()
    res.pop("seconds", None)
    return res


def _load_seed(paths: Iterable[Path]) -> dict[str, dict[str, Any]]:
    seed: dict[str, dict[str, Any]] = {}
    for p in paths:
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            for rec in data.get("results", []):
                if "key" in rec:
                    seed[rec["key"]] = rec
        except (OSError, ValueError, AttributeError):
            continue
    return seed


def verdict_store(cache_dir: Path) -> ContentStore:
    """The verdict cache: ``<cache_dir>/verify/<result_key>.json``."""
    return ContentStore(cache_dir / "verify", suffix=".json")


def _cached_record(store: ContentStore | None, key: str) -> dict[str, Any] | None:
    data = store.get(key) if store is not None else None
    if data is None:
        return None
    try:
        rec = json.loads(data.decode("utf-8"))
    except ValueError:  # a damaged entry (UnicodeDecodeError is a ValueError too)
        return None
    return rec if isinstance(rec, dict) else None


def verify_all(
    theorems: Mapping[str, Theorem],
    profile: str = "ci",
    cache_dir: Path | None = None,
    seed_files: Iterable[Path] = (),
    jobs: int | None = None,
    progress: Callable[[str], None] | None = None,
    compute: bool = True,
    write_cache: bool = True,
) -> list[dict[str, Any]]:
    """Status records for every (theorem, applicable implemented route), in registry order.

    Each record is ``RouteResult.to_json()`` without ``seconds`` plus its ``key``.  With
    ``compute=False`` nothing is looked up or run: every status is ``not-run``.  With
    ``write_cache=False`` the cache is read but computed results are not stored.
    """
    routes = route_names()
    wanted = [(thm, rt) for thm in theorems.values() for rt in routes if rt in thm.routes]
    if not compute:
        return [{"theorem": thm.name, "route": rt, "status": "not-run", "detail": "",
                 "examples": 0, "key": result_key(thm, rt, profile)} for thm, rt in wanted]
    seed = _load_seed(seed_files)
    store = verdict_store(cache_dir) if cache_dir is not None else None
    out: dict[str, dict[str, Any]] = {}
    todo: list[tuple[str, Theorem, str]] = []
    for thm, rt in wanted:
        key = result_key(thm, rt, profile)
        rec = _cached_record(store, key)
        if rec is None and key in seed:
            rec = seed[key]
        if rec is None:
            todo.append((key, thm, rt))
        else:
            out[key] = rec
    jobs = max(1, jobs or min(os.cpu_count() or 1, 4))
    if todo:
        if progress:
            progress(f"verifying {len(todo)} (theorem, route) pairs on {jobs} worker(s)")
        computed: list[tuple[str, dict[str, Any]]] = []
        # fork: the workers inherit the theorem registry built here (see verify.report);
        # every task is submitted at once, since checks differ greatly in length.
        results = parallel_map(_run_one, len(todo),
                               lambda t: (todo[t][1].name, todo[t][2], profile),
                               workers=min(jobs, len(todo)), window=len(todo),
                               start_method="fork", progress=False)
        for (key, thm, rt), res in zip(todo, results, strict=True):
            computed.append((key, res))
            if progress:
                progress(f"verified {thm.name} [{rt}]")
        for key, rec in computed:
            # canonical key order at every level, as when read back from the cache
            rec = json.loads(json.dumps({**rec, "key": key}, sort_keys=True))
            out[key] = rec
            if store is not None and write_cache:
                store.put(key, json.dumps(rec, sort_keys=True))
    records = []
    for thm, rt in wanted:
        key = result_key(thm, rt, profile)
        rec = dict(out[key])
        rec["key"] = key
        records.append(rec)
    return records


def to_route_results(records: Iterable[Mapping[str, Any]]) -> list[Any]:
    """The records as :class:`modelavg_sym.verify.RouteResult` objects (seconds = 0)."""
    from modelavg_sym.verify import RouteResult

    base = {"theorem", "route", "status", "seconds", "detail", "examples", "key"}
    out = []
    for rec in records:
        extra = {k: v for k, v in rec.items() if k not in base}
        out.append(RouteResult(rec["theorem"], rec["route"], rec["status"], 0.0,
                               rec.get("detail", ""), rec.get("examples", 0), extra))
    return out


def summary_status(records: Iterable[Mapping[str, Any]]) -> str:
    """One word for a theorem's records: ``failed`` if any route failed or refuted it,
    ``verified`` if some route proved/passed/agreed and none failed, else ``unverified``."""
    statuses = {r["status"] for r in records}
    if statuses & {"failed", "refuted"}:
        return "failed"
    if statuses & {"proved", "passed", "agreed"}:
        return "verified"
    return "unverified"
