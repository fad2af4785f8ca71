"""Domain strategies for the tests (re-exported from the package, where the ``verify``
command also needs them).  They build valid inputs by construction."""

from modelavg_sym.verify.strategies import (  # noqa: F401  (re-exports)
    float_params,
    float_weights,
    nonneg_rationals,
    rational_moments,
    rational_points,
    rationals,
)
