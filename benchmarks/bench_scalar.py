"""Target 2: a scalar call costs at most 15x a plain-Python function of the same formula.

The plain functions below are hand-written here only, as the comparison; both sides are
timed with the same loop, interleaved, medians over repeats.
"""

from __future__ import annotations

from . import Row, fmt_s, interleaved, row

GOAL = 15.0


def _plain_optimal_weight(vl, vg, b, cv=0.0):
    return (vl - cv) / (vl + vg - 2 * cv + b * b)


def _plain_mse(w, vl, vg, b, cv=0.0):
    return (1 - w) ** 2 * vl + w * w * (vg + b * b) + 2 * w * (1 - w) * cv


def _plain_benefit(w, vl, vg, b, cv=0.0):
    d = vl + vg - 2 * cv + b * b
    return d * w * (2 * (vl - cv) / d - w)


def run(quick: bool = False, repeats: int | None = None) -> list[Row]:
    import modelavg_sym.numeric.api as api

    repeats = repeats or (5 if quick else 9)
    number = 20_000 if quick else 100_000
    cases = [
        ("optimal_weight(1.0, 0.5, 0.3)", api.optimal_weight, _plain_optimal_weight,
         (1.0, 0.5, 0.3)),
        ("mse(0.2, 1.0, 0.5, 0.3)", api.mse, _plain_mse, (0.2, 1.0, 0.5, 0.3)),
        ("benefit(0.2, 1.0, 0.5, 0.3)", api.benefit, _plain_benefit, (0.2, 1.0, 0.5, 0.3)),
        ("optimal_weight(1, 0.5, 0.3) (int argument)", api.optimal_weight,
         _plain_optimal_weight, (1, 0.5, 0.3)),
    ]
    rows: list[Row] = []
    for label, fn, plain, args in cases:
        fn(*args)  # build the generated scalar function once
        med = interleaved({"api": lambda fn=fn, args=args: fn(*args),
                           "plain": lambda plain=plain, args=args: plain(*args)},
                          repeats, number)
        ratio = med["api"] / med["plain"]
        rows.append(row(f"2. scalar {label} vs plain Python",
                        f"{fmt_s(med['api'])} vs {fmt_s(med['plain'])}", ratio,
                        f"<= {GOAL:g}", ratio <= GOAL))
    return rows


if __name__ == "__main__":
    from .__main__ import main

    raise SystemExit(main(["--only", "scalar"]))
