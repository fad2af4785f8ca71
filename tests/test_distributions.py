"""Distribution specs: parsing, validation, numpy's parametrisation, exact mean laws.

The true means and variances are checked against large seeded numpy samples with
tolerances from the standard error (5 standard errors; the variance's standard error is
estimated from the sample 4th central moment, so every example below has a finite 4th
moment).
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from modelavg_sym.errors import InvalidParameterError
from modelavg_sym.simulation import distributions as D
from modelavg_sym.simulation.distributions import EXACT_MEAN_FAMILIES, FAMILIES, Mixture, parse

N = 400_000
K_SE = 5.0

#: One example spec per supported family (every numpy univariate method with finite
#: variance), plus extra parametrisations where numpy's conventions are easy to get wrong.
EXAMPLES: dict[str, list[str]] = {
    "beta": ["beta(2, 5)", "beta(a=0.5, b=0.5)"],
    "binomial": ["binomial(10, 0.3)", "binomial(n=1, p=0.3)"],
    "chisquare": ["chisquare(3)"],
    "exponential": ["exponential()", "exponential(scale=2)"],
    "f": ["f(5, 12)"],
    "gamma": ["gamma(2.5)", "gamma(shape=0.7, scale=3)"],
    "geometric": ["geometric(0.3)"],
    "gumbel": ["gumbel(1, 2)"],
    "hypergeometric": ["hypergeometric(7, 13, 6)"],
    "integers": ["integers(5)", "integers(-3, 7, endpoint=True)"],
    "laplace": ["laplace(1, 2)"],
    "logistic": ["logistic(-1, 0.5)"],
    "lognormal": ["lognormal(0, 0.5)", "lognormal(mean=1, sigma=0.3)"],
    "logseries": ["logseries(0.6)"],
    "negative_binomial": ["negative_binomial(3, 0.4)", "negative_binomial(2.5, 0.7)"],
    "noncentral_chisquare": ["noncentral_chisquare(3, 2)"],
    "noncentral_f": ["noncentral_f(5, 12, 2)"],
    "normal": ["normal()", "normal(3, scale=2)"],
    "pareto": ["pareto(6)", "pareto(a=9)"],
    "poisson": ["poisson()", "poisson(lam=3.5)"],
    "power": ["power(3)"],
    "random": ["random()"],
    "rayleigh": ["rayleigh(2)"],
    "standard_exponential": ["standard_exponential()"],
    "standard_gamma": ["standard_gamma(2)"],
    "standard_normal": ["standard_normal()"],
    "standard_t": ["standard_t(9)"],
    "triangular": ["triangular(0, 1, 4)"],
    "uniform": ["uniform()", "uniform(-2, 5)"],
    "vonmises": ["vonmises(0, 2)", "vonmises(2.5, 1.5)", "vonmises(-3, 0.5)",
                 "vonmises(0.5, 1000)", "vonmises(1, 2e6)"],
    "wald": ["wald(2, 3)"],
    "weibull": ["weibull(1.5)", "weibull(a=5)"],
    "zipf": ["zipf(7)"],
}
CASES = [s for specs in EXAMPLES.values() for s in specs]


def test_every_family_has_an_example() -> None:
    supported = {n for n, f in FAMILIES.items() if not f.rejected}
    assert set(EXAMPLES) == supported


def test_every_univariate_generator_method_is_known() -> None:
    """Every public Generator method taking only scalar parameters is covered."""
    skip = {"bit_generator", "bytes", "choice", "dirichlet", "multinomial",
            "multivariate_hypergeometric", "multivariate_normal", "permutation", "permuted",
            "shuffle", "spawn"}
    methods = {m for m in dir(np.random.Generator) if not m.startswith("_")} - skip
    assert methods == set(FAMILIES)


@pytest.mark.parametrize("spec", CASES)
def test_moments_match_numpy_sample(spec: str) -> None:
    d = parse(spec)
    rng = np.random.default_rng(np.random.SeedSequence([12345, CASES.index(spec)]))
    x = np.asarray(d.sample(rng, N), dtype=np.float64)
    m, v = d.mean, d.var
    assert abs(x.mean() - m) < K_SE * math.sqrt(v / N) + 1e-12, (x.mean(), m)
    c = x - x.mean()
    s2 = float(c @ c) / (N - 1)
    m4 = float(np.mean(c**4))
    se_var = math.sqrt(max(m4 - s2**2, 0.0) / N)
    assert abs(s2 - v) < K_SE * se_var + 1e-12, (s2, v, se_var)


@pytest.mark.parametrize("spec", ["exponential()", "normal()", "gamma(2.5)", "poisson()",
                                  "uniform()", "lognormal()", "integers(5)"])
def test_sampling_is_numpy_method_with_numpys_defaults(spec: str) -> None:
    d = parse(spec)
    name = spec.split("(")[0]
    args = [] if name != "gamma" else [2.5]
    args = [5] if name == "integers" else args
    a = d.sample(np.random.default_rng(7), 50)
    b = getattr(np.random.default_rng(7), name)(*args, size=50)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("spec", [*CASES, "mixture(0.25*poisson(2), 0.75*integers(5))"])
def test_canonical_spec_round_trips(spec: str) -> None:
    d = parse(spec)
    assert parse(d.spec) == d
    assert parse(d.spec).mean == d.mean and parse(d.spec).var == d.var


def test_positional_and_keyword_arguments_bind_like_numpy() -> None:
    assert parse("gamma(2, 3)").spec == parse("gamma(shape=2, scale=3)").spec
    assert parse("gamma(2)").params == {"shape": 2.0, "scale": 1.0}
    assert parse("binomial(n=1, p=0.3)").params == {"n": 1, "p": 0.3}
    assert parse("normal(loc=1)").params == {"loc": 1.0, "scale": 1.0}
    assert parse("uniform(1/4, 2**3)").params == {"low": 0.25, "high": 8.0}
    assert parse("integers(5)").params == {"low": 5, "high": None, "endpoint": False}


def test_numpy_parametrisation_conventions() -> None:
    # pareto is Lomax (Pareto-I minus 1): mean 1/(a-1); geometric starts at 1
    assert parse("pareto(3)").mean == pytest.approx(0.5)
    assert parse("geometric(0.25)").mean == pytest.approx(4.0)
    assert parse("negative_binomial(2, 0.5)").mean == pytest.approx(2.0)  # failures
    assert parse("exponential(2)").mean == pytest.approx(2.0)  # scale, not rate
    assert parse("lognormal(0, 1)").mean == pytest.approx(math.exp(0.5))


@pytest.mark.parametrize("spec, param", [
    ("standard_t(2)", "df"), ("standard_t(df=1.5)", "df"), ("pareto(2)", "a"),
    ("pareto(a=1.5)", "a"), ("f(3, 4)", "dfden"), ("noncentral_f(1, 4, 1)", "dfden"),
    ("zipf(3)", "a"), ("standard_cauchy()", "standard_cauchy"),
])
def test_infinite_variance_is_rejected(spec: str, param: str) -> None:
    with pytest.raises(InvalidParameterError) as exc:
        parse(spec)
    assert exc.value.parameter == param
    assert "variance" in str(exc.value)


@pytest.mark.parametrize("spec, param", [
    ("normal(0, -1)", "scale"), ("binomial(2.5, 0.3)", "n"), ("binomial(3, 1.5)", "p"),
    ("beta(0, 1)", "a"), ("geometric(0)", "p"), ("poisson(-1)", "lam"),
    ("hypergeometric(2, 3, 9)", "nsample"), ("triangular(0, 5, 4)", "mode"),
    ("uniform(3, 1)", "high"), ("wald(0, 1)", "mean"), ("logseries(1)", "p"),
    ("normal(nan)", "loc"), ("normal(inf)", "loc"), ("integers(3, 3)", "high"),
    ("weibull(0)", "a"), ("vonmises(0, -1)", "kappa"),
])
def test_invalid_parameters_name_the_parameter(spec: str, param: str) -> None:
    with pytest.raises(InvalidParameterError) as exc:
        parse(spec)
    assert exc.value.parameter == param


@pytest.mark.parametrize("spec", [
    "foo(1)", "normal(", "normal(x)", "normal(1, 2, 3)", "normal(sigma=1)",
    "__import__('os').system('echo hacked')", "normal(loc=(1).__class__)", "normal(**{})",
    "np.random.normal(0, 1)", "mixture(normal(0,1), exponential(2))",
    "mixture(0.3*normal(0,1), 0.6*exponential(2))", "mixture(-0.5*normal(), 1.5*normal())",
    "mixture()", "lambda: 1", "normal(0, 1) + 1", "", "normal('1')",
])
def test_bad_specs_raise_without_evaluating(spec: str) -> None:
    with pytest.raises(InvalidParameterError):
        parse(spec)


@pytest.mark.parametrize("mu, kappa", [(0.0, 2.0), (2.5, 1.5), (-3.0, 0.5), (1.0, 40.0)])
def test_vonmises_moments_against_quadrature(mu: float, kappa: float) -> None:
    """Independent reference: E[X], Var(X) of the density exp(kappa cos(x - mu)) wrapped
    to [-pi, pi], by 30-digit quadrature."""
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(30):
        def f(x):
            return mpmath.exp(kappa * (mpmath.cos(x - mu) - 1))

        pts = sorted({-mpmath.pi, mpmath.pi, mpmath.mpf(mu)})
        z = mpmath.quad(f, pts)
        mean = mpmath.quad(lambda x: x * f(x), pts) / z
        var = mpmath.quad(lambda x: (x - mean) ** 2 * f(x), pts) / z
    d = parse(f"vonmises({mu}, {kappa})")
    assert d.mean == pytest.approx(float(mean), rel=1e-12, abs=1e-14)
    assert d.var == pytest.approx(float(var), rel=1e-12)


def test_mixture_moments_and_sampling() -> None:
    d = parse("mixture(0.3*normal(0,1), 0.7*exponential(2))")
    assert isinstance(d, Mixture)
    # mean 0.7*2; E[X^2] = 0.3*1 + 0.7*8
    assert d.mean == pytest.approx(1.4)
    assert d.var == pytest.approx(0.3 * 1 + 0.7 * 8 - 1.4**2)
    x = d.sample(np.random.default_rng(3), N)
    assert abs(x.mean() - d.mean) < K_SE * math.sqrt(d.var / N)
    assert parse("mixture(exponential(2) * 0.7, 0.3 * normal(0, 1))").mean == pytest.approx(1.4)


MIXTURES = ["mixture(0.3*normal(0, 1), 0.7*exponential(2))",
            "mixture(0.2*poisson(1), 0.5*geometric(0.5), 0.3*binomial(4, 0.9))"]


@pytest.mark.parametrize("spec", [EXAMPLES[name][-1] for name in EXACT_MEAN_FAMILIES]
                         + MIXTURES)
def test_exact_mean_law_matches_brute_force(spec: str) -> None:
    """The directly drawn sample mean has the law of the average of n draws: same mean and
    variance v/n (5 standard errors) and a two-sample Kolmogorov-Smirnov statistic below
    its asymptotic 0.1% critical value against brute-force averages."""
    d = parse(spec)
    assert d.exact_mean_law
    n, reps = 7, 100_000
    rng = np.random.default_rng(np.random.SeedSequence([99, len(spec)]))
    exact = d.sample_mean(rng, n, reps)
    brute = D.Distribution.sample_mean(d, rng, n, reps)  # the streaming path
    assert abs(exact.mean() - d.mean) < K_SE * math.sqrt(d.var / n / reps)
    c = exact - exact.mean()
    s2 = float(c @ c) / (reps - 1)
    se = math.sqrt(max(float(np.mean(c**4)) - s2**2, 0) / reps)
    assert abs(s2 - d.var / n) < K_SE * se
    both = np.sort(np.concatenate([exact, brute]))
    cdf_a = np.searchsorted(np.sort(exact), both, side="right") / reps
    cdf_b = np.searchsorted(np.sort(brute), both, side="right") / reps
    ks = float(np.max(np.abs(cdf_a - cdf_b)))
    crit = math.sqrt(-math.log(0.001 / 2) / 2) * math.sqrt(2 / reps)
    assert ks < crit, (ks, crit)


def test_exact_mean_law_is_o1_in_n() -> None:
    """n only enters the law's parameters: the same number of generator calls."""
    for spec in ("gamma(2)", MIXTURES[1]):
        assert parse(spec).sample_mean(np.random.default_rng(1), 10**9, 5).shape == (5,)
    assert set(EXACT_MEAN_FAMILIES) == {
        "binomial", "chisquare", "exponential", "gamma", "geometric", "negative_binomial",
        "noncentral_chisquare", "normal", "poisson", "standard_exponential", "standard_gamma",
        "standard_normal", "wald"}
    assert not parse("mixture(0.5*normal(), 0.5*beta(2, 2))").exact_mean_law


def test_streaming_in_chunks_equals_one_long_draw(monkeypatch: pytest.MonkeyPatch) -> None:
    d = parse("lognormal(0, 0.5)")
    monkeypatch.setattr(D, "CHUNK", 8)
    got = d.sample_mean(np.random.default_rng(5), 20, 3)  # n > CHUNK: column chunks
    want = np.random.default_rng(5).lognormal(0, 0.5, size=(3, 20)).mean(axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-14)
    got = d.sample_mean(np.random.default_rng(5), 3, 7)  # row chunks
    want = np.random.default_rng(5).lognormal(0, 0.5, size=(7, 3)).mean(axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-14)


def test_sample_mean_rejects_bad_n() -> None:
    for spec in ("normal()", "beta(2, 2)"):
        with pytest.raises(InvalidParameterError):
            parse(spec).sample_mean(np.random.default_rng(0), 0, 3)


@pytest.mark.parametrize("spec", ["vonmises(1, 2)", "zipf(5)",
                                  "mixture(0.5*pareto(5), 0.5*poisson(2))"])
def test_pickle_round_trip(spec: str) -> None:
    d = parse(spec)
    e = pickle.loads(pickle.dumps(d))
    assert e == d and e.mean == d.mean and e.var == d.var


def test_fourth_moment_flags() -> None:
    assert parse("pareto(5)").finite_fourth_moment
    assert not parse("pareto(3)").finite_fourth_moment
    assert not parse("standard_t(3)").finite_fourth_moment
    assert parse("standard_t(5)").finite_fourth_moment
    assert parse("lognormal(0, 2)").finite_fourth_moment


@pytest.mark.parametrize("spec, param", [
    ("normal(9**9**9)", "loc"),            # would hang: exponent bounded before computing
    ("normal(10**400)", "loc"),            # integer beyond any float64
    ("normal(1/0)", "loc"),                # ZeroDivisionError
    ("normal(0, scale=0**-1)", "scale"),   # ZeroDivisionError in a power
    ("normal(2.0**10000)", "loc"),         # OverflowError
    ("normal(1e308*10)", "loc"),           # silent overflow to inf
    ("normal((-8)**0.5)", "loc"),          # complex result
    ("binomial(n=1e30, p=0.5)", "n"),      # does not fit numpy's int64
    ("normal(1e200)", "normal"),           # mean beyond the float64-safe bound
    ("uniform(0, 1e308)", "uniform"),      # variance overflows
    ("exponential(1e200)", "exponential"),
    ("gamma(1e-300, 1e300)", "gamma"),
])
def test_unbounded_literals_and_moments_are_rejected(spec: str, param: str) -> None:
    with pytest.raises(InvalidParameterError) as exc:
        parse(spec)
    assert exc.value.parameter == param


def test_bounds_keep_ordinary_arithmetic() -> None:
    assert parse("normal(2**-3, 10**2)").params == {"loc": 0.125, "scale": 100.0}
    assert parse("normal(1e49, 1e50)").var == pytest.approx(1e100)
    assert parse("binomial(2**62, 0.5)").params["n"] == 2**62


def test_negative_zero_is_zero() -> None:
    """numpy rejects scale=-0.0 ('scale < 0') while the constraint scale >= 0 accepts it:
    the parser maps -0.0 to 0.0 so both agree and sampling works."""
    d = parse("normal(0, -0.0)")
    assert math.copysign(1.0, d.params["scale"]) == 1.0
    assert d.spec == parse("normal(0, 0)").spec
    np.testing.assert_array_equal(d.sample(np.random.default_rng(0), 3), np.zeros(3))


def test_numpy_limits_are_rejected_at_parse_time() -> None:
    """numpy refuses hypergeometric ngood, nbad >= 10^9 (ValueError at sampling time):
    caught when the spec is built, naming the family."""
    with pytest.raises(InvalidParameterError) as exc:
        parse("hypergeometric(2**40, 2**40, 5)")
    assert exc.value.parameter == "hypergeometric"
