"""Algorithms by name, for the CLI, the benchmarks and the conformance tests.

A model registers itself where it is defined:

    @register("most-popular", family="baseline", summary="Items by number of users")
    class MostPopular(Recommender): ...

Models of an optional extra (PyTorch's ``neural``) register when their module is
imported; :data:`OPTIONAL` names that module, so :func:`get_algorithm` (and with
it ``create``, the command line and model files) imports it on first use, and
says which extra to install when it is missing.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from recommender_systems.errors import NotSupportedError, ParameterError

if TYPE_CHECKING:  # models import this module to register themselves: no import back up
    from recommender_systems.base import Recommender

R = TypeVar("R", bound="type[Recommender]")


@dataclass(frozen=True)
class Algorithm:
    """A registered model class and what it is."""

    name: str
    cls: type[Recommender]
    family: str
    summary: str

    def create(self, **params: Any) -> Recommender:
        """A new model with its default hyperparameters, overridden by ``params``."""
        return self.cls().set_params(**params)


_ALGORITHMS: dict[str, Algorithm] = {}

#: Algorithms defined by optional extras: name -> (module that registers it, extra).
OPTIONAL: dict[str, tuple[str, str]] = {
    "two-tower": ("recommender_systems.neural", "neural"),
    "mult-vae": ("recommender_systems.neural", "neural"),
}


def register(name: str, *, family: str, summary: str) -> Callable[[R], R]:
    """Class decorator that registers a model under ``name``."""

    def decorate(cls: R) -> R:
        if name in _ALGORITHMS and _ALGORITHMS[name].cls is not cls:
            raise ValueError(f"algorithm name {name!r} is already taken by {_ALGORITHMS[name]}")
        _ALGORITHMS[name] = Algorithm(name=name, cls=cls, family=family, summary=summary)
        return cls

    return decorate


def algorithms(*, optional: bool = False) -> list[Algorithm]:
    """Every algorithm registered in this process, by name; with ``optional``, also
    those of the optional extras that are installed (their modules are imported)."""
    if optional:
        for name in OPTIONAL:
            with contextlib.suppress(NotSupportedError):  # the extra is not installed
                _import_optional(name)
    return [_ALGORITHMS[name] for name in sorted(_ALGORITHMS)]


def get_algorithm(name: str) -> Algorithm:
    """The algorithm registered as ``name`` (an optional extra's module is imported on
    first use; :class:`NotSupportedError` says which extra to install when it is missing)."""
    if name not in _ALGORITHMS and name in OPTIONAL:
        _import_optional(name)
    try:
        return _ALGORITHMS[name]
    except KeyError:
        known = ", ".join(sorted({*_ALGORITHMS, *OPTIONAL}))
        raise ParameterError(f"unknown algorithm {name!r}; expected one of: {known}") from None


def _import_optional(name: str) -> None:
    module, extra = OPTIONAL[name]
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise NotSupportedError(
            f"algorithm {name!r} needs the {extra!r} extra, which is not installed: "
            f"pip install 'recommender-systems[{extra}]' ({exc})"
        ) from exc


def create(name: str, **params: Any) -> Recommender:
    """A new model by registered name.

    Example:
        >>> create("mean-rating", min_ratings=3)
        MeanRating(min_ratings=3)
    """
    return get_algorithm(name).create(**params)
