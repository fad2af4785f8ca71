"""Your own setting, end to end (a plain script; the test suite runs it).

    python examples/own_setting.py [OUTDIR]

1. define a setting (TOML text, as a file would hold it);
2. derive s_L, s_G, c, E[Delta^2] and a*;
3. verify the setting's theorems on the symbolic, SMT and exact-rational routes;
4. generate the numeric module and plot MSE(a) with it;
5. export one equation (a*) to a LaTeX file, line breaks measured by TeX.

Writes ``setting.toml``, ``<name>_numeric.py``, ``mse.png`` and ``optimal_weight.tex``
into OUTDIR (default ``own_setting_out``) and prints what it did.
"""

from __future__ import annotations

import importlib.util
import sys
from fractions import Fraction
from pathlib import Path

SETTING = """\
name = "two_clusters"
title = "Two clusters and a pooled global model"

[nodes]
count = 3
n = ["n_0", "n_1", "n_2"]
var = "v"
mean = "mu"
spread = "sigma**2"

[assumptions]
positive = ["n_0", "n_1", "n_2", "v", "sigma"]
real = ["mu"]

[estimators]
global = "pooled(others)"
"""


def main(out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from modelavg_sym import load_setting, verify
    from modelavg_sym.artifacts import latex
    from modelavg_sym.artifacts.notation import make
    from modelavg_sym.codegen.setting import module_source
    from modelavg_sym.derive.settingfile import setting_derivation
    from modelavg_sym.theorems.settingfile import theorems

    out.mkdir(parents=True, exist_ok=True)
    # 1. define
    path = out / "setting.toml"
    path.write_text(SETTING)
    setting = load_setting(path)
    print(repr(setting))
    # 2. derive
    d = setting_derivation(setting)
    for key in ("var_local", "var_global", "cov", "bias_sq", "optimal_weight"):
        print(f"{key:15s} {d[key]}")
    # 3. verify
    for thm in theorems(setting, d):
        for route in thm.routes:
            res = verify.run(thm, route, "dev")
            print(f"{thm.name}: {route} {res.status}")
            if res.status in ("failed", "refuted"):
                raise SystemExit(f"{thm.name} fails on {route}: {res.detail}")
    # 4. numeric module, MSE(a)
    module = out / f"{setting.name}_numeric.py"
    module.write_text(module_source(setting))
    spec = importlib.util.spec_from_file_location(module.stem, module)
    assert spec is not None and spec.loader is not None
    num = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(num)
    point = {"mu": 0, "n_0": 5, "n_1": 20, "n_2": 40, "sigma": Fraction(1, 2), "v": 4}
    args = [point[name] for name in num.ARGUMENTS]
    a_star = num.optimal_weight(*args)
    print(f"a* = {a_star} (exact), MSE(a*) = {num.min_mse(*args)}")
    weights = np.linspace(-0.25, 1.25, 301)
    fargs = [float(x) for x in args]
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(weights, num.mse(weights, *fargs), label="MSE(a)")
    ax.axvline(float(a_star), linestyle="--", label="a*")
    ax.set_xlabel("a")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "mse.png", dpi=100)
    plt.close(fig)
    # 5. one equation in LaTeX
    eq = next(e for e in latex.equations([d]) if e.result == "optimal_weight")
    (out / "optimal_weight.tex").write_text(latex.equation_file(eq, make()))
    print(f"wrote {path.name}, {module.name}, mse.png, optimal_weight.tex in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("own_setting_out"))
