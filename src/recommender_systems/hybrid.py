"""Hybrids: weighted reciprocal-rank fusion of any recommenders.

Each member ranks the candidates; an item in a member's top ``pool`` at rank
``r`` (1-based) gains ``weight / (rank_constant + r)``; items outside every pool
are not recommended. Ranks rather than raw scores are fused, so members whose
scores live on different scales (cosine similarities, regression weights,
counts) combine without tuning. A hybrid is itself a recommender, so hybrids nest.

Example:
    >>> import pandas as pd
    >>> from recommender_systems import MostPopular
    >>> df = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": [7, 8, 7, 9, 7]})
    >>> HybridRecommender([MostPopular(), ItemKNN()], weights=[1, 2]).fit(df).recommend(3)
    [8, 9]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender_systems._validation import (
    check_float,
    check_non_negative_float,
    check_non_negative_int,
    check_positive_int,
)
from recommender_systems.base import Recommender
from recommender_systems.content import ContentBased, text_features
from recommender_systems.datasets import load_goodbooks_tag_text
from recommender_systems.datasets._paths import PathLike
from recommender_systems.errors import ParameterError
from recommender_systems.interactions import Interactions
from recommender_systems.kernels import topk
from recommender_systems.neighborhood import ItemKNN, RP3beta
from recommender_systems.registry import register


@register("hybrid", family="hybrid", summary="Weighted reciprocal-rank fusion of recommenders")
class HybridRecommender(Recommender):
    """Fuses the rankings of several recommenders (see the module docs).

    Args:
        models: the member recommenders (unfitted; ``fit`` trains copies of them).
            Default: ``[ItemKNN(), RP3beta()]``.
        weights: one non-negative weight per member (default: equal).
        rank_constant: ``c`` in ``weight / (c + rank)``; larger values flatten the
            advantage of the very top ranks (60 is the usual RRF constant).
        pool: how many of each member's best items take part.
        n_threads: threads for the members' top-k selection (0: all cores).

    Candidates are drawn from the items the user has not seen, so
    ``exclude_seen=False`` does not bring seen items back. Fold-in and
    ``similar_items`` work when every member supports them. Members are fitted on
    the same data; when one adds cold items (:class:`ContentBased`), all of them
    see the wider catalogue.
    """

    def __init__(
        self,
        models: Sequence[Recommender] | None = None,
        weights: Sequence[float] | np.ndarray | None = None,
        rank_constant: float = 60,
        pool: int = 100,
        n_threads: int = 0,
    ) -> None:
        self.models = models
        self.weights = weights
        self.rank_constant = rank_constant
        self.pool = pool
        self.n_threads = n_threads

    models_: list[Recommender]
    weights_: np.ndarray

    def _members(self) -> tuple[list[Recommender], list[float]]:
        """The (unfitted) members and their weights, validated."""
        models = [ItemKNN(), RP3beta()] if self.models is None else self.models
        if (
            isinstance(models, str | bytes | Recommender)
            or not isinstance(models, Sequence)
            or not models
            or not all(isinstance(m, Recommender) for m in models)
        ):
            raise ParameterError(
                f"models: expected a non-empty list of recommenders, received {models!r}"
            )
        if self.weights is None:
            return list(models), [1.0] * len(models)
        if isinstance(self.weights, str | bytes) or not isinstance(
            self.weights, Sequence | np.ndarray
        ):
            raise ParameterError(f"weights: expected a list of numbers, received {self.weights!r}")
        values = list(self.weights)
        if len(values) != len(models):
            raise ParameterError(
                f"weights: expected one weight per model ({len(models)}), received {len(values)}"
            )
        weights = [check_non_negative_float(w, "weights") for w in values]
        if sum(weights) == 0:
            raise ParameterError("weights: expected at least one weight > 0, received all 0")
        return list(models), weights

    def _catalogue(self, data: Interactions) -> Interactions:
        for model in self._members()[0]:
            data = model._catalogue(data)
        return data

    def _fit(self, data: Interactions) -> None:
        models, weights = self._members()
        check_float(self.rank_constant, "rank_constant", minimum=0.0)
        check_positive_int(self.pool, "pool")
        check_non_negative_int(self.n_threads, "n_threads")
        training = getattr(self, "_training", None)
        progress = None if training is None else training.progress
        self.models_ = [model.clone().fit(data, progress=progress) for model in models]
        self.weights_ = np.asarray(weights, dtype=np.float64)

    @property
    def supports_fold_in(self) -> bool:
        return all(m.supports_fold_in for m in self._fitted_or_declared())

    @property
    def supports_similar_items(self) -> bool:
        return all(m.supports_similar_items for m in self._fitted_or_declared())

    def _fitted_or_declared(self) -> list[Recommender]:
        return self.models_ if self.is_fitted else self._members()[0]

    def _scores(self, users: np.ndarray) -> np.ndarray:
        blocks = [model._score_block(users) for model in self.models_]
        return self._fuse(blocks, self.user_items_[users])

    def _scores_for_history(self, history: sp.csr_matrix) -> np.ndarray:
        blocks = [model._scores_for_history(history) for model in self.models_]
        return self._fuse(blocks, history)

    def _item_similarity(self, items: np.ndarray) -> np.ndarray:
        blocks = [model._item_similarity(items) for model in self.models_]
        itself = sp.csr_matrix(
            (np.ones(items.size, dtype=np.float32), (np.arange(items.size), items)),
            shape=(items.size, len(self.item_ids_)),
        )
        return self._fuse(blocks, itself)

    def _fuse(self, blocks: list[np.ndarray], exclude: sp.csr_matrix) -> np.ndarray:
        """Weighted reciprocal-rank fusion of the members' score blocks."""
        n_rows, n_items = exclude.shape
        fused = np.zeros((n_rows, n_items), dtype=np.float32)
        pooled = np.zeros((n_rows, n_items), dtype=bool)
        for scores, weight in zip(blocks, self.weights_.tolist(), strict=True):
            if weight == 0:
                continue
            scores = np.ascontiguousarray(scores, dtype=np.float32).reshape(n_rows, n_items)
            indices, _ = topk(scores, int(self.pool), exclude, n_threads=self._n_threads())
            ranks = np.broadcast_to(np.arange(1, indices.shape[1] + 1), indices.shape)
            rows = np.broadcast_to(np.arange(n_rows)[:, None], indices.shape)
            kept = indices >= 0
            # Within one member an item appears at most once per row: no lost updates.
            fused[rows[kept], indices[kept]] += np.float32(weight) / np.float32(
                float(self.rank_constant) + ranks[kept]
            )
            pooled[rows[kept], indices[kept]] = True
        fused[~pooled] = -np.inf
        return fused


class HybridBook(HybridRecommender):
    """The original book pipeline: :class:`ItemKNN` on the ratings plus
    :class:`ContentBased` on tag TF-IDF features, fused 3:1 by reciprocal rank.

    Build it for goodbooks-10k with :meth:`from_goodbooks`, which loads each book's
    tags (:func:`~recommender_systems.datasets.load_goodbooks_tag_text`); books with
    tags but no ratings can then be recommended too.

    Example:
        >>> from recommender_systems.datasets import load_goodbooks_10k
        >>> model = HybridBook.from_goodbooks().fit(load_goodbooks_10k())  # doctest: +SKIP
        >>> model.recommend(1, n=3)  # doctest: +SKIP
    """

    def __init__(
        self,
        item_features: pd.DataFrame | None = None,
        knn_weight: float = 3.0,
        content_weight: float = 1.0,
        rank_constant: float = 60,
        pool: int = 100,
        n_threads: int = 0,
    ) -> None:
        self.item_features = item_features
        self.knn_weight = knn_weight
        self.content_weight = content_weight
        self.rank_constant = rank_constant
        self.pool = pool
        self.n_threads = n_threads

    def _members(self) -> tuple[list[Recommender], list[float]]:
        models: list[Recommender] = [
            ItemKNN(n_threads=self.n_threads),
            ContentBased(item_features=self.item_features),
        ]
        weights = [
            check_non_negative_float(self.knn_weight, "knn_weight"),
            check_non_negative_float(self.content_weight, "content_weight"),
        ]
        if sum(weights) == 0:
            raise ParameterError(
                "knn_weight, content_weight: expected at least one > 0, received both 0"
            )
        return models, weights

    @classmethod
    def from_goodbooks(
        cls,
        data_home: PathLike | None = None,
        *,
        top_tags: int | None = 20,
        download: bool = True,
        verify: bool = True,
        **params: Any,
    ) -> HybridBook:
        """A HybridBook whose content features are the TF-IDF of each goodbooks-10k
        book's ``top_tags`` most used tags; ``download`` and ``verify`` are as for the
        loaders, ``params`` go to the constructor."""
        tags = load_goodbooks_tag_text(
            data_home, top_k=top_tags, download=download, verify=verify, progress=False
        )
        return cls(item_features=text_features(tags), **params)
