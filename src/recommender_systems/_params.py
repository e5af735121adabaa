"""Hyperparameter handling in the scikit-learn style.

A model's ``__init__`` only stores its arguments under the same names. From the
signature alone, :class:`Params` derives ``get_params``, ``set_params``,
``clone`` and a readable ``repr``, so no model writes them again. From the
class's declaration (:mod:`recommender_systems.hyperparameters`) it validates
the values and keeps renamed hyperparameters working under their former names.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Self

import numpy as np

from recommender_systems._deprecation import current_keywords, warn_renamed
from recommender_systems.errors import ParameterError
from recommender_systems.hyperparameters import Hyperparameter, declared


class Params:
    """Mixin giving ``get_params``, ``set_params``, ``clone``, ``repr`` and validation."""

    #: The declared hyperparameters, by name (see :mod:`recommender_systems.hyperparameters`).
    hyperparameters: ClassVar[Mapping[str, Hyperparameter]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        renames = cls._former_names()
        if renames and "__init__" in vars(cls):
            cls.__init__ = _accepting_former_names(cls.__init__, renames)  # type: ignore[method-assign]
        for old, new in renames.items():
            if old not in vars(cls):
                setattr(cls, old, former_name(old, new))

    @classmethod
    def _former_names(cls) -> dict[str, str]:
        """``{former name: current name}`` for every renamed hyperparameter."""
        return {old: new for new, hp in declared(cls).items() for old in hp.formerly}

    @classmethod
    def _current_names(cls, params: Mapping[str, Any], *, warn: bool = True) -> dict[str, Any]:
        """``params`` with former names replaced by current ones (warning if ``warn``)."""
        # Called from __init__ or set_params, whose caller the warning names.
        return current_keywords(
            cls.__name__, cls._former_names(), params, stacklevel=3 if warn else 0
        )

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        names = []
        for p in signature.parameters.values():
            if p.name == "self":
                continue
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise TypeError(f"{cls.__name__}.__init__ must not take *args or **kwargs")
            names.append(p.name)
        return names

    def get_params(self) -> dict[str, Any]:
        """The hyperparameters, by name, as passed to ``__init__``.

        Example:
            >>> from recommender_systems import MeanRating
            >>> MeanRating(min_ratings=5).get_params()
            {'min_ratings': 5}
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Self:
        """Sets hyperparameters by name and returns ``self``. Fitted state is kept
        until the next ``fit``."""
        valid = self._param_names()
        for name, value in self._current_names(params).items():
            if name not in valid:
                raise ParameterError(
                    f"{name}: not a parameter of {type(self).__name__}; expected one of "
                    f"{', '.join(valid) or '(none)'}"
                )
            setattr(self, name, value)
        return self

    def clone(self) -> Self:
        """A new, unfitted model with the same hyperparameters (nested models cloned)."""
        return type(self)(**{k: _clone_value(v) for k, v in self.get_params().items()})

    def _validate_params(self) -> None:
        """Checks every declared hyperparameter, then the rules that tie several
        together (:meth:`_check_params`); raises :class:`ParameterError`."""
        declarations = declared(type(self))
        for name in self._param_names():
            if name in declarations:
                declarations[name].check(getattr(self, name), name)
        self._check_params()

    def _check_params(self) -> None:
        """Rules that involve more than one hyperparameter (none by default)."""

    def __repr__(self) -> str:
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
        }
        shown = [
            f"{name}={_short_repr(value)}"
            for name, value in self.get_params().items()
            if not _same(value, defaults.get(name, inspect.Parameter.empty))
        ]
        return f"{type(self).__name__}({', '.join(shown)})"


def _accepting_former_names(
    init: Callable[..., None], renames: Mapping[str, str]
) -> Callable[..., None]:
    """``init`` that also accepts the former names of its keywords."""

    @functools.wraps(init)
    def __init__(self: Params, *args: Any, **kwargs: Any) -> None:
        if renames.keys() & kwargs.keys():
            kwargs = type(self)._current_names(kwargs)
        init(self, *args, **kwargs)

    return __init__


def former_name(old: str, new: str) -> property:
    """A property that reads and writes ``new`` under its former name ``old``."""

    def get(self: Params) -> Any:
        warn_renamed(type(self).__name__, old, new, stacklevel=2)
        return getattr(self, new)

    def put(self: Params, value: Any) -> None:
        warn_renamed(type(self).__name__, old, new, stacklevel=2)
        setattr(self, new, value)

    return property(get, put, doc=f"Deprecated: the former name of ``{new}``.")


def _short_repr(value: Any) -> str:
    """``repr``, except that a table hyperparameter shows its shape, not its content."""
    if hasattr(value, "shape") and hasattr(value, "columns"):  # a DataFrame
        rows, columns = value.shape
        return f"<{type(value).__name__}: {rows} rows x {columns} columns>"
    return repr(value)


def _clone_value(value: Any) -> Any:
    if isinstance(value, Params):
        return value.clone()
    if isinstance(value, list | tuple):
        return type(value)(_clone_value(v) for v in value)
    if isinstance(value, dict):
        return {k: _clone_value(v) for k, v in value.items()}
    return copy.deepcopy(value)


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return False
    try:
        return bool(a == b) and type(a) is type(b)
    except (TypeError, ValueError):
        return False
