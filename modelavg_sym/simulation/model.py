"""The simulation set-up: nodes drawing from real distributions, the local and global
estimators they define, and the true quantities those estimators have.

A :class:`SimulationSetup` has nodes i = 0..K, node 0 the local node; node i holds ``n_i``
i.i.d. draws from its distribution.  Each replication draws every node's sample mean
xbar_i and forms

    L = xbar_0,    G = sum_{i in S} n_i xbar_i / sum_{i in S} n_i,

with S the other nodes (c = 0) or, with ``include_local``, all nodes (c != 0); with
``weighting="uniform"`` G is the plain mean of the node means instead.  The target
is theta = the local distribution's true mean.  The true s_L, s_G, c and Delta
(:class:`Truth`) are computed from the nodes' true moments by linearity, exactly in
rationals (the rule of :mod:`modelavg_sym.algebra.moments` on numbers: this layer runs
without sympy, as ``simulate`` and ``sweep`` must), with the exact node weights of G.

The replications themselves run in :mod:`modelavg_sym.simulation.engine`; the estimates
and their confidence intervals are in :mod:`modelavg_sym.simulation.stats`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from modelavg_sym.errors import InvalidParameterError
from modelavg_sym.simulation.distributions import Distribution, as_distribution


@dataclass(frozen=True)
class Node:
    """A node: ``n`` i.i.d. draws from ``dist``."""

    dist: Distribution
    n: int


@dataclass(frozen=True)
class Truth:
    """The true quantities of a simulation set-up (the arguments of the compiled API)."""

    theta: float
    var_local: float
    var_global: float
    bias: float
    cov: float

    @property
    def params(self) -> tuple[float, float, float, float]:
        """(s_L, s_G, Delta, c) in the compiled API's argument order."""
        return (self.var_local, self.var_global, self.bias, self.cov)


def check_count(name: str, n: Any) -> int:
    """``n`` as an int >= 1 (an integral float such as 5.0 is accepted).

    Raises:
        InvalidParameterError: anything else, naming ``name``.
    """
    if isinstance(n, bool) or not float(n).is_integer() or n < 1:
        raise InvalidParameterError(name, "must be an integer >= 1", f"got {n!r}")
    return int(n)


@dataclass(frozen=True)
class SimulationSetup:
    """A simulation set-up of the two estimators L and G from real distributions: nodes
    0..K (node 0 local, ``n`` draws each), whether the global model G pools the local
    data too (``include_local``), and how G weights the nodes (``weighting``: ``size``,
    G = sum n_i xbar_i / N, or ``uniform``, the plain mean of the node means).

    Not to be confused with :mod:`modelavg_sym.derive.settings`, whose settings are
    symbolic assumptions; this one draws numbers.
    """

    nodes: tuple[Node, ...]
    include_local: bool = False
    weighting: str = "size"

    def __post_init__(self) -> None:
        if len(self.nodes) < 2 and not self.include_local:
            raise InvalidParameterError("nodes", "need the local node and at least one other")
        if self.weighting not in ("size", "uniform"):
            raise InvalidParameterError("weighting", "must be 'size' or 'uniform'",
                                        f"got {self.weighting!r}")
        for i, node in enumerate(self.nodes):  # numpy's limits on the law of n draws' sum
            try:
                node.dist.sample_mean(np.random.default_rng(0), node.n, 1)
            except (ValueError, OverflowError) as exc:
                if isinstance(exc, InvalidParameterError):
                    raise
                raise InvalidParameterError(f"n[{i}]", f"must be small enough for numpy to "
                                            f"draw the mean of n values of {node.dist.spec}",
                                            f"n = {node.n}: {exc}") from None

    @classmethod
    def from_nodes(cls, nodes: Sequence[tuple[str | Distribution, int]],
                   include_local: bool = False, weighting: str = "size") -> SimulationSetup:
        """Build from ``[(dist_or_spec, n), ...]``; the first node is the local node.

        ``weighting``: ``size`` (G = sum n_i xbar_i / N) or ``uniform`` (equal node weights,
        the uniform federation).
        """
        out = tuple(Node(as_distribution(d), check_count(f"n[{i}]", n))
                    for i, (d, n) in enumerate(nodes))
        return cls(out, include_local, weighting)

    @classmethod
    def two_estimator(cls, local: str | Distribution, n_local: int,
                      global_: str | Distribution, n_global: int) -> SimulationSetup:
        """L = mean of ``n_local`` local draws, G = mean of ``n_global`` global draws (c = 0)."""
        return cls((Node(as_distribution(local), check_count("n_local", n_local)),
                    Node(as_distribution(global_), check_count("n_global", n_global))))

    @property
    def members(self) -> tuple[int, ...]:
        """Indices of the nodes pooled into the global model."""
        return tuple(range(0 if self.include_local else 1, len(self.nodes)))

    def exact_weights(self) -> tuple[Fraction, ...]:
        """Node weights of G, exactly: n_i / N (``size``) or 1 / |S| (``uniform``)."""
        if self.weighting == "uniform":
            return tuple(Fraction(1, len(self.members)) for _ in self.members)
        total = sum(self.nodes[i].n for i in self.members)
        return tuple(Fraction(self.nodes[i].n, total) for i in self.members)

    def global_weights(self) -> npt.NDArray[np.float64]:
        """Node weights of G as floats (the same numbers the truth is derived with)."""
        return np.array([float(w) for w in self.exact_weights()], dtype=np.float64)

    def truth(self) -> Truth:
        """theta, s_L, s_G, Delta and c, derived by linearity from the nodes' true moments.

        xbar_i = mu_i + e_i with Var(e_i) = v_i/n_i, independent; L = xbar_0 and
        G = sum w_i xbar_i (:meth:`exact_weights`); then, by linearity (the rule of
        :mod:`modelavg_sym.algebra.moments`, here on numbers: a quantity is its mean and its
        coefficient on each e_i, and Cov(X, Y) = sum_i x_i y_i Var(e_i) for independent
        e_i), s_L = Var(L), s_G = Var(G), c = Cov(L, G), Delta = E[G] - mu_0: exactly, in
        rationals from the float moments' exact values, each rounded once at the end.
        """
        var_e = [Fraction(node.dist.var) / node.n for node in self.nodes]
        mean = [Fraction(node.dist.mean) for node in self.nodes]
        loc = {0: Fraction(1)}  # L = xbar_0: coefficient 1 on e_0
        glob = dict(zip(self.members, self.exact_weights(), strict=True))

        def cov(x: dict[int, Fraction], y: dict[int, Fraction]) -> Fraction:
            return sum((x[i] * y[i] * var_e[i] for i in sorted(x.keys() & y.keys())),
                       Fraction(0))

        theta = self.nodes[0].dist.mean
        expect_g = sum((w * mean[i] for i, w in glob.items()), Fraction(0))
        return Truth(theta=theta,
                     var_local=float(cov(loc, loc)),
                     var_global=float(cov(glob, glob)),
                     bias=float(expect_g - mean[0]),
                     cov=float(cov(loc, glob)))

    def draw(self, rng: np.random.Generator, reps: int
             ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """``reps`` replications of (L, G), nodes drawn in order."""
        means = [node.dist.sample_mean(rng, node.n, reps) for node in self.nodes]
        members = self.members
        if len(members) == 1:
            return means[0], means[members[0]]
        w = self.global_weights()
        glob = np.zeros(reps)
        for wi, i in zip(w, members, strict=True):
            glob += wi * means[i]
        return means[0], glob

    @property
    def ci_valid(self) -> bool:
        """True when every node has a finite 4th moment (the CIs' standard errors need it)."""
        return all(node.dist.finite_fourth_moment for node in self.nodes)

    def describe(self) -> str:
        """One line: each node's distribution and size, and how G pools them."""
        parts = [f"{node.dist.spec} x {node.n}" for node in self.nodes]
        return (f"local {parts[0]}; others {', '.join(parts[1:]) or '-'}"
                + ("; global includes local" if self.include_local else "")
                + ("; equal node weights" if self.weighting == "uniform" else ""))
