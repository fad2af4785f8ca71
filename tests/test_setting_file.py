"""Setting files end to end: a file the test writes derives, verifies on every route,
compiles to LaTeX and yields a numeric module that agrees exactly with the symbolic
results; malformed files give one located line and exit 2; a setting whose assumptions
make a core theorem false gives exit 1 with a verified counterexample."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path
from types import ModuleType

import pytest
import sympy as sp
from hypothesis import given, settings

from modelavg_sym import load_setting
from modelavg_sym.cli import main
from modelavg_sym.derive.settingfile import SettingFileError, locate
from modelavg_sym.symbols import a
from modelavg_sym.verify.strategies import setting_params

#: Three clusters of nodes (each node a cluster mean), random effects of variance
#: sigma^2, the global model pooled over the other clusters.
THREE_CLUSTERS = textwrap.dedent("""\
    title = "Three clusters with a random-effects spread"

    [nodes]
    count = 3
    n = "n_i"
    var = "v_i"
    mean = "mu"
    spread = "sigma**2"

    [assumptions]
    positive = ["n_i", "v_i", "sigma"]
    real = ["mu"]
    integer = ["n_i"]
    relations = ["n_0 < n_1"]

    [estimators]
    global = "pooled(others)"

    [montecarlo]
    distribution = "gamma(shape=2, scale=1)"
    values = { n_0 = 3, n_1 = 5, n_2 = 8, v_i = 2, mu = 1, sigma = "1/2" }
    """)

#: The "global" model reuses the local data: c = 2 s_L > s_L, so a* < 0.
CORRELATED = textwrap.dedent("""\
    title = "A global model built from the local data"

    [nodes]
    count = 2
    n = ["n_0", "n_1"]
    var = "v"
    mean = "mu"

    [assumptions]
    positive = ["n_0", "n_1", "v"]
    real = ["mu"]

    [estimators]
    global = "2*xbar_0 - xbar_1"
    """)


@pytest.fixture(scope="module")
def derived(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    """(setting file, output directory, exit code) of one ``derive`` run."""
    root = tmp_path_factory.mktemp("three")
    path = root / "three_clusters.toml"
    path.write_text(THREE_CLUSTERS)
    out = root / "out"
    rc = main(["derive", str(path), "--out", str(out), "--no-cache"])
    return path, out, rc


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELAVG_CACHE_DIR", str(tmp_path / "cache"))


def _module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_three_clusters_derive_and_verify_on_every_route(derived: tuple[Path, Path, int]
                                                         ) -> None:
    _path, out, rc = derived
    assert rc == 0
    records = json.loads((out / "verification.json").read_text())
    assert {r["route"] for r in records} == {"symbolic", "smt", "rational", "montecarlo"}
    bad = [(r["theorem"], r["route"], r["status"]) for r in records
           if r["status"] not in ("proved", "passed", "agreed")]
    assert not bad
    names = {r["theorem"] for r in records}
    assert "setting_three_clusters_positive_weight_iff_local_variance" in names
    assert "setting_three_clusters_optimal_weight_in_unit_interval" in names
    assert "presentation_setting_three_clusters" in names
    page = (out / "setting_three_clusters.md").read_text()
    # the page names the moments first, then writes a* through them
    assert page.index("{s_L} = ") < page.index("{a}^{*} = \\frac{{s_L}}{D}")
    assert "\\operatorname{E}[{\\Delta}^{2}]" in page
    assert "see [latex](latex/)" in page and "reports/latex" not in page
    rec = json.loads((out / "setting_three_clusters.json").read_text())
    assert rec["name"] == "setting_three_clusters"
    for variant in ("", "-star", "-body"):
        assert (out / "latex/equations/setting_three_clusters"
                / f"optimal_weight{variant}.tex").exists()


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_three_clusters_main_tex_compiles(derived: tuple[Path, Path, int],
                                          tmp_path: Path) -> None:
    _path, out, _rc = derived
    work = tmp_path / "latex"
    shutil.copytree(out / "latex", work)
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                           "main.tex"], cwd=work, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert (work / "main.pdf").stat().st_size > 0


def test_numeric_module_needs_no_sympy(derived: tuple[Path, Path, int]) -> None:
    _path, out, _rc = derived
    module = str(out / "three_clusters_numeric.py")
    code = ("import importlib.util, sys\n"
            f"spec = importlib.util.spec_from_file_location('m', {module!r})\n"
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
            "from fractions import Fraction\n"
            "print(m.optimal_weight(*[Fraction(k + 3) for k in range(len(m.ARGUMENTS))]))\n"
            "assert 'sympy' not in sys.modules\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr


SETTING = load_setting({"nodes": {"count": 3, "n": "n_i", "var": "v_i", "mean": "mu",
                                  "spread": "sigma**2"},
                        "assumptions": {"positive": ["n_i", "v_i", "sigma"], "real": ["mu"],
                                        "integer": ["n_i"], "relations": ["n_0 < n_1"]},
                        "estimators": {"global": "pooled(others)"}})
DERIVED = SETTING.derivation(simplify=False)
KEYS = ("var_local", "var_global", "cov", "bias_sq", "D", "optimal_weight", "min_mse",
        "mse_local", "mse_global", "personalization_value")


@settings(max_examples=30, deadline=None)
@given(setting_params(SETTING, extra=(a,)))
def test_numeric_module_agrees_exactly_with_the_symbolic_results(point: dict) -> None:
    mod = _numeric_module()
    args = [Fraction(int(point[s].p), int(point[s].q)) for s in SETTING.symbols()]
    for key in KEYS:
        assert getattr(mod, key)(*args) == Fraction(str(DERIVED[key].subs(point))), key
    w = Fraction(int(point[a].p), int(point[a].q))
    assert mod.mse(w, *args) == Fraction(str(DERIVED["mse"].subs(point)))
    assert mod.benefit(w, *args) == Fraction(str(DERIVED["benefit"].subs(point)))
    assert isinstance(mod.optimal_weight(*[float(x) for x in args]), float)


_CACHE: dict[str, ModuleType] = {}


def _numeric_module() -> ModuleType:
    if "m" not in _CACHE:
        from modelavg_sym.codegen.setting import module_source

        mod = ModuleType("setting_numeric")
        exec(compile(module_source(SETTING), "<setting_numeric>", "exec"), mod.__dict__)
        _CACHE["m"] = mod
    return _CACHE["m"]


@settings(max_examples=50, deadline=None)
@given(setting_params(SETTING))
def test_setting_params_respect_the_assumptions(point: dict) -> None:
    n0, n1 = (point[s] for s in SETTING.symbols() if str(s) in ("n_0", "n_1"))
    assert n0 < n1
    for s in SETTING.symbols():
        if s.is_positive:
            assert point[s] > 0
        if s.is_integer:
            assert point[s].is_Integer


# ------------------------------------------------------------------------- malformed files

MALFORMED = {
    "unknown key": (('spread = "sigma**2"', 'spread = "sigma**2"\nspred = 3'), 9,
                    "nodes.spred: unknown key"),
    "wrong type": (("count = 3", "count = 3.5"), 4, "nodes.count: must be an integer"),
    "undefined symbol": (('mean = "mu"', 'mean = "mu + tau"'), 7,
                         "nodes.mean: undefined symbol 'tau'"),
    "non-linear estimator": (('global = "pooled(others)"', 'global = "xbar_1 * xbar_2"'), 17,
                             "estimators.global: non-linear in the node means"),
    "local not unbiased": (('global = "pooled(others)"',
                            'global = "pooled(others)"\nlocal = "xbar_1"'), 18,
                           "estimators.local: the local estimator must be unbiased"),
    "invalid TOML": (("count = 3", "count = = 3"), 4, "invalid TOML"),
    "undefined symbol in a relation": (('relations = ["n_0 < n_1"]',
                                        'relations = ["n_0 < m"]'), 14,
                                       "assumptions.relations: undefined symbol 'm'"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_file_one_located_line_exit_2(case: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    (old, new), line, message = MALFORMED[case]
    assert old in THREE_CLUSTERS
    path = tmp_path / "bad.toml"
    path.write_text(THREE_CLUSTERS.replace(old, new))
    rc = main(["derive", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1, err
    assert f"{path}:{line}: " in err and message in err, err
    assert not (tmp_path / "out").exists()
    with pytest.raises(SettingFileError) as info:
        load_setting(path)
    assert info.value.line == line and isinstance(info.value, ValueError)


def test_locate_finds_keys_under_their_table() -> None:
    src = "a = 1\n[nodes]\ncount = 3\n[estimators]\nglobal = 'x'\ncount = 2\n"
    assert locate(src, "nodes.count") == 3
    assert locate(src, "estimators.global") == 5
    assert locate(src, "estimators.count") == 6
    assert locate(src, "estimators") == 4


# ------------------------------------------------------------------- a falsified theorem


def test_correlated_global_model_exit_1_with_counterexample(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "correlated.toml"
    path.write_text(CORRELATED)
    rc = main(["derive", str(path), "--out", str(tmp_path / "out"), "--route", "smt"])
    err = capsys.readouterr().err
    assert rc == 1
    line = next(x for x in err.splitlines() if "(smt: refuted)" in x)
    assert "setting_correlated_positive_weight_iff_local_variance" in line
    # the witness, checked here independently: s_L > 0 and yet a* < 0
    raw = line.split("counterexample ", 1)[1].split("}", 1)[0] + "}"
    point = {sp.Symbol(k, positive=True): sp.Rational(v)
             for k, v in json.loads(raw.replace("'", '"')).items()}
    d = load_setting(path).derivation()
    assert d["var_local"].subs(point) > 0
    assert d["optimal_weight"].subs(point) < 0
    records = json.loads((tmp_path / "out" / "verification.json").read_text())
    assert any(r["status"] == "refuted" for r in records)


def test_shared_rational_runs_see_the_points_and_give_the_results_of_runs_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelavg_sym.derive.settingfile import setting_derivation
    from modelavg_sym.theorems.settingfile import theorems
    from modelavg_sym.verify import rational

    path = tmp_path / "correlated.toml"
    path.write_text(CORRELATED)  # one theorem of the shared sampler fails
    setting = load_setting(path)
    thms = [t for t in theorems(setting, setting_derivation(setting))
            if "rational" in t.routes]
    assert len({id(t.sampler) for t in thms}) < len(thms)  # some share their sampler
    seen: dict[str, list[dict]] = {}
    claim = rational.check_claim

    def spy(thm, point, c=None):  # type: ignore[no-untyped-def]
        seen.setdefault(thm.name, []).append(point)
        return claim(thm, point, c)

    runs = []
    examples = rational._examples

    def count(*args):  # type: ignore[no-untyped-def]
        runs.append(args[0])
        return examples(*args)

    monkeypatch.setattr(rational, "check_claim", spy)
    monkeypatch.setattr(rational, "_examples", count)
    alone = [rational.check(t, "dev") for t in thms]
    points_alone, seen = seen, {}
    del runs[:]
    together = rational.check_many(thms, "dev")
    # the three theorems without the weight in one run; the failing one again alone
    assert len(thms) == 4 and len(runs) == 3
    assert [(r.theorem, r.status, r.examples, r.detail) for r in together] == \
        [(r.theorem, r.status, r.examples, r.detail) for r in alone]
    assert [r.status for r in together].count("failed") == 1
    for t, r in zip(thms, alone, strict=True):
        if r.status == "passed":  # checked at exactly the points of its run alone
            assert seen[t.name] == points_alone[t.name]


def test_numeric_option_prints_exact_values(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "correlated.toml"
    path.write_text(CORRELATED)
    rc = main(["derive", str(path), "--out", str(tmp_path / "out"), "--route", "symbolic",
               "--numeric", "n_0=1", "n_1=1", "v=1", "mu=0"])
    out = capsys.readouterr().out
    assert rc == 0
    # a* = (s_L - c)/D with s_L = 1, c = 2, s_G = 5: (1 - 2)/(1 + 5 - 4) = -1/2
    assert "optimal_weight" in out and "(-1/2)" in out
    rc = main(["derive", str(path), "--out", str(tmp_path / "out"), "--numeric", "n_0=1"])
    assert rc == 2


def test_reprs_are_short_and_render() -> None:
    assert repr(SETTING) == "Setting('user', nodes=3, random_means=True)"
    d = SETTING.derivation()
    assert len(repr(d)) < 80
    assert d._repr_latex_().startswith("$\\begin{aligned}")
    assert "s_{L}" in SETTING._repr_latex_()
    assert "**" in SETTING._repr_markdown_()


def test_theorem_and_route_result_reprs() -> None:
    from modelavg_sym.theorems.settingfile import theorems
    from modelavg_sym.verify import RouteResult

    thm = theorems(SETTING, load_setting_derivation())[1]
    assert repr(thm) == ("Theorem('setting_user_positive_weight_iff_local_variance', "
                         "routes=['smt', 'rational'])")
    assert thm._repr_latex_().startswith("$") and "Assumptions" in thm._repr_markdown_()
    res = RouteResult(thm.name, "smt", "proved", detail="unsat")
    assert repr(res) == f"RouteResult({thm.name!r}, 'smt', 'proved')"
    assert "**proved**" in res._repr_markdown_()


def load_setting_derivation():
    from modelavg_sym.derive.settingfile import setting_derivation

    return setting_derivation(SETTING)


def test_candidate_estimators_give_the_n_estimator_optimum() -> None:
    from modelavg_sym import verify
    from modelavg_sym.derive.settingfile import setting_derivation
    from modelavg_sym.theorems.settingfile import theorems

    setting = load_setting({
        "nodes": {"count": 3, "n": "n_i", "var": "v", "mean": "mu", "spread": "sigma**2"},
        "assumptions": {"positive": ["n_i", "v", "sigma"], "real": ["mu"]},
        "estimators": {"global": "pooled(others)",
                       "candidates": {"everyone": "uniform(all)"}}})
    d = setting_derivation(setting)
    weights = [d[f"nestimators_weight_{j}"] for j in range(3)]
    assert sp.simplify(sum(weights) - 1) == 0
    point = {s: v for s, v in zip(setting.symbols(),
                                  [0, 2, 5, 9, 1, 1], strict=True)}  # mu, n_0..n_2, sigma, v
    assert d["nestimators_min_mse"].subs(point) == sp.Rational(41, 108)
    assert d["min_mse"].subs(point) == sp.Rational(79, 207)
    # the minimum is w' M w at the derived weights
    M = setting.second_moments().subs(point)
    w = sp.Matrix([x.subs(point) for x in weights])
    assert (w.T * M * w)[0, 0] == sp.Rational(41, 108)
    thm = next(t for t in theorems(setting, d) if t.name.endswith("candidates_never_hurt"))
    assert verify.run(thm, "smt", "ci").status == "proved"


def test_a_cached_run_writes_the_same_files_without_sympy(tmp_path: Path) -> None:
    path = tmp_path / "correlated.toml"
    path.write_text(CORRELATED)
    cache = tmp_path / "store"
    first, second = tmp_path / "first", tmp_path / "second"
    args = ["--route", "symbolic", "--cache-dir", str(cache)]
    assert main(["derive", str(path), "--out", str(first), *args]) == 0
    code = ("import sys\nfrom modelavg_sym.cli import main\n"
            f"rc = main(['derive', {str(path)!r}, '--out', {str(second)!r}, "
            f"'--route', 'symbolic', '--cache-dir', {str(cache)!r}, '--numeric', 'n_0=1', "
            "'n_1=1', 'v=1', 'mu=0'])\n"
            "assert rc == 0 and 'sympy' not in sys.modules, rc\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "(-1/2)" in proc.stdout
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for rel in files:
        assert (first / rel).read_bytes() == (second / rel).read_bytes()


def test_the_command_spells_out_the_routes_and_profiles() -> None:
    from modelavg_sym.commands.derive import PROFILE_NAMES, ROUTES
    from modelavg_sym.theorems import ALL_ROUTES
    from modelavg_sym.verify.profiles import PROFILES

    assert ROUTES == ALL_ROUTES
    assert set(PROFILE_NAMES) == set(PROFILES)


def test_setting_monte_carlo_agrees_and_rejects_a_wrong_formula(tmp_path: Path) -> None:
    from modelavg_sym.derive.settingfile import setting_derivation
    from modelavg_sym.theorems.settingfile import theorems
    from modelavg_sym.verify import montecarlo

    path = tmp_path / "three_clusters.toml"
    path.write_text(THREE_CLUSTERS)
    setting = load_setting(path)
    thm = theorems(setting, setting_derivation(setting))[0]
    assert thm.montecarlo is not None and "montecarlo" in thm.routes
    assert montecarlo.check(thm, "ci").status == "agreed"
    # dropping the random-effects term E[Delta^2] from the MSE must be caught
    wrong = thm.claim.lhs.subs(sp.Symbol("sigma", positive=True), 0)
    assert montecarlo.check(thm, "ci", formula=wrong).status == "failed"


def test_derive_writes_no_hypothesis_directory_into_the_working_directory(
        tmp_path: Path) -> None:
    """Run as the program in the user's directory, derive keeps hypothesis' storage (its
    cached constants) under its own cache directory: no ``.hypothesis`` in the cwd."""
    path = tmp_path / "correlated.toml"
    path.write_text(CORRELATED)
    cwd, cache = tmp_path / "cwd", tmp_path / "store"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_STORAGE_DIRECTORY"}
    proc = subprocess.run([sys.executable, "-m", "modelavg_sym", "derive", str(path), "--out",
                           "out", "--route", "rational", "--cache-dir", str(cache)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr  # (1: this setting refutes a claim)
    assert (cwd / "out").is_dir()
    assert sorted(p.name for p in cwd.iterdir()) == ["out"]
    assert (cache / "hypothesis").is_dir()  # hypothesis did store something, there


def test_derive_in_process_restores_the_hypothesis_home(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    """Run in-process (as the suite does), derive puts hypothesis' home directory back as
    it was, so the process's other property tests keep theirs."""
    from hypothesis import configuration

    monkeypatch.delenv("HYPOTHESIS_STORAGE_DIRECTORY", raising=False)
    path = tmp_path / "correlated.toml"
    path.write_text(CORRELATED)
    name = "__hypothesis_home_directory"  # (hypothesis has no getter)
    previous = getattr(configuration, name, None)
    mine = tmp_path / "home"
    configuration.set_hypothesis_home_dir(mine)
    try:
        rc = main(["derive", str(path), "--out", str(tmp_path / "out"), "--route", "rational",
                   "--no-cache"])
        assert rc in (0, 1)
        assert configuration.storage_directory("x", intent_to_write=False).home_directory == mine
    finally:
        configuration.set_hypothesis_home_dir(previous)
