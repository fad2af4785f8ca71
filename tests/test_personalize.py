"""personalize: estimators against hand references, inputs, malformed files, CLI."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

import modelavg_sym
from modelavg_sym.algebra.moments import CovarianceTable, RandomAffine, second_moment, variance
from modelavg_sym.cli import main
from modelavg_sym.errors import DataError, InvalidParameterError
from modelavg_sym.numeric.personalize import (
    COLUMNS,
    METHODS,
    estimate_weights,
    personalize,
    tau2_dersimonian_laird,
)

DATA = {"a": [1, 2, 4], "b": [3, 5], "c": [10, 11, 9, 12]}
DATA5 = {"n1": [1.0, 2.0, 3.5], "n2": [2.5, 3.0], "n3": [0.5, 1.5, 1.0, 2.0],
         "n4": [4.0, 2.0, 3.0], "n5": [2.0, 2.2, 1.8, 2.4, 2.1]}


# ------------------------------------------------------------- independent references


def _summ(values: list[float]) -> tuple[int, Fraction, Fraction]:
    xs = [Fraction(v) for v in values]
    n = len(xs)
    mean = sum(xs) / n
    return n, mean, sum((x - mean) ** 2 for x in xs) / (n - 1)


def _reference(data: dict[str, list[float]], method: str) -> dict[str, dict[str, float]]:
    """Plain-Python, node-by-node reference (hand formulas, written independently)."""
    summ = {k: _summ(v) for k, v in data.items()}
    k = len(summ)
    nodes = sorted(summ)
    # DerSimonian-Laird by explicit loops
    y = [float(summ[j][1]) for j in nodes]
    s2 = [float(summ[j][2] / summ[j][0]) for j in nodes]
    w = [1 / v for v in s2]
    yw = sum(wi * yi for wi, yi in zip(w, y, strict=True)) / sum(w)
    qs = sum(wi * (yi - yw) ** 2 for wi, yi in zip(w, y, strict=True))
    tau2 = max(0.0, (qs - (k - 1)) / (sum(w) - sum(wi * wi for wi in w) / sum(w)))
    out = {}
    n_all = sum(summ[j][0] for j in nodes)
    grand = sum(summ[j][0] * float(summ[j][1]) for j in nodes) / n_all
    spread = sum((float(summ[j][1]) - grand) ** 2 for j in nodes)
    for j in nodes:
        nj, mj, vj = summ[j]
        others = [i for i in nodes if i != j]
        big_n = sum(summ[i][0] for i in others)
        g = float(sum(summ[i][0] * summ[i][1] for i in others) / big_n)
        sl = float(vj / nj)
        sg = float(sum(summ[i][0] * summ[i][2] for i in others) / big_n**2)
        gap2 = (g - float(mj)) ** 2
        if method == "plugin":
            d2 = max(0.0, gap2 - sl - sg)
        elif method == "naive":
            d2 = gap2
        else:
            d2 = tau2 * (1 + sum((summ[i][0] / big_n) ** 2 for i in others))
        if method == "james-stein":
            b = min(1.0, max(0.0, (k - 3) * sl / spread)) if k > 3 else 0.0
            a = b * big_n / n_all
        else:
            a = sl / (sl + sg + d2)
        out[j] = {"n": nj, "local": float(mj), "global": g, "weight": a,
                  "estimate": (1 - a) * float(mj) + a * g,
                  "est_mse": (1 - a) ** 2 * sl + a**2 * (sg + d2), "local_mse": sl,
                  "tau2": tau2}
    return out


def _close(rec: dict, ref: dict) -> None:
    for key in ("local", "global", "weight", "estimate", "est_mse", "local_mse"):
        assert math.isclose(rec[key], ref[key], rel_tol=1e-12, abs_tol=1e-15), (key, rec, ref)
    assert rec["n"] == ref["n"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("data", [DATA, DATA5], ids=["k3", "k5"])
def test_estimators_against_reference(method: str, data: dict) -> None:
    res = personalize(data, method=method)
    ref = _reference(data, method)
    assert [r.node for r in res.rows] == sorted(data)
    for rec in res.to_records():
        _close(rec, ref[rec["node"]])
    if method in ("random-effects", "james-stein"):
        assert math.isclose(res.tau2, next(iter(ref.values()))["tau2"], rel_tol=1e-12)


def test_hand_values_node_b() -> None:
    """Node b: L = 4, G = 7, s_L = 1, s_G = 41/147 (by hand)."""
    b = personalize(DATA, method="plugin")["b"]
    assert (b.local, b.global_, b.local_mse) == (4.0, 7.0, 1.0)
    # unclipped plug-in: a = s_L / (s_L + s_G + (G-L)^2 - s_L - s_G) = s_L / (G-L)^2 = 1/9
    assert math.isclose(b.weight, 1 / 9, rel_tol=1e-14)
    naive = personalize(DATA, method="naive")["b"]
    assert math.isclose(naive.weight, 1 / (1 + 41 / 147 + 9), rel_tol=1e-14)
    js = personalize(DATA, method="james-stein")
    assert all(r.weight == 0 for r in js.rows)  # k = 3: no James-Stein shrinkage


def test_loo_variance_and_delta_by_linearity() -> None:
    """s_G and E[Delta_j^2] used by the estimators agree with moments.py on 3 nodes."""
    n = sp.symbols("n1:4", positive=True)
    v = sp.symbols("v1:4", positive=True)
    tau2 = sp.Symbol("tau2", positive=True)
    # node 1 local; G = (n2 xbar2 + n3 xbar3)/(n2 + n3), xbar_i = mu_i + e_i
    table = CovarianceTable({(f"e{i}", f"e{i}"): v[i] / n[i] for i in range(3)})
    for i in range(3):
        table.set(f"u{i}", f"u{i}", tau2)
    big = n[1] + n[2]
    G = (n[1] * RandomAffine.noise("e1") + n[2] * RandomAffine.noise("e2")) / big
    delta = (n[1] * RandomAffine.noise("u1") + n[2] * RandomAffine.noise("u2")) / big \
        - RandomAffine.noise("u0")
    vals = {n[0]: 3, n[1]: 2, n[2]: 4, v[0]: Fraction(7, 3), v[1]: 2, v[2]: Fraction(5, 3),
            tau2: Fraction(1, 2)}
    est = estimate_weights([3, 2, 4], [0.0, 1.0, 2.0], [7 / 3, 2.0, 5 / 3])
    assert math.isclose(est.var_global[0], float(variance(G, table).subs(vals)), rel_tol=1e-14)
    share = estimate_weights([3, 2, 4], [0.0, 5.0, 10.0], [7 / 3, 2.0, 5 / 3])
    tau = float(share.tau2)
    assert tau > 1.0
    want = float(second_moment(delta, table).subs(vals)) / 0.5 * tau
    assert math.isclose(share.delta_sq[0], want, rel_tol=1e-12)


def test_random_effects_pools_completely_when_tau2_zero() -> None:
    data = {"a": [1.0, 3.0, 2.0], "b": [2.0, 1.0, 3.0], "c": [2.5, 1.5, 2.0]}
    res = personalize(data, method="random-effects")
    assert res.tau2 == 0.0
    pooled_mean = float(np.mean([x for v in data.values() for x in v]))
    for r in res.rows:  # equal variances per sample: pooling = the mean of all the data
        assert math.isclose(r.estimate, pooled_mean, rel_tol=1e-12)


def test_dersimonian_laird_zero_within_variance_fallback() -> None:
    y = np.array([1.0, 2.0, 4.0])
    s2 = np.array([0.0, 0.5, 0.5])
    got = tau2_dersimonian_laird(y, s2)
    assert math.isclose(float(got), float(np.var(y, ddof=1) - s2.mean()), rel_tol=1e-14)


def test_zero_variance_and_zero_D() -> None:
    res = personalize({"a": [2.0, 2.0], "b": [1.0, 3.0], "c": [5.0, 6.0]}, method="plugin")
    assert res["a"].weight == 0.0 and res["a"].estimate == 2.0  # s_L = 0: keep the local model
    same = personalize({"a": [2.0, 2.0], "b": [2.0, 2.0]}, method="plugin")
    assert [r.weight for r in same.rows] == [0.0, 0.0]  # D = 0: L = G, weight reported as 0
    assert [r.estimate for r in same.rows] == [2.0, 2.0]
    for m in METHODS:
        rows = personalize({"a": [2.0, 2.0], "b": [2.0, 2.0]}, method=m).rows
        assert [r.estimate for r in rows] == [2.0, 2.0], m


def test_batched_matches_single() -> None:
    rng = np.random.default_rng(3)
    n = np.array([[3, 5, 4, 6]] * 4, dtype=float)
    mean = rng.normal(size=(4, 4))
    var = rng.uniform(0.5, 2, size=(4, 4))
    for m in METHODS:
        batch = estimate_weights(n, mean, var, m)
        for i in range(4):
            one = estimate_weights(n[i], mean[i], var[i], m)
            np.testing.assert_allclose(batch.estimate[i], one.estimate, rtol=1e-14)


# ------------------------------------------------------------------------ inputs


def _write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _long_csv(data: dict) -> str:
    lines = ["node,value"] + [f"{k},{x}" for k, v in data.items() for x in v]
    return "\n".join(lines) + "\n"


def test_inputs_agree(tmp_path: Path) -> None:
    want = personalize(DATA).to_records()
    rows = [(k, x) for k, v in DATA.items() for x in v]
    assert personalize(rows).to_records() == want
    p = _write(tmp_path, _long_csv(DATA).replace("node,value", "site,y"))
    assert personalize(p, node_col="site", value_col="y").to_records() == want
    assert personalize(str(p), node_col="site", value_col="y").to_records() == want
    summ = []
    for k, v in DATA.items():
        n, m, s = _summ(v)
        summ.append((k, n, float(m), float(s)))
    got = personalize(summaries=summ).to_records()
    for g, w in zip(got, want, strict=True):
        _close(g, w)
    sp_ = _write(tmp_path, "node,n,mean,var\n" + "".join(f"{a},{b},{c!r},{d!r}\n"
                                                        for a, b, c, d in summ), "s.csv")
    for g, w in zip(personalize(summaries=sp_).to_records(), want, strict=True):
        _close(g, w)
    dicts = [dict(zip(("node", "n", "mean", "var"), r, strict=True)) for r in summ]
    assert personalize(summaries=dicts).to_records() == got


def test_csv_with_bom_and_blank_lines(tmp_path: Path) -> None:
    p = tmp_path / "bom.csv"
    p.write_bytes(b"\xef\xbb\xbf" + _long_csv(DATA).replace("b,3\n", "b,3\n\n").encode())
    assert personalize(p).to_records() == personalize(DATA).to_records()


def test_result_table_shape() -> None:
    res = personalize(DATA)
    assert res.columns == COLUMNS
    assert list(res.to_records()[0]) == list(COLUMNS)
    text = str(res)
    assert text.splitlines()[0].split() == list(COLUMNS)
    assert "tau^2" in text.splitlines()[-1]
    md = res.to_markdown().splitlines()
    assert md[0].startswith("| node |") and len(md) == 2 + len(DATA)
    assert modelavg_sym.personalize is personalize


def test_bad_arguments() -> None:
    with pytest.raises(InvalidParameterError, match="method"):
        personalize(DATA, method="bayes")
    with pytest.raises(InvalidParameterError, match="exactly one"):
        personalize()
    with pytest.raises(DataError, match="row 2"):
        personalize([("a", 1), ("a",), ("b", 2)])
    with pytest.raises(DataError, match="node 'x'"):
        personalize({"x": [1.0, "oops"], "y": [1, 2]})
    with pytest.raises(DataError, match=r"row 1: n must be an integer >= 2"):
        personalize(summaries=[("a", 1.5, 0, 1), ("b", 3, 0, 1)])


MALFORMED = [
    ("missing column", "node,val\na,1\na,2\nb,3\nb,4\n", 1, "missing column 'value'"),
    ("non-numeric", "node,value\na,1\na,2\nb,three\nb,4\n", 4,
     "'three' in column 'value' is not a number"),
    ("not finite", "node,value\na,1\na,nan\nb,3\nb,4\n", 3, "not a finite number"),
    ("one value", "node,value\na,1\na,2\nb,3\nc,4\nc,5\n", 4, "node 'b' has only 1 value"),
    ("one node", "node,value\na,1\na,2\n", 3, "need at least 2 nodes"),
    ("empty file", "", 1, "empty file"),
    ("header only", "node,value\n", 1, "need at least 2 nodes"),
    ("short row", "node,value\na,1\na\nb,3\nb,4\n", 3, "expected at least 2 fields"),
    ("empty node", "node,value\na,1\n,2\n", 3, "empty node name"),
]


@pytest.mark.parametrize(("text", "line", "msg"), [m[1:] for m in MALFORMED],
                         ids=[m[0] for m in MALFORMED])
def test_malformed_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                        line: int, msg: str) -> None:
    p = _write(tmp_path, text)
    with pytest.raises(DataError, match=rf"line {line}: .*{msg}|line {line}: {msg}") as info:
        personalize(p)
    assert info.value.line == line  # type: ignore[attr-defined]
    before = sorted(tmp_path.iterdir())
    rc = main(["personalize", str(p)])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and f"line {line}" in err
    assert sorted(tmp_path.iterdir()) == before  # nothing written


MALFORMED_SUMMARIES = [
    ("missing column", "node,n,mean\na,2,1\nb,2,3\n", 1, "missing column 'var'"),
    ("bad n", "node,n,mean,var\na,2,1,1\nb,1,3,1\n", 3, "n must be an integer >= 2"),
    ("negative var", "node,n,mean,var\na,2,1,-1\nb,2,3,1\n", 2, "var must be >= 0"),
    ("duplicate", "node,n,mean,var\na,2,1,1\na,2,3,1\n", 3, "appears twice"),
    ("one node", "node,n,mean,var\na,2,1,1\n", 2, "need at least 2 nodes"),
    ("bad mean", "node,n,mean,var\na,2,x,1\nb,2,1,1\n", 2, "'x' in column 'mean'"),
]


@pytest.mark.parametrize(("text", "line", "msg"), [m[1:] for m in MALFORMED_SUMMARIES],
                         ids=[m[0] for m in MALFORMED_SUMMARIES])
def test_malformed_summaries(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                             line: int, msg: str) -> None:
    p = _write(tmp_path, text)
    with pytest.raises(DataError, match=rf"line {line}: .*{msg}|line {line}: {msg}"):
        personalize(summaries=p)
    rc = main(["personalize", str(p), "--summaries", "--json"])
    out, err = capsys.readouterr()
    assert rc == 2 and out == "" and f"line {line}" in err


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["personalize", str(tmp_path / "nope.csv")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "cannot read file" in err


@pytest.mark.parametrize("method", METHODS)
def test_cli_json(tmp_path: Path, capsys: pytest.CaptureFixture[str], method: str) -> None:
    p = _write(tmp_path, _long_csv(DATA))
    assert main(["personalize", str(p), "--method", method, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    keys = {"node", "n", "local", "global", "weight", "estimate", "est_mse"}
    assert [o["node"] for o in out] == ["a", "b", "c"]
    assert all(keys <= set(o) for o in out)
    ref = _reference(DATA, method)
    for o in out:
        _close(o, ref[o["node"]])


def test_cli_text_and_summaries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = _write(tmp_path, "site,n,mean,var\na,3,2,1\nb,4,5,2\nc,5,3,1.5\n")
    assert main(["personalize", str(p), "--summaries", "--node-col", "site"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["node", "n", "local"]
    assert "method: random-effects" in out


@st.composite
def _node_tables(draw: st.DrawFn) -> tuple[list[float], list[float], list[float]]:
    k = draw(st.integers(2, 7))
    n = [float(draw(st.integers(2, 50))) for _ in range(k)]
    mean = [draw(st.floats(-1e3, 1e3)) for _ in range(k)]
    var = [draw(st.one_of(st.just(0.0), st.floats(1e-6, 1e4))) for _ in range(k)]
    return n, mean, var


@given(_node_tables(), st.sampled_from(METHODS))
def test_weights_in_unit_interval(table: tuple[list[float], ...], method: str) -> None:
    """With c = 0 every estimator's weight lies in [0, 1], so the personalized estimate lies
    between the local and the global model, and its estimated MSE is at most s_L."""
    n, mean, var = (np.array(x) for x in table)
    est = estimate_weights(n, mean, var, method)
    assert ((est.weight >= 0) & (est.weight <= 1)).all()
    lo, hi = np.minimum(est.local, est.global_), np.maximum(est.local, est.global_)
    slack = 1e-12 * (1 + np.abs(lo) + np.abs(hi))
    assert ((est.estimate >= lo - slack) & (est.estimate <= hi + slack)).all()
    if method != "james-stein":  # its weight is not the minimiser of the estimated MSE
        assert (est.est_mse <= est.var_local * (1 + 1e-12) + 1e-300).all()


def test_leave_one_out_global_has_no_cancellation():
    # one node's values dwarf the others: "total - own" would give global = 0 for it
    res = personalize({"a": [1e17, 1e17 + 6144], "b": [1.0, 2.0], "c": [1.1, 2.3]},
                      method="plugin")
    row = {r.node: r for r in res.rows}["a"]
    assert row.global_ == pytest.approx(1.6, rel=1e-12)


@pytest.mark.parametrize("content,summaries,words", [
    # n = 1e20 used to fail with a false "overflow" (issue 12): sizes are counts <= 2**53
    ("node,n,mean,var\na,1e20,1.0,2.0\nb,5,2.0,1.0\nc,4,1.5,1.0\n", True,
     r"line 2: n must be an integer >= 2 and <= 2\*\*53"),
    ("node,n,mean,var\na,2,1.5e308,1.0\nb,5,-1.5e308,1.0\nc,4,1.5,1.0\n", True,
     "overflows float64"),
    ("node,value\na,1e300\na,-1e300\nb,1\nb,2\nc,3\nc,4\n", False, "overflows float64"),
])
def test_overflowing_data_is_a_one_line_data_error(tmp_path, content, summaries, words):
    import re
    import subprocess
    import sys

    path = tmp_path / "data.csv"
    path.write_text(content)
    with pytest.raises(DataError) as info:
        if summaries:
            personalize(summaries=path)
        else:
            personalize(path)
    # the message without the path (pytest's directory name contains "overflow")
    assert re.search(words, str(info.value).replace(str(path), "")), str(info.value)
    argv = ["personalize", str(path), *(["--summaries"] if summaries else [])]
    proc = subprocess.run([sys.executable, "-m", "modelavg_sym", *argv],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_readers_alone(tmp_path: Path) -> None:
    """The readers (modelavg_sym.data.readers) summarise without the estimators."""
    from modelavg_sym.data.readers import NodeSummary, load_summaries, read_values_csv

    p = _write(tmp_path, _long_csv(DATA))
    got = read_values_csv(p)
    assert [(s.node, s.n) for s in got] == [("a", 3), ("b", 2), ("c", 4)]
    for s in got:
        n, mean, var = _summ(DATA[s.node])
        assert (s.n, s.mean, s.var) == (n, pytest.approx(float(mean)), pytest.approx(float(var)))
    assert load_summaries(summaries=got) == got
    assert isinstance(got[0], NodeSummary) and got[0].line == 2
    with pytest.raises(DataError, match="line 2: node 'a' has only 1 value"):
        read_values_csv(_write(tmp_path, "node,value\na,1\n", "one.csv"))


def test_line_by_line_reader_reports_too_few_nodes(tmp_path: Path) -> None:
    """A value pandas refuses but Python's float takes ('1_0') sends the file to the
    line-by-line reader; with one node it must say so, located at the last line."""
    path = tmp_path / "one.csv"
    path.write_text("node,value\na,1_0\na,2\n")
    with pytest.raises(DataError, match=r"line 3"):
        modelavg_sym.personalize(str(path))
