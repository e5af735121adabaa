"""goodbooks-10k: Goodreads ratings, books, and user tags (Zygmunt Zajac, CC BY-SA 4.0)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from recommender_systems._validation import check_choice, check_positive_int
from recommender_systems.datasets._cache import ensure_files
from recommender_systems.datasets._parsing import read_table, require_complete
from recommender_systems.datasets._paths import PathLike
from recommender_systems.errors import DataError

NAME = "goodbooks-10k"

GoodbooksKind = Literal["ratings", "books", "tags", "book_tags"]

# In weighted tag text a book's most used tag is repeated this many times.
_MAX_TAG_REPEATS = 5


def load_goodbooks_10k(
    data_home: PathLike | None = None,
    *,
    kind: GoodbooksKind = "ratings",
    download: bool = True,
    progress: bool = True,
    verify: bool = True,
) -> pd.DataFrame:
    """One table of goodbooks-10k, with books identified by ``item_id`` (= ``book_id``).

    * ``"ratings"``: ``user_id, item_id, rating`` (1-5, float), in file order.
    * ``"books"``: ``item_id`` then the other books.csv columns (title, authors, ...).
    * ``"tags"``: ``tag_id, tag_name``.
    * ``"book_tags"``: ``item_id, tag_id, count``; the file's ``goodreads_book_id``
      is mapped to ``book_id`` through books.csv, as the dataset documents.

    Example:
        >>> books = load_goodbooks_10k(kind="books")  # doctest: +SKIP
        >>> books.loc[0, "title"]  # doctest: +SKIP
        'The Hunger Games (The Hunger Games, #1)'
    """
    files, read = _TABLES[check_choice(kind, "kind", tuple(_TABLES))]
    folder = ensure_files(
        NAME, files, data_home, download=download, progress=progress, verify=verify
    )
    return read(folder)


def load_goodbooks_tag_text(
    data_home: PathLike | None = None,
    *,
    top_k: int | None = 20,
    weighted: bool = False,
    download: bool = True,
    progress: bool = True,
    verify: bool = True,
) -> pd.DataFrame:
    """Per-book tag text for content-based models: ``item_id, text``.

    ``text`` joins the names of the book's ``top_k`` most used tags (all when
    ``None``) with spaces, most used first. With ``weighted`` each name is repeated
    in proportion to its count, from once up to 5 times for the book's top tag, so
    that bag-of-words models see the weights. Books without tags get ``""``.

    Example:
        >>> text = load_goodbooks_tag_text(top_k=3)  # doctest: +SKIP
        >>> text.loc[0, "text"]  # doctest: +SKIP
        'to-read fantasy favorites'
    """
    if top_k is not None:
        top_k = check_positive_int(top_k, "top_k")
    folder = _tag_files(data_home, download=download, progress=progress, verify=verify)
    books = _read_books(folder / "books.csv")
    usage = _tag_usage(folder, books)
    text = tag_text(usage, "item_id", top_k=top_k, weighted=weighted)
    item_ids = books["item_id"]
    return pd.DataFrame(
        {
            "item_id": item_ids.to_numpy(),
            "text": item_ids.map(text).fillna("").astype("str").to_numpy(),
        }
    )


def tag_text(
    usage: pd.DataFrame, book_col: str, *, top_k: int | None = None, weighted: bool = False
) -> pd.Series:
    """Each book's tag names joined by spaces, most used first: a Series of text
    indexed by ``book_col``. ``usage`` has ``book_col``, ``tag_name`` and ``count``
    columns, sorted by book then descending count; see :func:`load_goodbooks_tag_text`
    for ``top_k`` and ``weighted``."""
    if top_k is not None:
        usage = usage[usage.groupby(book_col).cumcount() < top_k]
    names = usage["tag_name"].astype("str")
    if weighted:
        top_count = usage.groupby(book_col)["count"].transform("max")
        repeats = np.maximum(1, np.rint(_MAX_TAG_REPEATS * usage["count"] / top_count))
        names = pd.Series(
            [" ".join([name] * int(times)) for name, times in zip(names, repeats, strict=True)],
            index=usage.index,
        )
    text = names.groupby(usage[book_col], sort=False).agg(" ".join)
    return text.rename("text")


def load_goodbooks_books(
    data_home: PathLike | None = None,
    *,
    download: bool = True,
    progress: bool = True,
    verify: bool = True,
) -> pd.DataFrame:
    """books.csv as the original library loaded it: ``book_id`` (the id the ratings
    use), ``goodreads_book_id``, ``authors``, ``title``, ... one row per book.

    Example:
        >>> load_goodbooks_books().loc[0, ["book_id", "title"]].tolist()  # doctest: +SKIP
        [1, 'The Hunger Games (The Hunger Games, #1)']
    """
    books = load_goodbooks_10k(
        data_home, kind="books", download=download, progress=progress, verify=verify
    )
    return books.rename(columns={"item_id": "book_id"})


def load_goodbooks_tags(
    data_home: PathLike | None = None,
    *,
    download: bool = True,
    progress: bool = True,
    verify: bool = True,
) -> pd.DataFrame:
    """How often readers gave each book each tag: ``book_id, tag_name, count``, most
    used tags of each book first (ties: lower tag id), the input of
    :func:`recommender_systems.books.tag_text_per_book`.

    The file's Goodreads ids are mapped to ``book_id``; (book, tag) pairs listed twice
    are summed and non-positive counts (a few in the file) dropped.

    Example:
        >>> load_goodbooks_tags().head(2)  # doctest: +SKIP
           book_id   tag_name   count
        0        1    to-read   11314
        1        1    fantasy   10836
    """
    folder = _tag_files(data_home, download=download, progress=progress, verify=verify)
    usage = _tag_usage(folder, _read_books(folder / "books.csv"))
    return pd.DataFrame(
        {
            "book_id": usage["item_id"].to_numpy(),
            "tag_name": usage["tag_name"].astype("str").to_numpy(),
            "count": usage["count"].to_numpy(),
        }
    )


def _tag_files(data_home: PathLike | None, *, download: bool, progress: bool, verify: bool) -> Path:
    return ensure_files(
        NAME,
        ["books.csv", "book_tags.csv", "tags.csv"],
        data_home,
        download=download,
        progress=progress,
        verify=verify,
    )


def _tag_usage(folder: Path, books: pd.DataFrame) -> pd.DataFrame:
    """``item_id, tag_id, count, tag_name``: each book's tags with positive counts,
    most used first (ties: lower tag id)."""
    book_tags = _read_book_tags(folder / "book_tags.csv", books)
    tags = _read_tags(folder / "tags.csv")
    # The file lists some (book, tag) pairs twice and a few counts are negative.
    usage = book_tags.groupby(["item_id", "tag_id"], as_index=False, sort=False)["count"].sum()
    usage = usage[usage["count"] > 0].merge(tags, on="tag_id", how="inner")
    return usage.sort_values(
        ["item_id", "count", "tag_id"], ascending=[True, False, True], kind="stable"
    ).reset_index(drop=True)


def load_goodbooks_items(
    data_home: PathLike | None = None,
    *,
    download: bool = True,
    progress: bool = True,
    verify: bool = True,
) -> pd.DataFrame:
    """Book metadata in the common item layout: ``item_id, title, authors, year``."""
    books = load_goodbooks_10k(
        data_home, kind="books", download=download, progress=progress, verify=verify
    )
    return pd.DataFrame(
        {
            "item_id": books["item_id"],
            "title": books["title"],
            "authors": books["authors"],
            "year": books["original_publication_year"],
        }
    )


def _read_ratings(path: Path) -> pd.DataFrame:
    ratings = read_table(
        path,
        sep=",",
        dtype={"user_id": "int64", "book_id": "int64", "rating": "float64"},
        usecols=["user_id", "book_id", "rating"],
        what="goodbooks-10k ratings.csv file",
    )
    require_complete(ratings, ["rating"], source=path)
    ratings = ratings.rename(columns={"book_id": "item_id"})
    return ratings[["user_id", "item_id", "rating"]]


def _read_books(path: Path) -> pd.DataFrame:
    books = read_table(
        path,
        sep=",",
        dtype={
            "book_id": "int64",
            "goodreads_book_id": "int64",
            "isbn": "str",
            "isbn13": "str",
            "authors": "str",
            "title": "str",
        },
        usecols=None,
        what="goodbooks-10k books.csv file",
    )
    expected = ["book_id", "goodreads_book_id", "authors", "title", "original_publication_year"]
    absent = [column for column in expected if column not in books.columns]
    if absent:
        raise DataError(f"{path} is not a valid goodbooks-10k books.csv file: no {absent}")
    year = pd.to_numeric(books["original_publication_year"], errors="coerce")
    books["original_publication_year"] = year.round().astype("Int64")
    books = books.rename(columns={"book_id": "item_id"})
    return books[["item_id", *[column for column in books.columns if column != "item_id"]]]


def _read_tags(path: Path) -> pd.DataFrame:
    return read_table(
        path,
        sep=",",
        dtype={"tag_id": "int64", "tag_name": "str"},
        usecols=["tag_id", "tag_name"],
        what="goodbooks-10k tags.csv file",
    )


def _read_book_tags(path: Path, books: pd.DataFrame) -> pd.DataFrame:
    book_tags = read_table(
        path,
        sep=",",
        dtype={"goodreads_book_id": "int64", "tag_id": "int64", "count": "int64"},
        usecols=["goodreads_book_id", "tag_id", "count"],
        what="goodbooks-10k book_tags.csv file",
    )
    book_id_of = pd.Series(books["item_id"].to_numpy(), index=books["goodreads_book_id"].to_numpy())
    item_ids = book_tags["goodreads_book_id"].map(book_id_of)
    # Rows for books outside the 10,000 cannot be placed; the official file has none.
    known = item_ids.notna().to_numpy()
    return pd.DataFrame(
        {
            "item_id": item_ids[known].astype("int64").to_numpy(),
            "tag_id": book_tags["tag_id"].to_numpy()[known],
            "count": book_tags["count"].to_numpy()[known],
        }
    )


def _read_book_tags_in(folder: Path) -> pd.DataFrame:
    return _read_book_tags(folder / "book_tags.csv", _read_books(folder / "books.csv"))


# For each kind: the files it needs and how to read them from the dataset folder.
_TABLES: dict[str, tuple[list[str], Callable[[Path], pd.DataFrame]]] = {
    "ratings": (["ratings.csv"], lambda folder: _read_ratings(folder / "ratings.csv")),
    "books": (["books.csv"], lambda folder: _read_books(folder / "books.csv")),
    "tags": (["tags.csv"], lambda folder: _read_tags(folder / "tags.csv")),
    "book_tags": (["books.csv", "book_tags.csv"], _read_book_tags_in),
}
