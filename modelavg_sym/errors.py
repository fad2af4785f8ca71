"""Errors raised for invalid input: all are ValueError subclasses that name the parameter."""

from __future__ import annotations


class InvalidParameterError(ValueError):
    """A parameter violates a stated constraint.

    Attributes:
        parameter: the argument's name (``var_local``, ``cov``, ...).
        constraint: the constraint in words or symbols (``must be >= 0``).
    """

    def __init__(self, parameter: str, constraint: str, detail: str = "") -> None:
        self.parameter = parameter
        self.constraint = constraint
        msg = f"{parameter}: {constraint}"
        if detail:
            msg += f" ({detail})"
        super().__init__(msg)


class UndefinedOptimumError(InvalidParameterError):
    """D = E[(G - L)^2] = 0, where the optimal weight a* = (s_L - c)/D is undefined
    (every weight then has the same MSE, s_L)."""


class DataError(ValueError):
    """Malformed input data (a file or table), with the location when known."""
