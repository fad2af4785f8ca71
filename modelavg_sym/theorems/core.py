"""The two-estimator theorems (MATH.md section 1, R1-R10).

Claims are written in terms of *derived* expressions (a*, MSE, B, D from
:func:`modelavg_sym.derive.core.two_estimator` and
:func:`modelavg_sym.derive.core.independent`), so a theorem states a property of what the
engine derived; the right-hand sides are MATH.md's statements, which the routes check
independently.  :func:`theorems` builds the list on demand, in report order.
"""

from __future__ import annotations

import sympy as sp

from modelavg_sym.derive.core import Derivation, independent, two_estimator
from modelavg_sym.derive.display import A_STAR as A_
from modelavg_sym.derive.display import MSE, B, Iff
from modelavg_sym.derive.display import D as D_
from modelavg_sym.symbols import Delta, a, base_assumptions, c, r, s_G, s_L
from modelavg_sym.theorems.base import Theorem, WeightSweep, identity

VARS = (s_L, s_G, Delta, c, a)
VARS_IND = (s_L, s_G, Delta, a)
#: The hypotheses of the independent case (c = 0).
IND = (sp.Ge(s_L, 0), sp.Ge(s_G, 0))


def mse_at(x: sp.Expr, d: Derivation | None = None) -> sp.Expr:
    """The derived MSE evaluated at weight x (of ``d``, default the two-estimator model)."""
    return (d or two_estimator())["mse"].subs(a, x)


def benefit_at(x: sp.Expr, d: Derivation | None = None) -> sp.Expr:
    """The derived benefit B(x) = MSE(0) - MSE(x)."""
    return (d or two_estimator())["benefit"].subs(a, x)


def between(x: sp.Expr, lo: sp.Expr, hi: sp.Expr) -> sp.Basic:
    """x strictly between lo and hi, whichever is larger."""
    return sp.Or(sp.And(lo < x, x < hi), sp.And(hi < x, x < lo))


def theorems() -> list[Theorem]:
    """The two-estimator theorems, in report order."""
    return [*_mse_form(), *_optimum(), *_benefit(), *_beneficial_interval(),
            *_independent_weight(),
            *_independent_min_mse(), *_global_and_correlated()]


def _mse_form() -> list[Theorem]:
    """MSE(a) and its curvature (R1, R2)."""
    d = two_estimator()
    D = d["D"]
    base = tuple(base_assumptions())
    return [
        Theorem(
            name="mse_decomposition",
            source="R1",
            statement="The mean squared error of the weighted average is a quadratic in "
            "$<a>$: a sum of three terms, one per second moment of the errors.",
            display=identity(MSE(a), (1 - a) ** 2 * s_L + a**2 * (s_G + Delta**2)
                             + 2 * a * (1 - a) * c),
            assumptions=base,
            claim=identity(
                d["mse"], (1 - a) ** 2 * s_L + a**2 * (s_G + Delta**2) + 2 * a * (1 - a) * c
            ),
            variables=VARS,
            functions=("mse",),
            routes=("symbolic", "smt", "rational", "float", "montecarlo"),
            montecarlo=WeightSweep("mse", (-0.5, 0.0, 0.25, 0.5, 0.75, 1.0, 1.5)),
        ),
        Theorem(
            name="mse_in_terms_of_D",
            source="R1",
            statement=r"Through $D = \operatorname{E}[(G - L)^{2}]$, the mean squared error is "
            "linear in $<s_L> - <c>$ and in $D$.",
            display=identity(MSE(a), s_L - 2 * a * (s_L - c) + a**2 * D_),
            assumptions=base,
            claim=identity(d["mse"], s_L - 2 * a * (s_L - c) + a**2 * D),
            variables=VARS,
            functions=("mse",),
            routes=("symbolic", "smt", "rational", "float"),
        ),
        Theorem(
            name="second_derivative_is_2D",
            source="R2",
            statement=r"The mean squared error is a quadratic in $<a>$ with second derivative "
            "$2D$, so it is strictly convex when $D > 0$.",
            display=identity(sp.Derivative(MSE(a), (a, 2)), 2 * D_),
            assumptions=base,
            claim=identity(d["d2mse"], 2 * D),
            variables=VARS,
            functions=("mse",),
            routes=("symbolic", "smt", "rational", "float"),
        ),
        Theorem(
            name="D_nonnegative",
            source="R1",
            statement="Under the Cauchy--Schwarz bound $<c>^{2} \\leq <s_L> <s_G>$, "
            "$D = <s_L> + <s_G> - 2<c> + <Delta>^{2}$ is nonnegative.",
            display=sp.Ge(D_, 0),
            assumptions=base,
            claim=sp.Ge(D, 0),
            variables=(s_L, s_G, Delta, c),
            functions=("optimal_weight",),
            false_variant=(base[:2], sp.Ge(D, 0)),
        ),
    ]


def _optimum() -> list[Theorem]:
    """The optimal weight and the minimum MSE (R2, R3)."""
    d = two_estimator()
    A, D = d["optimal_weight"], d["D"]
    base = tuple(base_assumptions())
    dpos = sp.Gt(D, 0)
    return [
        Theorem(
            name="optimal_weight_unique_minimiser",
            source="R2",
            statement="When $D > 0$, $<a>^{*} = (<s_L> - <c>)/D$ is the unique minimiser of the "
            "mean squared error: every other weight does strictly worse.",
            display=sp.Implies(sp.Ne(a, A_), MSE(a) > MSE(A_)),
            assumptions=(*base, dpos),
            claim=sp.Implies(sp.Ne(a, A), mse_at(a) > mse_at(A)),
            variables=VARS,
            functions=("optimal_weight", "mse", "min_mse"),
            false_variant=(
                (*base, dpos),
                sp.Implies(sp.Ne(a, A / 2), mse_at(a) > mse_at(A / 2)),
            ),
            witness={a: r * A},
        ),
        Theorem(
            name="mse_quadratic_form",
            source="R3",
            statement="The mean squared error grows with the squared distance of the weight "
            "from the optimum, at rate $D$.",
            display=identity(MSE(a), MSE(A_) + D_ * (a - A_) ** 2),
            assumptions=(*base, dpos),
            claim=identity(mse_at(a), d["min_mse"] + D * (a - A) ** 2),
            variables=VARS,
            functions=("mse", "min_mse"),
        ),
        Theorem(
            name="min_mse_closed_form",
            source="R3",
            statement="The minimum mean squared error, in closed form.",
            display=identity(MSE(A_), s_L - (s_L - c) ** 2 / D_),
            assumptions=(*base, dpos),
            claim=identity(d["min_mse"], s_L - (s_L - c) ** 2 / D),
            variables=(s_L, s_G, Delta, c),
            functions=("min_mse",),
        ),
        Theorem(
            name="min_mse_stable_form",
            source="R3",
            statement="The minimum is linear in $<a>^{*}$ once the first-order condition "
            "$D<a>^{*} = <s_L> - <c>$ is used.",
            display=identity(MSE(A_), s_L * (1 - A_) + c * A_),
            assumptions=(*base, dpos),
            claim=identity(d["min_mse"], d["min_mse_stable"]),
            variables=(s_L, s_G, Delta, c),
            functions=("min_mse",),
        ),
    ]


def _benefit() -> list[Theorem]:
    """The benefit of averaging and its shape (R4)."""
    d = two_estimator()
    A, D = d["optimal_weight"], d["D"]
    base = tuple(base_assumptions())
    dpos = sp.Gt(D, 0)
    return [
        Theorem(
            name="benefit_factorisation",
            source="R4",
            statement=r"The benefit of averaging, $B(<a>) = \operatorname{MSE}(0) - "
            r"\operatorname{MSE}(<a>)$, is a function of the weight and the optimal "
            "weight.",
            display=identity(B(a), D_ * a * (2 * A_ - a)),
            assumptions=(*base, dpos),
            claim=identity(d["benefit"], D * a * (2 * A - a)),
            variables=VARS,
            functions=("benefit",),
            witness={a: r * A},
            routes=("symbolic", "smt", "rational", "float", "montecarlo"),
            montecarlo=WeightSweep("benefit", (-0.5, 0.25, 0.5, 1.0, 1.5, 2.0, 2.5), relative=True),
        ),
        Theorem(
            name="benefit_shape",
            source="R4",
            statement="The benefit depends on the weight only through its ratio to the optimal "
            "weight.",
            display=identity(B(a), D_ * A_**2 * (1 - (1 - a / A_) ** 2)),
            assumptions=(*base, dpos, sp.Ne(s_L, c)),
            claim=identity(d["benefit"], D * A**2 * (1 - (1 - a / A) ** 2)),
            variables=VARS,
            functions=("benefit",),
            witness={a: r * A},
        ),
    ]


def _beneficial_interval() -> list[Theorem]:
    """The beneficial interval and the fraction of the gain (R5, R6)."""
    d = two_estimator()
    A, D = d["optimal_weight"], d["D"]
    base = tuple(base_assumptions())
    dpos = sp.Gt(D, 0)
    return [
        Theorem(
            name="beneficial_iff_between",
            source="R5",
            statement="For $D > 0$, averaging strictly helps exactly when $<a>$ lies strictly "
            "between $0$ and $2<a>^{*}$.",
            display=Iff(B(a) > 0, between(a, 0, 2 * A_)),
            assumptions=(*base, dpos),
            claim=sp.Equivalent(benefit_at(a) > 0, between(a, 0, 2 * A)),
            variables=VARS,
            functions=("benefit", "beneficial_interval"),
            false_variant=(
                (*base, dpos),
                sp.Equivalent(benefit_at(a) > 0, between(a, 0, 3 * A)),
            ),
            witness={a: r * A},
        ),
        Theorem(
            name="benefit_zero_at_endpoints",
            source="R5",
            statement="The benefit vanishes at the far end of the beneficial interval (and at "
            "$<a> = 0$ by definition).",
            display=identity(B(2 * A_), 0),
            assumptions=(*base, dpos),
            claim=identity(benefit_at(2 * A), 0),
            variables=(s_L, s_G, Delta, c),
            functions=("benefit",),
            routes=("symbolic", "smt", "rational", "float"),
        ),
        Theorem(
            name="negative_benefit_outside",
            source="R5",
            statement="For $D > 0$, any weight outside the closed interval between $0$ and "
            "$2<a>^{*}$ makes the average strictly worse than the local model: the benefit "
            "is negative.",
            display=sp.Implies(sp.Or(sp.And(a < 0, a < 2 * A_), sp.And(a > 0, a > 2 * A_)),
                               B(a) < 0),
            assumptions=(*base, dpos),
            claim=sp.Implies(
                sp.Or(sp.And(a < 0, a < 2 * A), sp.And(a > 0, a > 2 * A)), benefit_at(a) < 0
            ),
            variables=VARS,
            functions=("benefit",),
            false_variant=(
                (*base, dpos),
                sp.Implies(
                    sp.Or(sp.And(a < 0, a < A), sp.And(a > 0, a > A)), benefit_at(a) < 0
                ),
            ),
            witness={a: r * A},
        ),
        Theorem(
            name="gain_fraction",
            source="R6",
            statement="At $<a> = <r><a>^{*}$ the average obtains the fraction $<r>(2 - <r>)$ of "
            "the best possible gain.",
            display=identity(B(r * A_) / B(A_), r * (2 - r)),
            assumptions=(*base, dpos, sp.Ne(s_L, c)),
            claim=identity(benefit_at(r * A) / benefit_at(A), r * (2 - r)),
            variables=(s_L, s_G, Delta, c, r),
            functions=("benefit",),
        ),
    ]


def _independent_weight() -> list[Theorem]:
    """Independent estimators, c = 0: the optimal weight (R6, R7)."""
    i = independent()
    A_ind, D_ind = i["optimal_weight"], i["D"]
    return [
        Theorem(
            name="relative_gain_independent",
            source="R6",
            derivation="independent",
            statement="With $<c> = 0$, the gain at $<a> = <r><a>^{*}$ relative to the local "
            "model is $<a>^{*}<r>(2 - <r>)$.",
            display=identity(B(r * A_) / MSE(0), A_ * r * (2 - r)),
            assumptions=(*IND, sp.Gt(s_L, 0)),
            claim=identity(benefit_at(r * A_ind, i) / i["mse_local"], A_ind * r * (2 - r)),
            variables=(s_L, s_G, Delta, r),
            functions=("benefit", "optimal_weight"),
        ),
        Theorem(
            name="independent_weight_in_unit_interval",
            source="R7",
            derivation="independent",
            statement="With independent estimators ($<c> = 0$) the optimal weight lies in "
            "$[0, 1]$.",
            display=sp.And(A_ >= 0, A_ <= 1),
            assumptions=(*IND, sp.Gt(D_ind, 0)),
            claim=sp.And(A_ind >= 0, A_ind <= 1),
            variables=(s_L, s_G, Delta),
            functions=("optimal_weight",),
            false_variant=((*IND, sp.Gt(D_ind, 0)), sp.And(A_ind > 0, A_ind <= 1)),
        ),
        Theorem(
            name="headline_positive_weight_helps",
            source="R7",
            derivation="independent",
            statement="Headline theorem: if the local variance is non-zero ($<s_L> > 0$) and "
            "$<c> = 0$, then $<a>^{*} > 0$ and every weight between $0$ and $2<a>^{*}$ "
            "beats the local model.",
            display=sp.And(A_ > 0, sp.Implies(sp.And(a > 0, a < 2 * A_), MSE(a) < MSE(0))),
            assumptions=(sp.Gt(s_L, 0), sp.Ge(s_G, 0)),
            claim=sp.And(
                A_ind > 0, sp.Implies(sp.And(a > 0, a < 2 * A_ind), mse_at(a, i) < mse_at(0, i))
            ),
            variables=VARS_IND,
            functions=("optimal_weight", "mse", "benefit"),
            false_variant=(
                (sp.Ge(s_L, 0), sp.Ge(s_G, 0), sp.Gt(D_ind, 0)),
                sp.And(A_ind > 0,
                       sp.Implies(sp.And(a > 0, a < 2 * A_ind), mse_at(a, i) < mse_at(0, i))),
            ),
            witness={a: r * A_ind},
            routes=("symbolic", "smt", "rational", "float", "montecarlo"),
            montecarlo=WeightSweep("benefit", (0.25, 0.5, 1.0, 1.5, 1.75), relative=True,
                                   independent_only=True, positive=True),
        ),
        Theorem(
            name="independent_weight_positive_iff_local_variance",
            source="R7",
            derivation="independent",
            statement="With $<c> = 0$ and $D > 0$, $<a>^{*} > 0$ if and only if $<s_L> > 0$: no "
            "averaging helps a local model that has no variance.",
            display=Iff(A_ > 0, s_L > 0),
            assumptions=(*IND, sp.Gt(D_ind, 0)),
            claim=sp.Equivalent(A_ind > 0, s_L > 0),
            variables=(s_L, s_G, Delta),
            functions=("optimal_weight",),
            false_variant=((*IND, sp.Gt(D_ind, 0)), sp.Equivalent(A_ind > 0, s_G > 0)),
        ),
    ]


def _independent_min_mse() -> list[Theorem]:
    """Independent estimators, c = 0: the minimum MSE (R7, R8)."""
    i = independent()
    A_ind, D_ind = i["optimal_weight"], i["D"]
    return [
        Theorem(
            name="independent_weight_one_iff",
            source="R7",
            derivation="independent",
            statement="With $<c> = 0$ and $<s_L> > 0$, the optimal weight is $1$ exactly when the "
            "global model is exact.",
            display=Iff(sp.Eq(A_, 1), sp.Eq(s_G + Delta**2, 0)),
            assumptions=(sp.Gt(s_L, 0), sp.Ge(s_G, 0)),
            claim=sp.Equivalent(sp.Eq(A_ind, 1), sp.Eq(s_G + Delta**2, 0)),
            variables=(s_L, s_G, Delta),
            functions=("optimal_weight",),
            false_variant=(
                (sp.Gt(s_L, 0), sp.Ge(s_G, 0)),
                sp.Equivalent(sp.Eq(A_ind, 1), sp.Eq(s_G, 0)),
            ),
        ),
        Theorem(
            name="independent_min_mse",
            source="R8",
            derivation="independent",
            statement="With $<c> = 0$, the minimum mean squared error is the local variance "
            "shrunk by the factor $1 - <a>^{*}$.",
            display=identity(MSE(A_), (1 - A_) * s_L),
            assumptions=(*IND, sp.Gt(D_ind, 0)),
            claim=identity(i["min_mse"], (1 - A_ind) * s_L),
            variables=(s_L, s_G, Delta),
            functions=("min_mse", "optimal_weight"),
        ),
        Theorem(
            name="independent_min_mse_harmonic",
            source="R8",
            derivation="independent",
            statement="With $<c> = 0$, $<s_L> > 0$ and $<s_G> + <Delta>^{2} > 0$, precisions "
            "add.",
            display=identity(1 / MSE(A_), 1 / s_L + 1 / (s_G + Delta**2)),
            assumptions=(sp.Gt(s_L, 0), sp.Ge(s_G, 0), sp.Gt(s_G + Delta**2, 0)),
            claim=identity(1 / i["min_mse"], 1 / s_L + 1 / (s_G + Delta**2)),
            variables=(s_L, s_G, Delta),
            functions=("min_mse",),
        ),
    ]


def _global_and_correlated() -> list[Theorem]:
    """The global model and correlated estimators (R9, R10)."""
    d = two_estimator()
    A, D = d["optimal_weight"], d["D"]
    base = tuple(base_assumptions())
    dpos = sp.Gt(D, 0)
    return [
        Theorem(
            name="mse_global",
            source="R9",
            statement="The mean squared error of the global model does not depend on the "
            "covariance $<c>$.",
            display=identity(MSE(1), s_G + Delta**2),
            assumptions=base,
            claim=identity(mse_at(1), s_G + Delta**2),
            variables=(s_L, s_G, Delta, c),
            functions=("mse",),
            routes=("symbolic", "smt", "rational", "float", "montecarlo"),
            montecarlo=WeightSweep("mse", (1.0,)),
        ),
        Theorem(
            name="global_beats_local_iff",
            source="R9",
            statement="For $D > 0$ the global model beats the local one if and only if "
            "$<a>^{*} > 1/2$.",
            display=Iff(MSE(1) < MSE(0), A_ > sp.Rational(1, 2)),
            assumptions=(*base, dpos),
            claim=sp.Equivalent(mse_at(1) < mse_at(0), A > sp.Rational(1, 2)),
            variables=(s_L, s_G, Delta, c),
            functions=("optimal_weight", "mse"),
            false_variant=(
                (*base, dpos),
                sp.Equivalent(mse_at(1) < mse_at(0), A > sp.Rational(1, 3)),
            ),
        ),
        Theorem(
            name="value_of_personalization",
            source="R9",
            statement="The value of personalization over the global model.",
            display=identity(MSE(1) - MSE(A_), D_ * (1 - A_) ** 2),
            assumptions=(*base, dpos),
            claim=identity(mse_at(1) - d["min_mse"], D * (1 - A) ** 2),
            variables=(s_L, s_G, Delta, c),
            functions=("mse", "min_mse"),
        ),
        Theorem(
            name="correlated_beneficial_iff",
            source="R10",
            statement="For $D > 0$, some weight strictly beats the local model if and only if "
            "$<s_L> \\neq <c>$.",
            display=Iff(B(A_) > 0, sp.Ne(s_L, c)),
            assumptions=(*base, dpos),
            claim=sp.Equivalent(sp.Ne(s_L, c), benefit_at(A) > 0),
            variables=(s_L, s_G, Delta, c),
            functions=("benefit", "optimal_weight"),
            false_variant=((*base, dpos), sp.Equivalent(sp.Ne(s_L, 0), benefit_at(A) > 0)),
        ),
        Theorem(
            name="correlated_beneficial_sign",
            source="R10",
            statement="Every beneficial weight has the sign of $<s_L> - <c>$.",
            display=sp.Implies(B(a) > 0, a * (s_L - c) > 0),
            assumptions=(*base, dpos),
            claim=sp.Implies(benefit_at(a) > 0, a * (s_L - c) > 0),
            variables=VARS,
            functions=("benefit", "beneficial_interval"),
            false_variant=((*base, dpos), sp.Implies(benefit_at(a) > 0, a > 0)),
            witness={a: r * A},
        ),
    ]
