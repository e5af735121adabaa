"""The result of batch recommendation: ids and scores as arrays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recommender_systems.idmap import IdMap


@dataclass(frozen=True)
class Recommendations:
    """Top-n items for many users, best first.

    Rows are users (in the order asked), columns are ranks. A user with fewer than
    ``n`` recommendable items has a shorter list: the remaining slots are padding,
    with ``item_indices == -1``, ``scores`` NaN and ``mask`` False. Use
    :meth:`to_lists` or :meth:`to_frame` to get only real recommendations.

    Attributes:
        users: the external user ids, as asked.
        items: ``(n_users, n)`` external item ids (padding holds an arbitrary id).
        scores: ``(n_users, n)`` float32 model scores (NaN for padding).
        item_indices: ``(n_users, n)`` internal item indices in the model (-1 padding).
    """

    users: np.ndarray
    items: np.ndarray
    scores: np.ndarray
    item_indices: np.ndarray

    @classmethod
    def from_indices(
        cls, users: np.ndarray, item_indices: np.ndarray, scores: np.ndarray, item_ids: IdMap
    ) -> Recommendations:
        safe = np.where(item_indices >= 0, item_indices, 0)
        items = item_ids.to_ids(safe) if len(item_ids) else np.empty(safe.shape, item_ids.ids.dtype)
        return cls(users=users, items=items, scores=scores, item_indices=item_indices)

    @property
    def mask(self) -> np.ndarray:
        """True where a slot holds a real recommendation."""
        return np.asarray(self.item_indices >= 0)

    def __len__(self) -> int:
        return int(self.users.shape[0])

    def to_lists(self) -> list[list[Any]]:
        """One list of item ids per user (Python scalars), without padding."""
        counts = self.mask.sum(axis=1)
        rows = self.items.tolist()
        return [row[:c] for row, c in zip(rows, counts.tolist(), strict=True)]

    def to_frame(self) -> pd.DataFrame:
        """Long form: ``user_id``, ``rank`` (1-based), ``item_id``, ``score``."""
        mask = self.mask
        n_cols = self.items.shape[1] if self.items.ndim == 2 else 0
        return pd.DataFrame(
            {
                "user_id": np.repeat(self.users, n_cols)[mask.ravel()],
                "rank": np.tile(np.arange(1, n_cols + 1), len(self))[mask.ravel()],
                "item_id": self.items[mask],
                "score": self.scores[mask],
            }
        )
