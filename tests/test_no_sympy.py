"""The numeric API runs without the symbolic engine (issue 10, issue 13 item 1).

A fresh interpreter imports the package, asks one-number and array questions (scalar path,
fused path, exact fallback), touches ``personalize``, and must not have loaded sympy, nor
any package module outside the layers allowed at run time.
"""

from __future__ import annotations

import json
import subprocess
import sys

#: Package modules a numeric call may load: the package itself and the numeric layer with
#: the layers below it (numeric > data > runtime > errors).  Everything else (symbols,
#: algebra, derive, theorems, codegen, verify, ...) imports sympy.
ALLOWED_PREFIXES = ("modelavg_sym.numeric", "modelavg_sym.data", "modelavg_sym.runtime",
                    "modelavg_sym.errors")

PROGRAM = """
import json, sys
import numpy as np
import modelavg_sym as m
m.optimal_weight(1, 0.5, 0.3)                   # scalar path
m.mse(0.2, 1, 1, 0, 1)
m.optimal_weight(np.ones(10**5), 0.5, 0.3)      # fused (numba) or reference array path
m.min_mse(1e-300, 1, 1e-200, 0)                 # exact Fraction fallback
m.personalize
print(json.dumps({"sympy": "sympy" in sys.modules,
                  "package": sorted(k for k in sys.modules if k.startswith("modelavg_sym"))}))
"""


def _loaded() -> dict:
    out = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                         check=True, timeout=300)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_numeric_calls_never_import_sympy() -> None:
    loaded = _loaded()
    outside = [k for k in loaded["package"]
               if k != "modelavg_sym" and not k.startswith(ALLOWED_PREFIXES)]
    assert outside == [], f"numeric calls loaded symbolic modules: {outside}"
    assert loaded["sympy"] is False


COMMANDS = """
import contextlib, io, json, sys
from modelavg_sym.cli import main
codes = []
for argv in (["simulate", "--local", "normal(0, 1)", "--n-local", "10", "--global",
              "gamma(2, 1)", "--n-global", "100", "--node", "poisson(3)", "30",
              "--include-local", "--uniform", "--reps", "2000", "--json"],
             ["sweep", "--json"]):
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            codes.append(main(argv) or 0)
        except SystemExit as exc:
            codes.append(exc.code)
print(json.dumps({"codes": codes, "sympy": "sympy" in sys.modules}))
"""


def test_simulate_and_sweep_never_import_sympy() -> None:
    """``simulate`` and ``sweep`` run without the symbolic engine (issue 13 item 1): the
    simulation's true moments are computed by linearity in exact rationals.  (Before, the
    truth went through the sympy-based :mod:`modelavg_sym.algebra.moments` and both
    commands loaded sympy.)"""
    out = subprocess.run([sys.executable, "-c", COMMANDS], capture_output=True, text=True,
                         check=True, timeout=300)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded["codes"] == [0, 0], out.stderr[-2000:]
    assert loaded["sympy"] is False
