"""Hypothesis profiles: ``ci`` (hypothesis' built-in, extended), ``dev``, ``thorough``.

Select with HYPOTHESIS_PROFILE; the default is ``ci`` under CI=true, else ``dev``.  The
profiles and their example budgets are those of the verification routes
(:mod:`modelavg_sym.verify.profiles`), so the theorem routes run by the tests and the
suite's own properties scale together.
"""

from hypothesis import settings

from modelavg_sym.verify.profiles import register_hypothesis_profiles, selected_profile

register_hypothesis_profiles()
settings.load_profile(selected_profile())
