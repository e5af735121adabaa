"""Hybrids: weighted fusion of any recommenders, by rank or by standardised score.

With ``fusion="rank"`` (the default), each member ranks the candidates; an item
in a member's top ``pool`` at rank ``r`` (1-based) gains ``weight /
(rank_constant + r)``; items outside every pool are not recommended. Ranks rather
than raw scores are fused, so members whose scores live on different scales
(cosine similarities, regression weights, counts) combine without tuning.

With ``fusion="scores"``, each member's scores are standardised per user over the
user's candidate items (mean 0, standard deviation 1) and summed with the
weights: how far ahead a member puts an item counts, not only its place
(``create("auto")`` tries both fusions for its two best families). A hybrid is
itself a recommender, so hybrids nest.

Example:
    >>> import pandas as pd
    >>> from recommender_systems import MostPopular
    >>> df = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": [7, 8, 7, 9, 7]})
    >>> HybridRecommender([MostPopular(), ItemKNN()], weights=[1, 2]).fit(df).recommend(3)
    [8, 9]
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender_systems._validation import check_non_negative_float
from recommender_systems.base import Recommender
from recommender_systems.content import ContentBased
from recommender_systems.errors import ParameterError
from recommender_systems.hyperparameters import (
    Choice,
    Custom,
    Float,
    Int,
    Range,
    Threads,
    declare,
)
from recommender_systems.interactions import Interactions
from recommender_systems.kernels import topk
from recommender_systems.neighborhood import ItemKNN, RP3beta
from recommender_systems.registry import register
from recommender_systems.state import Array, Models, declare_state


def _check_recommenders(value: Any, name: str) -> Any:
    if value is not None and (
        isinstance(value, str | bytes | Recommender)
        or not isinstance(value, Sequence)
        or not value
        or not all(isinstance(m, Recommender) for m in value)
    ):
        raise ParameterError(
            f"{name}: expected a non-empty list of recommenders, received {value!r}"
        )
    return value


def _check_weights(value: Any, name: str) -> Any:
    if value is None:
        return value
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise ParameterError(f"{name}: expected a list of numbers, received {value!r}")
    weights = [check_non_negative_float(w, name) for w in value]
    if weights and sum(weights) == 0:
        raise ParameterError(f"{name}: expected at least one weight > 0, received all 0")
    return value


@register("hybrid", family="hybrid", summary="Weighted rank or score fusion of recommenders")
class HybridRecommender(Recommender):
    """Fuses the rankings (or standardised scores) of several recommenders (see
    the module docs).

    ``recommenders`` are the members (unfitted; ``fit`` trains copies of them;
    default ``[ItemKNN(), RP3beta()]``), with one non-negative weight each
    (default: equal). ``fusion`` is ``"rank"`` (reciprocal-rank fusion) or
    ``"scores"`` (per-user standardised scores, weighted). For rank fusion,
    ``rank_constant`` is ``c`` in ``weight / (c + rank)``: larger values flatten the
    advantage of the very top ranks (60 is the usual RRF constant), and ``pool`` is
    how many of each member's best items take part.

    Candidates are drawn from the items the user has not seen, so
    ``exclude_seen=False`` does not bring seen items back. Fold-in and
    ``similar_items`` work when every member supports them. Members are fitted on
    the same data; when one adds cold items (:class:`ContentBased`), all of them
    see the wider catalogue.
    """

    hyperparameters = declare(
        recommenders=Custom(
            default=None,
            checker=_check_recommenders,
            accepts="None or a non-empty list of recommenders",
            doc="the members (default: ItemKNN and RP3beta)",
            formerly=("models",),
        ),
        weights=Custom(
            default=None,
            checker=_check_weights,
            accepts="None or a list of numbers >= 0, not all 0",
            doc="one weight per member (default: equal)",
        ),
        rank_constant=Float(
            default=60, low=0.0, doc="c in weight / (c + rank)", tune=Range(1.0, 200.0, log=True)
        ),
        pool=Int(default=100, low=1, doc="how many of each member's best items take part"),
        n_threads=Threads(doc="threads for the members' top-k selection (0: all cores)"),
        fusion=Choice(
            default="rank",
            options=("rank", "scores"),
            doc="fuse the members' ranks (reciprocal rank) or their per-user standardised scores",
        ),
    )
    renamed_state: ClassVar[Mapping[str, str]] = {"models_": "recommenders_"}
    state = declare_state(
        Recommender.state,
        recommenders_=Models(count="n_recommenders"),
        weights_=Array("float64", ("n_recommenders",)),
    )

    def __init__(
        self,
        recommenders: Sequence[Recommender] | None = None,
        weights: Sequence[float] | np.ndarray | None = None,
        rank_constant: float = 60,
        pool: int = 100,
        n_threads: int = 0,
        fusion: Literal["rank", "scores"] = "rank",
    ) -> None:
        self.recommenders = recommenders
        self.weights = weights
        self.rank_constant = rank_constant
        self.pool = pool
        self.n_threads = n_threads
        self.fusion = fusion

    recommenders_: list[Recommender]
    weights_: np.ndarray

    def _check_params(self) -> None:
        if self.weights is not None and len(self.weights) != len(self._members()[0]):
            raise ParameterError(
                f"weights: expected one weight per recommender ({len(self._members()[0])}), "
                f"received {len(self.weights)}"
            )

    def _members(self) -> tuple[list[Recommender], list[float]]:
        """The (unfitted) members and their weights."""
        members = [ItemKNN(), RP3beta()] if self.recommenders is None else self.recommenders
        weights = [1.0] * len(members) if self.weights is None else self.weights
        return list(members), [float(w) for w in weights]

    def _catalogue(self, data: Interactions) -> Interactions:
        for model in self._members()[0]:
            data = model._catalogue(data)
        return data

    def _fit(self, data: Interactions) -> None:
        models, weights = self._members()
        progress = None if self._training is None else self._training.progress
        self.recommenders_ = [model.clone().fit(data, progress=progress) for model in models]
        self.weights_ = np.asarray(weights, dtype=np.float64)

    @property
    def supports_fold_in(self) -> bool:
        return all(m.supports_fold_in for m in self._fitted_or_declared())

    @property
    def supports_similar_items(self) -> bool:
        return all(m.supports_similar_items for m in self._fitted_or_declared())

    def _fitted_or_declared(self) -> list[Recommender]:
        return self.recommenders_ if self.is_fitted else self._members()[0]

    def _scores(self, users: np.ndarray) -> np.ndarray:
        blocks = [model._score_block(users) for model in self.recommenders_]
        return self._fuse(blocks, self.user_items_[users])

    def _scores_for_history(self, history: sp.csr_matrix) -> np.ndarray:
        blocks = [model._scores_for_history(history) for model in self.recommenders_]
        return self._fuse(blocks, history)

    def _item_similarity(self, items: np.ndarray) -> np.ndarray:
        blocks = [model._item_similarity(items) for model in self.recommenders_]
        itself = sp.csr_matrix(
            (np.ones(items.size, dtype=np.float32), (np.arange(items.size), items)),
            shape=(items.size, len(self.item_ids_)),
        )
        return self._fuse(blocks, itself)

    def _fuse(self, blocks: list[np.ndarray], exclude: sp.csr_matrix) -> np.ndarray:
        """The members' score blocks fused as ``fusion`` says; ``exclude`` (rows x
        items) marks the items that are no candidates."""
        if self.fusion == "scores":
            return self._fuse_scores(blocks, exclude)
        return self._fuse_ranks(blocks, exclude)

    def _fuse_scores(self, blocks: list[np.ndarray], exclude: sp.csr_matrix) -> np.ndarray:
        """Weighted sum of the members' scores standardised per row over the
        candidates. A member's non-finite scores count as its lowest one in the row."""
        n_rows, n_items = exclude.shape
        excluded = exclude.toarray() != 0
        fused = np.zeros((n_rows, n_items), dtype=np.float64)
        for scores, weight in zip(blocks, self.weights_.tolist(), strict=True):
            if weight == 0:
                continue
            values = np.asarray(scores, dtype=np.float64).reshape(n_rows, n_items)
            usable = np.isfinite(values) & ~excluded
            count = np.maximum(usable.sum(axis=1, keepdims=True), 1)
            kept = np.where(usable, values, 0.0)
            mean = kept.sum(axis=1, keepdims=True) / count
            spread = np.sqrt(
                (np.where(usable, values - mean, 0.0) ** 2).sum(axis=1, keepdims=True) / count
            )
            z = (kept - mean) / np.where(spread > 0, spread, 1.0)
            lowest = np.where(usable, z, np.inf).min(axis=1, keepdims=True)
            fused += weight * np.where(usable, z, np.where(np.isfinite(lowest), lowest, 0.0))
        fused[excluded] = -np.inf
        return fused.astype(np.float32)

    def _fuse_ranks(self, blocks: list[np.ndarray], exclude: sp.csr_matrix) -> np.ndarray:
        """Weighted reciprocal-rank fusion of the members' score blocks."""
        n_rows, n_items = exclude.shape
        fused = np.zeros((n_rows, n_items), dtype=np.float32)
        pooled = np.zeros((n_rows, n_items), dtype=bool)
        for scores, weight in zip(blocks, self.weights_.tolist(), strict=True):
            if weight == 0:
                continue
            scores = np.ascontiguousarray(scores, dtype=np.float32).reshape(n_rows, n_items)
            pool = min(int(self.pool), n_items)  # a pool beyond the catalogue is the catalogue
            indices, _ = topk(scores, pool, exclude, n_threads=self._threads())
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

    Build it for goodbooks-10k with
    :func:`recommender_systems.books.hybrid_book_from_goodbooks`, which loads each
    book's tags; books with tags but no ratings can then be recommended too.

    Example:
        >>> from recommender_systems.books import hybrid_book_from_goodbooks
        >>> from recommender_systems.datasets import load_goodbooks_10k
        >>> model = hybrid_book_from_goodbooks().fit(load_goodbooks_10k())  # doctest: +SKIP
        >>> model.recommend(1, n=3)  # doctest: +SKIP
    """

    hyperparameters = declare(
        item_features=ContentBased.hyperparameters["item_features"],
        knn_weight=Float(default=3.0, low=0.0, doc="weight of the ItemKNN ranking"),
        content_weight=Float(default=1.0, low=0.0, doc="weight of the content ranking"),
        rank_constant=HybridRecommender.hyperparameters["rank_constant"],
        pool=HybridRecommender.hyperparameters["pool"],
        n_threads=HybridRecommender.hyperparameters["n_threads"],
    )

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
        self.fusion = "rank"  # the book pipeline always fuses ranks (not a setting)

    def _check_params(self) -> None:
        if self.knn_weight == 0 and self.content_weight == 0:
            raise ParameterError(
                "knn_weight, content_weight: expected at least one > 0, received both 0"
            )

    def _members(self) -> tuple[list[Recommender], list[float]]:
        models: list[Recommender] = [
            ItemKNN(n_threads=self.n_threads),
            ContentBased(item_features=self.item_features),
        ]
        return models, [float(self.knn_weight), float(self.content_weight)]

    @classmethod
    def from_goodbooks(cls, *args: Any, **kwargs: Any) -> HybridBook:
        """Deprecated: use :func:`recommender_systems.books.hybrid_book_from_goodbooks`
        (models do no dataset I/O)."""
        warnings.warn(
            "HybridBook.from_goodbooks is deprecated, use "
            "recommender_systems.books.hybrid_book_from_goodbooks (same arguments)",
            DeprecationWarning,
            stacklevel=2,
        )
        from recommender_systems.books import hybrid_book_from_goodbooks

        return hybrid_book_from_goodbooks(*args, book_class=cls, **kwargs)
