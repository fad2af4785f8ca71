"""Code generation (the symbolic side of the numeric layer): the forms the numeric API
evaluates, chosen from the derivation, printed into committed modules under
``modelavg_sym/numeric/`` that run without sympy (SymForce's model).

* :mod:`~modelavg_sym.codegen.forms`: the derived form of each quantity, its arguments,
  the CSE of the sources shown in ``reports/compiled/``;
* :mod:`~modelavg_sym.codegen.rounding`: correctly rounded evaluation: the exact integer
  code and the double-double code with a certified error bound;
* :mod:`~modelavg_sym.codegen.printing`: banner, constants block, CSE'd printing;
* :mod:`~modelavg_sym.codegen.python`: ``numeric/_generated.py`` (exact scalar code, numpy
  double-double code, tables);
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
