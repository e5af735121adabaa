"""Renamed names keep working, with a :class:`DeprecationWarning` naming the new one.

Hyperparameters declare their former names (``formerly=``, see
:mod:`recommender_systems.hyperparameters`); functions and methods use
:func:`renamed_keywords`.

Example:
    >>> import warnings
    >>> @renamed_keywords(seed="random_state")
    ... def draw(*, random_state=None):
    ...     return random_state
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     draw(seed=3), str(caught[0].message)
    (3, "draw: 'seed' is deprecated, use 'random_state' (same meaning)")
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

from recommender_systems.errors import ParameterError

P = ParamSpec("P")
T = TypeVar("T")


def warn_renamed(owner: str, old: str, new: str, *, stacklevel: int) -> None:
    """Warns that ``owner``'s ``old`` is now called ``new``."""
    warnings.warn(
        f"{owner}: {old!r} is deprecated, use {new!r} (same meaning)",
        DeprecationWarning,
        stacklevel=stacklevel + 1,
    )


def current_keywords(
    owner: str, renames: Mapping[str, str], kwargs: Mapping[str, Any], *, stacklevel: int
) -> dict[str, Any]:
    """``kwargs`` with former names replaced by current ones, warning for each.

    Passing a keyword under both names is a :class:`ParameterError`.
    """
    out: dict[str, Any] = {}
    for name, value in kwargs.items():
        new = renames.get(name)
        if new is None:
            out[name] = value
            continue
        if new in kwargs:
            raise ParameterError(
                f"{name}: the former name of {new}; expected only {new}, received both"
            )
        if stacklevel:
            warn_renamed(owner, name, new, stacklevel=stacklevel + 1)
        out[new] = value
    return out


def renamed_keywords(**renames: str) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Decorator: the function also accepts the former names of its keywords
    (``former="current"``), with a DeprecationWarning."""

    def decorate(function: Callable[P, T]) -> Callable[P, T]:
        owner = function.__qualname__

        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            if renames.keys() & kwargs.keys():
                kwargs = current_keywords(owner, renames, kwargs, stacklevel=2)  # type: ignore[assignment]
            return function(*args, **kwargs)

        return wrapper

    return decorate
