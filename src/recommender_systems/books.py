"""The book pipeline: recommenders built from goodbooks-10k tags.

Dataset I/O lives here, not in the model classes: this module loads the tags and
builds the models.
"""

from __future__ import annotations

from typing import Any

from recommender_systems.content import text_features
from recommender_systems.datasets import load_goodbooks_tag_text
from recommender_systems.datasets._paths import PathLike
from recommender_systems.hybrid import HybridBook

__all__ = ["hybrid_book_from_goodbooks"]


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
