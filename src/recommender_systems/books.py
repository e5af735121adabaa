"""The book pipeline: recommenders built from goodbooks-10k tags.

Dataset I/O lives here, not in the model classes: this module turns tag tables
into item features and builds the (unfitted) models.

Example:
    >>> import pandas as pd
    >>> tags = pd.DataFrame({"book_id": [1, 1, 2, 3], "count": [9, 2, 5, 4],
    ...                      "tag_name": ["fantasy", "magic", "fantasy", "history"]})
    >>> tag_text_per_book(tags).to_dict()
    {1: 'fantasy magic', 2: 'fantasy', 3: 'history'}
    >>> ratings = pd.DataFrame({"user_id": [7, 7, 8], "item_id": [1, 3, 2]})
    >>> build_tag_recommender(tags).fit(ratings).recommend(8)  # 3 shares no tag with 2
    [1]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from recommender_systems.base import Recommender
from recommender_systems.content import ContentBased
from recommender_systems.datasets import load_goodbooks_tag_text
from recommender_systems.datasets._paths import PathLike
from recommender_systems.datasets.books import tag_text
from recommender_systems.errors import DataError, ParameterError
from recommender_systems.features import text_features
from recommender_systems.hybrid import HybridBook, HybridRecommender
from recommender_systems.neighborhood import ItemKNN

__all__ = [
    "build_hybrid_book_recommender",
    "build_tag_recommender",
    "hybrid_book_from_goodbooks",
    "tag_text_per_book",
]

#: The columns of a tag table, as :func:`~recommender_systems.datasets.load_goodbooks_tags` gives.
TAG_COLUMNS = ("book_id", "tag_name", "count")


def tag_text_per_book(tags: pd.DataFrame) -> pd.Series:
    """Each book's tag names joined by spaces, most used first (ties: file order): a
    Series of text indexed by ``book_id``, the input of
    :func:`~recommender_systems.features.text_features`.

    ``tags`` has ``book_id``, ``tag_name`` and ``count`` columns (as
    :func:`~recommender_systems.datasets.load_goodbooks_tags` gives); rows with a
    missing tag name are skipped.
    """
    if not isinstance(tags, pd.DataFrame):
        raise DataError(
            f"tags: expected a DataFrame with columns {list(TAG_COLUMNS)}, received "
            f"{type(tags).__name__}"
        )
    missing = [c for c in TAG_COLUMNS if c not in tags.columns]
    if missing:
        raise DataError(
            f"tags: missing column {missing[0]!r}; expected {list(TAG_COLUMNS)}, received "
            f"{[str(c) for c in tags.columns]}"
        )
    counts = pd.to_numeric(tags["count"], errors="coerce")
    if counts.isna().any():
        row = int(counts.isna().to_numpy().argmax())
        raise DataError(
            f"tags: expected numeric counts, received {tags['count'].iloc[row]!r} in row {row}"
        )
    usage = pd.DataFrame(
        {"book_id": tags["book_id"].to_numpy(), "tag_name": tags["tag_name"], "count": counts}
    ).dropna(subset=["tag_name"])
    usage = usage.sort_values(["book_id", "count"], ascending=[True, False], kind="stable")
    return tag_text(usage, "book_id").rename_axis("book_id")


def build_tag_recommender(tags: pd.DataFrame, **vectorizer_kwargs: Any) -> ContentBased:
    """An unfitted :class:`~recommender_systems.content.ContentBased` whose item features
    are the TF-IDF of each book's tag text (:func:`tag_text_per_book`);
    ``vectorizer_kwargs`` go to :func:`~recommender_systems.features.text_features`
    (``method=``, ``ngram_range=``, ``stop_words=``, ...)."""
    return ContentBased(item_features=text_features(tag_text_per_book(tags), **vectorizer_kwargs))


def build_hybrid_book_recommender(
    tags: pd.DataFrame,
    *,
    collaborative: Recommender | None = None,
    weights: Sequence[float] = (3.0, 1.0),
    rank_constant: float = 60,
    **vectorizer_kwargs: Any,
) -> HybridRecommender:
    """An unfitted hybrid of a collaborative model (default :class:`ItemKNN`) and the tag
    recommender (:func:`build_tag_recommender`), fused by reciprocal rank with
    ``weights`` (collaborative, content) and ``rank_constant``.

    Books with tags but no ratings join the catalogue, so they can be recommended.
    """
    if len(list(weights)) != 2:
        raise ParameterError(
            f"weights: expected two weights (collaborative, content), received {weights!r}"
        )
    if collaborative is not None and not isinstance(collaborative, Recommender):
        raise ParameterError(
            f"collaborative: expected a recommender or None, received {collaborative!r}"
        )
    members = [
        collaborative if collaborative is not None else ItemKNN(),
        build_tag_recommender(tags, **vectorizer_kwargs),
    ]
    return HybridRecommender(
        recommenders=members, weights=list(weights), rank_constant=rank_constant
    )


def hybrid_book_from_goodbooks(
    data_home: PathLike | None = None,
    *,
    top_tags: int | None = 20,
    download: bool = True,
    verify: bool = True,
    book_class: type[HybridBook] = HybridBook,
    **params: Any,
) -> HybridBook:
    """A :class:`~recommender_systems.hybrid.HybridBook` whose content features are
    the TF-IDF of each goodbooks-10k book's ``top_tags`` most used tags;
    ``download`` and ``verify`` are as for the loaders, ``params`` go to the
    constructor."""
    tags = load_goodbooks_tag_text(
        data_home, top_k=top_tags, download=download, verify=verify, progress=False
    )
    return book_class(item_features=text_features(tags), **params)
