"""What every fitted object shares: hyperparameters plus fitted state.

Fitted state is every attribute whose name ends with ``_`` (never a dunder), set
by ``fit``; this is the one definition of it, used by the model base class,
model files and the tests. Persistence works on :class:`Estimator`, so it never
needs the recommender base class itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from recommender_systems._params import Params, former_name
from recommender_systems.errors import NotFittedError

#: A fitted-state attribute name: ends with ``_``, never a dunder.
STATE_NAME = re.compile(r"^_?[A-Za-z][A-Za-z0-9_]*_$")


def fitted_state(obj: object) -> dict[str, Any]:
    """The fitted attributes of ``obj`` (names ending with ``_``) and their values."""
    return {name: value for name, value in vars(obj).items() if STATE_NAME.match(name)}


class Estimator(Params):
    """Hyperparameters (:class:`Params`) plus fitted state, set by ``fit``."""

    #: ``{former name: current name}`` of renamed fitted-state attributes: model files
    #: that use a former name still load, and reading it warns.
    renamed_state: ClassVar[Mapping[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for old, new in cls.renamed_state.items():
            if old not in vars(cls):
                setattr(cls, old, former_name(old, new))

    @property
    def is_fitted(self) -> bool:
        """Whether the model holds fitted state."""
        return bool(fitted_state(self))

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet: call fit(data) before using it"
            )

    def _reset(self) -> None:
        """Forgets the fitted state."""
        for name in fitted_state(self):
            delattr(self, name)
