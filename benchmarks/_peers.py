"""`implicit`'s models behind our Recommender API, so that both libraries are scored
by the same evaluation code on the same split.

Only the benchmarks use this (``implicit`` comes with the ``benchmarks`` extra).
Scores are ``user_factors @ item_factors.T``, exactly what ``implicit``'s own
``recommend`` ranks, so the metrics are those of ``implicit``'s recommendations.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recommender_systems.interactions import Interactions
from recommender_systems.matrix_factorization import MatrixFactorization


def implicit_model(kind: str, params: dict[str, Any]) -> Any:
    """A new ``implicit.cpu`` ALS (``kind="als"``) or BPR model."""
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    cls = AlternatingLeastSquares if kind == "als" else BayesianPersonalizedRanking
    return cls(**params)


class ImplicitModel(MatrixFactorization):
    """Trains ``implicit.cpu`` ALS or BPR (``params`` go to its constructor) and keeps
    its factors (BPR's include the item bias as a last column)."""

    def __init__(self, kind: str = "als", params: dict[str, Any] | None = None) -> None:
        self.kind = kind
        self.params = params

    def _fit(self, data: Interactions) -> None:
        model = implicit_model(self.kind, self.params or {})
        model.fit(data.matrix.copy(), show_progress=False)  # implicit needs writable arrays
        self.user_factors_ = np.ascontiguousarray(model.user_factors)
        self.item_factors_ = np.ascontiguousarray(model.item_factors)


def implicit_version() -> str:
    from importlib.metadata import version

    return version("implicit")
