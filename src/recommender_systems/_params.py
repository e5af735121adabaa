"""Hyperparameter handling in the scikit-learn style.

A model's ``__init__`` only stores its arguments under the same names. From the
signature alone, :class:`Params` derives ``get_params``, ``set_params``,
``clone`` and a readable ``repr``, so no model writes them again.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any, Self

import numpy as np

from recommender_systems.errors import ParameterError


class Params:
    """Mixin giving ``get_params``, ``set_params``, ``clone`` and ``repr``."""

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
        for name, value in params.items():
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
