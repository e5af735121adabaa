"""goodbooks-10k tables and tag text, offline, from fixtures in tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recommender_systems.datasets import (
    load,
    load_goodbooks_10k,
    load_goodbooks_books,
    load_goodbooks_tag_text,
    load_goodbooks_tags,
    load_item_metadata,
)
from recommender_systems.errors import DataError, ParameterError

from .conftest import write_goodbooks


@pytest.fixture
def home(tmp_path: Path) -> Path:
    write_goodbooks(tmp_path / "goodbooks-10k")
    return tmp_path


def test_ratings_rename_book_id_to_item_id(home: Path) -> None:
    ratings = load_goodbooks_10k(home, download=False, verify=False)

    assert list(ratings.columns) == ["user_id", "item_id", "rating"]
    assert ratings.dtypes.tolist() == [np.dtype("int64"), np.dtype("int64"), np.dtype("float64")]
    assert ratings.values.tolist() == [[1, 258, 5.0], [2, 4081, 4.0], [2, 260, 5.0]]
    assert load("goodbooks-10k", home, download=False, verify=False).equals(ratings)


def test_ratings_columns_are_found_by_name_not_position(home: Path) -> None:
    # Early versions of the file put book_id first.
    (home / "goodbooks-10k" / "ratings.csv").write_bytes(b"book_id,user_id,rating\n258,1,5\n")

    ratings = load_goodbooks_10k(home, download=False, verify=False)

    assert ratings.values.tolist() == [[1, 258, 5.0]]


def test_books_table_keeps_metadata_with_item_id_first(home: Path) -> None:
    books = load_goodbooks_10k(home, kind="books", download=False, verify=False)

    assert books.columns[0] == "item_id"
    assert "book_id" not in books.columns
    assert books["item_id"].tolist() == [1, 2, 3]
    assert books.loc[1, "authors"] == "J.K. Rowling, Mary GrandPré"
    assert books.loc[0, "isbn"] == "439023483"
    assert books["original_publication_year"].tolist() == [2008, 1997, -750]


def test_tags_table(home: Path) -> None:
    tags = load_goodbooks_10k(home, kind="tags", download=False, verify=False)

    assert tags.values.tolist() == [
        [0, "-"],
        [11305, "fantasy"],
        [30574, "to-read"],
        [8717, "classics"],
    ]


def test_book_tags_map_goodreads_ids_to_book_ids(home: Path) -> None:
    book_tags = load_goodbooks_10k(home, kind="book_tags", download=False, verify=False)

    assert list(book_tags.columns) == ["item_id", "tag_id", "count"]
    # Goodreads ids 2767052, 3 and 1885 are books 1, 2 and 3; 999999 is no book.
    assert book_tags["item_id"].tolist() == [1, 1, 2, 2, 2, 3, 3]
    assert book_tags["count"].tolist() == [11314, 3244, 4000, 8000, 1000, 500, -1]


def test_tag_text_joins_top_tags_most_used_first(home: Path) -> None:
    text = load_goodbooks_tag_text(home, download=False, verify=False)

    # Book 2 lists "fantasy" twice (4000 + 1000); the negative count is dropped.
    assert text.values.tolist() == [
        [1, "to-read fantasy"],
        [2, "to-read fantasy"],
        [3, "classics"],
    ]


def test_tag_text_top_k_and_weighting(home: Path) -> None:
    top_one = load_goodbooks_tag_text(home, top_k=1, download=False, verify=False)
    weighted = load_goodbooks_tag_text(home, weighted=True, download=False, verify=False)

    assert top_one["text"].tolist() == ["to-read", "to-read", "classics"]
    # 3244 / 11314 of the top count -> 1 of 5 repeats; 5000 / 8000 -> 3 of 5.
    assert weighted["text"].tolist()[0] == "to-read " * 4 + "to-read fantasy"
    assert weighted["text"].tolist()[1] == "to-read " * 5 + "fantasy fantasy fantasy"


def test_books_without_tags_get_empty_text(home: Path) -> None:
    (home / "goodbooks-10k" / "book_tags.csv").write_bytes(
        b"goodreads_book_id,tag_id,count\n2767052,30574,5\n"
    )

    text = load_goodbooks_tag_text(home, download=False, verify=False)

    assert text["text"].tolist() == ["to-read", "", ""]


def test_item_metadata_gives_title_authors_year(home: Path) -> None:
    items = load_item_metadata("goodbooks-10k", home, download=False, verify=False)

    assert list(items.columns) == ["item_id", "title", "authors", "year"]
    assert items.loc[2, "title"] == "The Odyssey"
    assert items["year"].tolist() == [2008, 1997, -750]


def test_unknown_kind_lists_the_kinds(home: Path) -> None:
    with pytest.raises(ParameterError, match=r"kind: expected one of 'ratings', 'books'"):
        load_goodbooks_10k(home, kind="reviews", download=False)  # type: ignore[arg-type]


@pytest.mark.parametrize("top_k", [0, -3, 2.5, True])
def test_bad_top_k_raises_data_error(home: Path, top_k: object) -> None:
    with pytest.raises(ParameterError, match="top_k: expected an integer >= 1"):
        load_goodbooks_tag_text(home, top_k=top_k, download=False)  # type: ignore[arg-type]


def test_books_csv_without_required_columns_raises_data_error(home: Path) -> None:
    (home / "goodbooks-10k" / "books.csv").write_bytes(b"book_id,goodreads_book_id\n1,2\n")

    with pytest.raises(DataError, match=r"not a valid goodbooks-10k books\.csv"):
        load_goodbooks_10k(home, kind="books", download=False, verify=False)


def test_original_books_loader_keeps_book_id(home: Path) -> None:
    books = load_goodbooks_books(home, download=False, verify=False)

    assert books.columns[0] == "book_id" and books["book_id"].tolist() == [1, 2, 3]
    assert books.loc[0, "title"] == "The Hunger Games (The Hunger Games #1)"


def test_original_tags_loader_names_tags_per_book(home: Path) -> None:
    tags = load_goodbooks_tags(home, download=False, verify=False)

    assert list(tags.columns) == ["book_id", "tag_name", "count"]
    # Book 2's two "fantasy" rows are summed; book 3's negative count is dropped.
    assert tags.values.tolist() == [
        [1, "to-read", 11314],
        [1, "fantasy", 3244],
        [2, "to-read", 8000],
        [2, "fantasy", 5000],
        [3, "classics", 500],
    ]
