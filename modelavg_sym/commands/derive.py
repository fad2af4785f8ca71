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

Runs are cached by content (:class:`modelavg_sym.runtime.store.ContentStore` under
``--cache-dir``): the key hashes the setting file's text, the package's sources and setting
files, and the options that change the output, so a changed input is a new key.  A hit
writes the stored files and prints the stored report without importing sympy (``--numeric``
evaluates the stored numeric module); ``--no-cache`` derives afresh.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any

from modelavg_sym.errors import InvalidParameterError
from modelavg_sym.runtime.sources import source_hash
from modelavg_sym.runtime.store import ContentStore, stable_hash
from modelavg_sym.verify.profiles import PROFILES

_BAD = ("failed", "refuted")
#: The verification routes (``theorems.ALL_ROUTES``, spelled out so that ``--help`` and a
#: cache hit do not import sympy; tests/test_setting_file.py checks they agree) and
#: profiles (``verify.profiles`` imports neither sympy nor hypothesis).
ROUTES = ("symbolic", "smt", "rational", "float", "montecarlo")
PROFILE_NAMES = tuple(PROFILES)
#: Run as the program, end the process without the interpreter's teardown (see
#: :func:`modelavg_sym.cli._quick_exit`): derive leaves no thread or child process behind.
QUICK_EXIT = True


def default_cache_dir() -> Path:
    """``$MODELAVG_CACHE_DIR/derive``, else ``$XDG_CACHE_HOME/modelavg-sym/derive``, else
    ``~/.cache/modelavg-sym/derive``."""
    env = os.environ.get("MODELAVG_CACHE_DIR")
    if env:
        return Path(env) / "derive"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "modelavg-sym" / "derive"


def package_hash() -> str:
    """Hash of the package's Python sources and setting files (paths and contents):
    :func:`modelavg_sym.runtime.sources.source_hash`, nothing excluded."""
    return source_hash(exclude=())[:20]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("setting", metavar="SETTING.toml", help="the setting file")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="output directory (default: ./<name>-derived)")
    p.add_argument("--numeric", nargs="+", metavar="k=v", default=None,
                   help="evaluate the results at these values of the setting's symbols "
                        "(exact for integers and fractions such as 1/2)")
    p.add_argument("--profile", choices=list(PROFILE_NAMES), default="ci",
                   help="examples per property test, Monte Carlo replications, SMT time "
                        "limit (default ci)")
    p.add_argument("--route", action="append", choices=list(ROUTES), default=None,
                   help="only this route (repeatable; default every route of each theorem)")
    p.add_argument("--distribution", default=None, metavar="SPEC",
                   help="Monte Carlo sample distribution, overriding the file's "
                        "(e.g. 'gamma(shape=2)')")
    p.add_argument("--notation", metavar="SPEC", default=None,
                   help="notation preset and overrides for the pages and LaTeX")
    p.add_argument("--cache-dir", metavar="DIR", default=None,
                   help="where runs are cached by content (default: "
                        "~/.cache/modelavg-sym/derive)")
    p.add_argument("--no-cache", action="store_true", help="derive and verify afresh")


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
    mod = _module(source, name)
    args = [values[n] for n in mod.ARGUMENTS]
    out: dict[str, Fraction | int] = {}
    for key in mod.FUNCTIONS:
        fn = getattr(mod, key)
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
    path = Path(args.setting)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = None  # load_setting reports it, located
    cache_dir = Path(args.cache_dir) if args.cache_dir else default_cache_dir()
    store = ContentStore(cache_dir, ".json")
    key = None
    if text is not None and not args.no_cache:
        key = stable_hash("derive-1", text, path.stem, package_hash(), args.profile,
                          json.dumps(args.route), str(args.distribution), str(args.notation))
        hit = store.get(key)
        if hit is not None:
            return _replay(json.loads(hit), args)
    with hypothesis_home(cache_dir / "hypothesis"):
        entry = _derive(args)
    if key is not None:
        store.put(key, json.dumps(entry, sort_keys=True))
    return _replay(entry, args)


def _replay(entry: dict[str, Any], args: argparse.Namespace) -> int:
    """Write the entry's files atomically under ``--out``, print its report (and
    ``--numeric`` values from its numeric module); its exit code."""
    from modelavg_sym.runtime.transaction import apply_changes, locked

    names = tuple(entry["symbols"])
    values = parse_numeric(args.numeric, names) if args.numeric is not None else None
    files = {k: v.encode() for k, v in entry["files"].items()}
    out = Path(args.out) if args.out is not None else Path(f"{entry['name']}-derived")
    out.mkdir(parents=True, exist_ok=True)
    with locked(out, "derive"):
        apply_changes(out, files, [])
    print(entry["summary"].replace("{out}", str(out)), end="")
    if values is not None:
        src = entry["files"][f"{entry['name']}_numeric.py"]
        for k, val in numbers(src, entry["name"], values).items():
            exact = f"  ({val})" if isinstance(val, Fraction) and val.denominator != 1 else ""
            print(f"  {k:22s} {float(val):.12g}{exact}")
    for line in entry["failures"]:
        print(line, file=sys.stderr)
    return int(entry["rc"])


#: The variable that, unset, ``hypothesis_home`` sets (hypothesis reads it on first use).
_HYPOTHESIS_ENV = "HYPOTHESIS_STORAGE_DIRECTORY"


@contextmanager
def hypothesis_home(directory: Path) -> Iterator[None]:
    """Hypothesis' storage (its ``.hypothesis`` directory: cached constants, charmaps) in
    ``directory`` for the block, not in the current directory, which is the user's; as it
    was after the block, so a caller that goes on in this process (the test suite) keeps
    its own.  A ``HYPOTHESIS_STORAGE_DIRECTORY`` the user set is left to decide.

    Hypothesis is not imported for this (it costs ~0.2 s, and a run of the symbolic or SMT
    route alone never needs it): if it is loaded, its home directory is set and then
    restored (``hypothesis.configuration.set_hypothesis_home_dir``); if not, the variable
    is set for the block, and a hypothesis loaded meanwhile is reset afterwards to the
    state of a fresh import (home directory unset: the variable or ``./.hypothesis``)."""
    if os.environ.get(_HYPOTHESIS_ENV):
        yield
        return
    conf = sys.modules.get("hypothesis.configuration")
    if conf is not None:
        previous = getattr(conf, "__hypothesis_home_directory", None)
        conf.set_hypothesis_home_dir(directory)
        try:
            yield
        finally:
            conf.set_hypothesis_home_dir(previous)
        return
    os.environ[_HYPOTHESIS_ENV] = str(directory)
    try:
        yield
    finally:
        os.environ.pop(_HYPOTHESIS_ENV, None)
        conf = sys.modules.get("hypothesis.configuration")
        if conf is not None:
            conf.set_hypothesis_home_dir(None)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the block (back as it was after it)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _frozen_heap() -> Iterator[None]:
    """Everything alive now kept out of the cyclic collector's scans (``gc.freeze``) for the
    block, and back in them after it, for a caller that goes on in this process."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _derive(args: argparse.Namespace) -> dict[str, Any]:
    """Derive, verify and render: the cache entry (files as text, report, exit code)."""
    from concurrent.futures import ThreadPoolExecutor

    with _collector_paused():  # importing makes next to no garbage: ~60 ms of collections
        from modelavg_sym import verify
        from modelavg_sym.artifacts import notation as nt
        from modelavg_sym.artifacts.setting import equation_files, setting_files
        from modelavg_sym.derive.settingfile import load_setting, setting_derivation
        from modelavg_sym.theorems.settingfile import theorems

    # The modules just imported (sympy, numpy, hypothesis, ...) live as long as the run:
    # moved out of the collector's generations, the full collections that sympy's
    # allocations trigger do not walk them again and again (half the collector's time).
    with _frozen_heap():
        setting = load_setting(args.setting)
        if args.distribution is not None:
            from modelavg_sym.simulation.distributions import parse

            parse(args.distribution)  # InvalidParameterError for a bad spec
            mc = setting.options.get("montecarlo")
            if isinstance(mc, dict):
                mc["distribution"] = args.distribution
        notation = nt.parse_spec(args.notation) if args.notation is not None else nt.make()
        names = tuple(str(s) for s in setting.symbols())
        if args.numeric is not None:
            parse_numeric(args.numeric, names)  # bad values: exit 2 before the work
        d = setting_derivation(setting)
        thms = theorems(setting, d)
        todo = [(thm, route) for thm in thms for route in thm.routes
                if args.route is None or route in args.route]
        # The equation files depend on the derivation alone: made in a thread, their
        # pdflatex run (a child process) overlaps the routes instead of following them.
        with ThreadPoolExecutor(1) as pool:
            equations = pool.submit(equation_files, d, notation)
            results = verify.run_many(todo, args.profile)
            records: list[dict[str, Any]] = [res.to_json() for res in results]
            failures = [res for res in results if res.status in _BAD]
            files = setting_files(setting, d, thms, records, notation, equations.result())
        ok = sum(1 for r in records if r["status"] in ("proved", "passed", "agreed"))
        lines = [f"{setting.title}: {len(d.results)} results, {len(thms)} theorems, "
                 f"{ok}/{len(records)} checks hold; {len(files)} files in {{out}}"]
        lines += [f"  {k:16s} {d[k]}" for k in ("var_local", "var_global", "cov", "bias_sq",
                                                  "optimal_weight")]
        if not any("montecarlo" in t.routes for t in thms):
            lines.append("  (Monte Carlo route not run: the file gives no [montecarlo] values "
                         "to simulate at)")
        messages = []
        for res in failures:
            ce = res.extra.get("counterexample")
            witness = (f"; counterexample {ce}{_at(d, ce)}" if isinstance(ce, dict)
                       else f"; {res.detail}")
            messages.append(f"modelavg-sym derive: theorem {res.theorem} does not hold under the "
                            f"setting's assumptions ({res.route}: {res.status}){witness}"[:600])
        return {"name": setting.name, "symbols": list(names), "summary": "\n".join(lines) + "\n",
                "files": {k: v.decode() for k, v in files.items()}, "failures": messages,
                "rc": 1 if failures else 0}
