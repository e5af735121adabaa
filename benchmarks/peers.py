"""The peer libraries' models behind our :class:`Recommender` API, for side-by-side runs.

Each adapter trains the peer on exactly the matrix our models see and scores with
the peer's own learned state (factor products for ALS/BPR, history x similarity
for item-item models): the ranking the peer's ``recommend`` would return. Quality
then goes through the same ``evaluate`` code as our models; speed benchmarks time
the peer's own ``fit`` and ``recommend`` directly.

``implicit`` is installed by the ``benchmarks`` extra; without it, :func:`peers`
returns nothing.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender_systems.base import Recommender
from recommender_systems.interactions import Interactions


class ImplicitPeer(Recommender):
    """An ``implicit`` model trained on the same matrix as our models (values as given)."""

    def __init__(self, kind: str = "als", params: dict[str, Any] | None = None):
        self.kind = kind
        self.params = params

    def build(self) -> Any:
        """A fresh, unfitted ``implicit`` model of this kind."""
        from implicit.als import AlternatingLeastSquares
        from implicit.bpr import BayesianPersonalizedRanking
        from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

        classes: dict[str, Callable[..., Any]] = {
            "als": AlternatingLeastSquares,
            "bpr": BayesianPersonalizedRanking,
            "cosine": CosineRecommender,
            "bm25": BM25Recommender,
        }
        return classes[self.kind](**(self.params or {}))

    def _fit(self, data: Interactions) -> None:
        model = self.build()
        matrix = sp.csr_matrix(data.matrix, dtype=np.float32, copy=True)
        with warnings.catch_warnings():
            # implicit warns about its own internal conversions and BLAS threads.
            warnings.simplefilter("ignore")
            model.fit(matrix, show_progress=False)
        if self.kind in {"als", "bpr"}:
            self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
            self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)
        else:
            self.history_ = matrix
            self.similarity_ = sp.csr_matrix(model.similarity, dtype=np.float32)

    def _scores(self, users: np.ndarray) -> np.ndarray:
        if self.kind in {"als", "bpr"}:
            return self.user_factors_[users] @ self.item_factors_.T
        return np.asarray((self.history_[users] @ self.similarity_).todense())


@dataclass(frozen=True)
class Peer:
    """A named peer model for the benchmark tables."""

    name: str
    model: ImplicitPeer


def implicit_available() -> bool:
    return importlib.util.find_spec("implicit") is not None


def peers(n_threads: int = 0) -> list[Peer]:
    """implicit's ALS, BPR and ItemKNN (cosine, BM25), each at its own defaults."""
    if not implicit_available():
        return []
    threads = {"num_threads": n_threads}
    return [
        Peer("implicit ALS", ImplicitPeer("als", {**threads, "random_state": 0})),
        Peer("implicit BPR", ImplicitPeer("bpr", {**threads, "random_state": 0})),
        Peer("implicit ItemKNN cosine", ImplicitPeer("cosine", threads)),
        Peer("implicit ItemKNN BM25", ImplicitPeer("bm25", threads)),
    ]
