"""Node data distributions: every univariate ``numpy.random.Generator`` method with finite
variance, plus finite mixtures, parsed safely from text and with exact moments.

A spec is a call written like numpy's own method: ``"exponential(scale=2)"``,
``"binomial(10, p=0.3)"``, ``"standard_t(df=5)"``.  Positional and keyword arguments are
bound with the Generator method's own signature (so names, order and defaults are
numpy's, read at run time), then validated.  A finite mixture is written

    mixture(0.3 * normal(0, 1), 0.7 * exponential(2))

(weights > 0 summing to 1, each multiplying a component spec).  Parsing uses :mod:`ast`
and accepts only numeric literals (with + - * / ** between them), ``True``/``False`` and
calls of known names: nothing is evaluated.

Each :class:`Distribution` knows its true mean and variance in the parametrisation numpy
samples from (the facts below are properties of the *distributions*, not results of the
model; each is checked against a large seeded numpy sample in tests/test_distributions.py):

* ``pareto(a)`` is Pareto II (Lomax), Pareto-I samples minus 1: mean 1/(a-1),
  variance a/((a-1)^2 (a-2));
* ``geometric(p)`` counts trials, support 1, 2, ...: mean 1/p, variance (1-p)/p^2;
* ``negative_binomial(n, p)`` counts failures before n successes: mean n(1-p)/p,
  variance n(1-p)/p^2;
* ``vonmises(mu, kappa)`` is wrapped into [-pi, pi]: mean and variance by the Fourier
  series of x and x^2 on that interval with E[cos kX] = I_k(kappa)/I_0(kappa) (numpy
  switches to a wrapped normal, E[cos kV] = exp(-k^2/(2 kappa)), for kappa > 1e6);
* ``zipf(a)``: mean zeta(a-1)/zeta(a), E[X^2] = zeta(a-2)/zeta(a).

Infinite-variance settings are rejected with :class:`InvalidParameterError` naming the
parameter (``standard_cauchy`` always; ``standard_t`` needs df > 2, ``pareto`` a > 2,
``f`` and ``noncentral_f`` dfden > 4, ``zipf`` a > 3).

Sample means: for families whose sums have a known law (normal, binomial, poisson, gamma,
exponential, chi-square, noncentral chi-square, negative binomial, geometric, wald), the
mean of n draws is drawn directly from that law (cost O(1) in n); so is a mixture of such
families (the n draws split over the components as Multinomial(n, w)).  Every other family
and mixture is streamed in chunks of at most :data:`CHUNK` draws, so memory does not grow
with n or with the number of replications.
"""

from __future__ import annotations

import ast
import inspect
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from modelavg_sym.errors import InvalidParameterError

#: Largest number of single draws generated at once when streaming sample means.
CHUNK = 1 << 17

_EULER_GAMMA = 0.57721566490153286061
_IGNORED = frozenset({"size", "dtype", "out", "method"})

Law = Callable[[np.random.Generator, Mapping[str, Any], Any, int], npt.NDArray[Any]]


# --------------------------------------------------------------------------- families


@dataclass(frozen=True)
class Constraint:
    """``parameter`` must satisfy ``test(params)``; ``text`` says how, in words."""

    parameter: str
    text: str
    test: Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class Family:
    """One numpy Generator method: constraints, moments and (optionally) its sum law.

    Attributes:
        name: the Generator method name.
        integer: parameters that must be integers.
        constraints: checked in order after binding; the first failure is raised.
        moments: params -> (mean, variance) in numpy's parametrisation.
        sum_law: (rng, params, n, reps) -> ``reps`` exact draws of the sum of n samples
            (n an integer >= 1 or an array of them), when the law of the sum is known;
            ``None`` means stream in chunks.
        fourth: params -> whether the 4th moment is finite (needed for standard errors of
            squared errors to be valid).
        rejected: reason the family can never be used (infinite variance).
    """

    name: str
    moments: Callable[[Mapping[str, Any]], tuple[float, float]]
    constraints: tuple[Constraint, ...] = ()
    integer: tuple[str, ...] = ()
    sum_law: Law | None = None
    fourth: Callable[[Mapping[str, Any]], bool] = lambda p: True
    rejected: str = ""

    @property
    def signature(self) -> inspect.Signature:
        """numpy's signature of the method, without size/dtype/out/method."""
        sig = inspect.signature(getattr(np.random.Generator, self.name))
        params = [p for p in sig.parameters.values() if p.name not in _IGNORED | {"self"}]
        return sig.replace(parameters=params)


def _c(parameter: str, text: str, test: Callable[[Mapping[str, Any]], bool]) -> Constraint:
    return Constraint(parameter, text, test)


def _pos(name: str) -> Constraint:
    return _c(name, "must be > 0", lambda p: p[name] > 0)


def _nonneg(name: str) -> Constraint:
    return _c(name, "must be >= 0", lambda p: p[name] >= 0)


def _prob(name: str, low_open: bool = False, high_open: bool = False) -> Constraint:
    lo, hi = ("(" if low_open else "["), (")" if high_open else "]")

    def test(p: Mapping[str, Any]) -> bool:
        x = p[name]
        return (x > 0 if low_open else x >= 0) and (x < 1 if high_open else x <= 1)

    return _c(name, f"must be in {lo}0, 1{hi}", test)


def _finite_var(name: str, bound: float, family: str) -> Constraint:
    return _c(name, f"must be > {bound:g} for {family} to have finite variance",
              lambda p: p[name] > bound)


def _zeta(s: float) -> float:
    import mpmath

    return float(mpmath.zeta(s))


def _vonmises_moments(p: Mapping[str, Any]) -> tuple[float, float]:
    """Mean and variance of numpy's vonmises sample, wrapped into [-pi, pi].

    On (-pi, pi): x = 2 sum_k (-1)^(k+1) sin(kx)/k and x^2 = pi^2/3 + 4 sum_k (-1)^k
    cos(kx)/k^2; with X = mu + V (mod 2 pi), E[sin kX] = sin(k mu) rho_k and
    E[cos kX] = cos(k mu) rho_k, rho_k = E[cos kV].
    """
    mu, kappa = float(p["mu"]), float(p["kappa"])
    second = math.pi**2 / 3
    if kappa < 1e-8:  # numpy draws uniformly on [-pi, pi] here
        return 0.0, second
    kmax = int(40 + 10 * math.sqrt(kappa))  # rho_k ~ exp(-k^2 / (2 kappa)) is negligible
    ks = np.arange(1, kmax + 1, dtype=np.float64)
    if kappa > 1e6:  # numpy's wrapped-normal branch
        rho = np.exp(-ks * ks / (2 * kappa))
    else:
        # r_k = I_k / I_{k-1} = 1 / (2k/kappa + r_{k+1}) by backward recurrence (stable),
        # started well beyond kmax; rho_k = r_1 ... r_k.
        ratios = np.empty(kmax)
        r = 0.0
        for k in range(kmax + 40, 0, -1):
            r = 1.0 / (2 * k / kappa + r)
            if k <= kmax:
                ratios[k - 1] = r
        rho = np.cumprod(ratios)
    sign = np.where(ks % 2 == 1, -1.0, 1.0)  # (-1)^k
    mean = float(np.sum(-2 * sign * np.sin(ks * mu) * rho / ks))
    second += float(np.sum(4 * sign * np.cos(ks * mu) * rho / ks**2))
    return mean, second - mean**2


def _hyper_moments(p: Mapping[str, Any]) -> tuple[float, float]:
    g, b, s = int(p["ngood"]), int(p["nbad"]), int(p["nsample"])
    tot = g + b
    mean = s * g / tot
    var = s * (g / tot) * (b / tot) * (tot - s) / (tot - 1) if tot > 1 else 0.0
    return mean, var


def _integers_bounds(p: Mapping[str, Any]) -> tuple[int, int]:
    """[lo, hi] inclusive support of integers(low, high, endpoint)."""
    low, high, endpoint = p["low"], p["high"], bool(p["endpoint"])
    lo, hi = (0, int(low)) if high is None else (int(low), int(high))
    return lo, hi if endpoint else hi - 1


def _logseries_moments(p: Mapping[str, Any]) -> tuple[float, float]:
    q = float(p["p"])
    if q == 0:
        return 1.0, 0.0
    lg = math.log1p(-q)
    mean = -q / ((1 - q) * lg)
    var = -q * (q + lg) / ((1 - q) ** 2 * lg**2)
    return mean, var


def _noncentral_f_moments(p: Mapping[str, Any]) -> tuple[float, float]:
    m, n, lam = float(p["dfnum"]), float(p["dfden"]), float(p["nonc"])
    mean = n * (m + lam) / (m * (n - 2))
    var = 2 * (n / m) ** 2 * ((m + lam) ** 2 + (m + 2 * lam) * (n - 2)) / ((n - 2) ** 2 * (n - 4))
    return mean, var


def _families() -> dict[str, Family]:
    pi = math.pi
    fams = [
        Family("beta", lambda p: (p["a"] / (p["a"] + p["b"]), p["a"] * p["b"]
                                  / ((p["a"] + p["b"]) ** 2 * (p["a"] + p["b"] + 1))),
               (_pos("a"), _pos("b"))),
        Family("binomial", lambda p: (p["n"] * p["p"], p["n"] * p["p"] * (1 - p["p"])),
               (_nonneg("n"), _prob("p")), integer=("n",),
               sum_law=lambda g, p, n, k: g.binomial(p["n"] * n, p["p"], k)),
        Family("chisquare", lambda p: (p["df"], 2 * p["df"]), (_pos("df"),),
               sum_law=lambda g, p, n, k: g.chisquare(p["df"] * n, k)),
        Family("exponential", lambda p: (p["scale"], p["scale"] ** 2), (_nonneg("scale"),),
               sum_law=lambda g, p, n, k: g.gamma(n, p["scale"], k)),
        Family("f", lambda p: (p["dfden"] / (p["dfden"] - 2),
                               2 * p["dfden"] ** 2 * (p["dfnum"] + p["dfden"] - 2)
                               / (p["dfnum"] * (p["dfden"] - 2) ** 2 * (p["dfden"] - 4))),
               (_pos("dfnum"), _finite_var("dfden", 4, "f")),
               fourth=lambda p: p["dfden"] > 8),
        Family("gamma", lambda p: (p["shape"] * p["scale"], p["shape"] * p["scale"] ** 2),
               (_nonneg("shape"), _nonneg("scale")),
               sum_law=lambda g, p, n, k: g.gamma(p["shape"] * n, p["scale"], k)),
        Family("geometric", lambda p: (1 / p["p"], (1 - p["p"]) / p["p"] ** 2),
               (_prob("p", low_open=True),),
               sum_law=lambda g, p, n, k: g.negative_binomial(n, p["p"], k) + n),
        Family("gumbel", lambda p: (p["loc"] + _EULER_GAMMA * p["scale"],
                                    pi**2 / 6 * p["scale"] ** 2), (_nonneg("scale"),)),
        Family("hypergeometric", _hyper_moments,
               (_nonneg("ngood"), _nonneg("nbad"), _nonneg("nsample"),
                _c("ngood", "ngood + nbad must be > 0", lambda p: p["ngood"] + p["nbad"] > 0),
                _c("nsample", "must be <= ngood + nbad",
                   lambda p: p["nsample"] <= p["ngood"] + p["nbad"])),
               integer=("ngood", "nbad", "nsample")),
        Family("integers", lambda p: ((_integers_bounds(p)[0] + _integers_bounds(p)[1]) / 2,
                                      ((_integers_bounds(p)[1] - _integers_bounds(p)[0] + 1) ** 2
                                       - 1) / 12),
               (_c("high", "the range [low, high) (or [0, low) without high) must be non-empty",
                   lambda p: _integers_bounds(p)[1] >= _integers_bounds(p)[0]),),
               integer=("low", "high")),
        Family("laplace", lambda p: (p["loc"], 2 * p["scale"] ** 2), (_nonneg("scale"),)),
        Family("logistic", lambda p: (p["loc"], pi**2 / 3 * p["scale"] ** 2), (_nonneg("scale"),)),
        Family("lognormal", lambda p: (math.exp(p["mean"] + p["sigma"] ** 2 / 2),
                                       math.expm1(p["sigma"] ** 2)
                                       * math.exp(2 * p["mean"] + p["sigma"] ** 2)),
               (_nonneg("sigma"),)),
        Family("logseries", _logseries_moments, (_prob("p", high_open=True),)),
        Family("negative_binomial", lambda p: (p["n"] * (1 - p["p"]) / p["p"],
                                               p["n"] * (1 - p["p"]) / p["p"] ** 2),
               (_pos("n"), _prob("p", low_open=True)),
               sum_law=lambda g, p, n, k: g.negative_binomial(p["n"] * n, p["p"], k)),
        Family("noncentral_chisquare",
               lambda p: (p["df"] + p["nonc"], 2 * (p["df"] + 2 * p["nonc"])),
               (_pos("df"), _nonneg("nonc")),
               sum_law=lambda g, p, n, k: g.noncentral_chisquare(
                   p["df"] * n, p["nonc"] * n, k)),
        Family("noncentral_f", _noncentral_f_moments,
               (_pos("dfnum"), _finite_var("dfden", 4, "noncentral_f"), _nonneg("nonc")),
               fourth=lambda p: p["dfden"] > 8),
        Family("normal", lambda p: (p["loc"], p["scale"] ** 2), (_nonneg("scale"),),
               sum_law=lambda g, p, n, k: g.normal(p["loc"] * n, p["scale"] * np.sqrt(n), k)),
        Family("pareto", lambda p: (1 / (p["a"] - 1), p["a"] / ((p["a"] - 1) ** 2 * (p["a"] - 2))),
               (_finite_var("a", 2, "pareto"),), fourth=lambda p: p["a"] > 4),
        Family("poisson", lambda p: (p["lam"], p["lam"]), (_nonneg("lam"),),
               sum_law=lambda g, p, n, k: g.poisson(p["lam"] * n, k)),
        Family("power",
               lambda p: (p["a"] / (p["a"] + 1), p["a"] / ((p["a"] + 1) ** 2 * (p["a"] + 2))),
               (_pos("a"),)),
        Family("random", lambda p: (0.5, 1 / 12)),
        Family("rayleigh",
               lambda p: (p["scale"] * math.sqrt(pi / 2), (4 - pi) / 2 * p["scale"] ** 2),
               (_nonneg("scale"),)),
        Family("standard_cauchy", lambda p: (math.nan, math.inf),
               rejected="the Cauchy distribution has no mean and infinite variance"),
        Family("standard_exponential", lambda p: (1.0, 1.0),
               sum_law=lambda g, p, n, k: g.standard_gamma(n, k)),
        Family("standard_gamma", lambda p: (p["shape"], p["shape"]), (_nonneg("shape"),),
               sum_law=lambda g, p, n, k: g.standard_gamma(p["shape"] * n, k)),
        Family("standard_normal", lambda p: (0.0, 1.0),
               sum_law=lambda g, p, n, k: g.normal(0.0, np.sqrt(n), k)),
        Family("standard_t", lambda p: (0.0, p["df"] / (p["df"] - 2)),
               (_finite_var("df", 2, "standard_t"),), fourth=lambda p: p["df"] > 4),
        Family("triangular", lambda p: ((p["left"] + p["mode"] + p["right"]) / 3,
                                        (p["left"] ** 2 + p["mode"] ** 2 + p["right"] ** 2
                                         - p["left"] * p["mode"] - p["left"] * p["right"]
                                         - p["mode"] * p["right"]) / 18),
               (_c("mode", "must satisfy left <= mode <= right",
                   lambda p: p["left"] <= p["mode"] <= p["right"]),
                _c("right", "must be > left", lambda p: p["right"] > p["left"]))),
        Family("uniform", lambda p: ((p["low"] + p["high"]) / 2, (p["high"] - p["low"]) ** 2 / 12),
               (_c("high", "must be >= low", lambda p: p["high"] >= p["low"]),)),
        Family("vonmises", _vonmises_moments, (_nonneg("kappa"),)),
        Family("wald", lambda p: (p["mean"], p["mean"] ** 3 / p["scale"]),
               (_pos("mean"), _pos("scale")),
               sum_law=lambda g, p, n, k: g.wald(p["mean"] * n, p["scale"] * n * n, k)),
        Family("weibull", lambda p: (math.gamma(1 + 1 / p["a"]),
                                     math.gamma(1 + 2 / p["a"]) - math.gamma(1 + 1 / p["a"]) ** 2),
               (_pos("a"),)),
        Family("zipf", lambda p: (_zeta(p["a"] - 1) / _zeta(p["a"]),
                                  _zeta(p["a"] - 2) / _zeta(p["a"])
                                  - (_zeta(p["a"] - 1) / _zeta(p["a"])) ** 2),
               (_finite_var("a", 3, "zipf"),), fourth=lambda p: p["a"] > 5),
    ]
    return {f.name: f for f in fams}


#: Every supported family by numpy method name (sorted).
FAMILIES: dict[str, Family] = dict(sorted(_families().items()))

#: Families whose sample means are drawn exactly from the law of the sum (O(1) in n).
EXACT_MEAN_FAMILIES: tuple[str, ...] = tuple(n for n, f in FAMILIES.items() if f.sum_law)


# --------------------------------------------------------------------------- distributions


class Distribution:
    """Interface: true ``mean``, ``var``, ``sample`` and ``sample_mean``."""

    spec: str

    @property
    def mean(self) -> float:
        raise NotImplementedError

    @property
    def var(self) -> float:
        raise NotImplementedError

    @property
    def finite_fourth_moment(self) -> bool:
        """Whether E[X^4] < inf (standard errors of squared errors need it)."""
        raise NotImplementedError

    @property
    def exact_mean_law(self) -> bool:
        """True when :meth:`sample_mean` draws from the exact law of the mean (O(1) in n)."""
        return False

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> npt.NDArray[Any]:
        """``size`` independent draws."""
        raise NotImplementedError

    def sample_mean(self, rng: np.random.Generator, n: int, reps: int) -> npt.NDArray[np.float64]:
        """``reps`` independent draws of the mean of ``n`` i.i.d. samples.

        Streams in chunks of at most :data:`CHUNK` single draws (bounded memory); the
        chunking depends only on ``n`` and ``reps``, so results are reproducible.
        """
        if n < 1:
            raise InvalidParameterError("n", "must be an integer >= 1", f"got {n}")
        out = np.empty(reps, dtype=np.float64)
        if n <= CHUNK:
            rows = max(1, CHUNK // n)
            for r0 in range(0, reps, rows):
                r1 = min(reps, r0 + rows)
                out[r0:r1] = self.sample(rng, (r1 - r0, n)).sum(axis=1)
        else:
            for i in range(reps):
                acc = 0.0
                for c0 in range(0, n, CHUNK):
                    acc += float(self.sample(rng, min(CHUNK, n - c0)).sum())
                out[i] = acc
        out /= n
        return out

    def __repr__(self) -> str:
        return f"Distribution({self.spec!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Distribution) and other.spec == self.spec

    def __hash__(self) -> int:
        return hash(self.spec)


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return repr(v)
    if isinstance(v, int | np.integer):
        return str(int(v))
    return repr(float(v))


class Numpy(Distribution):
    """One ``numpy.random.Generator`` method with bound, validated parameters."""

    def __init__(self, family: str, params: Mapping[str, Any],
                 moments: tuple[float, float] | None = None) -> None:
        self.family = FAMILIES[family]
        self.params: dict[str, Any] = dict(params)
        args = ", ".join(f"{k}={_fmt(v)}" for k, v in self.params.items())
        self.spec = f"{family}({args})"
        if moments is None:
            moments = self.family.moments(self.params)
        self._mean, self._var = (float(x) for x in moments)

    def __reduce__(self) -> tuple[Any, ...]:
        # carry the moments along: workers need not recompute series (vonmises, zipf)
        return (Numpy, (self.family.name, self.params, (self._mean, self._var)))

    @property
    def mean(self) -> float:
        """True mean in numpy's parametrisation."""
        return self._mean

    @property
    def var(self) -> float:
        """True variance in numpy's parametrisation."""
        return self._var

    @property
    def finite_fourth_moment(self) -> bool:
        return bool(self.family.fourth(self.params))

    @property
    def exact_mean_law(self) -> bool:
        return self.family.sum_law is not None

    def sample_sum(self, rng: np.random.Generator, counts: npt.NDArray[np.integer]
                   ) -> npt.NDArray[np.float64]:
        """Sums of ``counts[i]`` i.i.d. draws (0 where the count is 0), from the exact law
        of the sum when known, else streamed one replication at a time."""
        counts = np.asarray(counts)
        out = np.zeros(counts.shape, dtype=np.float64)
        pos = np.flatnonzero(counts > 0)
        if self.family.sum_law is not None:
            out[pos] = self.family.sum_law(rng, self.params, counts[pos], pos.size)
        else:
            for i in pos:
                out[i] = float(self.sample_mean(rng, int(counts[i]), 1)[0]) * int(counts[i])
        return out

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> npt.NDArray[Any]:
        return getattr(rng, self.family.name)(**self.params, size=size)

    def sample_mean(self, rng: np.random.Generator, n: int, reps: int) -> npt.NDArray[np.float64]:
        """Exact law of the mean when the sum's law is known, else chunked streaming."""
        if self.family.sum_law is not None:
            if n < 1:
                raise InvalidParameterError("n", "must be an integer >= 1", f"got {n}")
            return np.asarray(self.family.sum_law(rng, self.params, n, reps),
                              dtype=np.float64) / n
        return super().sample_mean(rng, n, reps)


class Mixture(Distribution):
    """Finite mixture sum_j w_j F_j: draw the component, then from it.

    mean = sum_j w_j mu_j; variance = sum_j w_j (v_j + mu_j^2) - mean^2.
    """

    def __init__(self, components: tuple[tuple[float, Distribution], ...]) -> None:
        if not components:
            raise InvalidParameterError("mixture", "needs at least one component")
        ws = np.array([w for w, _ in components], dtype=np.float64)
        if not (np.isfinite(ws).all() and (ws > 0).all()):
            raise InvalidParameterError("mixture weights", "must be > 0", f"got {ws.tolist()}")
        if abs(ws.sum() - 1) > 1e-9:
            raise InvalidParameterError("mixture weights", "must sum to 1",
                                        f"they sum to {ws.sum():.12g}")
        self.components = tuple(components)
        self.weights = ws / ws.sum()
        self.spec = "mixture(" + ", ".join(f"{_fmt(w)}*{d.spec}" for w, d in components) + ")"
        mus = np.array([d.mean for _, d in components])
        vs = np.array([d.var for _, d in components])
        self._mean = float(self.weights @ mus)
        self._var = float(self.weights @ (vs + (mus - self._mean) ** 2))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Mixture, (self.components,))

    @property
    def mean(self) -> float:
        return self._mean

    @property
    def var(self) -> float:
        return self._var

    @property
    def finite_fourth_moment(self) -> bool:
        return all(d.finite_fourth_moment for _, d in self.components)

    @property
    def exact_mean_law(self) -> bool:
        """Exact when every component's sum has a known law: the n draws split over the
        components as C ~ Multinomial(n, w), and the sum is sum_j (sum of C_j draws of F_j)."""
        return all(isinstance(d, Numpy) and d.exact_mean_law for _, d in self.components)

    def sample_mean(self, rng: np.random.Generator, n: int, reps: int) -> npt.NDArray[np.float64]:
        if not self.exact_mean_law:
            return super().sample_mean(rng, n, reps)
        if n < 1:
            raise InvalidParameterError("n", "must be an integer >= 1", f"got {n}")
        counts = rng.multinomial(n, self.weights, size=reps)
        total = np.zeros(reps, dtype=np.float64)
        for j, (_, d) in enumerate(self.components):
            assert isinstance(d, Numpy)
            total += d.sample_sum(rng, counts[:, j])
        return total / n

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> npt.NDArray[Any]:
        which = rng.choice(len(self.components), size=size, p=self.weights)
        out = np.empty(which.shape, dtype=np.float64)
        for j, (_, d) in enumerate(self.components):
            mask = which == j
            k = int(mask.sum())
            if k:
                out[mask] = d.sample(rng, k)
        return out


# --------------------------------------------------------------------------- parsing

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow,
}


#: Largest |exponent| of ``**`` in a spec, and largest magnitude of an integer literal
#: result (beyond either no float parameter can be finite; checked before computing).
MAX_EXPONENT = 10_000
MAX_INT_BITS = 1100


def _arith(op: ast.operator, x: Any, y: Any, where: str) -> Any:
    """``x op y`` for literals, bounded: no huge powers, no overflow, no division by zero,
    no complex results; each failure is an :class:`InvalidParameterError` naming ``where``."""
    if x is None or y is None:
        raise InvalidParameterError(where, "must be a number", "None in arithmetic")
    text = f"{x!r} {type(op).__name__.lower()} {y!r}"
    if isinstance(op, ast.Pow):
        if abs(y) > MAX_EXPONENT:
            raise InvalidParameterError(where, f"exponents must be at most {MAX_EXPONENT} in "
                                        "absolute value", f"got {y!r}")
        if (isinstance(x, int) and isinstance(y, int) and y > 0 and abs(x) > 1
                and x.bit_length() * y > MAX_INT_BITS):
            raise InvalidParameterError(where, "must be a finite float64 number",
                                        f"{x!r} ** {y!r} is too large")
    try:
        out = _BINOPS[type(op)](x, y)
    except ZeroDivisionError:
        raise InvalidParameterError(where, "must be a finite number",
                                    f"division by zero in {text}") from None
    except OverflowError:
        raise InvalidParameterError(where, "must be a finite float64 number",
                                    f"overflow in {text}") from None
    if isinstance(out, complex):
        raise InvalidParameterError(where, "must be a real number", f"{text} is complex")
    if isinstance(out, int) and out.bit_length() > MAX_INT_BITS:
        raise InvalidParameterError(where, "must be a finite float64 number",
                                    f"{text} is too large")
    if isinstance(out, float) and not math.isfinite(out) and math.isfinite(x) \
            and math.isfinite(y):
        raise InvalidParameterError(where, "must be a finite float64 number",
                                    f"overflow in {text}")
    return out


def _number(node: ast.AST, where: str) -> Any:
    """A numeric literal (or arithmetic of literals), True/False or None."""
    if isinstance(node, ast.Constant) and (node.value is None
                                           or isinstance(node.value, int | float)):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        v = _number(node.operand, where)
        return -v if isinstance(node.op, ast.USub) else +v
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return _arith(node.op, _number(node.left, where), _number(node.right, where), where)
    if isinstance(node, ast.Name) and node.id in ("inf", "nan", "pi", "e"):
        return {"inf": math.inf, "nan": math.nan, "pi": math.pi, "e": math.e}[node.id]
    raise InvalidParameterError(where, "must be a number", f"got {ast.unparse(node)!r}")


def _coerce(fam: Family, params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in params.items():
        if k in fam.integer:
            if v is None:
                out[k] = None
                continue
            if isinstance(v, bool) or not float(v).is_integer():
                raise InvalidParameterError(k, "must be an integer", f"got {v!r}")
            if abs(int(v)) > INT64_MAX:
                raise InvalidParameterError(k, "must fit a 64-bit integer, |value| <= 2^63-1",
                                            f"got {v!r}")
            out[k] = int(v)
        elif k == "endpoint":
            out[k] = bool(v)
        else:
            if isinstance(v, bool) or v is None:
                raise InvalidParameterError(k, "must be a real number", f"got {v!r}")
            f = float(v)
            if not math.isfinite(f):
                raise InvalidParameterError(k, "must be finite", f"got {f}")
            out[k] = f + 0.0  # -0.0 is 0.0 (numpy would reject a scale of -0.0 as '< 0')
    return out


def make(family: str, *args: Any, **kwargs: Any) -> Numpy:
    """Build and validate ``family(*args, **kwargs)`` with numpy's signature and defaults."""
    if family not in FAMILIES:
        known = ", ".join(FAMILIES)
        raise InvalidParameterError("distribution", f"must be one of: {known}, mixture",
                                    f"got {family!r}")
    fam = FAMILIES[family]
    if fam.rejected:
        raise InvalidParameterError(family, "is not supported: infinite variance", fam.rejected)
    try:
        bound = fam.signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise InvalidParameterError(family, f"arguments must match numpy's {family}"
                                    f"{fam.signature}", str(exc)) from None
    bound.apply_defaults()
    params = _coerce(fam, dict(bound.arguments))
    for con in fam.constraints:
        if not con.test(params):
            raise InvalidParameterError(con.parameter, con.text,
                                        f"{family} got {con.parameter}={params[con.parameter]!r}")
    try:
        dist = Numpy(family, params)
    except (OverflowError, ZeroDivisionError):
        args = ", ".join(f"{k}={_fmt(v)}" for k, v in params.items())
        raise InvalidParameterError(family, _MOMENTS_TEXT, f"the mean or variance of "
                                    f"{family}({args}) overflows float64") from None
    if not (math.isfinite(dist.mean) and math.isfinite(dist.var)
            and abs(dist.mean) <= MAX_MEAN and dist.var <= MAX_MEAN**2):
        raise InvalidParameterError(family, _MOMENTS_TEXT, f"{dist.spec} has mean "
                                    f"{dist.mean:.6g}, variance {dist.var:.6g}")
    try:  # numpy's own limits (e.g. hypergeometric ngood, nbad < 10^9): one probe draw
        dist.sample(np.random.default_rng(0), 1)
    except (ValueError, OverflowError) as exc:
        raise InvalidParameterError(family, "parameters must be within numpy's limits",
                                    f"{dist.spec}: {exc}") from None
    return dist


#: Largest |mean| and standard deviation of a node distribution: squared errors, their
#: variances and 4th-order power sums must stay finite in float64 (1e50^4 = 1e200).
MAX_MEAN = 1e50
INT64_MAX = 2**63 - 1
_MOMENTS_TEXT = (f"parameters must give a finite mean and variance with |mean| <= {MAX_MEAN:g} "
                 f"and standard deviation <= {MAX_MEAN:g}")


def _from_ast(node: ast.AST) -> Distribution:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise InvalidParameterError("distribution", "must be a call such as 'normal(0, 1)'",
                                    f"got {ast.unparse(node)!r}")
    name = node.func.id
    if name == "mixture":
        if node.keywords:
            raise InvalidParameterError("mixture", "takes only 'weight * component' arguments")
        comps: list[tuple[float, Distribution]] = []
        for arg in node.args:
            if not (isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Mult)):
                raise InvalidParameterError(
                    "mixture", "components must be written 'weight * dist(...)'",
                    f"got {ast.unparse(arg)!r}")
            left, right = arg.left, arg.right
            if isinstance(left, ast.Call):
                left, right = right, left
            w = _number(left, "mixture weight")
            comps.append((float(w), _from_ast(right)))
        return Mixture(tuple(comps))
    if name not in FAMILIES:
        return make(name)  # raises, listing the known families
    if any(k.arg is None for k in node.keywords):
        raise InvalidParameterError(name, "does not accept **kwargs")
    names = list(FAMILIES[name].signature.parameters)
    args = [_number(a, names[i] if i < len(names) else f"{name} argument {i + 1}")
            for i, a in enumerate(node.args)]
    kwargs = {k.arg: _number(k.value, str(k.arg)) for k in node.keywords if k.arg}
    return make(name, *args, **kwargs)


@cache
def parse(spec: str) -> Distribution:
    """Parse a distribution spec such as ``"binomial(n=1, p=0.3)"`` (no eval).

    Raises:
        InvalidParameterError: unknown family, malformed spec, a parameter outside its
            constraint, or an infinite-variance setting; the message names the parameter.
    """
    if not isinstance(spec, str):
        raise InvalidParameterError("distribution", "must be a string spec", f"got {spec!r}")
    try:
        tree = ast.parse(spec.strip(), mode="eval")
    except SyntaxError as exc:
        raise InvalidParameterError("distribution", "must be a call such as 'normal(0, 1)'",
                                    f"cannot parse {spec!r}: {exc.msg}") from None
    return _from_ast(tree.body)


def as_distribution(x: str | Distribution) -> Distribution:
    """A :class:`Distribution` from a spec string or an existing distribution."""
    return x if isinstance(x, Distribution) else parse(x)
