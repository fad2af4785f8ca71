"""modelavg-sym: symbolic derivation and verification of optimal model averaging.

The numeric API is compiled from expressions derived by :mod:`modelavg_sym.derive.core`;
every value is correctly rounded:

>>> import modelavg_sym as m
>>> m.optimal_weight(1, 0.5, 0.3)   # a* = s_L / (s_L + s_G + Delta^2) = 100/159
0.6289308176100629
"""

from __future__ import annotations

from typing import Any

from modelavg_sym.errors import DataError, InvalidParameterError, UndefinedOptimumError
from modelavg_sym.numeric.api import beneficial_interval, benefit, min_mse, mse, optimal_weight
from modelavg_sym.numeric.multivariate import (
    matrix_optimal_weight,
    scalar_optimal_weight_multivariate,
)
from modelavg_sym.numeric.nestimators import optimal_weights
from modelavg_sym.numeric.personalize import personalize

__version__ = "0.1.0"


def load_setting(source: Any) -> Any:
    """Read a setting file (a path to TOML, or a mapping of the same shape) into a
    :class:`~modelavg_sym.derive.settings.Setting`: its s_L, s_G, c, Delta (E[Delta^2])
    and ``derivation()`` are derived by linearity.  Raises
    :class:`~modelavg_sym.derive.settingfile.SettingFileError` (a ValueError) naming the
    file, line and key of a malformed file.  Imports sympy (only when called)."""
    from modelavg_sym.derive.settingfile import load_setting as _load

    return _load(source)

__all__ = [
    "DataError",
    "InvalidParameterError",
    "UndefinedOptimumError",
    "__version__",
    "beneficial_interval",
    "benefit",
    "load_setting",
    "matrix_optimal_weight",
    "min_mse",
    "mse",
    "optimal_weight",
    "optimal_weights",
    "personalize",
    "scalar_optimal_weight_multivariate",
]
