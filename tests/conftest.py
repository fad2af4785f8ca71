"""Hypothesis profiles: ``ci`` (hypothesis' built-in, extended), ``dev``, ``thorough``.

Select with HYPOTHESIS_PROFILE; the default is ``ci`` under CI=true, else ``dev``.  The
example budgets are those of the verification routes (:data:`modelavg_sym.verify.PROFILES`),
so the theorem routes run by the tests and the suite's own properties scale together.
"""

import os

from hypothesis import HealthCheck, settings

from modelavg_sym.verify import PROFILES

settings.register_profile(
    "ci",
    parent=settings.get_profile("ci"),
    max_examples=PROFILES["ci"],
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=PROFILES["dev"], deadline=None)
settings.register_profile(
    "thorough",
    max_examples=PROFILES["thorough"],
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
