"""modelavg-sym: symbolic derivation and verification of optimal model averaging.

The numeric API is compiled from expressions derived by :mod:`modelavg_sym.derive.core`;
every value is correctly rounded:

>>> import modelavg_sym as m
>>> m.optimal_weight(1, 0.5, 0.3)   # a* = s_L / (s_L + s_G + Delta^2) = 100/159
0.6289308176100629
"""

from __future__ import annotations

from modelavg_sym.errors import DataError, InvalidParameterError, UndefinedOptimumError
from modelavg_sym.numeric.api import beneficial_interval, benefit, min_mse, mse, optimal_weight
from modelavg_sym.numeric.multivariate import (
    matrix_optimal_weight,
    scalar_optimal_weight_multivariate,
)
from modelavg_sym.numeric.nestimators import optimal_weights
from modelavg_sym.numeric.personalize import personalize

__version__ = "0.1.0"

__all__ = [
    "DataError",
    "InvalidParameterError",
    "UndefinedOptimumError",
    "__version__",
    "beneficial_interval",
    "benefit",
    "matrix_optimal_weight",
    "min_mse",
    "mse",
    "optimal_weight",
    "optimal_weights",
    "personalize",
    "scalar_optimal_weight_multivariate",
]
