"""Verification profiles: how hard each route tries, in one place.

``ci`` is what CI and ``regenerate`` use, ``dev`` a quicker local loop, ``thorough`` a
long run before a release.  The same names are hypothesis settings profiles
(:func:`register_hypothesis_profiles`, loaded by the test suite), so the theorem routes
and the suite's own property tests scale together.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """What one profile asks of the routes.

    Attributes:
        examples: hypothesis examples per property (rational and float routes, tests).
        mc_reps: Monte Carlo replications per scenario.
        smt_timeout: seconds per z3 query.
    """

    examples: int
    mc_reps: int
    smt_timeout: float


PROFILES: dict[str, Profile] = {
    "ci": Profile(examples=100, mc_reps=200_000, smt_timeout=10.0),
    "dev": Profile(examples=50, mc_reps=400_000, smt_timeout=10.0),
    "thorough": Profile(examples=10_000, mc_reps=4_000_000, smt_timeout=60.0),
}


def register_hypothesis_profiles() -> None:
    """Register :data:`PROFILES` as hypothesis settings profiles: ``ci`` extends
    hypothesis' built-in one (derandomized, no deadline, no database); ``dev`` and
    ``thorough`` have no deadline."""
    from hypothesis import HealthCheck, settings  # (here: the CLI reads PROFILES alone)

    settings.register_profile("ci", parent=settings.get_profile("ci"),
                              max_examples=PROFILES["ci"].examples,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("dev", max_examples=PROFILES["dev"].examples, deadline=None)
    settings.register_profile("thorough", max_examples=PROFILES["thorough"].examples,
                              deadline=None, suppress_health_check=[HealthCheck.too_slow])


def selected_profile() -> str:
    """The profile the test suite runs under: ``HYPOTHESIS_PROFILE``, else ``ci`` when the
    ``CI`` environment variable is set, else ``dev``."""
    return os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")
