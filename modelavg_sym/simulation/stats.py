"""Estimates from simulated replications: power sums, empirical MSE, benefit and optimal
weight with their standard errors, and the comparison with the derived predictions.

Each task of :mod:`modelavg_sym.simulation.engine` returns the power sums
S_ij = sum d_L^i d_G^j, i + j <= 4 (:func:`power_sums`), of the *centred* errors
d_L = e_L - 0 and d_G = e_G - Delta, where e_L = L - theta, e_G = G - theta and (0, Delta)
is the predicted mean of (e_L, e_G).  Every estimate below is a polynomial p in
(e_L, e_G) of degree <= 2; it is re-expanded about the shift, p = p0 + q(d_L, d_G) with
q(0, 0) = 0, and its mean is p0 + mean(q), its variance mean(q^2) - mean(q)^2.  Centring
keeps that difference well conditioned when the bias is large next to the noise (raw
sums about theta lose every significant digit of the variance once
Delta^2 >> s_L / sqrt(eps)):

* empirical MSE(a) = mean of ((1-a) e_L + a e_G)^2, standard error sd/sqrt(R);
* empirical benefit B(a) = mean of e_L^2 - ((1-a) e_L + a e_G)^2 (paired, so its
  standard error is that of the difference);
* empirical optimal weight = sum (G-L)(theta-L) / sum (G-L)^2: the least-squares weight,
  which is also the exact argmin over all a of the empirical MSE; standard error by the
  delta method for a ratio of means.

Confidence intervals are mean +- z se with z the normal quantile; when several weights are
compared at once z is Bonferroni-corrected (z for 1 - alpha/(2m)).  They are valid when
every node distribution has a finite 4th moment (``SimulationResult.ci_valid``).  The
predictions come from the compiled API (:mod:`modelavg_sym.numeric.api`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

from modelavg_sym.errors import InvalidParameterError
from modelavg_sym.numeric import api
from modelavg_sym.simulation.model import SimulationSetup, Truth

#: Default confidence level of the intervals.
CONFIDENCE = 0.999

Poly = npt.NDArray[np.float64]  # P[i, j] = coefficient of e_L^i e_G^j


def power_sums(e_l: npt.NDArray[np.float64], e_g: npt.NDArray[np.float64]) -> Poly:
    """S[i, j] = sum e_L^i e_G^j for i + j <= 4 (zero elsewhere)."""
    pl = np.empty((5, e_l.size))
    pg = np.empty((5, e_g.size))
    pl[0], pg[0] = 1.0, 1.0
    for k in range(1, 5):
        np.multiply(pl[k - 1], e_l, out=pl[k])
        np.multiply(pg[k - 1], e_g, out=pg[k])
    # einsum, not BLAS: multi-threaded BLAS on short vectors is slow on a loaded machine
    s = np.einsum("ib,jb->ij", pl, pg)
    s[np.add.outer(np.arange(5), np.arange(5)) > 4] = 0.0
    return s



def _square(p: Poly) -> Poly:
    out = np.zeros((5, 5))
    for (i, j), x in np.ndenumerate(p):
        if x:
            for (k, l_), y in np.ndenumerate(p):
                if y:
                    out[i + k, j + l_] += x * y
    return out


def _pad(p: Poly) -> Poly:
    out = np.zeros((5, 5))
    out[: p.shape[0], : p.shape[1]] = p
    return out


def _recentre(p: Poly, shift: float) -> Poly:
    """p(e_L, e_G) rewritten as a polynomial in (d_L, d_G) = (e_L, e_G - shift):
    e_G^j = sum_k C(j, k) d_G^k shift^(j-k) (binomial expansion, total degree kept)."""
    p = _pad(p)
    if shift == 0:
        return p
    out = np.zeros((5, 5))
    for (i, j), x in np.ndenumerate(p):
        if x:
            for k in range(j + 1):
                out[i, k] += x * math.comb(j, k) * shift ** (j - k)
    return out


def _x_poly(weight: float) -> Poly:
    """theta_a - theta = (1-a) e_L + a e_G."""
    return np.array([[0.0, weight], [1.0 - weight, 0.0]])


def z_value(confidence: float, comparisons: int = 1) -> float:
    """Two-sided normal quantile, Bonferroni-corrected for ``comparisons`` intervals."""
    if not 0 < confidence < 1:
        raise InvalidParameterError("confidence", "must be in (0, 1)", f"got {confidence}")
    return NormalDist().inv_cdf(1 - (1 - confidence) / (2 * max(1, comparisons)))


@dataclass(frozen=True)
class Comparison:
    """Predicted values against empirical means with simultaneous confidence intervals."""

    quantity: str
    weights: npt.NDArray[np.float64]
    predicted: npt.NDArray[np.float64]
    empirical: npt.NDArray[np.float64]
    se: npt.NDArray[np.float64]
    z: float
    confidence: float

    @property
    def ci_low(self) -> npt.NDArray[np.float64]:
        return self.empirical - self.z * self.se

    @property
    def ci_high(self) -> npt.NDArray[np.float64]:
        return self.empirical + self.z * self.se

    @property
    def agrees(self) -> npt.NDArray[np.bool_]:
        """Predicted value inside the (Bonferroni-corrected) interval, per weight."""
        return (self.ci_low <= self.predicted) & (self.predicted <= self.ci_high)

    @property
    def all_agree(self) -> bool:
        return bool(self.agrees.all())

    def worst(self) -> str:
        """The comparison furthest outside (or nearest the edge of) its interval."""
        k = int(np.argmax(np.abs(self.predicted - self.empirical) / np.maximum(self.se, 1e-300)))
        return (f"{self.quantity}({self.weights[k]:.6g}): predicted {self.predicted[k]:.6g}, "
                f"empirical {self.empirical[k]:.6g} +- {self.z * self.se[k]:.3g} "
                f"(z = {self.z:.3f})")


@dataclass
class SimulationResult:
    """Power sums of R replications and everything estimated from them.

    ``moments[i, j]`` = mean over replications of d_L^i d_G^j (i + j <= 4), the errors
    centred at their predicted means: d_L = e_L, d_G = e_G - ``shift`` (``shift`` = Delta).
    """

    setting: SimulationSetup
    reps: int
    seed: int
    truth: Truth
    moments: Poly
    confidence: float = CONFIDENCE
    tasks: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    shift: float = 0.0

    @property
    def ci_valid(self) -> bool:
        return self.setting.ci_valid

    def mean(self, p: Poly) -> float:
        """Empirical mean of the polynomial ``p`` in (e_L, e_G) (degree <= 4)."""
        return float((_recentre(p, self.shift) * self.moments).sum())  # moments[0, 0] = 1

    def estimate(self, p: Poly) -> tuple[float, float]:
        """(mean, standard error) of the polynomial ``p`` (degree <= 2) over replications.

        With p = p0 + q(d_L, d_G), q(0, 0) = 0 (:func:`_recentre`): mean = p0 + mean(q) and
        sample variance (mean(q^2) - mean(q)^2) R/(R-1); the centred q keeps the
        subtraction well conditioned whatever the bias.
        """
        q = _recentre(p, self.shift)
        p0 = float(q[0, 0])
        q[0, 0] = 0.0
        mq = float((q * self.moments).sum())
        var = (max(float((_square(q) * self.moments).sum()) - mq * mq, 0.0)
               * self.reps / max(self.reps - 1, 1))
        return p0 + mq, math.sqrt(var / self.reps)

    def empirical_mse(self, weights: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], ...]:
        """(mean, se) of (theta_a - theta)^2 per weight."""
        w = np.atleast_1d(np.asarray(weights, dtype=np.float64))
        est = [self.estimate(_square(_x_poly(a))) for a in w]
        return np.array([e[0] for e in est]), np.array([e[1] for e in est])

    def empirical_benefit(self, weights: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], ...]:
        """(mean, se) of e_L^2 - (theta_a - theta)^2 per weight (paired difference)."""
        w = np.atleast_1d(np.asarray(weights, dtype=np.float64))
        base = _pad(np.array([[0.0], [0.0], [1.0]]))
        est = [self.estimate(base - _square(_x_poly(a))) for a in w]
        return np.array([e[0] for e in est]), np.array([e[1] for e in est])

    def predicted(self, quantity: str, weights: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The compiled API's prediction of ``mse`` or ``benefit`` at ``weights``."""
        fn = {"mse": api.mse, "benefit": api.benefit}[quantity]
        w = np.atleast_1d(np.asarray(weights, dtype=np.float64))
        return np.asarray(fn(w, *self.truth.params), dtype=np.float64)

    def compare(self, quantity: str, weights: npt.ArrayLike,
                predicted: npt.ArrayLike | None = None) -> Comparison:
        """Predicted ``mse``/``benefit`` against the simulation, Bonferroni over the weights."""
        w = np.atleast_1d(np.asarray(weights, dtype=np.float64))
        emp, se = (self.empirical_mse if quantity == "mse" else self.empirical_benefit)(w)
        pred = (self.predicted(quantity, w) if predicted is None
                else np.broadcast_to(np.asarray(predicted, dtype=np.float64), w.shape))
        return Comparison(quantity, w, np.array(pred), emp, se,
                          z_value(self.confidence, w.size), self.confidence)

    def empirical_optimal_weight(self) -> tuple[float, float]:
        """Least-squares weight sum (G-L)(theta-L) / sum (G-L)^2 and its delta-method se.

        This is also the exact minimiser over all a of the empirical MSE.
        """
        u = np.array([[0.0, 0.0], [0.0, -1.0], [1.0, 0.0]])  # e_L^2 - e_L e_G
        v = np.array([[0.0, 0.0, 1.0], [0.0, -2.0, 0.0], [1.0, 0.0, 0.0]])  # (e_G - e_L)^2
        eu, ev = self.mean(u), self.mean(v)
        if not ev > 0:
            return math.nan, math.nan
        a_hat = eu / ev
        _, se = self.estimate(_pad(u) - a_hat * _pad(v))  # mean 0 by construction
        return a_hat, se / ev

    def optimal_weight(self) -> float:
        """a* from the compiled API (nan when D = 0)."""
        try:
            return float(api.optimal_weight(*self.truth.params))
        except InvalidParameterError:
            return math.nan

    def summary(self, weight: float) -> dict[str, Any]:
        """The ``simulate`` command's JSON object for one weight (optimal-weight entries are
        ``None`` when D = 0, where every weight has the same MSE and a* is undefined)."""
        cmp = self.compare("mse", [weight])
        a_hat, a_se = self.empirical_optimal_weight()
        a_star = self.optimal_weight()
        z1 = z_value(self.confidence)
        defined = not (math.isnan(a_star) or math.isnan(a_hat))  # D = 0: no optimum
        return {
            "weight": weight,
            "predicted_mse": float(cmp.predicted[0]),
            "empirical_mse": float(cmp.empirical[0]),
            "se": float(cmp.se[0]),
            "ci_low": float(cmp.ci_low[0]),
            "ci_high": float(cmp.ci_high[0]),
            "agrees": bool(cmp.agrees[0]),
            "confidence": self.confidence,
            "ci_valid": self.ci_valid,
            "optimal_weight": a_star if defined else None,
            "empirical_optimal_weight": a_hat if defined else None,
            "empirical_optimal_weight_ci": ([a_hat - z1 * a_se, a_hat + z1 * a_se] if defined
                                            else None),
            "optimal_weight_agrees": bool(abs(a_hat - a_star) <= z1 * a_se) if defined else None,
            "var_local": self.truth.var_local,
            "var_global": self.truth.var_global,
            "bias": self.truth.bias,
            "cov": self.truth.cov,
            "theta": self.truth.theta,
            "reps": self.reps,
            "seed": self.seed,
            "setting": self.setting.describe(),
        }
