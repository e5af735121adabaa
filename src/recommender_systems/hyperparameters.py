"""Hyperparameters, declared once per model.

A model lists its hyperparameters at class level, with what values each accepts,
its default, a one-line description and, where tuning makes sense, the range a
tuner searches. Everything else reads the declaration: ``fit`` validates the
values (with the usual ``"<name>: expected ..., received ..."`` messages), the
docs render it as a table, the tuner builds its search space from it, and the
command line's ``--param`` parses values by it.

Example:
    >>> from recommender_systems.hyperparameters import Float, Int, Range, declare
    >>> class Toy:
    ...     hyperparameters = declare(
    ...         n_factors=Int(default=64, low=1, doc="latent dimensions",
    ...                       tune=Range(16, 256, log=True)),
    ...         regularization=Float(default=0.01, low=0.0, doc="L2 strength"),
    ...     )
    >>> Toy.hyperparameters["n_factors"].check(32, "n_factors")
    32
    >>> Toy.hyperparameters["n_factors"].describe()
    'an integer >= 1'

A renamed hyperparameter keeps its old name in ``formerly``: the old keyword
still works, with a :class:`DeprecationWarning` naming the new one, and model
files written under the old name still load.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from recommender_systems._validation import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_random_state,
)
from recommender_systems.errors import ParameterError

__all__ = [
    "MAX_THREADS",
    "Bool",
    "Choice",
    "Custom",
    "Float",
    "Hyperparameter",
    "Int",
    "OneOf",
    "Range",
    "Search",
    "Seed",
    "Threads",
    "declare",
    "declared",
    "markdown_table",
    "search_space",
]

#: The most threads a kernel may be asked for: more would only oversubscribe the
#: machine (and each pool of threads costs memory).
MAX_THREADS = 1024


@dataclass(frozen=True, kw_only=True)
class Search:
    """How a tuner explores one hyperparameter.

    ``when`` makes the search conditional: the hyperparameter is searched only
    when each named hyperparameter has one of the listed values (e.g.
    ``cg_steps`` only with ``solver="cg"``); otherwise it keeps its default.
    """

    when: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)

    def applies(self, chosen: Mapping[str, Any]) -> bool:
        """Whether the hyperparameter is searched, given the values chosen so far."""
        return all(chosen.get(name) in values for name, values in self.when.items())


@dataclass(frozen=True, kw_only=True)
class Range(Search):
    """A numeric interval, searched uniformly or on a log scale."""

    low: float
    high: float
    log: bool = False

    def __init__(
        self,
        low: float,
        high: float,
        *,
        log: bool = False,
        when: Mapping[str, tuple[Any, ...]] | None = None,
    ) -> None:
        if not low < high or (log and low <= 0):
            raise ValueError(f"Range: expected 0 < low < high on a log scale, got {low}, {high}")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "log", log)
        object.__setattr__(self, "when", dict(when or {}))


@dataclass(frozen=True, kw_only=True)
class OneOf(Search):
    """A finite set of values, searched as a categorical choice."""

    choices: tuple[Any, ...]

    def __init__(self, *choices: Any, when: Mapping[str, tuple[Any, ...]] | None = None) -> None:
        if not choices:
            raise ValueError("OneOf: expected at least one choice")
        object.__setattr__(self, "choices", tuple(choices))
        object.__setattr__(self, "when", dict(when or {}))


@dataclass(frozen=True, kw_only=True)
class Hyperparameter:
    """What one hyperparameter accepts, its default, and how it is tuned.

    Subclasses say what a valid value is (:meth:`check`, :meth:`describe`).
    """

    default: Any
    doc: str
    tune: Search | None = None
    #: Former names, still accepted with a DeprecationWarning.
    formerly: tuple[str, ...] = ()

    def check(self, value: Any, name: str) -> Any:
        """``value`` if it is valid (possibly normalised), else :class:`ParameterError`."""
        return value

    def parse(self, text: str, name: str) -> Any:
        """A value from command-line text (``--param name=text``), then checked.

        JSON when it parses (numbers, true/false, null, lists), else the text itself.
        """
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        return self.check(value, name)

    def describe(self) -> str:
        """What a valid value is, in words (for the docs)."""
        return "any value"


@dataclass(frozen=True, kw_only=True)
class Int(Hyperparameter):
    """An integer within ``[low, high]`` (either bound optional)."""

    low: int | None = None
    high: int | None = None

    def check(self, value: Any, name: str) -> int:
        checked = check_int(value, name, minimum=self.low)
        if self.high is not None and checked > self.high:
            raise ParameterError(f"{name}: expected {self.describe()}, received {value!r}")
        return checked

    def describe(self) -> str:
        return "an integer" + _bounds(self.low, self.high, False, False)

    def parse(self, text: str, name: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise ParameterError(f"{name}: expected {self.describe()}, received {text!r}") from None
        return self.check(value, name)


@dataclass(frozen=True, kw_only=True)
class Threads(Int):
    """A thread count: 0 means every core; at most :data:`MAX_THREADS`."""

    default: int = 0
    doc: str = "threads for the kernels (0: all cores)"
    low: int | None = 0
    high: int | None = MAX_THREADS


@dataclass(frozen=True, kw_only=True)
class Float(Hyperparameter):
    """A finite number within bounds; ``low_open``/``high_open`` exclude the bound itself."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def check(self, value: Any, name: str) -> float:
        return check_float(
            value,
            name,
            minimum=self.low,
            maximum=self.high,
            exclusive_minimum=self.low_open,
            exclusive_maximum=self.high_open,
        )

    def describe(self) -> str:
        return "a finite number" + _bounds(self.low, self.high, self.low_open, self.high_open)

    def parse(self, text: str, name: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise ParameterError(f"{name}: expected {self.describe()}, received {text!r}") from None
        return self.check(value, name)


@dataclass(frozen=True, kw_only=True)
class Bool(Hyperparameter):
    """``True`` or ``False`` (not merely truthy)."""

    def check(self, value: Any, name: str) -> bool:
        return check_bool(value, name)

    def describe(self) -> str:
        return "True or False"

    def parse(self, text: str, name: str) -> bool:
        words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
        value = words.get(text.strip().lower())
        if value is None:
            raise ParameterError(f"{name}: expected true or false, received {text!r}")
        return value


@dataclass(frozen=True, kw_only=True)
class Choice(Hyperparameter):
    """One of a fixed set of values."""

    options: tuple[Any, ...]

    def check(self, value: Any, name: str) -> Any:
        return check_choice(value, name, self.options)

    def describe(self) -> str:
        return "one of " + ", ".join(repr(o) for o in self.options)

    def parse(self, text: str, name: str) -> Any:
        by_text = {str(option): option for option in self.options}
        if text in by_text:
            return by_text[text]
        return super().parse(text, name)


@dataclass(frozen=True, kw_only=True)
class Seed(Hyperparameter):
    """``None`` (fresh entropy), an integer seed ``>= 0`` or a ``numpy.random.Generator``."""

    default: Any = None
    doc: str = "seed (or numpy Generator) for everything random; None for fresh entropy"

    def check(self, value: Any, name: str) -> Any:
        check_random_state(value, name)
        return value

    def describe(self) -> str:
        return "None, an integer >= 0 or a numpy Generator"

    def parse(self, text: str, name: str) -> Any:
        if text.strip().lower() in ("none", "null", ""):
            return None
        return Int(default=None, doc="", low=0).parse(text, name)


@dataclass(frozen=True, kw_only=True)
class Custom(Hyperparameter):
    """A value checked by a function (nested models, tables, lists of weights)."""

    checker: Callable[[Any, str], Any]
    accepts: str

    def check(self, value: Any, name: str) -> Any:
        return self.checker(value, name)

    def describe(self) -> str:
        return self.accepts


def declare(
    *inherited: Mapping[str, Hyperparameter], **hyperparameters: Hyperparameter
) -> Mapping[str, Hyperparameter]:
    """A model's declaration, read-only: the ``inherited`` declarations (in order),
    then ``hyperparameters``, which add new names or replace inherited ones."""
    merged: dict[str, Hyperparameter] = {}
    for base in inherited:
        merged.update(base)
    merged.update(hyperparameters)
    return MappingProxyType(merged)


def declared(cls: type) -> Mapping[str, Hyperparameter]:
    """The hyperparameters ``cls`` declares (an empty mapping if it declares none)."""
    return getattr(cls, "hyperparameters", None) or {}


def search_space(cls: type) -> dict[str, Search]:
    """The hyperparameters of ``cls`` a tuner searches, with how.

    Example:
        >>> from recommender_systems import EASE
        >>> sorted(search_space(EASE))
        ['regularization', 'values']
    """
    return {name: hp.tune for name, hp in declared(cls).items() if hp.tune is not None}


def markdown_table(cls: type) -> str:
    """The declared hyperparameters of ``cls`` as a Markdown table (for docs and
    ``recsys describe``).

    Example:
        >>> from recommender_systems import MeanRating
        >>> print(markdown_table(MeanRating).splitlines()[2])
        | `min_ratings` | `10` | an integer >= 1 | — | ratings an item needs to be recommended |
    """
    rows = [
        "| hyperparameter | default | accepts | tuned over | description |",
        "|---|---|---|---|---|",
    ]
    for name, hp in declared(cls).items():
        formerly = f" (formerly {', '.join(f'`{o}`' for o in hp.formerly)})" if hp.formerly else ""
        rows.append(
            f"| `{name}`{formerly} | `{hp.default!r}` | {hp.describe()} | "
            f"{_describe_search(hp.tune)} | {hp.doc} |"
        )
    return "\n".join(rows)


def _describe_search(search: Search | None) -> str:
    if search is None:
        return "—"
    if isinstance(search, Range):
        text = f"{_number(search.low)} to {_number(search.high)}" + (
            ", log scale" if search.log else ""
        )
    else:
        assert isinstance(search, OneOf)
        text = ", ".join(repr(c) for c in search.choices)
    if search.when:
        text += " when " + " and ".join(
            f"{name} in {', '.join(repr(v) for v in values)}"
            for name, values in search.when.items()
        )
    return text


def _bounds(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {_number(low)}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {_number(high)}")
    return (" " + " and ".join(parts)) if parts else ""


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
