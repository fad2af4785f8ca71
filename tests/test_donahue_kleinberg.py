"""Donahue and Kleinberg's published expected errors, reproduced by the settings engine.

The closed forms below are typed from MATH.md section 2 (their table) as independent
references; the package derives its own from the random-node-means population model.
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
import sympy as sp

from modelavg_sym.derive import settings as S
from modelavg_sym.derive.core import independent
from modelavg_sym.symbols import Delta, s_G, s_L

sigma, mu_e, w = S.sigma, S.mu_e, S.w


def _zero(e: sp.Expr) -> bool:
    return sp.cancel(sp.together(e)) == 0


def published(n, j, sig2, me):
    """Their closed forms for player j (MATH.md section 2)."""
    k = len(n)
    N = sum(n)
    Sj = sum(n[i] ** 2 for i in range(k) if i != j) + (N - n[j]) ** 2
    V = [sig2 + me / ni for ni in n]
    Smj = sum(1 / V[i] for i in range(k) if i != j)
    den = 1 + V[j] * Smj
    weights = [(1 + sig2 * Smj) / den if i == j else (me / n[j]) / (V[i] * den)
               for i in range(k)]
    return {
        "local": me / n[j],
        "uniform": me / N + sig2 * Sj / N**2,
        "coarse": me * (w**2 / n[j] + (1 - w**2) / N) + sig2 * (1 - w) ** 2 * Sj / N**2,
        "weights": weights,
        "error": (me / n[j]) * (1 + sig2 * Smj) / den,
    }


def _fine_published(u, n, j, sig2, me):
    return me * sum(u[i] ** 2 / n[i] for i in range(len(n))) + sig2 * (
        sum(u[i] ** 2 for i in range(len(n)) if i != j) + (1 - u[j]) ** 2)


def _check(d, n, j, sig2, me, eq):
    pub = published(n, j, sig2, me)
    for key in ("local", "uniform", "coarse"):
        assert eq(d[key] - pub[key]), key
    for i in range(len(n)):
        assert eq(d[f"fine_weight_{i}"] - pub["weights"][i]), i
    assert eq(d["fine_min_mse"] - pub["error"])
    # fine-grained expected MSE on the constraint sum u = 1
    u = S._fine_weight_symbols(len(n))
    on_simplex = {u[-1]: 1 - sum(u[:-1])}
    assert eq(sp.expand(d["fine"].subs(on_simplex)
                        - _fine_published(u, n, j, sig2, me).subs(on_simplex)))


@pytest.mark.slow
@pytest.mark.parametrize("K", [1, 2, 3, 4])
def test_symbolic_matches_published(K):
    n = sp.symbols(f"n_0:{K + 1}", positive=True)
    d = S.donahue_kleinberg(n)
    _check(d, n, 0, sigma**2, mu_e, _zero)


def test_symbolic_K4_partly_numeric_sizes():
    n0, n1 = sp.symbols("n_0 n_1", positive=True)
    n = (n0, n1, 3, 5, 8)
    d = S.donahue_kleinberg(n, j=1)
    _check(d, n, 1, sigma**2, mu_e, _zero)


def test_symbolic_other_player():
    n = sp.symbols("n_0:3", positive=True)
    d = S.donahue_kleinberg(n, j=2)
    _check(d, n, 2, sigma**2, mu_e, _zero)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_rational_K10(seed):
    rng = random.Random(seed)
    n = [rng.randint(1, 200) for _ in range(11)]
    sig2 = Fraction(rng.randint(1, 50), rng.randint(1, 50))
    me = Fraction(rng.randint(1, 50), rng.randint(1, 50))
    j = rng.randrange(11)
    d = S.donahue_kleinberg(n, j=j, noise_var=me, spread=sig2)
    q = lambda x: sp.Rational(x.numerator, x.denominator)  # noqa: E731
    _check(d, [sp.Integer(x) for x in n], j, q(sig2), q(me), _zero)
    # and weights really sum to 1, exactly
    assert sum(d[f"fine_weight_{i}"] for i in range(11)) == 1


def test_published_forms_would_catch_an_error():
    n = sp.symbols("n_0:3", positive=True)
    d = S.donahue_kleinberg(n)
    pub = published(n, 0, sigma**2, mu_e)
    assert not _zero(d["uniform"] - (pub["uniform"] + sigma**2 / sum(n) ** 2))
    assert not _zero(d["fine_min_mse"] - pub["error"] * (1 + 1 / n[0]))


@pytest.mark.parametrize("K", [1, 2, 3])
def test_coarse_optimum_is_core_optimal_weight(K):
    # 1 - w* (their coarse-grained optimum) = a* of the pooled setting (R2 with covariance)
    n = sp.symbols(f"n_0:{K + 1}", positive=True)
    d = S.donahue_kleinberg(n)
    assert _zero(1 - d["coarse_optimal_w"] - d["pooled_optimal_weight"])
    # and their published coarse MSE is minimised there
    coarse = published(n, 0, sigma**2, mu_e)["coarse"]
    assert _zero(sp.diff(coarse, w).subs(w, d["coarse_optimal_w"]))


def test_two_players_fine_is_core_independent_with_delta_sq_two_sigma_sq():
    n = sp.symbols("n_0:2", positive=True)
    d = S.donahue_kleinberg(n)
    a_ind = independent()["optimal_weight"].subs(
        {s_L: mu_e / n[0], s_G: mu_e / n[1], Delta: sp.sqrt(2) * sigma})
    assert _zero(d["fine_weight_1"] - a_ind)
    assert _zero(d["fine_weight_0"] - (1 - a_ind))
    # Delta^2 = sigma^2 would not do
    assert not _zero(d["fine_weight_1"] - a_ind.subs(sigma, sigma / sp.sqrt(2)))


def test_bad_player_index():
    with pytest.raises(ValueError, match="j"):
        S.donahue_kleinberg([1, 2], j=2)
