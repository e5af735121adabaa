"""Content-based recommendation from item features, and features from item text.

:class:`ContentBased` describes each user by the rating-weighted mean of the
features of the items they have (their *profile*) and ranks items by the cosine
similarity of their features to it, so items nobody has interacted with yet
("cold" items) can be recommended as soon as they have features.
:func:`recommender_systems.features.text_features` turns item text
(descriptions, tags, genres) into TF-IDF, count or binary word features.

Example:
    >>> import pandas as pd
    >>> from recommender_systems.features import text_features
    >>> features = text_features(pd.DataFrame({
    ...     "item_id": [1, 2, 3, 4],
    ...     "text": ["space opera", "space western", "romance", "space opera saga"]}))
    >>> ratings = pd.DataFrame({"user_id": ["ann", "ann"], "item_id": [1, 2], "rating": [5, 4]})
    >>> model = ContentBased(item_features=features).fit(ratings)
    >>> model.recommend("ann", n=2)  # 4 has no ratings but looks like ann's; 3 shares nothing
    [4]
    >>> model.explain("ann", 4, top_features=2)
    'space, opera'
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any, cast

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender_systems import query
from recommender_systems._validation import check_positive_int
from recommender_systems.base import Recommender
from recommender_systems.errors import DataError
from recommender_systems.features import DEFAULT_TOKEN_PATTERN, Method
from recommender_systems.features import text_features as _text_features
from recommender_systems.hyperparameters import Custom, declare
from recommender_systems.idmap import normalize_ids
from recommender_systems.interactions import ITEM_COL, Interactions
from recommender_systems.registry import register
from recommender_systems.state import Array, Sparse, declare_state
from recommender_systems.weighting import normalize_rows, row_norms

#: Former name of :data:`recommender_systems.features.Method`.
FeatureKind = Method
__all__ = ["DEFAULT_TOKEN_PATTERN", "ContentBased", "parse_item_features", "text_features"]


def _check_features(value: Any, name: str) -> Any:
    # The content is checked when fit parses it (parse_item_features).
    if value is not None and not isinstance(value, pd.DataFrame):
        raise DataError(
            f"{name}: expected a pandas DataFrame indexed by item id (or None), received "
            f"{type(value).__name__}"
        )
    return value


@register("content", family="content", summary="Cosine between item features and user profiles")
class ContentBased(Recommender):
    """Recommends items whose features resemble those of the items a user has.

    A user's profile is the mean of the features of their items, weighted by their
    values (ratings); an item scores the cosine similarity between its features and
    the profile.

    Args:
        item_features: a DataFrame indexed by item id (or with an ``item_id``
            column) with one numeric feature per column; sparse columns (as made
            by :func:`~recommender_systems.features.text_features`) stay sparse.
            ``None`` describes each item by the users who interacted with it (a
            collaborative stand-in, so that the model works without side
            information).

    Documented behaviours:

    - **Cold items**: items in ``item_features`` that are not in the training data
      join the catalogue (after the data's items), so they can be recommended.
    - **No evidence, no recommendation**: an item that shares no feature with the
      profile scores ``-inf`` and is not recommended; so are items without
      features (not in ``item_features``, or with an all-zero row), which also have
      no explanation. When no item has a non-zero feature, ``fit`` raises
      :class:`~recommender_systems.errors.DataError`.
    - Item ids in ``item_features`` must be of the data's kind (int or str).
    """

    hyperparameters = declare(
        item_features=Custom(
            default=None,
            checker=_check_features,
            accepts="None or a DataFrame of numeric item features",
            doc="one row of features per item (None: items described by their users)",
        ),
    )

    def __init__(self, item_features: pd.DataFrame | None = None) -> None:
        self.item_features = item_features

    state = declare_state(
        Recommender.state,
        features_=Sparse("csr", "float32", ("n_items", "n_features")),
        feature_names_=Array("str", ("n_features",)),
        feature_norms_=Array("float32", ("n_items",)),
    )
    features_: sp.csr_matrix
    feature_names_: np.ndarray
    feature_norms_: np.ndarray

    def _catalogue(self, data: Interactions) -> Interactions:
        if self.item_features is None:
            return data
        ids, _, _ = parse_item_features(self.item_features)
        return data.with_items(ids)

    def _fit(self, data: Interactions) -> None:
        if self.item_features is None:
            features = sp.csr_matrix(data.matrix.T, dtype=np.float32)
            names = np.array([f"user {u}" for u in data.user_ids.ids.tolist()], dtype=str)
        else:
            ids, matrix, names = parse_item_features(self.item_features)
            rows = data.item_ids.to_index(ids)  # every id is in the catalogue
            placed = sp.csr_matrix(
                (np.ones(rows.size, dtype=np.float32), (rows, np.arange(rows.size))),
                shape=(data.n_items, rows.size),
            )
            features = sp.csr_matrix(placed @ matrix, dtype=np.float32)
        features.eliminate_zeros()
        if features.nnz == 0:
            raise DataError(
                "item_features: expected at least one item with a non-zero feature, "
                "received all-zero features for every item"
            )
        features.sort_indices()
        self.features_ = features
        self.feature_names_ = names
        self.feature_norms_ = row_norms(features)

    def _profiles(self, history: sp.csr_matrix) -> sp.csr_matrix:
        # The mean rather than the sum, as in the original; cosine does not mind.
        return normalize_rows(history, "l1") @ self.features_

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return self._scores_for_history(self.user_items_[users])

    def _scores_for_history(self, history: sp.csr_matrix) -> np.ndarray:
        profiles = self._profiles(history)
        return _cosine(profiles, row_norms(profiles), self.features_, self.feature_norms_)

    def _item_similarity(self, items: np.ndarray) -> np.ndarray:
        rows = self.features_[items]
        return _cosine(rows, self.feature_norms_[items], self.features_, self.feature_norms_)

    # ------------------------------------------------------------ explanations
    def explain(self, user: Any, item: Any, top_features: int = 3) -> str:
        """The features that most raise ``item``'s score for ``user``, comma separated,
        strongest first: those where the user's profile and the item are both
        high (profile weight times item weight, positive only).

        Returns ``""`` when the user or item is unknown, or nothing contributes (as
        the original did).
        """
        self._check_fitted()
        top_features = check_positive_int(top_features, "top_features")
        user_code = self.user_ids_.index_of(user, missing="ignore")
        item_code = self.item_ids_.index_of(item, missing="ignore")
        if user_code < 0 or item_code < 0:
            return ""
        profile = self._profiles(self.user_items_[[user_code]])
        return self._reasons(profile, np.array([item_code]), top_features)[0]

    def recommend_with_reasons(
        self,
        user: Any,
        n: int = 10,
        top_features: int = 3,
        *,
        exclude_seen: bool = True,
        items: Iterable[Any] | None = None,
        exclude: Iterable[Any] | None = None,
    ) -> list[tuple[Any, str]]:
        """:meth:`recommend`, with each item paired with its :meth:`explain` text."""
        top_features = check_positive_int(top_features, "top_features")
        recommended = self.recommend(
            user, n, exclude_seen=exclude_seen, items=items, exclude=exclude
        )
        if not recommended:
            return []
        profile = self._profiles(self.user_items_[[self.user_ids_.index_of(user)]])
        reasons = self._reasons(
            profile, query.item_indices(self.item_ids_, recommended), top_features
        )
        return list(zip(recommended, reasons, strict=True))

    def _reasons(self, profile: sp.csr_matrix, items: np.ndarray, top: int) -> list[str]:
        weights = profile.toarray()[0]
        reasons = []
        for code in items.tolist():
            row = self.features_[code]
            contributions = weights[row.indices] * row.data
            positive = contributions > 0
            cols, values = row.indices[positive], contributions[positive]
            order = np.lexsort((cols, -values))[:top]  # ties: the first feature
            reasons.append(", ".join(self.feature_names_[cols[order]].tolist()))
        return reasons


def _cosine(
    rows: sp.csr_matrix, norms: np.ndarray, features: sp.csr_matrix, feature_norms: np.ndarray
) -> np.ndarray:
    dots = (rows @ features.T).toarray()
    scale = np.outer(norms, feature_norms)
    # Nothing in common (or nothing to compare): no evidence, never recommended.
    never = np.full_like(dots, -np.inf)
    return np.divide(dots, scale, out=never, where=(scale > 0) & (dots != 0))


def parse_item_features(frame: Any) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray]:
    """``(item ids, items x features float32 CSR, feature names)`` from a features
    DataFrame (see :class:`ContentBased`), with a :class:`DataError` naming the
    column and row of anything that is not a finite number."""
    if not isinstance(frame, pd.DataFrame):
        raise DataError(
            "item_features: expected a pandas DataFrame indexed by item id, received "
            f"{type(frame).__name__}"
        )
    if ITEM_COL in frame.columns:
        ids_source: Any = frame[ITEM_COL].to_numpy()
        columns = frame.drop(columns=[ITEM_COL])
    else:
        ids_source, columns = frame.index.to_numpy(), frame
    ids = normalize_ids(ids_source, "item_features item id")
    duplicated = pd.Index(ids).duplicated()
    if duplicated.any():
        raise DataError(
            "item_features: expected one row per item, received item "
            f"{ids[int(np.argmax(duplicated))].item()!r} more than once"
        )
    if columns.shape[1] == 0:
        raise DataError("item_features: expected at least one feature column, received none")
    for name, dtype in columns.dtypes.items():
        kind = dtype.subtype.kind if isinstance(dtype, pd.SparseDtype) else dtype.kind
        if kind not in "biuf":
            raise DataError(
                f"item_features: expected numeric feature columns, received column {name!r} "
                f"of dtype {dtype}"
            )
    if all(isinstance(dtype, pd.SparseDtype) for dtype in columns.dtypes):
        # pandas-stubs does not describe the .sparse accessor.
        matrix = sp.csr_matrix(cast(Any, columns).sparse.to_coo(), dtype=np.float32)
    else:
        matrix = sp.csr_matrix(columns.to_numpy(dtype=np.float32, na_value=np.nan))
    if matrix.nnz and not np.isfinite(matrix.data).all():
        bad = int(np.argmax(~np.isfinite(matrix.data)))
        row = int(np.searchsorted(matrix.indptr, bad, side="right") - 1)
        raise DataError(
            f"item_features: expected finite numbers, received {matrix.data[bad]} in column "
            f"{columns.columns[matrix.indices[bad]]!r} for item {ids[row].item()!r}"
        )
    names = np.array([str(c) for c in columns.columns], dtype=str)
    return ids, matrix, names


def text_features(
    items: pd.DataFrame | pd.Series | Mapping[Any, str],
    *,
    kind: Method = "tfidf",
    **options: Any,
) -> pd.DataFrame:
    """Deprecated location: use :func:`recommender_systems.features.text_features`
    (where ``kind=`` is called ``method=``); same arguments, same result."""
    warnings.warn(
        "recommender_systems.content.text_features is deprecated, use "
        "recommender_systems.features.text_features (keyword 'kind' is now 'method')",
        DeprecationWarning,
        stacklevel=2,
    )
    return _text_features(items, method=kind, **options)
