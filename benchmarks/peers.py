"""The peer libraries' models behind our :class:`Recommender` API, for side-by-side runs.

Each adapter trains the peer on exactly the matrix our models see and scores with
the peer's own learned state: ``user_factors @ item_factors.T`` for ALS and BPR
(BPR's item bias is the last factor column), ``history @ similarity`` for the
item-item models. That is the ranking the peer's own ``recommend`` returns, so
quality goes through the same ``evaluate`` code as our models. Speed benchmarks
time the peer's own ``fit`` and ``recommend`` directly (:func:`implicit_model`).

``implicit`` is installed by the ``benchmarks`` extra; without it, :func:`peers`
returns nothing.
"""

from __future__ import annotations

import importlib.util
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender_systems.base import Recommender
from recommender_systems.interactions import Interactions
from recommender_systems.matrix_factorization import MatrixFactorization

FACTOR_KINDS = ("als", "bpr")
NEIGHBOUR_KINDS = ("cosine", "bm25")


def implicit_model(kind: str, params: dict[str, Any] | None = None) -> Any:
    """A new, unfitted ``implicit`` CPU model: ``"als"``, ``"bpr"``, ``"cosine"`` or ``"bm25"``."""
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.cpu.bpr import BayesianPersonalizedRanking
    from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

    classes: dict[str, Any] = {
        "als": AlternatingLeastSquares,
        "bpr": BayesianPersonalizedRanking,
        "cosine": CosineRecommender,
        "bm25": BM25Recommender,
    }
    return classes[kind](**(params or {}))


def _fit_quietly(model: Any, matrix: sp.csr_matrix) -> None:
    with warnings.catch_warnings():
        # implicit warns about its own internal conversions and BLAS threads.
        warnings.simplefilter("ignore")
        model.fit(matrix, show_progress=False)


class ImplicitFactors(MatrixFactorization):
    """``implicit``'s ALS or BPR (``params`` go to its constructor), keeping its factors."""

    def __init__(self, kind: str = "als", params: dict[str, Any] | None = None) -> None:
        self.kind = kind
        self.params = params

    def _fit(self, data: Interactions) -> None:
        model = implicit_model(self.kind, self.params)
        # implicit needs writable arrays; Interactions keeps its own read-only.
        _fit_quietly(model, sp.csr_matrix(data.matrix, dtype=np.float32, copy=True))
        self.user_factors_ = np.ascontiguousarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(model.item_factors, dtype=np.float32)


class ImplicitNeighbours(Recommender):
    """``implicit``'s item-item model (``"cosine"`` or ``"bm25"``), keeping its similarity."""

    def __init__(self, kind: str = "bm25", params: dict[str, Any] | None = None) -> None:
        self.kind = kind
        self.params = params

    def _fit(self, data: Interactions) -> None:
        model = implicit_model(self.kind, self.params)
        self.history_ = sp.csr_matrix(data.matrix, dtype=np.float32, copy=True)
        _fit_quietly(model, self.history_)
        self.similarity_ = sp.csr_matrix(model.similarity, dtype=np.float32)

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return np.asarray((self.history_[users] @ self.similarity_).todense())


@dataclass(frozen=True)
class Peer:
    """A named peer model for the benchmark tables."""

    name: str
    model: Recommender


def implicit_available() -> bool:
    return importlib.util.find_spec("implicit") is not None


def peers(n_threads: int = 0) -> list[Peer]:
    """implicit's ALS, BPR and ItemKNN (cosine, BM25), each at its own defaults."""
    if not implicit_available():
        return []
    threads = {"num_threads": n_threads}
    return [
        Peer("implicit ALS", ImplicitFactors("als", {**threads, "random_state": 0})),
        Peer("implicit BPR", ImplicitFactors("bpr", {**threads, "random_state": 0})),
        Peer("implicit ItemKNN cosine", ImplicitNeighbours("cosine", threads)),
        Peer("implicit ItemKNN BM25", ImplicitNeighbours("bm25", threads)),
    ]
