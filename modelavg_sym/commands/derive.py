"""``modelavg-sym derive SETTING.toml``: everything for the user's own setting.

Reads the setting file (:func:`modelavg_sym.derive.settingfile.load_setting`), derives s_L,
s_G, c, Delta (E[Delta^2]) and every two-estimator result, instantiates the core theorems
for it (:mod:`modelavg_sym.theorems.settingfile`), runs the verification routes, and
writes, as one atomic change under ``--out``, the derivation page (Markdown + JSON), the
LaTeX equation files and standalone ``main.tex``, the numeric module and the verification
record (:func:`modelavg_sym.artifacts.setting.setting_files`).  ``--numeric k=v ...``
evaluates the numeric module at a point (exact for rational values).

Exit codes: 0 when every claim holds; 1 when a route refutes or fails a claim (the
theorem and its counterexample are printed; the files are still written, recording it);
2 for a malformed setting file or arguments (one located line).
"""

from __future__ import annotations

import argparse
import sys
import types
from fractions import Fraction
from pathlib import Path
from typing import Any

from modelavg_sym.errors import InvalidParameterError
from modelavg_sym.theorems import ALL_ROUTES
from modelavg_sym.verify.profiles import PROFILES

_BAD = ("failed", "refuted")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("setting", metavar="SETTING.toml", help="the setting file")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="output directory (default: ./<name>-derived)")
    p.add_argument("--numeric", nargs="+", metavar="k=v", default=None,
                   help="evaluate the results at these values of the setting's symbols "
                        "(exact for integers and fractions such as 1/2)")
    p.add_argument("--profile", choices=list(PROFILES), default="ci",
                   help="examples per property test, Monte Carlo replications, SMT time "
                        "limit (default ci)")
    p.add_argument("--route", action="append", choices=list(ALL_ROUTES), default=None,
                   help="only this route (repeatable; default every route of each theorem)")
    p.add_argument("--distribution", default=None, metavar="SPEC",
                   help="Monte Carlo sample distribution, overriding the file's "
                        "(e.g. 'gamma(shape=2)')")
    p.add_argument("--notation", metavar="SPEC", default=None,
                   help="notation preset and overrides for the pages and LaTeX")


def parse_numeric(items: list[str], names: tuple[str, ...]) -> dict[str, Fraction]:
    """``k=v`` pairs as exact Fractions (``v`` an integer, decimal or fraction p/q); every
    symbol of the setting must be given exactly once, no other."""
    out: dict[str, Fraction] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InvalidParameterError("--numeric", "entries must look like name=value",
                                        f"got {item!r}")
        if key not in names:
            raise InvalidParameterError("--numeric", f"{key!r} is not a symbol of the setting "
                                        f"(symbols: {', '.join(names)})")
        try:
            out[key] = Fraction(value.strip())
        except (ValueError, ZeroDivisionError):
            raise InvalidParameterError("--numeric", f"{key} must be a number such as 3, "
                                        f"0.25 or 1/4, got {value!r}") from None
    missing = [n for n in names if n not in out]
    if missing:
        raise InvalidParameterError("--numeric", f"needs a value for {', '.join(missing)}")
    return out


def _module(source: str, name: str) -> types.ModuleType:
    mod = types.ModuleType(f"{name}_numeric")
    exec(compile(source, f"<{name}_numeric>", "exec"), mod.__dict__)
    return mod


def numbers(source: str, name: str, values: dict[str, Fraction]) -> dict[str, Fraction | int]:
    """Every result of the generated module ``source`` at ``values`` (exact)."""
    from modelavg_sym.codegen.setting import RESULTS

    mod = _module(source, name)
    args = [values[n] for n in mod.ARGUMENTS]
    out: dict[str, Fraction | int] = {}
    keys = [*RESULTS, *sorted(k for k in vars(mod) if k.startswith("nestimators_"))]
    for key in keys:
        fn = getattr(mod, key, None)
        if fn is None or key in ("mse", "benefit"):
            continue
        try:
            out[key] = fn(*args)
        except ZeroDivisionError:
            raise InvalidParameterError("--numeric", f"{key} is undefined at these values "
                                        "(division by zero)") from None
    return out


def _at(d: Any, point: dict[str, str]) -> str:
    """a* and s_L at a counterexample (exact), for the message."""
    import sympy as sp

    values = {sp.Symbol(k): sp.Rational(v) for k, v in point.items()}
    try:
        subs = {s: values[sp.Symbol(s.name)] for e in (d["optimal_weight"], d["var_local"])
                for s in e.free_symbols if sp.Symbol(s.name) in values}
        return (f", where a* = {d['optimal_weight'].subs(subs)} and "
                f"s_L = {d['var_local'].subs(subs)}")
    except (KeyError, TypeError, ValueError):
        return ""


def run(args: argparse.Namespace) -> int:
    from modelavg_sym import verify
    from modelavg_sym.artifacts import notation as nt
    from modelavg_sym.artifacts.setting import setting_files
    from modelavg_sym.derive.settingfile import load_setting, setting_derivation
    from modelavg_sym.runtime.transaction import apply_changes, locked
    from modelavg_sym.theorems.settingfile import theorems

    setting = load_setting(args.setting)
    if args.distribution is not None:
        from modelavg_sym.simulation.distributions import parse

        parse(args.distribution)  # InvalidParameterError for a bad spec
        mc = setting.options.get("montecarlo")
        if isinstance(mc, dict):
            mc["distribution"] = args.distribution
    notation = nt.parse_spec(args.notation) if args.notation is not None else nt.make()
    names = tuple(str(s) for s in setting.symbols())
    values = parse_numeric(args.numeric, names) if args.numeric is not None else None
    d = setting_derivation(setting)
    thms = theorems(setting, d)
    records: list[dict[str, Any]] = []
    failures = []
    for thm in thms:
        for route in thm.routes:
            if args.route is not None and route not in args.route:
                continue
            res = verify.run(thm, route, args.profile)
            records.append(res.to_json())
            if res.status in _BAD:
                failures.append(res)
    files = setting_files(setting, d, thms, records, notation)
    out = Path(args.out) if args.out is not None else Path(f"{setting.name}-derived")
    out.mkdir(parents=True, exist_ok=True)
    with locked(out, "derive"):
        apply_changes(out, files, [])
    ok = sum(1 for r in records if r["status"] in ("proved", "passed", "agreed"))
    print(f"{setting.title}: {len(d.results)} results, {len(thms)} theorems, "
          f"{ok}/{len(records)} checks hold; {len(files)} files in {out}")
    for key in ("var_local", "var_global", "cov", "bias_sq", "optimal_weight"):
        print(f"  {key:16s} {d[key]}")
    if values is not None:
        src = files[f"{setting.name}_numeric.py"].decode()
        for key, val in numbers(src, setting.name, values).items():
            exact = f"  ({val})" if isinstance(val, Fraction) and val.denominator != 1 else ""
            print(f"  {key:22s} {float(val):.12g}{exact}")
    for res in failures:
        ce = res.extra.get("counterexample")
        witness = (f"; counterexample {ce}{_at(d, ce)}" if isinstance(ce, dict)
                   else f"; {res.detail}")
        print(f"modelavg-sym derive: theorem {res.theorem} does not hold under the "
              f"setting's assumptions ({res.route}: {res.status}){witness}"[:600],
              file=sys.stderr)
    return 1 if failures else 0
