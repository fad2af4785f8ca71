"""Code generation (the symbolic side of the numeric layer): the forms the numeric API
evaluates, chosen from the derivation, printed into committed modules under
``modelavg_sym/numeric/`` that run without sympy (SymForce's model).

* :mod:`~modelavg_sym.codegen.forms`: the stable form of each quantity, its arguments,
  the shared CSE, the fast-path domain;
* :mod:`~modelavg_sym.codegen.printing`: banner, constants, printing, validity checks;
* :mod:`~modelavg_sym.codegen.python`: ``numeric/_generated.py`` (scalar, numpy, exact);
* :mod:`~modelavg_sym.codegen.fused`: ``numeric/_fastkernels.py`` (numba loops);
* :mod:`~modelavg_sym.codegen.estimators`: ``numeric/_generated_estimators.py`` (the
  moments of the data estimators, risk study and matrix solvers);
* :mod:`~modelavg_sym.codegen.generate`: the paths, :func:`generated_sources`, writing.
"""

from __future__ import annotations

from modelavg_sym.codegen.forms import FUSED, SPECS, cse, forms
from modelavg_sym.codegen.generate import (
    GENERATED,
    generated_sources,
    stale_generated,
    write_generated,
)

__all__ = ["FUSED", "GENERATED", "SPECS", "cse", "forms", "generated_sources",
           "stale_generated", "write_generated"]
