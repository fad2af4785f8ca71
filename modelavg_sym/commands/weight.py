"""``modelavg-sym weight``: optimal weight, MSEs and beneficial interval for given moments."""

from __future__ import annotations

import argparse
import json
import math
from decimal import Decimal, InvalidOperation

from modelavg_sym.numeric import api


def real_number(text: str) -> float:
    """A float64 from the command line, rejecting what ``float()`` would silently change:
    numbers beyond float64's range (``1e400`` is not "inf") and nonzero numbers that round
    to 0 (``1e-400``).  Others are rounded to the nearest float64; ``nan`` and ``inf``
    pass through as such (the API rejects them, naming the parameter)."""
    shown = text if len(text) <= 40 else text[:37] + "..."
    try:
        exact = Decimal(text.strip())
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a real number: {shown!r}") from None
    value = float(exact)
    if not exact.is_finite():
        return value
    if math.isinf(value):
        raise argparse.ArgumentTypeError(
            f"outside float64 range (|x| <= {1.7976931348623157e308!r}), got {shown}")
    if value == 0.0 and exact != 0:
        raise argparse.ArgumentTypeError(
            f"rounds to 0 in float64 (the smallest positive float64 is 5e-324), got {shown}")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--var-local", type=real_number, required=True, help="s_L = Var(L) >= 0")
    p.add_argument("--var-global", type=real_number, required=True, help="s_G = Var(G) >= 0")
    p.add_argument("--bias", type=real_number, required=True, help="Delta = E[G] - theta")
    p.add_argument("--cov", type=real_number, default=0.0, help="c = Cov(L, G) (default 0)")
    p.add_argument("--weight", type=real_number, default=None,
                   help="also report MSE and benefit here")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def compute(
    var_local: float, var_global: float, bias: float, cov: float = 0.0, weight: float | None = None
) -> dict[str, object]:
    """All quantities the command prints, as a dict (the --json object)."""
    params = (var_local, var_global, bias, cov)
    low, high = api.beneficial_interval(*params)
    out: dict[str, object] = {
        "optimal_weight": api.optimal_weight(*params),
        "mse_local": api.mse(0.0, *params),
        "mse_global": api.mse(1.0, *params),
        "min_mse": api.min_mse(*params),
        "beneficial_interval": [low, high],
    }
    if weight is not None:
        out["mse"] = api.mse(weight, *params)
        out["benefit"] = api.benefit(weight, *params)
    return out


def run(args: argparse.Namespace) -> int:
    out = compute(args.var_local, args.var_global, args.bias, args.cov, args.weight)
    if args.json:
        print(json.dumps(out))
        return 0
    low, high = out["beneficial_interval"]  # type: ignore[misc]
    print(f"optimal weight a*        {out['optimal_weight']:.12g}")
    print(f"MSE(0)  local model      {out['mse_local']:.12g}")
    print(f"MSE(1)  global model     {out['mse_global']:.12g}")
    print(f"MSE(a*) best average     {out['min_mse']:.12g}")
    print(f"beneficial weights       ({low:.12g}, {high:.12g})  (open interval)")
    if args.weight is not None:
        print(f"MSE({args.weight:g})                {out['mse']:.12g}")
        print(f"benefit B({args.weight:g})          {out['benefit']:.12g}")
    return 0
