"""Theorems as data: the registry every verification route and every report reads.

:func:`all_theorems` is the one registry: it calls one plain list-building function per
area (:data:`AREAS`, in report order), checks each theorem (:func:`validate`) and that
names are unique, and caches each area's list.  Nothing is derived or registered when this
package is imported; the first call derives what the claims need (a few seconds).  A new
area is added by writing its ``theorems()`` function and listing it in :data:`AREAS`.

The :class:`Theorem` type and what a theorem carries for its checks (sampler, Monte Carlo
plan) are in :mod:`modelavg_sym.theorems.base`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from modelavg_sym.theorems import core, estimated, presentation, settings
from modelavg_sym.theorems.base import (
    ALL_ROUTES,
    MonteCarlo,
    ReplicationCheck,
    Replications,
    Route,
    Sampler,
    SettingSweep,
    Theorem,
    WeightSweep,
    validate,
)

__all__ = [
    "ALL_ROUTES",
    "AREAS",
    "MonteCarlo",
    "ReplicationCheck",
    "Replications",
    "Route",
    "Sampler",
    "SettingSweep",
    "Theorem",
    "WeightSweep",
    "all_theorems",
    "get",
    "result_theorems",
    "validate",
]

AreaFn = Callable[[], list[Theorem]]

#: The theorem areas, in report order: the two-estimator model (R1-R10), estimated weights,
#: then settings, N estimators and multivariate parameters.
AREAS: tuple[AreaFn, ...] = (core.theorems, estimated.theorems, settings.theorems)


@cache
def _area(build: AreaFn) -> tuple[Theorem, ...]:
    """One area's theorems, built once and checked."""
    return tuple(validate(thm) for thm in build())


@cache
def _presentation_area(areas: tuple[AreaFn, ...]) -> tuple[Theorem, ...]:
    """The ``presentation_<derivation>`` theorems over the displays of ``areas``."""
    results = [thm for build in areas for thm in _area(build)]
    return tuple(validate(thm) for thm in presentation.theorems(results))


def all_theorems() -> dict[str, Theorem]:
    """Every theorem of :data:`AREAS`, by name, in area order then list order, followed by
    the presentation theorems (:mod:`modelavg_sym.theorems.presentation`: one per
    derivation, checking that each page shows what was derived).  A new dict on each
    call; each area is built once per process."""
    out: dict[str, Theorem] = {}
    for build in AREAS:
        for thm in _area(build):
            if thm.name in out:
                raise ValueError(f"theorem name {thm.name!r} is used twice")
            out[thm.name] = thm
    for thm in _presentation_area(tuple(AREAS)):
        if thm.name in out:
            raise ValueError(f"theorem name {thm.name!r} is used twice")
        out[thm.name] = thm
    return out


def result_theorems() -> dict[str, Theorem]:
    """The theorems about the mathematics (:func:`all_theorems` without the presentation
    theorems), as the documents list them."""
    return {k: t for k, t in all_theorems().items() if t.kind == "result"}


def get(name: str) -> Theorem:
    """The theorem called ``name`` (KeyError listing the known names otherwise)."""
    thms = all_theorems()
    if name not in thms:
        raise KeyError(f"no theorem named {name!r}; known: {', '.join(thms)}")
    return thms[name]
