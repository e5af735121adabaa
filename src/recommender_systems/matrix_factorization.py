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

For large catalogues, :meth:`MatrixFactorization.build_index` adds approximate
nearest-neighbour indexes over the item vectors (the ``ann`` extra): queries then
search them instead of scoring every item (:mod:`recommender_systems.approximate`).
"""

from __future__ import annotations

import functools
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from recommender_systems._validation import check_bool
from recommender_systems.approximate import ApproximateSearch
from recommender_systems.base import Recommender
from recommender_systems.item_index import CALIBRATION_QUERIES, ItemIndex
from recommender_systems.kernels import factor_topk
from recommender_systems.kernels._loader import RUST
from recommender_systems.query import CandidateStep, Purpose, TopN, select_rows
from recommender_systems.state import Array, Fitted, declare_state

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
        item_index_=Fitted(ItemIndex, optional=True),
        similar_index_=Fitted(ItemIndex, optional=True),
    )
    user_factors_: np.ndarray
    item_factors_: np.ndarray
    #: Approximate indexes (only after :meth:`build_index`): over the item vectors
    #: (with biases), for ``recommend``; over unit item vectors, for ``similar_items``.
    item_index_: ItemIndex
    similar_index_: ItemIndex

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
        unit = _unit(self.item_factors_)
        return unit[items] @ unit.T

    # ------------------------------------------------------ approximate search
    def build_index(self, *, similar_items: bool = True, **options: Any) -> Self:
        """Builds approximate nearest-neighbour indexes over the item vectors (needs
        the ``ann`` extra); queries then use them by default (``approximate=None``).

        One index serves ``recommend`` (inner products with the user factors, item
        biases folded into an extra dimension), and, if ``similar_items``, a second
        serves ``similar_items`` (cosine of the item factors). ``options`` are
        :class:`~recommender_systems.item_index.ItemIndex`'s hyperparameters, e.g.
        ``target_recall=0.99``. The indexes are fitted state: ``save`` stores them
        in the model file, ``fit`` drops them. Examples: the docs' "Approximate
        search" page.
        """
        self._check_fitted()
        similar_items = check_bool(similar_items, "similar_items")
        prototype = ItemIndex(**options)
        prototype._validate_params()
        threads = self._threads()
        rng = np.random.default_rng(0)
        users = rng.choice(
            len(self.user_ids_), min(CALIBRATION_QUERIES, len(self.user_ids_)), replace=False
        )
        indexes = {
            "item_index_": prototype.clone().fit(
                self._index_vectors(),
                self._query_vectors(users),
                seen=select_rows(self.user_items_, users),
                n_threads=threads,
            )
        }
        if similar_items:
            items = rng.choice(
                len(self.item_ids_), min(CALIBRATION_QUERIES, len(self.item_ids_)), replace=False
            )
            unit = _unit(self.item_factors_)
            itself = sp.csr_matrix(
                (np.ones(items.size, dtype=np.float32), (np.arange(items.size), items)),
                shape=(items.size, len(self.item_ids_)),
            )
            indexes["similar_index_"] = prototype.clone().fit(
                unit, unit[items], seen=itself, n_threads=threads
            )
        self.drop_index()
        vars(self).update(indexes)
        return self

    def drop_index(self) -> Self:
        """Removes the approximate indexes: queries score every item again."""
        for name in ("item_index_", "similar_index_"):
            vars(self).pop(name, None)
        return self

    @property
    def has_index(self) -> bool:
        """Whether the model holds an approximate index (see :meth:`build_index`)."""
        return "item_index_" in vars(self)

    def _approximate_step(self, purpose: Purpose) -> CandidateStep | None:
        name = "item_index_" if purpose == "recommend" else "similar_index_"
        index: ItemIndex | None = vars(self).get(name)
        if index is None:
            return None
        threads = self._threads()
        if purpose == "recommend":
            return ApproximateSearch(
                search=functools.partial(index.search, n_threads=threads),
                queries=self._query_vectors,
                scores=self._candidate_scores,
                exact=self._top_candidates,
                n_items=len(self.item_ids_),
                n_threads=threads,
            )
        return ApproximateSearch(
            search=functools.partial(index.search, n_threads=threads),
            queries=lambda items: _unit(self.item_factors_[items]),
            scores=self._candidate_similarities,
            exact=self._similar_candidates,
            n_items=len(self.item_ids_),
            n_threads=threads,
        )

    def _index_vectors(self) -> np.ndarray:
        """Item vectors whose inner product with :meth:`_query_vectors` is the score:
        the item factors, with the item bias as an extra dimension."""
        bias = self._item_offsets()
        if bias is None:
            return self.item_factors_
        return np.hstack([self.item_factors_, bias[:, None]]).astype(np.float32)

    def _query_vectors(self, users: np.ndarray) -> np.ndarray:
        vectors = self.user_factors_[users]
        if self._item_offsets() is None:
            return vectors
        return np.hstack([vectors, np.ones((len(users), 1), dtype=vectors.dtype)])

    def _candidate_scores(self, users: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """Exact scores of ``candidates`` (one row of item indices per user)."""
        scores = _row_products(self.item_factors_[candidates], self.user_factors_[users])
        bias = self._item_offsets()
        return scores if bias is None else scores + bias[candidates]

    def _candidate_similarities(self, items: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """Exact cosines of ``candidates`` (one row of item indices per item)."""
        return _row_products(
            _unit(self.item_factors_[candidates]), _unit(self.item_factors_[items])
        )


def _unit(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` scaled to unit length along the last axis; an all-zero vector (an
    item without signal) stays zero, similar to nothing."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32, copy=False)


def _row_products(gathered: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """``gathered[i, j] @ queries[i]``: shape ``(m, k)`` from ``(m, k, d)`` and ``(m, d)``."""
    return np.matmul(gathered, queries[:, :, None])[:, :, 0]


def initial_factors(
    rng: np.random.Generator, n_rows: int, n_factors: int, scale: float
) -> np.ndarray:
    """Random starting factors, normal with standard deviation ``scale``, float32."""
    return rng.standard_normal((n_rows, n_factors), dtype=np.float32) * np.float32(scale)
