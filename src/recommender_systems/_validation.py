"""Argument checks shared by every model, kernel wrapper and metric.

One place for each rule, so that every part of the library words the same
mistake the same way: ``"<name>: expected <what>, received <value>"``.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any, TypeGuard, TypeVar

import numpy as np

from recommender_systems.errors import ParameterError

T = TypeVar("T")


def _is_int(value: object) -> TypeGuard[int | np.integer[Any]]:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_real(value: object) -> TypeGuard[int | float | np.integer[Any] | np.floating[Any]]:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def check_int(value: object, name: str, *, minimum: int | None = None) -> int:
    """Returns ``value`` as an ``int``, failing unless it is an integer ``>= minimum``.

    Example:
        >>> check_int(5, "n", minimum=1)
        5
    """
    if not _is_int(value) or (minimum is not None and int(value) < minimum):
        bound = "an integer" if minimum is None else f"an integer >= {minimum}"
        raise ParameterError(f"{name}: expected {bound}, received {value!r}")
    return int(value)


def check_positive_int(value: object, name: str) -> int:
    """An integer ``>= 1`` (``n``, ``k``, ``n_factors``, ...)."""
    return check_int(value, name, minimum=1)


def check_non_negative_int(value: object, name: str) -> int:
    """An integer ``>= 0`` (``n_threads``, ``iterations``, ...)."""
    return check_int(value, name, minimum=0)


def check_float(
    value: object,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    exclusive_maximum: bool = False,
) -> float:
    """Returns ``value`` as a finite ``float`` within the given bounds."""
    ok = _is_real(value) and math.isfinite(float(value))
    if ok:
        v = float(value)  # type: ignore[arg-type]  # narrowed by _is_real above
        if minimum is not None and (v < minimum or (exclusive_minimum and v == minimum)):
            ok = False
        if maximum is not None and (v > maximum or (exclusive_maximum and v == maximum)):
            ok = False
    if not ok:
        low = "" if minimum is None else f"{'>' if exclusive_minimum else '>='} {minimum:g}"
        high = "" if maximum is None else f"{'<' if exclusive_maximum else '<='} {maximum:g}"
        bounds = " and ".join(b for b in (low, high) if b)
        wanted = f"a finite number {bounds}".rstrip()
        raise ParameterError(f"{name}: expected {wanted}, received {value!r}")
    return float(value)  # type: ignore[arg-type]  # narrowed by _is_real above


def check_non_negative_float(value: object, name: str) -> float:
    """A finite number ``>= 0`` (regularisation, learning rates, ...)."""
    return check_float(value, name, minimum=0.0)


def check_fraction(value: object, name: str) -> float:
    """A number strictly between 0 and 1 (``test_size``, ...)."""
    return check_float(
        value, name, minimum=0.0, maximum=1.0, exclusive_minimum=True, exclusive_maximum=True
    )


def check_bool(value: object, name: str) -> bool:
    """Fails unless ``value`` is ``True`` or ``False`` (not merely truthy)."""
    if not isinstance(value, bool | np.bool_):
        raise ParameterError(f"{name}: expected True or False, received {value!r}")
    return bool(value)


def check_choice(value: T, name: str, choices: Collection[T]) -> T:
    """Fails unless ``value`` is one of ``choices``."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ParameterError(f"{name}: expected one of {listed}, received {value!r}")
    return value


def check_seed(seed: object, name: str = "seed") -> int | None:
    """``None`` (fresh entropy) or an integer seed ``>= 0``."""
    if seed is None:
        return None
    if not _is_int(seed) or int(seed) < 0:
        raise ParameterError(f"{name}: expected an integer >= 0 or None, received {seed!r}")
    return int(seed)


def check_random_state(seed: Any, name: str = "random_state") -> np.random.Generator:
    """A NumPy ``Generator`` from ``None`` (fresh entropy), an int seed or a ``Generator``."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_seed(seed, name))
