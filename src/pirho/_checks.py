"""Argument checks shared by every part of pirho: one place for each small rule.

Each check names the argument and the offending value in its message, and returns the value
in the type the caller should use from then on. These are for *public* boundaries: a public
function checks its input once, then trusts it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "check_choice",
    "check_float",
    "check_int",
    "check_positive_int",
    "check_seed",
    "is_int",
]


def is_int(value: Any) -> bool:
    """True for Python and numpy integers, False for bools, floats (even 2.0) and the rest.

    >>> is_int(3), is_int(np.int64(3)), is_int(True), is_int(3.0)
    (True, True, False, False)
    """
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(
        value, (bool, np.bool_)
    )


def check_int(
    name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return `value` as an int, or raise naming `name` and the value.

    TypeError when it is not an integer (bools and floats included); ValueError when it is
    outside [minimum, maximum].

    >>> check_int("n_iter", 5, minimum=1)
    5
    >>> check_int("n_iter", 0, minimum=1)
    Traceback (most recent call last):
    ...
    ValueError: n_iter must be >= 1, got 0
    """
    if not is_int(value):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_positive_int(name: str, value: Any) -> int:
    """`check_int` with minimum 1.

    >>> check_positive_int("batch_size", 32)
    32
    """
    return check_int(name, value, minimum=1)


def check_seed(name: str, value: Any) -> int | None:
    """A random seed: None, or an integer in [0, 2**32).

    >>> check_seed("seed", 0), check_seed("seed", None)
    (0, None)
    """
    if value is None:
        return None
    return check_int(name, value, minimum=0, maximum=2**32 - 1)


def check_float(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_minimum: bool = False,
) -> float:
    """Return `value` as a finite float, or raise naming `name` and the value.

    `strict_minimum=True` makes the minimum exclusive (a value must be > minimum).

    >>> check_float("lr", 0.5, minimum=0, strict_minimum=True)
    0.5
    >>> check_float("temperature", float("nan"))
    Traceback (most recent call last):
    ...
    ValueError: temperature must be a finite number, got nan
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if minimum is not None:
        if strict_minimum and value <= minimum:
            raise ValueError(f"{name} must be > {minimum}, got {value}")
        if not strict_minimum and value < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """Return `value` if it is one of `choices`, else ValueError listing them.

    >>> check_choice("cell", "gru", ("rnn", "gru", "lstm"))
    'gru'
    """
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not one of {tuple(choices)}")
    return value
