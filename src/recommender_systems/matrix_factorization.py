"""The shared base of the factor models (:class:`~recommender_systems.bpr.BPR`,
:class:`~recommender_systems.als.ALS`, :class:`~recommender_systems.svd.SVD`).

A user's score for an item is ``user_factors_[u] @ item_factors_[i]`` (plus the
item's bias where the model has one). The base class scores blocks of users as
one matrix product each (the :class:`~recommender_systems.base.Recommender`
batches users so that a block stays within a fixed memory budget) and hands the
block to the Rust top-k kernel. Batches of many users skip the score blocks:
the fused kernel (:func:`~recommender_systems.kernels.factor_topk`) scores in
register tiles, selects while they are hot and skips items that provably cannot
enter a list. ``similar_items`` ranks items by the cosine of their factors.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender_systems.base import Recommender
from recommender_systems.kernels import factor_topk
from recommender_systems.kernels._loader import RUST
from recommender_systems.query import TopN
from recommender_systems.state import Array, declare_state

__all__ = ["MatrixFactorization"]

#: Scores per block of users. Smaller than the base class's budget: a product
#: block this size stays in cache between the matrix product and top-k selection
#: (measured fastest on 138k users x 27k items, benchmarks/factorization_scale.py).
FACTOR_BLOCK_ELEMENTS = 1 << 22

#: Users from which a request takes the fused kernel: it first sorts and packs the
#: item factors (about a millisecond per million factors), which only pays off
#: when many users share it (benchmarks/topn_limit.py).
FUSED_MIN_USERS = 64


class MatrixFactorization(Recommender):
    """Base of models that score by an inner product of user and item factors.

    Subclasses set ``user_factors_`` and ``item_factors_`` (float32, C-contiguous)
    in ``_fit``; models with item biases override :meth:`_item_offsets`.
    """

    state = declare_state(
        Recommender.state,
        user_factors_=Array("float32", ("n_users", "n_factors")),
        item_factors_=Array("float32", ("n_items", "n_factors")),
    )
    user_factors_: np.ndarray
    item_factors_: np.ndarray

    def _item_offsets(self) -> np.ndarray | None:
        """Per-item score offsets (item biases), or ``None``."""
        return None

    def _block_rows(self) -> int:
        return max(1, FACTOR_BLOCK_ELEMENTS // max(1, len(self.item_ids_)))

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return self._scores_for_vectors(self.user_factors_[users])

    def _scores_for_vectors(self, vectors: np.ndarray) -> np.ndarray:
        """Scores of every item for users given by their factor vectors (rows)."""
        scores = vectors @ self.item_factors_.T
        bias = self._item_offsets()
        if bias is not None:
            scores += bias
        return scores

    def _top_candidates(
        self,
        users: np.ndarray,
        n: int,
        seen: sp.csr_matrix | None,
        allowed: np.ndarray | None,
    ) -> TopN:
        cls = type(self)
        scores_as_declared = (
            cls._scores is MatrixFactorization._scores
            and cls._scores_for_vectors is MatrixFactorization._scores_for_vectors
        )
        if not RUST or users.size < FUSED_MIN_USERS or not scores_as_declared:
            return super()._top_candidates(users, n, seen, allowed)
        bias = self._item_offsets()
        return factor_topk(
            np.ascontiguousarray(self.user_factors_, dtype=np.float32),
            users,
            np.ascontiguousarray(self.item_factors_, dtype=np.float32),
            n,
            bias=None if bias is None else np.ascontiguousarray(bias, dtype=np.float32),
            exclude=seen,
            allowed=allowed,
            n_threads=self._threads(),
        )

    def _item_similarity(self, items: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(self.item_factors_, axis=1)
        # An item without signal (all-zero factors) is similar to nothing.
        unit = self.item_factors_ / np.where(norms > 0, norms, 1.0)[:, None]
        return unit[items] @ unit.T


def initial_factors(
    rng: np.random.Generator, n_rows: int, n_factors: int, scale: float
) -> np.ndarray:
    """Random starting factors, normal with standard deviation ``scale``, float32."""
    return rng.standard_normal((n_rows, n_factors), dtype=np.float32) * np.float32(scale)
