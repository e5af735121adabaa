"""Content-based recommendation from item features, and features from item text.

:class:`ContentBased` describes each user by the rating-weighted mean of the
features of the items they have (their *profile*) and ranks items by the cosine
similarity of their features to it, so items nobody has interacted with yet
("cold" items) can be recommended as soon as they have features.
:func:`text_features` turns item text (descriptions, tags, genres) into TF-IDF,
count or binary word features.

Example:
    >>> import pandas as pd
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

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender_systems import query
from recommender_systems._validation import (
    check_bool,
    check_choice,
    check_float,
    check_positive_int,
)
from recommender_systems.base import Recommender
from recommender_systems.errors import DataError
from recommender_systems.hyperparameters import Custom, declare
from recommender_systems.idmap import normalize_ids
from recommender_systems.interactions import ITEM_COL, Interactions
from recommender_systems.registry import register
from recommender_systems.state import Array, Sparse, declare_state
from recommender_systems.weighting import binarize, normalize_rows, row_norms, tfidf_weight

FeatureKind = Literal["tfidf", "count", "binary"]

#: Words, keeping inner hyphens and apostrophes: "sci-fi", "to-read", "don't".
DEFAULT_TOKEN_PATTERN = r"(?u)\w+(?:[-']\w+)*"


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
            column) with one numeric feature per column; sparse columns (as made by
            :func:`text_features`) stay sparse. ``None`` describes each item by the
            users who interacted with it (a collaborative stand-in, so that the
            model works without side information).

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
    kind: FeatureKind = "tfidf",
    text_col: str = "text",
    item_col: str = ITEM_COL,
    min_df: int = 1,
    max_df: float = 1.0,
    max_features: int | None = None,
    lowercase: bool = True,
    token_pattern: str = DEFAULT_TOKEN_PATTERN,
) -> pd.DataFrame:
    """Word features of item text, for :class:`ContentBased`: a DataFrame indexed by
    ``item_id`` with one sparse column per word (sorted).

    Args:
        items: a DataFrame with ``item_col`` and ``text_col`` columns, a Series of text
            indexed by item id, or a mapping ``{item_id: text}``. Missing text counts
            as empty (the item gets an all-zero row).
        kind: ``"tfidf"`` (counts times the smooth ``ln((1 + n) / (1 + df)) + 1``,
            rows scaled to unit length), ``"count"`` (raw counts) or ``"binary"``
            (1 where the word occurs).
        min_df: keep words found in at least this many items.
        max_df: drop words found in more than this share of the items.
        max_features: keep only the most frequent words (ties: alphabetical order).
        lowercase: lower-case the text first.
        token_pattern: a regular expression for a word (default: letters and digits
            with inner hyphens and apostrophes, so tags like ``sci-fi`` stay whole).

    Example:
        >>> frame = text_features({10: "Fantasy fantasy magic", 11: "magic"}, kind="count")
        >>> frame.sparse.to_dense().to_dict("index")
        {10: {'fantasy': 2.0, 'magic': 1.0}, 11: {'fantasy': 0.0, 'magic': 1.0}}
    """
    check_choice(kind, "kind", ("tfidf", "count", "binary"))
    min_df = check_positive_int(min_df, "min_df")
    max_df = check_float(max_df, "max_df", minimum=0.0, maximum=1.0, exclusive_minimum=True)
    if max_features is not None:
        max_features = check_positive_int(max_features, "max_features")
    lowercase = check_bool(lowercase, "lowercase")
    try:
        pattern = re.compile(token_pattern)
    except (re.error, TypeError) as exc:
        raise DataError(f"token_pattern: expected a regular expression, received {exc}") from exc

    ids, texts = _texts(items, text_col, item_col)
    counts = [Counter(pattern.findall(t.lower() if lowercase else t)) for t in texts]
    df: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for doc in counts:
        df.update(doc.keys())
        totals.update(doc)
    limit = max_df * len(texts)
    vocabulary = [w for w, n in df.items() if n >= min_df and n <= limit]
    if max_features is not None and len(vocabulary) > max_features:
        vocabulary = sorted(vocabulary, key=lambda w: (-totals[w], w))[:max_features]
    vocabulary.sort()
    column = {word: j for j, word in enumerate(vocabulary)}

    indptr = [0]
    indices: list[int] = []
    values: list[float] = []
    for doc in counts:
        kept = sorted((column[w], n) for w, n in doc.items() if w in column)
        indices.extend(j for j, _ in kept)
        values.extend(float(n) for _, n in kept)
        indptr.append(len(indices))
    matrix = sp.csr_matrix(
        (np.array(values, dtype=np.float32), np.array(indices, dtype=np.int32), indptr),
        shape=(len(texts), len(vocabulary)),
    )
    if kind == "binary":
        matrix = binarize(matrix)
    elif kind == "tfidf":
        matrix = normalize_rows(tfidf_weight(matrix), "l2")
    frame: pd.DataFrame = cast(Any, pd.DataFrame).sparse.from_spmatrix(
        matrix, index=pd.Index(ids, name=ITEM_COL), columns=vocabulary
    )
    return frame


def _texts(
    items: pd.DataFrame | pd.Series | Mapping[Any, str], text_col: str, item_col: str
) -> tuple[np.ndarray, list[str]]:
    if isinstance(items, pd.DataFrame):
        for col in (item_col, text_col):
            if col not in items.columns:
                raise DataError(
                    f"items: missing column {col!r}; expected {item_col!r} and {text_col!r}, "
                    f"received {[str(c) for c in items.columns]}"
                )
        raw_ids, raw_texts = items[item_col].to_numpy(), items[text_col].tolist()
    elif isinstance(items, pd.Series):
        raw_ids, raw_texts = items.index.to_numpy(), items.tolist()
    elif isinstance(items, Mapping):
        raw_ids, raw_texts = np.array(list(items.keys())), list(items.values())
    else:
        raise DataError(
            "items: expected a DataFrame, a Series or a mapping of item id to text, "
            f"received {type(items).__name__}"
        )
    ids = normalize_ids(raw_ids, item_col)
    texts = []
    for position, text in enumerate(raw_texts):
        if text is None or (isinstance(text, float) and np.isnan(text)):
            texts.append("")
        elif isinstance(text, str):
            texts.append(text)
        else:
            raise DataError(
                f"items: expected text, received {type(text).__name__} {text!r} for item "
                f"{ids[position].item()!r}"
            )
    return ids, texts
