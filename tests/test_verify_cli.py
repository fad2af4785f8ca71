"""``modelavg-sym verify``: JSON shape, the Markdown table, and the exit code."""

from __future__ import annotations

import json

import pytest
import sympy as sp

from modelavg_sym import theorems
from modelavg_sym.cli import main
from modelavg_sym.theorems import ALL_ROUTES, Theorem, all_theorems
from modelavg_sym.verify import RouteResult
from modelavg_sym.verify.report import failures, render_markdown, verification_table

x = sp.Symbol("x", real=True)
HEADLINE = "headline_positive_weight_helps"


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["verify", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def extra_theorem(monkeypatch):
    """Temporarily add a theorem area holding the theorems made by ``add`` (a later one
    replaces an earlier one of the same name; the registry's areas are restored after the
    test)."""
    areas = theorems.AREAS
    added: dict[str, Theorem] = {}

    def add(**kw) -> Theorem:
        kw.setdefault("statement", "test theorem")
        kw.setdefault("variables", (x,))
        kw.setdefault("routes", ("smt",))
        thm = Theorem(**kw)
        added[thm.name] = thm
        extra = list(added.values())
        monkeypatch.setattr(theorems, "AREAS", (*areas, lambda: list(extra)))
        return thm

    return add


def test_json_all_five_routes_per_theorem(capsys, extra_theorem):
    no_smt = extra_theorem(name="tmp_symbolic_only", assumptions=(),
                           claim=sp.Eq((x + 1) ** 2, x**2 + 2 * x + 1, evaluate=False),
                           routes=("symbolic",)).name
    names = [HEADLINE, no_smt]
    code, out, _ = run_cli(capsys, "--json", *(f"--theorem={n}" for n in names))
    assert code == 0
    rows = json.loads(out)
    assert [(r["theorem"], r["route"]) for r in rows] == [(n, r) for n in names for r in ALL_ROUTES]
    for row in rows:
        assert {"theorem", "route", "status", "seconds"} <= set(row)
        assert row["status"] in ("proved", "passed", "agreed", "failed", "refuted", "unknown",
                                 "not-applicable")
        assert isinstance(row["seconds"], float)
        if row["route"] == "smt":
            assert "false_variant" in row
    by = {(r["theorem"], r["route"]): r for r in rows}
    assert by[HEADLINE, "smt"]["status"] == "proved"
    assert by[HEADLINE, "smt"]["false_variant"] == "refuted"
    assert by[no_smt, "smt"]["status"] == "not-applicable"
    assert by[no_smt, "smt"]["false_variant"] == "not-applicable"
    assert by[HEADLINE, "rational"]["status"] == "passed"


@pytest.mark.slow
def test_every_registered_theorem_listed_and_smt_proved(capsys):
    code, out, _ = run_cli(capsys, "--json", "--route", "smt")
    rows = json.loads(out)
    assert [r["theorem"] for r in rows] == list(all_theorems())
    assert all(r["route"] == "smt" for r in rows)
    for r in rows:
        thm = all_theorems()[r["theorem"]]
        if "smt" not in thm.routes:
            assert r["status"] == "not-applicable"
        elif not thm.expected_unknown:
            assert (r["status"], r["false_variant"]) == ("proved", "refuted"), r
    assert code == 0


def test_markdown_table(capsys):
    code, out, _ = run_cli(capsys, "--theorem", HEADLINE, "--route", "smt", "--route", "symbolic")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "| theorem | symbolic | smt |"
    assert lines[2].startswith(f"| `{HEADLINE}` | n/a | proved; false variant refuted, ")
    assert lines[2].endswith(" s |")


def test_markdown_without_times_is_deterministic():
    res = verification_table("ci", [HEADLINE, "D_nonnegative"], ["smt", "symbolic"])
    md = render_markdown(res, with_times=False)
    assert md == render_markdown(verification_table("ci", [HEADLINE, "D_nonnegative"],
                                                    ["smt", "symbolic"]), with_times=False)
    assert " s |" not in md and "Total time" not in md
    assert f"| `{HEADLINE}` | n/a | proved; false variant refuted |" in md


def test_refuted_theorem_exits_1(capsys, extra_theorem):
    extra_theorem(name="zz_false", assumptions=(x > 0,), claim=x > 1)
    code, out, err = run_cli(capsys, "--json", "--theorem", "zz_false")
    rows = json.loads(out)
    smt_row = next(r for r in rows if r["route"] == "smt")
    assert smt_row["status"] == "refuted"
    assert 0 < sp.Rational(smt_row["counterexample"]["x"]) <= 1
    assert code == 1 and "failed" in err


def test_unknown_exits_1_unless_expected(capsys, extra_theorem):
    extra_theorem(name="zz_unknown", assumptions=(), claim=sp.exp(x) >= x + 1)
    code, out, _ = run_cli(capsys, "--json", "--theorem", "zz_unknown", "--route", "smt")
    assert json.loads(out)[0]["status"] == "unknown"
    assert code == 1
    extra_theorem(name="zz_unknown", assumptions=(), claim=sp.exp(x) >= x + 1,
                  expected_unknown="transcendental")
    code, out, _ = run_cli(capsys, "--theorem", "zz_unknown", "--route", "smt")
    assert code == 0
    assert "Expected unknown" in out and "zz_unknown" in out


def test_timeout_option_gives_unknown(capsys, extra_theorem):
    y, z, w = sp.symbols("y z w", real=True)
    motzkin = x**4 * y**2 + x**2 * y**4 - 3 * x**2 * y**2 * z**2 + z**6
    extra_theorem(name="zz_hard", assumptions=(), variables=(x, y, z, w),
                  claim=motzkin * (w**2 + 1) + (x - w) ** 2 * (y - z) ** 2 >= 0)
    code, out, _ = run_cli(capsys, "--json", "--theorem", "zz_hard", "--route", "smt",
                           "--smt-timeout", "0.05")
    row = json.loads(out)[0]
    assert (row["status"], row["timeout"]) == ("unknown", 0.05)
    assert code == 1


def test_false_variant_not_refuted_fails(capsys, extra_theorem):
    # The false variant drops x > 0, but x^2 + 1 > 0 holds anyway: the proof could not fail.
    extra_theorem(name="zz_weak", assumptions=(x > 0,),
                  claim=sp.Gt(x**2 + 1, 0, evaluate=False))  # unevaluated: not just True
    code, out, err = run_cli(capsys, "--json", "--theorem", "zz_weak", "--route", "smt")
    row = json.loads(out)[0]
    assert (row["status"], row["false_variant"]) == ("proved", "proved")
    assert code == 1 and "1 check(s) failed" in err


def test_crashing_route_is_failed(monkeypatch):
    from modelavg_sym.verify import smt

    def boom(thm, profile="ci", timeout=None):
        raise RuntimeError("boom")

    monkeypatch.setattr(smt, "check", boom)
    res = verification_table("ci", [HEADLINE], ["smt"])
    assert res[0].status == "failed" and "boom" in res[0].detail
    assert failures(res)


def test_failures_rules():
    ok = RouteResult(HEADLINE, "smt", "proved", extra={"false_variant": "refuted"})
    assert failures([ok, RouteResult(HEADLINE, "rational", "passed", examples=3),
                     RouteResult(HEADLINE, "montecarlo", "agreed"),
                     RouteResult("mse_global", "smt", "not-applicable")]) == []
    assert failures([RouteResult(HEADLINE, "float", "failed")])
    assert failures([RouteResult(HEADLINE, "smt", "unknown")])


@pytest.mark.parametrize("argv", [["--theorem", "no_such_theorem"], ["--smt-timeout", "0"],
                                  ["--route", "bogus"], ["--profile", "nope"], ["--jobs", "0"]])
def test_bad_arguments_exit_2(capsys, argv):
    code = None
    try:
        code = main(["verify", *argv])
    except SystemExit as exc:  # argparse choices
        code = exc.code
    _, err = capsys.readouterr()
    assert code == 2
    assert len(err.strip().splitlines()) == 1


def test_parallel_jobs_give_the_same_table():
    names = [HEADLINE, "D_nonnegative", "mse_global"]
    serial = verification_table("ci", names, ["symbolic", "smt"])
    parallel = verification_table("ci", names, ["symbolic", "smt"], jobs=2, progress=True)
    assert render_markdown(serial, with_times=False) == render_markdown(parallel, with_times=False)
    with pytest.raises(ValueError, match="jobs"):
        verification_table("ci", names, ["smt"], jobs=0)
