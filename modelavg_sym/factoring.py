"""Deterministic multivariate factoring: sympy's ``factor`` with fixed evaluation points.

sympy factors a multivariate polynomial over the integers by Wang's EEZ algorithm
(``sympy.polys.factortools.dmp_zz_wang``), which evaluates all variables but one at
random integer points and lifts the univariate factors back.  The points come from
sympy's module-level random generator, seeded afresh in every process, and a few choices
make the Hensel lifting take minutes instead of milliseconds (sympy issue #20456, open):
for one N-estimator optimum here, about 1.5% of processes hung in ``tidy``.  The
factorisation itself is unique, so only the time depends on the points.

:func:`install` (run when :mod:`modelavg_sym.symbols` is imported, so before any symbolic
work of the package) makes each ``dmp_zz_wang`` call draw its points from a generator
seeded with :data:`SEED`, as sympy does when its ``seed`` argument is given: the same
polynomial then takes the same time in every run, and the package's own derivations
(``regenerate``, the tests) are checked in CI to run quickly with it.  A new setting could
still meet slow points; ``MODELAVG_SYM_FACTOR_SEED=<int>`` chooses other ones.  A call
that passes its own ``seed`` keeps it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from sympy.polys import factortools

#: Seed of the evaluation points of each multivariate factorisation (environment variable
#: MODELAVG_SYM_FACTOR_SEED, an integer, overrides it).
SEED = 0

_sympy_randint: Callable[..., Any] = factortools._randint


def seed() -> int:
    """The seed in use: MODELAVG_SYM_FACTOR_SEED if set (an integer), else :data:`SEED`."""
    raw = os.environ.get("MODELAVG_SYM_FACTOR_SEED", "").strip()
    if not raw:
        return SEED
    try:
        return int(raw)
    except ValueError:
        raise ValueError(
            f"MODELAVG_SYM_FACTOR_SEED must be an integer, got {raw!r}") from None


def _seeded_randint(seed_arg: Any = None) -> Callable[[int, int], int]:
    """sympy's ``_randint`` with a fixed seed where the caller gives none."""
    return _sympy_randint(seed() if seed_arg is None else seed_arg)


def install() -> None:
    """Make sympy's Wang factoring draw its evaluation points from :func:`seed` (idempotent)."""
    seed()  # a malformed MODELAVG_SYM_FACTOR_SEED is reported at once
    factortools._randint = _seeded_randint
