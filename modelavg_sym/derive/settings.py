"""Settings engine: derive s_L, s_G, c and Delta from how the models are built (MATH.md §2).

Nodes i = 0..K (node 0 is the local node) hold n_i independent samples with mean mu_i and
per-sample variance v_i.  Each node's sample mean is modelled by linearity alone
(:class:`~modelavg_sym.algebra.moments.RandomAffine`):

    xbar_i = mu_i + e_i,    Var(e_i) = v_i / n_i,    all e_i independent.

With *random node means* (Donahue and Kleinberg), mu_i = mu + m_i with independent
zero-mean m_i of variance sigma^2, and the target is the local node's own mean
theta = mu_0 (random too).  Estimators are linear combinations of the xbar_i with
weights given as data.

For a local estimator L and a global estimator G the engine computes, *conditionally on
the node means* (sampling noise only),

    s_L = Var(L),  s_G = Var(G),  c = Cov(L, G),  Delta = E[G | means] - theta,

and the expected squared bias E[Delta^2] over the random means.  The local model must be
conditionally unbiased.  Because every result of the two-estimator derivation depends on
Delta only through Delta^2 and the MSE is linear in Delta^2, the expected MSE is obtained
by substituting Delta^2 -> E[Delta^2] (checked below: the substituted MSE equals the
directly expanded E[(theta_a - theta)^2]).  All results then come from
:func:`modelavg_sym.derive.core.two_estimator` by substitution: nothing is retyped.

Parameters may be sympy symbols or numbers; ints and Fractions give exact rationals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property

import sympy as sp

from modelavg_sym.algebra.moments import (
    CovarianceTable,
    RandomAffine,
    covariance,
    expectation,
    second_moment,
)
from modelavg_sym.derive import nestimators
from modelavg_sym.derive.core import Derivation, Step, tidy, two_estimator
from modelavg_sym.derive.display import A_STAR, MSE, Expect
from modelavg_sym.errors import InvalidParameterError
from modelavg_sym.symbols import Delta, a, c, s_G, s_L

__all__ = [
    "Population",
    "Setting",
    "donahue_kleinberg",
    "known_global_random_bias",
    "node_symbols",
    "other_nodes",
    "pooled",
    "pooled_with_local",
    "random_means_population",
    "uniform_federation",
]

#: Symbols for random-node-means settings.
sigma = sp.Symbol("sigma", positive=True)  # spread of the node means
mu_e = sp.Symbol("mu_e", positive=True)  # mean per-sample (noise) variance
tau = sp.Symbol("tau", positive=True)  # spread of the global model's bias
mu = sp.Symbol("mu", real=True)  # population mean of the node means
w = sp.Symbol("w", real=True)  # Donahue-Kleinberg coarse weight on the local model

_DELTA_SQ = sp.Symbol("Delta_sq", nonnegative=True)
_SAMPLING = "e"
_MEAN = "m"

#: Results of the two-estimator derivation carried over to a setting.
_CARRIED = ("D", "mse", "optimal_weight", "min_mse", "mse_local", "mse_global", "benefit",
            "benefit_factored", "benefit_root_high", "personalization_value")
_TIDY = frozenset({"optimal_weight", "min_mse"})


def _exact(x: object, name: str) -> sp.Expr:
    """Sympify a parameter: ints and Fractions become exact Rationals, floats are taken
    at their exact binary value, sympy expressions pass through."""
    if isinstance(x, bool):
        raise InvalidParameterError(name, "must be a number or sympy expression", f"got {x!r}")
    if isinstance(x, Fraction):
        return sp.Rational(x.numerator, x.denominator)
    if isinstance(x, float):
        return sp.nsimplify(Fraction(x)) if x == x and abs(x) != float("inf") else sp.nan
    try:
        e = sp.sympify(x, rational=False)
    except (sp.SympifyError, TypeError):
        raise InvalidParameterError(name, "must be a number or sympy expression",
                                    f"got {x!r}") from None
    if not isinstance(e, sp.Expr):
        raise InvalidParameterError(name, "must be a number or sympy expression", f"got {x!r}")
    return e


def _check_sign(e: sp.Expr, name: str, strict: bool) -> None:
    if e.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise InvalidParameterError(name, "must be finite", f"got {e}")
    if e.is_real is False:
        raise InvalidParameterError(name, "must be real", f"got {e}")
    bad = e.is_nonpositive if strict else e.is_negative
    if bad:
        raise InvalidParameterError(name, "must be > 0" if strict else "must be >= 0",
                                    f"got {e}")


def node_symbols(K: int) -> tuple[tuple[sp.Symbol, ...], tuple[sp.Symbol, ...],
                                  tuple[sp.Symbol, ...]]:
    """Sample sizes n_i (positive), per-sample variances v_i (positive) and means mu_i
    (real) for nodes 0..K."""
    n = tuple(sp.Symbol(f"n_{i}", positive=True) for i in range(K + 1))
    v = tuple(sp.Symbol(f"v_{i}", positive=True) for i in range(K + 1))
    m = tuple(sp.Symbol(f"mu_{i}", real=True) for i in range(K + 1))
    return n, v, m


@dataclass(frozen=True)
class Population:
    """Nodes 0..K with sample sizes ``n``, per-sample variances ``var`` and means ``mean``;
    with ``spread`` (sigma^2) the node means are random: mu_i = mean_i + m_i,
    Var(m_i) = spread.  Node 0 is the local node unless a target node is given."""

    n: tuple[sp.Expr, ...]
    var: tuple[sp.Expr, ...]
    mean: tuple[sp.Expr, ...]
    spread: sp.Expr | None = None

    @classmethod
    def build(cls, n: Sequence[object], var: Sequence[object], mean: Sequence[object],
              spread: object | None = None) -> Population:
        """Validate and sympify (exact rationals for ints and Fractions)."""
        if not (len(n) == len(var) == len(mean)):
            raise InvalidParameterError("n, var, mean", "must have the same length",
                                        f"got {len(n)}, {len(var)}, {len(mean)}")
        if len(n) < 2:
            raise InvalidParameterError("n", "needs at least two nodes (local and one other)")
        ns = tuple(_exact(x, f"n[{i}]") for i, x in enumerate(n))
        vs = tuple(_exact(x, f"var[{i}]") for i, x in enumerate(var))
        ms = tuple(_exact(x, f"mean[{i}]") for i, x in enumerate(mean))
        for i, x in enumerate(ns):
            _check_sign(x, f"n[{i}]", strict=True)
        for i, x in enumerate(vs):
            _check_sign(x, f"var[{i}]", strict=False)
        for i, x in enumerate(ms):
            if x.has(sp.nan, sp.zoo, sp.oo, -sp.oo) or x.is_real is False:
                raise InvalidParameterError(f"mean[{i}]", "must be a finite real number",
                                            f"got {x}")
        sp_ = None
        if spread is not None:
            sp_ = _exact(spread, "spread")
            _check_sign(sp_, "spread", strict=False)
        return cls(ns, vs, ms, sp_)

    @property
    def K(self) -> int:
        """Index of the last node."""
        return len(self.n) - 1

    @staticmethod
    def _e(i: int) -> str:
        return f"{_SAMPLING}_{i:04d}"

    @staticmethod
    def _m(i: int) -> str:
        return f"{_MEAN}_{i:04d}"

    @cached_property
    def table(self) -> CovarianceTable:
        """Var(e_i) = v_i / n_i; Var(m_i) = sigma^2 for random means; all else 0."""
        t = CovarianceTable()
        for i in range(len(self.n)):
            t.set(self._e(i), self._e(i), self.var[i] / self.n[i])
            if self.spread is not None:
                t.set(self._m(i), self._m(i), self.spread)
        return t

    def node_mean(self, i: int) -> RandomAffine:
        """mu_i, plus the random term m_i when node means are random."""
        base = RandomAffine.constant(self.mean[i])
        return base + RandomAffine.noise(self._m(i)) if self.spread is not None else base

    def sample_mean(self, i: int) -> RandomAffine:
        """xbar_i = mu_i + e_i."""
        return self.node_mean(i) + RandomAffine.noise(self._e(i))

    def combine(self, weights: Sequence[object]) -> RandomAffine:
        """sum_i weights[i] xbar_i (weights as data: numbers or sympy expressions)."""
        if len(weights) != len(self.n):
            raise InvalidParameterError("weights", f"must have length {len(self.n)}",
                                        f"got {len(weights)}")
        out = RandomAffine.constant(0)
        for i, wi in enumerate(weights):
            wi = _exact(wi, f"weights[{i}]")
            if wi != 0:
                out = out + wi * self.sample_mean(i)
        return out

    def size_weighted(self, nodes: Sequence[int]) -> RandomAffine:
        """sum_{i in nodes} n_i xbar_i / sum_{i in nodes} n_i."""
        total = sum(self.n[i] for i in nodes)
        return self.combine([self.n[i] / total if i in nodes else 0 for i in range(len(self.n))])

    def uniform(self, nodes: Sequence[int]) -> RandomAffine:
        """Equal weights 1/|nodes| on the listed nodes."""
        k = len(nodes)
        return self.combine([sp.Rational(1, k) if i in nodes else 0 for i in range(len(self.n))])

    def expected_mse(self, estimator: RandomAffine, target: int = 0) -> sp.Expr:
        """E[(estimator - mu_target)^2] over sampling noise (and random means), by
        linearity: bias^2 + variance."""
        return sp.expand(second_moment(estimator - self.node_mean(target), self.table))

    def setting(self, local: RandomAffine, global_: RandomAffine, name: str, title: str,
                target: int = 0, notes: tuple[str, ...] = ()) -> Setting:
        """The two-estimator setting with these local and global estimators."""
        return Setting(name=name, title=title, population=self, local=local,
                       global_=global_, target=target, notes=notes)


def _split(x: RandomAffine) -> tuple[RandomAffine, RandomAffine]:
    """(sampling part, mean part) of a random quantity: the mean part holds the constant
    and the random-node-mean terms, the sampling part the e_i terms."""
    samp = {k: v for k, v in x.coeffs.items() if k.startswith(_SAMPLING + "_")}
    mean = {k: v for k, v in x.coeffs.items() if not k.startswith(_SAMPLING + "_")}
    return RandomAffine(sp.S.Zero, samp), RandomAffine(x.const, mean)


@dataclass(frozen=True)
class Setting:
    """A local estimator L and a global estimator G built from a :class:`Population`.

    Attributes (exact when the inputs are exact):
        var_local: s_L = Var(L | means).
        var_global: s_G = Var(G | means).
        cov: c = Cov(L, G | means).
        bias: E[Delta] with Delta = E[G | means] - theta (the bias itself for fixed means).
        bias_sq: E[Delta^2] (= bias^2 for fixed means).
    """

    name: str
    title: str
    population: Population
    local: RandomAffine
    global_: RandomAffine
    target: int = 0
    notes: tuple[str, ...] = field(default=())
    #: Standing assumptions beyond the symbols' own (relations such as n_0 < n_1), as
    #: sympy relations; carried into :meth:`derivation` (a setting file declares them).
    assumptions: tuple[sp.Basic, ...] = field(default=())
    #: Further candidate estimators (name, estimator) for the N-estimator optimum.
    candidates: tuple[tuple[str, RandomAffine], ...] = field(default=())
    #: What the setting file asked for beyond the model (claims, Monte Carlo plan), as
    #: plain data; empty for the settings built in Python.
    options: Mapping[str, object] = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        return (f"Setting({self.name!r}, nodes={len(self.population.n)}, "
                f"random_means={self.population.spread is not None})")

    def _repr_markdown_(self) -> str:
        return (f"**{self.title}** (`{self.name}`): $s_L = {sp.latex(self.var_local)}$, "
                f"$s_G = {sp.latex(self.var_global)}$, $c = {sp.latex(self.cov)}$, "
                + (f"$\\Delta = {sp.latex(self.bias)}$" if self.population.spread is None
                   else f"$E[\\Delta^2] = {sp.latex(self.bias_sq)}$"))

    def _repr_latex_(self) -> str:
        delta = (f"\\Delta &= {sp.latex(self.bias)}" if self.population.spread is None
                 else f"\\operatorname{{E}}[\\Delta^{{2}}] &= {sp.latex(self.bias_sq)}")
        return ("$\\begin{aligned} s_{L} &= " + sp.latex(self.var_local)
                + " \\\\ s_{G} &= " + sp.latex(self.var_global)
                + " \\\\ c &= " + sp.latex(self.cov) + " \\\\ " + delta
                + " \\end{aligned}$")

    def symbols(self) -> tuple[sp.Symbol, ...]:
        """Every symbol of the setting (its nodes, estimators, candidates and assumptions),
        sorted by name (found once: the rational route's sampler asks at every point)."""
        return self._symbols

    @cached_property
    def _symbols(self) -> tuple[sp.Symbol, ...]:
        pop = self.population
        exprs: list[sp.Basic] = [*pop.n, *pop.var, *pop.mean, *self.assumptions]
        exprs += [] if pop.spread is None else [pop.spread]
        for est in (self.local, self.global_, *(e for _n, e in self.candidates)):
            exprs += [est.const, *est.coeffs.values()]
        free: set[sp.Symbol] = set()
        for e in exprs:
            free |= sp.sympify(e).free_symbols
        return tuple(sorted(free, key=str))

    def _errors(self) -> tuple[RandomAffine, RandomAffine, RandomAffine, RandomAffine]:
        return self._split_errors

    @cached_property
    def _split_errors(self) -> tuple[RandomAffine, RandomAffine, RandomAffine, RandomAffine]:
        theta = self.population.node_mean(self.target)
        l_samp, l_mean = _split(self.local - theta)
        g_samp, g_mean = _split(self.global_ - theta)
        if sp.simplify(l_mean.const) != 0 or any(sp.simplify(v) != 0
                                                 for v in l_mean.coeffs.values()):
            raise InvalidParameterError("local", "must be conditionally unbiased for the "
                                        "target node's mean")
        return l_samp, l_mean, g_samp, g_mean

    @cached_property
    def raw_moments(self) -> dict[str, sp.Expr]:
        """s_L, s_G, c and Var(Delta) as expanded by linearity, before factoring: sums with
        one term per pair of noise terms (one per node when nodes are independent), the
        form code generation over any number of nodes reads
        (:mod:`modelavg_sym.codegen.estimators`).  E[Delta^2] = bias^2 + Var(Delta)."""
        l_samp, _l_mean, g_samp, g_mean = self._errors()
        t = self.population.table
        return {"var_local": covariance(l_samp, l_samp, t),
                "var_global": covariance(g_samp, g_samp, t),
                "cov": covariance(l_samp, g_samp, t),
                "bias_var": covariance(g_mean, g_mean, t)}

    @cached_property
    def var_local(self) -> sp.Expr:
        return sp.factor(self.raw_moments["var_local"])

    @cached_property
    def var_global(self) -> sp.Expr:
        return sp.factor(self.raw_moments["var_global"])

    @cached_property
    def cov(self) -> sp.Expr:
        return sp.factor(self.raw_moments["cov"])

    @cached_property
    def bias(self) -> sp.Expr:
        return sp.factor(expectation(self._errors()[3]))

    @cached_property
    def bias_sq(self) -> sp.Expr:
        return sp.factor(second_moment(self._errors()[3], self.population.table))

    def moments(self) -> dict[sp.Symbol, sp.Expr]:
        """The substitution {s_L, s_G, c, Delta^2} -> this setting's values (Delta^2 keyed
        by ``Delta``: use :meth:`substitute`)."""
        return {s_L: self.var_local, s_G: self.var_global, c: self.cov, Delta: self.bias_sq}

    def substitute(self, expr: sp.Expr) -> sp.Expr:
        """Replace s_L, s_G, c by their values and Delta^2 by E[Delta^2] in a result of the
        two-estimator derivation (which must be even in Delta)."""
        if sp.expand(expr.subs(Delta, -Delta) - expr) != 0:
            raise ValueError("expression is not even in Delta; cannot substitute E[Delta^2]")
        if self.population.spread is None:
            return expr.subs({s_L: self.var_local, s_G: self.var_global, c: self.cov,
                              Delta: self.bias}, simultaneous=True)
        even = expr.subs(Delta**2, _DELTA_SQ)
        if even.has(Delta):
            raise ValueError("expression is not a function of Delta^2")
        return even.subs({s_L: self.var_local, s_G: self.var_global, c: self.cov,
                          _DELTA_SQ: self.bias_sq}, simultaneous=True)

    def second_moments(self) -> sp.Matrix:
        """M_jk = E[(T_j - theta)(T_k - theta)] of the estimators T = (L, G, candidates...),
        over sampling noise and random node means: E[e_j] E[e_k] + Cov(e_j, e_k)."""
        theta = self.population.node_mean(self.target)
        errs = [est - theta for est in (self.local, self.global_,
                                        *(e for _n, e in self.candidates))]
        t = self.population.table
        return sp.Matrix(len(errs), len(errs), lambda j, k: sp.factor(
            expectation(errs[j]) * expectation(errs[k]) + covariance(errs[j], errs[k], t)))

    def candidate_optimum(self, simplify: bool = True) -> dict[str, sp.Basic]:
        """The best affine combination of L, G and the candidate estimators (MATH.md
        sec. 3: minimise w' M w subject to sum w = 1, M from :meth:`second_moments`):
        ``nestimators_weight_<j>`` (j = 0 local, 1 global, 2.. the candidates in order)
        and ``nestimators_min_mse``."""
        opt = nestimators.affine_optimum(self.second_moments(), [0] * (2 + len(self.candidates)),
                                         name=f"setting_{self.name}_candidates",
                                         simplify=simplify)
        out: dict[str, sp.Basic] = {f"nestimators_weight_{j}": opt[f"weight_{j}"]
                                    for j in range(2 + len(self.candidates))}
        out["nestimators_min_mse"] = opt["min_mse"]
        return out

    def expected_mse(self, weight: sp.Expr = a) -> sp.Expr:
        """E[(theta_a - theta)^2] expanded directly from the population (no substitution)."""
        est = (1 - weight) * self.local + weight * self.global_
        return self.population.expected_mse(est, self.target)

    def derivation(self, simplify: bool = True) -> Derivation:
        """Every two-estimator result for this setting (a*, MSE(a*), benefit, ...), obtained
        by substituting the derived moments into :func:`derive.two_estimator`.

        With ``simplify`` the optimal weight and minimum MSE are put in factored form; the
        other results are left as substituted (cheap for large symbolic settings).  Derived
        once per setting and flag (the setting is immutable; its page, numeric module and
        Monte Carlo route all ask for it)."""
        memo = self._derivations
        if simplify not in memo:
            memo[simplify] = self._derive(simplify)
        return memo[simplify]

    @cached_property
    def _derivations(self) -> dict[bool, Derivation]:
        return {}

    @cached_property
    def _substituted(self) -> dict[str, sp.Expr]:
        """The carried two-estimator results with this setting's moments substituted (the
        same with and without ``simplify``)."""
        base = two_estimator()
        return {key: self.substitute(base.results[key]) for key in _CARRIED}

    def _derive(self, simplify: bool) -> Derivation:
        results: dict[str, sp.Basic] = {
            "var_local": self.var_local, "var_global": self.var_global, "cov": self.cov,
            "bias": self.bias, "bias_sq": self.bias_sq,
        }
        for key in _CARRIED:
            e = self._substituted[key]
            results[key] = tidy(e) if simplify and key in _TIDY else e
        if self.candidates:
            results |= self.candidate_optimum(simplify)
        bias_step = (Step("and the bias of the global model", Delta, self.bias)
                     if self.population.spread is None else
                     Step("and its expected squared bias", Expect(Delta**2), self.bias_sq))
        steps = (
            Step(f"\\emph{{{self.title}.}}  The local variance, by linearity", s_L,
                 self.var_local),
            Step("the variance of the global model", s_G, self.var_global),
            Step("their covariance", c, self.cov),
            bias_step,
            Step(r"Substituting into $<a>^{*} = (<s_L> - <c>)/D$, the optimal weight",
                 A_STAR, results["optimal_weight"]),
            Step("and the minimum mean squared error", MSE(A_STAR), results["min_mse"]),
        )
        return Derivation(name=f"setting_{self.name}", title=self.title, results=results,
                          steps=steps, assumptions=self.assumptions, notes=self.notes)


# --------------------------------------------------------------------------- named settings


def pooled(n: Sequence[object], var: Sequence[object], mean: Sequence[object],
           include_local: bool = True) -> Setting:
    """Local model xbar_0; global model the sample-size-weighted mean of nodes 1..K
    (``include_local=False``, c = 0) or of all nodes 0..K (``include_local=True``).

    >>> from fractions import Fraction
    >>> s = pooled([10, 30, 60], [4, 2, 1], [0, 1, Fraction(1, 2)], include_local=True)
    >>> s.var_local, s.var_global, s.cov, s.bias
    (2/5, 2/125, 1/25, 3/5)
    """
    pop = Population.build(n, var, mean)
    nodes = list(range(pop.K + 1)) if include_local else list(range(1, pop.K + 1))
    name = "pooled_with_local" if include_local else "other_nodes"
    title = ("Global model pooled over all nodes, including the local one" if include_local
             else "Global model pooled over the other nodes")
    return pop.setting(pop.sample_mean(0), pop.size_weighted(nodes), name, title)


def other_nodes(n: Sequence[object], var: Sequence[object], mean: Sequence[object]) -> Setting:
    """Global = sum_{i>=1} n_i xbar_i / sum_{i>=1} n_i (independent of L: c = 0)."""
    return pooled(n, var, mean, include_local=False)


def pooled_with_local(n: Sequence[object], var: Sequence[object],
                      mean: Sequence[object]) -> Setting:
    """Global = sum_{i>=0} n_i xbar_i / sum_{i>=0} n_i (contains L: c != 0)."""
    return pooled(n, var, mean, include_local=True)


def uniform_federation(n: Sequence[object], var: Sequence[object], mean: Sequence[object],
                       include_local: bool = True) -> Setting:
    """Global = unweighted mean of the node means (of all nodes, or of nodes 1..K)."""
    pop = Population.build(n, var, mean)
    nodes = list(range(pop.K + 1)) if include_local else list(range(1, pop.K + 1))
    return pop.setting(pop.sample_mean(0), pop.uniform(nodes), "uniform_federation",
                       "Global model with equal node weights")


def known_global_random_bias(n0: object, var0: object, tau_: object = tau,
                             mean: object = mu) -> Setting:
    """A known global mean mu (s_G = 0) and a local node whose own mean is
    theta = mu + m_0 with Var(m_0) = tau^2, so E[Delta^2] = tau^2 (random bias).
    Then a* = s_L / (s_L + tau^2): the Bayes / BLUP shrinkage factor."""
    spread = _exact(tau_, "tau") ** 2
    pop = Population.build([n0, 1], [var0, 0], [mean, mean], spread=spread)
    glob = RandomAffine.constant(pop.mean[0])
    return pop.setting(pop.sample_mean(0), glob, "known_global_random_bias",
                       r"Known global mean with a random bias of variance $\tau^{2}$")


def random_means_population(n: Sequence[object], noise_var: object = mu_e,
                            spread: object = sigma**2) -> Population:
    """Donahue-Kleinberg population: node means drawn i.i.d. with variance sigma^2 (the
    common mean mu cancels in every error) and per-sample noise variance with mean mu_e
    (the expected MSE is linear in each node's noise variance, so mu_e stands in for it)."""
    k = len(n)
    return Population.build(list(n), [noise_var] * k, [mu] * k, spread=spread)


def _fine_weight_symbols(k: int) -> tuple[sp.Symbol, ...]:
    return tuple(sp.Symbol(f"u_{i}", real=True) for i in range(k))


def donahue_kleinberg(n: Sequence[object], j: int = 0, noise_var: object = mu_e,
                      spread: object = sigma**2) -> Derivation:
    """Derive Donahue and Kleinberg's expected errors for player ``j`` of a coalition with
    sample sizes ``n`` (random node means, variance ``spread``; noise variance with mean
    ``noise_var``) from the population model by linearity.

    Results: ``local`` (xbar_j), ``uniform`` (sum n_i xbar_i / N), ``coarse`` (weight ``w``
    on the local model and 1 - w on the uniform one), ``fine`` (weights u_i with sum 1;
    the last weight is kept as a symbol, the constraint is imposed in the optimum),
    ``coarse_optimal_w`` (argmin in w), ``fine_weight_i`` and ``fine_min_mse`` (the
    constrained optimum, from :func:`nestimators.affine_optimum` with the derived second
    moments), and ``pooled_optimal_weight`` (core a* of the pooled setting).
    """
    pop = random_means_population(n, noise_var, spread)
    k = len(pop.n)
    if not 0 <= j < k:
        raise InvalidParameterError("j", f"must be a node index in 0..{k - 1}", f"got {j}")
    everyone = list(range(k))
    local = pop.sample_mean(j)
    unif = pop.size_weighted(everyone)
    results: dict[str, sp.Basic] = {
        "local": sp.cancel(pop.expected_mse(local, j)),
        "uniform": sp.cancel(pop.expected_mse(unif, j)),
    }
    coarse = pop.expected_mse(w * local + (1 - w) * unif, j)
    results["coarse"] = sp.collect(coarse, w)
    (w_star,) = nestimators._solve_linear([sp.diff(coarse, w)], [w])
    results["coarse_optimal_w"] = w_star
    u = _fine_weight_symbols(k)
    results["fine"] = pop.expected_mse(pop.combine(list(u)), j)
    # Second moments E[(xbar_i - mu_j)(xbar_k - mu_j)], derived from the population model:
    theta = pop.node_mean(j)
    errs = [pop.sample_mean(i) - theta for i in everyone]
    Mmat = sp.Matrix(k, k, lambda i, l_: sp.expand(
        expectation(errs[i]) * expectation(errs[l_])
        + covariance(errs[i], errs[l_], pop.table)))
    fine = nestimators.affine_optimum(Mmat, [0] * k, name="dk_fine", simplify=False)
    for i in everyone:
        results[f"fine_weight_{i}"] = fine[f"weight_{i}"]
    results["fine_min_mse"] = fine["min_mse"]
    pooled_setting = pop.setting(local, unif, "dk_pooled", "pooled", target=j)
    results["pooled_optimal_weight"] = sp.cancel(
        pooled_setting.derivation(simplify=False)["optimal_weight"])
    return Derivation(name="donahue_kleinberg",
                      title="Donahue--Kleinberg expected errors with random node means",
                      results=results,
                      notes=("Fine-grained weights $u_i$; the weight on the local model is "
                             f"$u_{{{j}}}$.",))


def setting_from_mapping(values: Mapping[str, object]) -> Setting:
    """Build a named setting from a mapping (``setting``, ``n``, ``var``, ``mean``), for the
    CLI and data files."""
    kind = values.get("setting", "pooled_with_local")
    builders = {"pooled_with_local": pooled_with_local, "other_nodes": other_nodes,
                "uniform_federation": uniform_federation}
    if kind not in builders:
        raise InvalidParameterError("setting", f"must be one of {sorted(builders)}",
                                    f"got {kind!r}")
    try:
        return builders[kind](values["n"], values["var"], values["mean"])  # type: ignore[arg-type]
    except KeyError as e:
        raise InvalidParameterError(str(e.args[0]), "is required") from None
