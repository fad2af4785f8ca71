"""personalize's numbers against exact ``Fraction`` references on adversarial data.

Issue 12 (item 1, deliver 3): every reduction -- the per-node mean and variance of raw
values, the sums over the other nodes, the pooled moments G, s_G and G - L, DerSimonian-
Laird's tau^2, Q, denominator and pooled mean -- is compared with an exact rational
evaluation written here from the textbook formulas (not from the package), on near-constant
nodes, one dominant weight, tiny (1e-300) and huge (1e150) variances and 10^4 nodes.  Each
bound is an a-priori error bound of the algorithm (a few units in the last place times the
magnitudes that cannot cancel), so the float textbook forms the package used before fail
them (by 30 % and more for tau^2).  The reproducers of the issue are regression tests.
"""

from __future__ import annotations

import math
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import modelavg_sym
from modelavg_sym.cli import main
from modelavg_sym.data.readers import group_moments
from modelavg_sym.errors import DataError, InvalidParameterError
from modelavg_sym.numeric.nodes import leave_one_out
from modelavg_sym.numeric.personalize import dersimonian_laird, estimate_weights, personalize

U = Fraction(1, 2**53)  # unit roundoff of float64
EIGHT_SCHOOLS = {"estimate": [28, 8, -3, 7, -1, 1, 18, 12],
                 "se": [15, 10, 16, 11, 9, 11, 10, 18]}


def fr(x: float | str | int) -> Fraction:
    """The exact value of a float, an int, or a decimal string as written."""
    return Fraction(x) if not isinstance(x, float | np.floating) else Fraction(float(x))


#: Half the smallest subnormal: no float64 is nearer to a value below it than 0 is.
FLOOR = Fraction(1, 2**1075)


def within(got: float, exact: Fraction, bound: Fraction, what: str = "") -> None:
    """|got - exact| <= bound (+ :data:`FLOOR`, float64's own granularity at 0)."""
    assert math.isfinite(got), (what, got)
    bound += FLOOR
    err = abs(Fraction(float(got)) - exact)
    assert err <= bound, (f"{what}: got {got!r}, exact {float(exact)!r}, error {float(err):.3g}"
                          f" > bound {float(bound):.3g}")


# --------------------------------------------------------------------------- references


def exact_moments(values: list) -> tuple[int, Fraction, Fraction]:
    """(n, mean, sample variance) in exact arithmetic."""
    xs = [fr(v) for v in values]
    n = len(xs)
    mean = sum(xs, Fraction(0)) / n
    return n, mean, sum(((x - mean) ** 2 for x in xs), Fraction(0)) / (n - 1)


def exact_dl(y: list[Fraction], s: list[Fraction]) -> dict[str, Fraction]:
    """DerSimonian-Laird as printed in the textbooks: w = 1/s, ybar = sum w y / sum w,
    Q = sum w (y - ybar)^2, D = sum w - sum w^2 / sum w, tau^2 = max(0, (Q - (k-1)) / D),
    pooled = sum w* y / sum w* with w* = 1/(s + tau^2)."""
    k = len(y)
    w = [1 / si for si in s]
    sw = sum(w, Fraction(0))
    ybar = sum((wi * yi for wi, yi in zip(w, y, strict=True)), Fraction(0)) / sw
    q = sum((wi * (yi - ybar) ** 2 for wi, yi in zip(w, y, strict=True)), Fraction(0))
    den = sw - sum((wi * wi for wi in w), Fraction(0)) / sw
    tau2 = max(Fraction(0), (q - (k - 1)) / den)
    out = {"tau2": tau2, "q": q, "denominator": den, "sum_w": sw,
           "spread": max(y) - min(y), "top": max(abs(v) for v in y)}
    if k <= 64:  # 1/(s + tau^2) has a denominator of its own per node: keep k small
        ws = [1 / (si + tau2) for si in s]
        out["pooled"] = sum((a * b for a, b in zip(ws, y, strict=True)), Fraction(0)) / sum(
            ws, Fraction(0))
    return out


def exact_nodes(n: list, mean: list, var: list) -> dict[str, list[Fraction]]:
    """For every node j: G_j = sum_{i!=j} n_i m_i / N_j, s_G = sum_{i!=j} n_i v_i / N_j^2,
    s_L = v_j / n_j, gap = G_j - m_j, and sum_{i!=j} n_i^2 / N_j^2 (by totals, exactly)."""
    nf, mf, vf = ([fr(x) for x in col] for col in (n, mean, var))
    tot_n = sum(nf, Fraction(0))
    tot_nm = sum((a * b for a, b in zip(nf, mf, strict=True)), Fraction(0))
    tot_nv = sum((a * b for a, b in zip(nf, vf, strict=True)), Fraction(0))
    tot_n2 = sum((a * a for a in nf), Fraction(0))
    out: dict[str, list[Fraction]] = {"G": [], "s_G": [], "s_L": [], "gap": [], "share2": []}
    for nj, mj, vj in zip(nf, mf, vf, strict=True):
        big = tot_n - nj
        g = (tot_nm - nj * mj) / big
        out["G"].append(g)
        out["s_G"].append((tot_nv - nj * vj) / big**2)
        out["s_L"].append(vj / nj)
        out["gap"].append(g - mj)
        out["share2"].append((tot_n2 - nj * nj) / big**2)
    return out


def exact_personalize(n: list, mean: list, var: list, method: str) -> dict[str, list]:
    """The whole pipeline exactly (c = 0): a = s_L / (s_L + s_G + Delta^2)."""
    ex = exact_nodes(n, mean, var)
    k = len(n)
    tau2 = exact_dl([fr(m) for m in mean], ex["s_L"])["tau2"] if method == "random-effects" \
        else None
    out: dict[str, list] = {"weight": [], "estimate": [], "est_mse": [], "delta_sq": []}
    for j in range(k):
        s_l, s_g, gap = ex["s_L"][j], ex["s_G"][j], ex["gap"][j]
        if method == "plugin":
            d2 = max(Fraction(0), gap * gap - s_l - s_g)
        elif method == "naive":
            d2 = gap * gap
        else:
            d2 = tau2 * (1 + ex["share2"][j])
        total = s_l + s_g + d2
        a = s_l / total if total else Fraction(0)
        out["weight"].append(a)
        out["estimate"].append(fr(mean[j]) + a * gap)
        out["est_mse"].append((1 - a) ** 2 * s_l + a * a * (s_g + d2))
        out["delta_sq"].append(d2)
    out["tau2"] = tau2
    return out


# --------------------------------------------------------------------------- reproducers

REPRO = "node,value\na,1.0\na,{hi}\na,{lo}\nb,1\nb,2\nb,3\nc,4\nc,6\nc,5\n"
REPRO_DATA = {"b": ["1", "2", "3"], "c": ["4", "6", "5"]}


def _repro_exact_tau2(hi: str, lo: str) -> Fraction:
    data = {"a": ["1.0", hi, lo], **REPRO_DATA}
    summ = [exact_moments(v) for v in data.values()]
    return exact_dl([m for _n, m, _v in summ], [v / n for n, _m, v in summ])["tau2"]


@pytest.mark.parametrize(("hi", "lo"), [("1.00000001", "0.99999999"),
                                        ("1.000000001", "0.999999999"),
                                        ("1.0000000000001", "0.9999999999999")])
def test_reproducer_near_constant_node_tau2(tmp_path: Path, hi: str, lo: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 12 item 1: tau^2 was 3.0625 (exact 4.0833...), or a false overflow error."""
    path = tmp_path / "d.csv"
    path.write_text(REPRO.format(hi=hi, lo=lo))
    exact = _repro_exact_tau2(hi, lo)
    assert abs(float(exact) - 49 / 12) < 1e-6  # the 4.0833...
    got = personalize(path).tau2
    assert got is not None
    within(got, exact, exact * Fraction(1, 10**12), "tau2")
    assert main(["personalize", str(path)]) == 0
    out = capsys.readouterr().out
    assert "tau^2 (spread of node means) = 4.08333" in out


def test_reproducer_cli_prints_exact_tau2(tmp_path: Path) -> None:
    """The issue's command, as a user runs it."""
    path = tmp_path / "d.csv"
    path.write_text(REPRO.format(hi="1.00000001", lo="0.99999999"))
    proc = subprocess.run([sys.executable, "-m", "modelavg_sym", "personalize", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    printed = float(proc.stdout.strip().splitlines()[-1].rsplit("=", 1)[1])
    assert printed == float(f"{49 / 12:.6g}")


@pytest.mark.parametrize("var_a", ["1e-100", "1e-160", "1e-200", "1e-300", "6.7e-308"])
@pytest.mark.parametrize("method", ["random-effects", "plugin", "naive"])
def test_reproducer_tiny_variance_summaries(var_a: str, method: str) -> None:
    """Issue 12 item 1: a summary variance below ~1e-154 pooled everything (weights 0.667,
    est_mse ~1e-301).  Every column of every node against the exact pipeline."""
    n, mean, var = [3, 3, 3], [1.0, 2.0, 5.0], [float(var_a), 1.0, 1.0]
    res = personalize(summaries=list(zip("abc", n, mean, var, strict=True)), method=method)
    ex = exact_personalize(n, mean, var, method)
    rel = Fraction(1, 10**12)
    for j, row in enumerate(res.rows):
        for key in ("weight", "estimate", "est_mse"):
            within(getattr(row, key), ex[key][j], abs(ex[key][j]) * rel, f"{key}[{j}]")
    if method == "random-effects":
        within(res.tau2, ex["tau2"], ex["tau2"] * rel, "tau2")
        assert abs(res.tau2 - 49 / 12) < 1e-9


def test_subnormal_variance_is_refused() -> None:
    """s_L = v/n below float64's normal range (about 2.2e-308) would carry few digits."""
    with pytest.raises(DataError, match="var_local is below float64's normal range"):
        personalize(summaries=[("a", 3, 1.0, 2.5e-308), ("b", 3, 2.0, 1.0), ("c", 3, 5.0, 1.0)])


# --------------------------------------------------------------------------- leave-one-out


def _loo_cases() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(np.random.SeedSequence(1201))
    wide = rng.normal(size=10_000) * 10.0 ** rng.integers(-12, 12, 10_000)
    cancelling = wide.copy()
    cancelling[[10, 5000, 9990]] = [1e30, -1e30, 3e29]
    return {
        "dominant-positive": np.array([1e300, 1.0, 2.0, 3e-300, 5.0]),
        "dominant-cancelling": np.array([1e17, 1.5, -1e17, 2.25, 6144.0]),
        "tiny-and-huge": np.abs(wide) * 1e-300 + np.where(np.arange(10_000) == 7, 1e150, 0),
        "wide-10k": wide,
        "cancelling-10k": cancelling,
        "batched": rng.normal(size=(3, 50)) * 10.0 ** rng.integers(-8, 8, (3, 50)),
    }


@pytest.mark.parametrize("case", sorted(_loo_cases()))
def test_leave_one_out_exact(case: str) -> None:
    """|got - exact| <= 2u|exact| + 2 (k u)^2 sum_{i != j} |x_i|: compensated prefix and
    suffix sums (the plain ones err by k u sum |x_i|, the subtraction total - x_j by
    u |total|)."""
    x = _loo_cases()[case]
    got = leave_one_out(x)
    for row_x, row_got in zip(np.atleast_2d(x), np.atleast_2d(got), strict=True):
        k = row_x.size
        exact_x = [fr(v) for v in row_x]
        total = sum(exact_x, Fraction(0))
        abs_total = sum((abs(v) for v in exact_x), Fraction(0))
        for j in range(k):
            exact = total - exact_x[j]
            bound = 2 * U * abs(exact) + 2 * (k * U) ** 2 * (abs_total - abs(exact_x[j]))
            within(row_got[j], exact, bound, f"{case}[{j}]")


def test_leave_one_out_stays_exact_on_fractions() -> None:
    x = np.array([Fraction(1, 3), Fraction(-2, 7), Fraction(5)], dtype=object)
    assert list(leave_one_out(x)) == [Fraction(33, 7), Fraction(16, 3), Fraction(1, 21)]


# --------------------------------------------------------------------------- per-node moments


def _moment_groups() -> dict[str, list[float]]:
    rng = np.random.default_rng(np.random.SeedSequence(1202))
    return {
        "near-constant": [1.0, 1.00000001, 0.99999999],
        "near-constant-1e-13": [1.0 + d for d in rng.normal(size=40) * 1e-13],
        "offset-1e8": list(1e8 + rng.normal(size=60) * 1e-4),
        "offset-1e15": list(1e15 + rng.integers(-64, 64, 50).astype(float)),
        "tiny-var-1e-300": list(3.0 + rng.normal(size=30) * 1e-150 * 3.0),
        "tiny-values": list(rng.normal(size=25) * 1e-150),
        "huge-var-1e150": list(rng.normal(size=30) * 1e75),
        # the sums overflow (a non-constant group this large has a variance beyond float64)
        "huge-values": [1e307] * 20,
        "huge-negative": [-1.5e308] * 3,
        "large-offset": list(1e160 + rng.normal(size=30) * 1e146),
        "constant": [2.5] * 7,
        "two": [1e-150, 3e-150],
        "mixed-signs": list(rng.normal(size=100) * 10.0 ** rng.integers(-5, 5, 100)),
    }


def test_group_moments_exact() -> None:
    """Per-node n, mean and variance of raw values, all groups in one vectorised call:
    |mean - exact| <= 2u|mean| + 2 n u max|x - mean|, |var - exact| <= 4 n u var."""
    groups = _moment_groups()
    names = sorted(groups)
    codes = np.concatenate([np.full(len(groups[g]), i) for i, g in enumerate(names)])
    x = np.concatenate([np.asarray(groups[g], dtype=np.float64) for g in names])
    perm = np.random.default_rng(3).permutation(x.size)  # rows in any order
    n, mean, var, status = group_moments(codes[perm], x[perm], len(names))
    assert not status.any()
    for i, g in enumerate(names):
        en, emean, evar = exact_moments(groups[g])
        assert n[i] == en
        spread = max(abs(fr(v) - emean) for v in groups[g])
        within(mean[i], emean, 2 * U * abs(emean) + 2 * en * U * spread, f"mean {g}")
        within(var[i], evar, 4 * en * U * evar, f"var {g}")
    assert var[names.index("constant")] == 0.0


def test_group_moments_refuse_what_float64_cannot_hold() -> None:
    over = np.array([1e300, -1e300, 1.0, 2.0])
    _n, _m, _v, status = group_moments(np.array([0, 0, 1, 1]), over, 2)
    assert list(status) == [1, 0]
    under = np.array([1.0, 1.0 + 2.0**-52, 5.0, 6.0]) * 1e-150
    _n, _m, _v, status = group_moments(np.array([0, 0, 1, 1]), under, 2)
    assert list(status) == [-1, 0]  # variance ~1e-332: below the normal range


def test_overflowing_and_underflowing_values_are_data_errors(tmp_path: Path) -> None:
    p = tmp_path / "v.csv"
    p.write_text("node,value\na,1e-150\na,1.0000000000000002e-150\nb,1\nb,2\n")
    with pytest.raises(DataError, match="node 'a': its sample variance is below float64's "
                                        "normal range"):
        personalize(p)


# --------------------------------------------------------------------------- DerSimonian-Laird


def _q_bound(ex: dict[str, Fraction], k: int) -> Fraction:
    """8 k u Q (the rounding of Q's k terms, each (y_i - ybar) rounded once) + 4 u^2 sum w
    spread (spread + max|y|) (the pooled mean's rounding, which moves Q only to second
    order once it is refined and corrected for)."""
    return 8 * k * U * ex["q"] + 4 * U * U * ex["sum_w"] * ex["spread"] * (
        ex["spread"] + ex["top"])


def _dl_bound(ex: dict[str, Fraction], k: int) -> Fraction:
    """(Q's bound + 8 k u (Q + k - 1)) / D: the error of Q - (k - 1) relative to the
    denominator (which itself errs by 4 k u relative), i.e. the estimator's conditioning."""
    return (_q_bound(ex, k) + 8 * k * U * (ex["q"] + k - 1)) / ex["denominator"]


def _check_dl(y: np.ndarray, s: np.ndarray, what: str) -> None:
    got = dersimonian_laird(y, s)
    k = y.size
    ex = exact_dl([fr(v) for v in y], [fr(v) for v in s])
    within(got.tau2, ex["tau2"], _dl_bound(ex, k), f"{what}: tau2")
    within(got.denominator, ex["denominator"], 4 * k * U * ex["denominator"],
           f"{what}: denominator")
    if ex["q"] < Fraction(10) ** 300:
        within(got.q, ex["q"], _q_bound(ex, k), f"{what}: Q")
    if "pooled" in ex:
        within(got.pooled_mean, ex["pooled"], 8 * k * U * (abs(ex["pooled"]) + ex["spread"]),
               f"{what}: pooled mean")


def _dl_cases() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(np.random.SeedSequence(1203))
    k = 10_000
    # 10^4 nodes with power-of-two variances (the exact sums stay dyadic and fast)
    s_wide = 2.0 ** rng.integers(-1000, 500, k).astype(float)
    y_wide = rng.normal(size=k) * 10.0 ** rng.integers(-3, 3, k)
    s_flat = 2.0 ** rng.integers(-2, 3, k).astype(float)
    y_flat = rng.normal(size=k) * 1.5
    s_dom = s_flat.copy()
    s_dom[123] = 2.0**-1000
    x = np.array([1.0, 1.00000001, 0.99999999])  # the reproducer's node a
    v_a = float(((x - x.mean()) ** 2).sum() / 2)
    return {
        "repro-near-constant": (np.array([1.0, 2.0, 5.0]), np.array([v_a / 3, 1 / 3, 1 / 3])),
        "one-dominant-1e-300": (np.array([1.0, 2.0, 5.0, 4.0]),
                                np.array([1e-300, 0.5, 0.25, 1.0])),
        "two-dominant": (np.array([1.0, 1.5, 2.0, 5.0]), np.array([1e-300, 3e-300, 1.0, 2.0])),
        "dominant-ratio-beyond-float": (np.array([0.0, 1.0, 3.0]),
                                        np.array([1e-300, 1e150, 2e150])),
        "far-light-node": (np.array([0.0, 1e-148, 1e100]), np.array([1e-300, 1e-300, 1e300])),
        "all-tiny-1e-300": (np.array([1e-150, 3e-150, -2e-150, 7e-150]),
                            np.array([1e-300, 2e-300, 1.5e-300, 4e-300])),
        "all-huge-1e150": (np.array([1e75, -2e75, 3e75, 0.5e75]),
                           np.array([1e150, 3e150, 2e150, 1.5e150])),
        "offset-means": (1e12 + np.array([0.25, -0.5, 0.75, 0.125, 1.0]),
                         np.array([0.01, 0.02, 0.015, 0.03, 0.01])),
        "homogeneous": (np.array([1.0, 1.01, 0.99, 1.005]), np.array([1.0, 2.0, 1.5, 1.0])),
        "wide-10k": (y_wide, s_wide),
        "flat-10k": (y_flat, s_flat),
        "dominant-10k": (y_flat, s_dom),
    }


@pytest.mark.parametrize("case", sorted(_dl_cases()))
def test_dersimonian_laird_exact(case: str) -> None:
    y, s = _dl_cases()[case]
    _check_dl(y, s, case)


def test_dersimonian_laird_catches_the_textbook_float_form() -> None:
    """The bound is tight enough to reject the float textbook form the package used."""
    y, s = _dl_cases()["repro-near-constant"]
    w = 1 / s
    sw = w.sum()
    q = (w * (y - (w * y).sum() / sw) ** 2).sum()
    naive = max(0.0, (q - 2) / (sw - (w**2).sum() / sw))
    ex = exact_dl([fr(v) for v in y], [fr(v) for v in s])
    assert abs(naive - 3.0625) < 1e-12  # the wrong value
    with pytest.raises(AssertionError):
        within(naive, ex["tau2"], _dl_bound(ex, 3))


@st.composite
def _dl_tables(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    k = draw(st.integers(2, 8))
    scale_y = 10.0 ** draw(st.integers(-100, 100))
    y = np.array([draw(st.floats(-1e3, 1e3)) for _ in range(k)]) * scale_y
    s = np.array([10.0 ** draw(st.floats(-300, 280)) for _ in range(k)])
    if draw(st.booleans()):  # a common offset of the means
        y = y + draw(st.floats(-1e6, 1e6)) * scale_y * 1e3
    return y, s


@settings(max_examples=150, deadline=None)
@given(_dl_tables())
def test_dersimonian_laird_exact_property(table: tuple[np.ndarray, np.ndarray]) -> None:
    y, s = table
    ex = exact_dl([fr(v) for v in y], [fr(v) for v in s])
    if ex["tau2"] > Fraction(10) ** 300:
        return  # tau^2 itself beyond float64 (checked elsewhere to raise)
    _check_dl(y, s, "property")


def test_dersimonian_laird_zero_variance_rows_and_batches() -> None:
    y = np.array([[1.0, 2.0, 4.0], [1.0, 2.0, 5.0]])
    s = np.array([[0.0, 0.5, 0.5], [1e-16 / 3, 1 / 3, 1 / 3]])
    got = dersimonian_laird(y, s)
    yf = [fr(v) for v in y[0]]
    m = sum(yf, Fraction(0)) / 3
    unweighted = sum(((v - m) ** 2 for v in yf), Fraction(0)) / 2 - Fraction(1, 3)
    within(got.tau2[0], unweighted, 8 * U * unweighted)
    ex = exact_dl([fr(v) for v in y[1]], [fr(v) for v in s[1]])
    within(got.tau2[1], ex["tau2"], _dl_bound(ex, 3))
    assert math.isnan(got.q[0]) and math.isnan(got.denominator[0])
    ws = [1 / (fr(v) + unweighted) for v in s[0]]
    pooled = sum((a * b for a, b in zip(ws, yf, strict=True)), Fraction(0)) / sum(ws)
    within(got.pooled_mean[0], pooled, 8 * U * 4)
    # tau^2 = 0 with a zero variance: the pooled mean is that node's mean
    same = dersimonian_laird(np.array([1.0, 1.0, 1.0]), np.array([0.0, 1.0, 2.0]))
    assert same.tau2 == 0.0 and same.pooled_mean == 1.0


# --------------------------------------------------------------------------- pooled moments


def _node_cases() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(np.random.SeedSequence(1204))
    k = 10_000
    n = 2.0 ** rng.integers(1, 12, k).astype(float)
    return {
        "repro": (np.array([3.0, 3.0, 3.0]), np.array([1.0, 2.0, 5.0]),
                  np.array([1e-16, 1.0, 1.0])),
        "dominant-size": (np.array([2.0**52, 3.0, 5.0, 2.0]), np.array([1e17, 1.5, 2.25, -3.0]),
                          np.array([1.0, 2.0, 0.5, 1.0])),
        "offset-1e8": (np.array([5.0, 7.0, 3.0, 9.0]), 1e8 + np.array([0.5, -0.25, 1.0, 0.0]),
                       np.array([0.1, 0.2, 0.3, 0.4])),
        "far-outlier": (np.array([2.0**52, 2.0, 2.0]), np.array([0.0, 1e-148, 1e100]),
                        np.array([1.0, 1.0, 1.0])),
        "tiny-var": (np.array([4.0, 8.0, 2.0]), np.array([1.0, 1.5, 0.5]),
                     np.array([1e-300, 2e-300, 4e-300])),
        "huge-var": (np.array([4.0, 8.0, 2.0]), np.array([1e75, -2e75, 3e75]),
                     np.array([1e150, 2e150, 4e150])),
        "wide-10k": (n, rng.normal(size=k) * 10.0 ** rng.integers(-3, 3, k),
                     2.0 ** rng.integers(-1000, 500, k).astype(float)),
        "offset-10k": (n, 1e9 + rng.normal(size=k), 2.0 ** rng.integers(-4, 4, k).astype(float)),
    }


@pytest.mark.parametrize("case", sorted(_node_cases()))
def test_node_moments_exact(case: str) -> None:
    """G (relative to the magnitudes it sums), s_G (relative) and the random-effects
    Delta^2 = tau^2 (1 + sum n_i^2 / N^2) (G - L: :func:`test_gap_exact`)."""
    n, mean, var = _node_cases()[case]
    est = estimate_weights(n, mean, var, "random-effects")
    ex = exact_nodes(list(n), list(mean), list(var))
    nf, mf = [fr(v) for v in n], [fr(v) for v in mean]
    tot_n = sum(nf, Fraction(0))
    tot_abs = sum((a * abs(b) for a, b in zip(nf, mf, strict=True)), Fraction(0))
    dl = exact_dl(mf, ex["s_L"])
    tau_bound = _dl_bound(dl, len(n))
    for j in range(len(n)):
        big = tot_n - nf[j]
        within(est.global_[j], ex["G"][j],
               8 * U * (abs(ex["G"][j]) + (tot_abs - nf[j] * abs(mf[j])) / big), f"G[{j}]")
        within(est.var_global[j], ex["s_G"][j], 8 * U * ex["s_G"][j], f"s_G[{j}]")
        share = 1 + ex["share2"][j]
        within(est.delta_sq[j], dl["tau2"] * share, tau_bound * share + 8 * U * dl["tau2"] *
               share, f"delta_sq[{j}]")
    within(float(est.tau2), dl["tau2"], tau_bound, "tau2")


@pytest.mark.parametrize("case", ["offset-1e8", "offset-10k", "dominant-size", "repro",
                                  "far-outlier"])
def test_gap_exact(case: str) -> None:
    """G - L (the naive method's Delta^2 is its square): error <= 8u times the means'
    deviations from their size-weighted grand mean c -- a common offset of 1e8 or 1e9
    costs no digits, and the bound is within 3 times the means' own rounding
    (sum_{i != j} n_i |m_i| / N + |m_j|)."""
    n, mean, var = _node_cases()[case]
    est = estimate_weights(n, mean, var, "naive")
    ex = exact_nodes(list(n), list(mean), list(var))
    nf, mf = [fr(v) for v in n], [fr(v) for v in mean]
    tot_n = sum(nf, Fraction(0))
    c = sum((a * b for a, b in zip(nf, mf, strict=True)), Fraction(0)) / tot_n
    tot_dev = sum((a * abs(b - c) for a, b in zip(nf, mf, strict=True)), Fraction(0))
    for j in range(len(n)):
        dev = (tot_dev - nf[j] * abs(mf[j] - c)) / (tot_n - nf[j]) + abs(mf[j] - c)
        gap_bound = 8 * U * dev + 2 * U * abs(ex["gap"][j])
        exact_sq = ex["gap"][j] ** 2
        within(est.delta_sq[j], exact_sq,
               2 * abs(ex["gap"][j]) * gap_bound + gap_bound**2 + 2 * U * exact_sq,
               f"gap^2[{j}]")


@pytest.mark.parametrize("method", ["random-effects", "plugin", "naive"])
@pytest.mark.parametrize("case", ["repro", "dominant-size", "offset-1e8", "tiny-var", "huge-var"])
def test_weights_and_estimates_exact(case: str, method: str) -> None:
    """End to end on small adversarial tables: weight, estimate and estimated MSE within
    1e-12 relative of the exact pipeline (well-conditioned here; the old code was off by
    30 % or more on some)."""
    n, mean, var = _node_cases()[case]
    est = estimate_weights(n, mean, var, method)
    ex = exact_personalize(list(n), list(mean), list(var), method)
    rel = Fraction(1, 10**12)
    for j in range(len(n)):
        within(est.weight[j], ex["weight"][j], rel * ex["weight"][j] + Fraction(1, 10**300),
               f"weight[{j}]")
        within(est.estimate[j], ex["estimate"][j], rel * abs(ex["estimate"][j]),
               f"estimate[{j}]")
        within(est.est_mse[j], ex["est_mse"][j], rel * ex["est_mse"][j], f"est_mse[{j}]")


# --------------------------------------------------------------------------- known se


def _schools(scale: float = 1.0) -> list[tuple[str, float, float]]:
    return [(f"s{i}", float(e), se / scale) for i, (e, se) in
            enumerate(zip(EIGHT_SCHOOLS["estimate"], EIGHT_SCHOOLS["se"], strict=True))]


@pytest.mark.parametrize("scale", [1.0, 3.0, 10.0])
def test_known_se_against_textbook_dersimonian_laird(scale: float) -> None:
    """The eight-schools table (node, estimate, se) taken as it is: tau^2 and the random-
    effects pooled mean equal the textbook DerSimonian-Laird values (scale 1: tau^2 = 0;
    standard errors divided by 3 or 10: heterogeneous, tau^2 > 0)."""
    rows = _schools(scale)
    res = personalize(summaries=rows)
    ex = exact_dl([fr(e) for _n, e, _s in rows], [fr(s) ** 2 for _n, _e, s in rows])
    assert (ex["tau2"] == 0) == (scale == 1.0)
    rel = Fraction(1, 10**12)
    within(res.tau2, ex["tau2"], rel * ex["tau2"], "tau2")
    within(res.pooled_mean, ex["pooled"], rel * abs(ex["pooled"]), "pooled mean")
    for (_name, _e, se), row in zip(rows, res.rows, strict=True):
        assert row.n is None and row.local_mse == se * se
    if scale == 1.0:  # tau^2 = 0: every node pooled completely, = the inverse-variance mean
        for row in res.rows:
            within(row.estimate, ex["pooled"], rel * abs(ex["pooled"]), row.node)
            within(row.est_mse, 1 / ex["sum_w"], rel / ex["sum_w"], row.node)


def test_known_se_global_is_precision_weighted() -> None:
    rows = _schools(3.0)
    res = personalize(summaries=rows, method="plugin")
    w = [1 / fr(s) ** 2 for _n, _e, s in rows]
    y = [fr(e) for _n, e, _s in rows]
    for j, row in enumerate(res.rows):
        others = [i for i in range(8) if i != j]
        g = sum((w[i] * y[i] for i in others), Fraction(0)) / sum((w[i] for i in others),
                                                                  Fraction(0))
        within(row.global_, g, Fraction(1, 10**13) * (abs(g) + 30), row.node)


def test_known_se_inputs_agree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pandas as pd

    rows = _schools()
    want = personalize(summaries=rows).to_records()
    path = tmp_path / "schools.csv"
    path.write_text("node,estimate,se\n" + "".join(f"{a},{b!r},{c!r}\n" for a, b, c in rows))
    assert personalize(summaries=path).to_records() == want
    frame = pd.DataFrame(rows, columns=["node", "estimate", "se"])
    assert personalize(summaries=frame).to_records() == want
    assert personalize(frame).to_records() == want  # summary columns in data=
    dicts = [{"node": a, "estimate": b, "se": c} for a, b, c in rows]
    assert personalize(summaries=dicts).to_records() == want
    assert main(["personalize", str(path), "--summaries", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"n": null' in out
    assert main(["personalize", str(path), "--summaries"]) == 0
    assert "tau^2 (spread of node means) = 0" in capsys.readouterr().out


@pytest.mark.parametrize(("text", "line", "msg"), [
    ("node,estimate,se\na,1,0\nb,2,1\n", 2, "se must be > 0"),
    ("node,estimate,se\na,1,-1\nb,2,1\n", 2, "se must be > 0"),
    ("node,estimate,se\na,1,1\nb,x,1\n", 3, "'x' in column 'estimate' is not a number"),
    ("node,estimate\na,1\nb,2\n", 1, "missing column 'se'"),
])
def test_known_se_malformed(tmp_path: Path, text: str, line: int, msg: str) -> None:
    path = tmp_path / "s.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=rf"line {line}: .*{msg}") as info:
        personalize(summaries=path)
    assert info.value.line == line  # type: ignore[attr-defined]


def test_known_se_out_of_range() -> None:
    with pytest.raises(DataError, match="outside the range"):
        personalize(summaries=[("a", 1.0, 1e-160), ("b", 2.0, 1.0)])
    with pytest.raises(DataError, match="span more than"):
        personalize(summaries=[("a", 1.0, 1e-70), ("b", 2.0, 1.0), ("c", 2.0, 1e70)])


def test_mixed_summary_rows_are_refused() -> None:
    with pytest.raises(DataError, match="row 2: mixes"):
        personalize(summaries=[("a", 1.0, 1.0), ("b", 3, 2.0, 1.0)])


# --------------------------------------------------------------------------- API faults


@pytest.mark.parametrize("bad", [42, 3.5, b"node,value", object()])
def test_wrong_kind_of_data_names_the_parameter(bad: object) -> None:
    with pytest.raises(InvalidParameterError) as info:
        personalize(bad)
    assert isinstance(info.value, ValueError) and info.value.parameter == "data"
    with pytest.raises(InvalidParameterError) as info:
        personalize(summaries=bad)
    assert info.value.parameter == "summaries"


def test_dataframe_input() -> None:
    import pandas as pd

    data = {"a": [1.0, 2.0, 4.0], "b": [3.0, 5.0], "c": [10.0, 11.0, 9.0, 12.0]}
    frame = pd.DataFrame([(k, v) for k, vs in data.items() for v in vs],
                         columns=["node", "value"])
    want = personalize(data).to_records()
    assert personalize(frame).to_records() == want
    renamed = frame.rename(columns={"node": "site", "value": "y"})
    assert personalize(renamed, node_col="site", value_col="y").to_records() == want
    summ = frame.groupby("node")["value"].agg(["count", "mean", "var"]).reset_index()
    summ.columns = ["node", "n", "mean", "var"]
    for got, ref in zip(personalize(summaries=summ).to_records(), want, strict=True):
        assert got["node"] == ref["node"] and got["n"] == ref["n"]
        assert math.isclose(got["estimate"], ref["estimate"], rel_tol=1e-12)
    with pytest.raises(DataError, match="row 3: value 'x' in column 'value' is not a number"):
        personalize(pd.DataFrame({"node": ["a", "a", "b", "b"], "value": [1, 2, "x", 4]}))
    with pytest.raises(DataError, match="row 2: empty node name"):
        personalize(pd.DataFrame({"node": ["a", None, "b", "b"], "value": [1.0, 2, 3, 4]}))
    with pytest.raises(DataError, match="no column 'value'"):
        personalize(pd.DataFrame({"node": ["a"], "y": [1.0]}))


def test_non_regular_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a regular file"):
        personalize("/dev/zero")
    with pytest.raises(DataError, match="directory"):
        personalize(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "modelavg_sym", "personalize", "/dev/zero"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "not a regular file" in proc.stderr


@pytest.mark.parametrize("make", [
    lambda t: personalize([("a", "x" * 100_000), ("b", 1)]),
    lambda t: personalize([("n" * 100_000, 1.0), ("n" * 100_000, 2.0)]),
    lambda t: personalize({"a": [1.0, "y" * 100_000]}),
    lambda t: personalize([("a",) * 100_000]),
    lambda t: personalize(summaries=[("a", "9" * 100_000 + ".5", 1.0, 1.0), ("b", 3, 1, 1)]),
    lambda t: personalize(_csv(t, "node,value\na,1\na," + "z" * 100_000 + "\nb,1\nb,2\n")),
    lambda t: personalize(_csv(t, "x" * 100_000 + ",y\n")),
    lambda t: personalize(_csv(t, "node,value\n" + "q" * 100_000 + ",1\nb,1\nb,2\n")),
])
def test_errors_do_not_echo_long_input(tmp_path: Path, make) -> None:
    with pytest.raises(DataError) as info:
        make(tmp_path)
    text = str(info.value).replace(str(tmp_path), "")
    assert len(text) < 300, text


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "long.csv"
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- result


def test_result_lookup_and_exports() -> None:
    import pandas as pd

    data = {f"n{i}": [float(i), float(i) + 1.5, float(i % 7)] for i in range(300)}
    res = personalize(data)
    assert len(res) == 300 and "n17" in res and "zz" not in res
    assert res["n17"].node == "n17" and res["n17"] is res.rows[res.column("node").tolist()
                                                               .index("n17")]
    with pytest.raises(KeyError):
        res["zz"]
    frame = res.to_pandas()
    assert list(frame.columns) == list(res.columns)
    assert frame.to_dict("records") == res.to_records()
    assert isinstance(frame, pd.DataFrame) and str(frame["n"].dtype) == "Int64"
    np.testing.assert_array_equal(res.column("weight"), frame["weight"].to_numpy())
    assert [r.node for r in res] == res.column("node").tolist()


# --------------------------------------------------------------------------- CSV reader


@pytest.mark.parametrize(("text", "line", "msg"), [
    ('node,value\n"a\nb",1\n"a\nb",2\nc,3\n\n   \nd,4\nd,5\n', 6, "node 'c' has only 1 value"),
    ("node,value\na,TRUE\na,FALSE\nb,TRUE\nb,TRUE\n", 2, "'TRUE' in column 'value' is not a "),
    ("node,value\na,1\na,2\n\n\nb,3\nb,inf\n", 7, "not a finite number"),
    ("node,value\na,1\na,2\nb,3\n , \nb,\n", 6, "'' in column 'value' is not a number"),
])
def test_csv_line_numbers(tmp_path: Path, text: str, line: int, msg: str) -> None:
    """Line numbers survive quoted newlines and blank lines, in the vectorised reader and
    the line-by-line one it falls back on."""
    with pytest.raises(DataError, match=rf"line {line}: .*{msg}") as info:
        personalize(_csv(tmp_path, text))
    assert info.value.line == line  # type: ignore[attr-defined]


def test_csv_accepts_what_python_float_accepts(tmp_path: Path) -> None:
    """Values pandas' reader refuses but Python's float() reads (as the line reader did)."""
    path = _csv(tmp_path, "node,value,extra\na,1_000,x\na, 2 \nb,3,y,z\nb,４\n")
    rows = {r.node: r for r in personalize(path, method="plugin")}
    assert rows["a"].local == 501.0 and rows["b"].local == 3.5


def test_csv_fast_path_matches_line_reader(tmp_path: Path) -> None:
    """The pandas reader and the line-by-line reader give the same summaries."""
    from modelavg_sym.data import readers

    rng = np.random.default_rng(9)
    nodes = rng.integers(0, 40, 2000)
    vals = rng.normal(size=2000) * 1e3 + 1e6
    text = "node,value\n" + "".join(f" n{a} ,{float(b)!r}\n"
                                     for a, b in zip(nodes, vals, strict=True))
    path = _csv(tmp_path, text)
    fast = readers.read_values_table(path)
    slow = readers._read_values_slowly(str(path), 0, 1, "node", "value", 1)
    assert fast.node == slow.node
    for col in ("n", "mean", "var"):
        np.testing.assert_array_equal(getattr(fast, col), getattr(slow, col))


def test_package_import_stays_light() -> None:
    code = ("import sys, modelavg_sym; print('pandas' in sys.modules, 'sympy' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=120)
    assert proc.stdout.split() == ["False", "False"]
    assert modelavg_sym.personalize is personalize
