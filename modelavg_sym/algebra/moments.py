"""Moments of affine combinations of zero-mean noise terms, by linearity of expectation.

A random quantity is written ``X = m + sum_k x_k e_k`` with a deterministic part ``m`` and
zero-mean noise terms ``e_k`` whose second moments are given by a
:class:`CovarianceTable`.  Then, by linearity alone (no distributional assumption),

    E[X] = m,
    Cov(X, Y) = sum_{k,l} x_k y_l Cov(e_k, e_l),
    E[X^2] = E[X]^2 + Var(X).

This is all the algebra the two-estimator model and the settings engine need; it is
exact for any distribution with finite second moments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sympy as sp

Scalar = sp.Expr | int | float


def _sym(x: Scalar) -> sp.Expr:
    return sp.sympify(x, rational=True) if isinstance(x, float) else sp.sympify(x)


@dataclass(frozen=True)
class RandomAffine:
    """``const + sum coeffs[name] * e_name`` with zero-mean noise terms ``e_name``."""

    const: sp.Expr = sp.S.Zero
    coeffs: Mapping[str, sp.Expr] = field(default_factory=dict)

    @classmethod
    def noise(cls, name: str) -> RandomAffine:
        """The zero-mean noise term ``e_name`` itself."""
        return cls(sp.S.Zero, {name: sp.S.One})

    @classmethod
    def constant(cls, value: Scalar) -> RandomAffine:
        """A deterministic quantity."""
        return cls(_sym(value), {})

    def __add__(self, other: RandomAffine | Scalar) -> RandomAffine:
        if not isinstance(other, RandomAffine):
            other = RandomAffine.constant(other)
        coeffs = dict(self.coeffs)
        for k, v in other.coeffs.items():
            coeffs[k] = coeffs.get(k, sp.S.Zero) + v
        return RandomAffine(self.const + other.const, coeffs)

    __radd__ = __add__

    def __neg__(self) -> RandomAffine:
        return self * -1

    def __sub__(self, other: RandomAffine | Scalar) -> RandomAffine:
        return self + (-other if isinstance(other, RandomAffine) else -_sym(other))

    def __rsub__(self, other: Scalar) -> RandomAffine:
        return (-self) + other

    def __mul__(self, k: Scalar) -> RandomAffine:
        if isinstance(k, RandomAffine):
            raise TypeError("a product of two random quantities is not affine")
        k = _sym(k)
        return RandomAffine(self.const * k, {n: v * k for n, v in self.coeffs.items()})

    __rmul__ = __mul__

    def __truediv__(self, k: Scalar) -> RandomAffine:
        return self * (sp.S.One / _sym(k))


class CovarianceTable:
    """Second moments of the noise terms: ``Cov(e_k, e_l)``; unlisted pairs are uncorrelated."""

    def __init__(self, entries: Mapping[tuple[str, str], Scalar] | None = None) -> None:
        self._cov: dict[frozenset[str], sp.Expr] = {}
        for (k, l_), v in (entries or {}).items():
            self.set(k, l_, v)

    def set(self, k: str, l_: str, value: Scalar) -> None:
        """Record Cov(e_k, e_l) (= Var(e_k) when k == l)."""
        self._cov[frozenset((k, l_))] = _sym(value)

    def __call__(self, k: str, l_: str) -> sp.Expr:
        return self._cov.get(frozenset((k, l_)), sp.S.Zero)


def expectation(x: RandomAffine) -> sp.Expr:
    """E[X] = const, since every noise term has mean zero."""
    return x.const


def covariance(x: RandomAffine, y: RandomAffine, table: CovarianceTable) -> sp.Expr:
    """Cov(X, Y) = sum_{k,l} x_k y_l Cov(e_k, e_l), summed in name order (deterministic)."""
    total = sp.S.Zero
    for k in sorted(x.coeffs):
        for l_ in sorted(y.coeffs):
            total += x.coeffs[k] * y.coeffs[l_] * table(k, l_)
    return total


def variance(x: RandomAffine, table: CovarianceTable) -> sp.Expr:
    """Var(X) = Cov(X, X)."""
    return covariance(x, x, table)


def second_moment(x: RandomAffine, table: CovarianceTable) -> sp.Expr:
    """E[X^2] = E[X]^2 + Var(X)."""
    return expectation(x) ** 2 + variance(x, table)
