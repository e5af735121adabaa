"""Non-personalised baselines: every user gets the same ranking (minus what they saw)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender_systems.base import Recommender
from recommender_systems.hyperparameters import Int, declare
from recommender_systems.interactions import Interactions
from recommender_systems.query import TopN, shared_top_candidates
from recommender_systems.registry import register
from recommender_systems.state import Array, declare_state


class _SameForEveryone(Recommender):
    """One score vector for all users; it is also the fallback for unknown users and
    what a new user gets from fold-in (minus their history, with ``exclude_seen``)."""

    unknown_users = "popular"
    personalised = False
    # -inf marks an item that is never recommended (MeanRating's rare items).
    state = declare_state(
        Recommender.state, item_scores_=Array("float32", ("n_items",), allow_inf=True)
    )
    item_scores_: np.ndarray

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.item_scores_, (users.size, self.item_scores_.size))

    def _top_candidates(
        self, users: np.ndarray, n: int, seen: sp.csr_matrix | None, allowed: np.ndarray | None
    ) -> TopN:
        # One ranking for everyone: walk it past each user's seen items instead of
        # ranking a dense block of identical rows.
        return shared_top_candidates(self.item_scores_, users.size, n, seen, allowed)

    def _scores_for_history(self, history: sp.csr_matrix) -> np.ndarray:
        return np.broadcast_to(self.item_scores_, (history.shape[0], self.item_scores_.size))

    def _fallback_scores(self) -> np.ndarray:
        return self.item_scores_


@register("most-popular", family="baseline", summary="Items ranked by how many users have them")
class MostPopular(_SameForEveryone):
    """Recommends the items most users interacted with, ties to the lower item id.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"user_id": [1, 2, 2, 3], "item_id": [7, 7, 8, 9]})
        >>> MostPopular().fit(df).recommend(1, n=2)
        [8, 9]
    """

    def __init__(self) -> None:
        pass

    def _fit(self, data: Interactions) -> None:
        self.item_scores_ = self.item_popularity_.copy()


@register("mean-rating", family="baseline", summary="Items ranked by mean rating")
class MeanRating(_SameForEveryone):
    """Recommends the items with the highest mean rating among those rated by at
    least ``min_ratings`` users; items with fewer ratings are never recommended.

    With implicit data (every value 1) all items tie, so this only makes sense on
    ratings.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"user_id": [1, 2, 3, 3], "item_id": [7, 7, 8, 9],
        ...                    "rating": [5, 4, 3, 1]})
        >>> MeanRating(min_ratings=1).fit(df).recommend(3)
        [7]
    """

    hyperparameters = declare(
        min_ratings=Int(default=10, low=1, doc="ratings an item needs to be recommended"),
    )

    def __init__(self, min_ratings: int = 10) -> None:
        self.min_ratings = min_ratings

    def _fit(self, data: Interactions) -> None:
        min_ratings = int(self.min_ratings)
        matrix = data.matrix
        counts = np.bincount(matrix.indices, minlength=data.n_items)
        sums = np.bincount(matrix.indices, weights=matrix.data, minlength=data.n_items)
        means = np.divide(sums, counts, out=np.zeros(data.n_items), where=counts > 0)
        self.item_scores_ = np.where(counts >= min_ratings, means, -np.inf).astype(np.float32)
