"""Algorithms by name, for the CLI, the benchmarks and the conformance tests.

A model registers itself where it is defined:

    @register("most-popular", family="baseline", summary="Items by number of users")
    class MostPopular(Recommender): ...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from recommender_systems.errors import ParameterError

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


def register(name: str, *, family: str, summary: str) -> Callable[[R], R]:
    """Class decorator that registers a model under ``name``."""

    def decorate(cls: R) -> R:
        if name in _ALGORITHMS and _ALGORITHMS[name].cls is not cls:
            raise ValueError(f"algorithm name {name!r} is already taken by {_ALGORITHMS[name]}")
        _ALGORITHMS[name] = Algorithm(name=name, cls=cls, family=family, summary=summary)
        return cls

    return decorate


def algorithms() -> list[Algorithm]:
    """Every registered algorithm, by name."""
    return [_ALGORITHMS[name] for name in sorted(_ALGORITHMS)]


def get_algorithm(name: str) -> Algorithm:
    """The algorithm registered as ``name``."""
    try:
        return _ALGORITHMS[name]
    except KeyError:
        known = ", ".join(sorted(_ALGORITHMS))
        raise ParameterError(f"unknown algorithm {name!r}; expected one of: {known}") from None


def create(name: str, **params: Any) -> Recommender:
    """A new model by registered name.

    Example:
        >>> create("mean-rating", min_ratings=3)
        MeanRating(min_ratings=3)
    """
    return get_algorithm(name).create(**params)
