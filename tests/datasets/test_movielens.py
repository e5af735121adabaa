"""Parsing of every MovieLens file format, offline, from fixtures in tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommender_systems.datasets import (
    load,
    load_item_metadata,
    load_movielens_1m,
    load_movielens_20m,
    load_movielens_25m,
    load_movielens_100k,
    load_movielens_latest_small,
)
from recommender_systems.errors import DataError

from .conftest import RATINGS_100K, write_ml_1m, write_ml_100k, write_ml_csv

RATING_DTYPES = {
    "user_id": np.dtype("int64"),
    "item_id": np.dtype("int64"),
    "rating": np.dtype("float64"),
    "timestamp": np.dtype("int64"),
}


def test_ml_100k_ratings_keep_file_order_and_types(tmp_path: Path) -> None:
    write_ml_100k(tmp_path / "ml-100k")

    ratings = load_movielens_100k(tmp_path, download=False, verify=False)

    assert ratings.dtypes.to_dict() == RATING_DTYPES
    expected = pd.DataFrame(RATINGS_100K, columns=list(RATING_DTYPES)).astype(RATING_DTYPES)
    pd.testing.assert_frame_equal(ratings, expected)


def test_ml_1m_ratings_parse_double_colon_separator(tmp_path: Path) -> None:
    write_ml_1m(tmp_path / "ml-1m")

    ratings = load_movielens_1m(tmp_path, download=False, verify=False)

    assert ratings.dtypes.to_dict() == RATING_DTYPES
    assert ratings.values.tolist() == [
        [1, 1193, 5.0, 978300760],
        [1, 661, 3.0, 978302109],
        [2, 1193, 4.0, 978298413],
    ]


@pytest.mark.parametrize(
    ("name", "loader"),
    [
        ("ml-20m", load_movielens_20m),
        ("ml-25m", load_movielens_25m),
        ("ml-latest-small", load_movielens_latest_small),
    ],
)
def test_csv_ratings_keep_half_stars(tmp_path: Path, name: str, loader: object) -> None:
    write_ml_csv(tmp_path / name)

    ratings = loader(tmp_path, download=False, verify=False)  # type: ignore[operator]

    assert ratings.dtypes.to_dict() == RATING_DTYPES
    assert ratings["rating"].tolist() == [4.0, 3.5, 0.5]
    assert ratings["timestamp"].tolist() == [964982703, 964981247, 1445714994]
    pd.testing.assert_frame_equal(load(name, tmp_path, download=False, verify=False), ratings)


def test_ml_100k_metadata_reads_latin1_flags_and_years(tmp_path: Path) -> None:
    write_ml_100k(tmp_path / "ml-100k")

    movies = load_item_metadata("ml-100k", tmp_path, download=False, verify=False)

    assert list(movies.columns) == ["item_id", "title", "genres", "year"]
    assert movies["item_id"].tolist() == [242, 267, 302, 1000]
    assert movies["genres"].tolist() == [
        ["Comedy"],
        ["unknown"],
        ["Crime", "Film-Noir"],
        ["Drama"],
    ]
    assert movies.loc[3, "title"] == 'Misérables, Les "The Musical"'
    assert str(movies["year"].dtype) == "Int64"
    # No year in the title: the release date gives it; no date at all: missing.
    assert movies["year"].tolist() == [1996, pd.NA, 1997, 1995]


def test_ml_1m_metadata(tmp_path: Path) -> None:
    write_ml_1m(tmp_path / "ml-1m")

    movies = load_item_metadata("ml-1m", tmp_path, download=False, verify=False)

    assert movies["item_id"].tolist() == [661, 1193, 3000]
    assert movies["genres"].tolist() == [
        ["Animation", "Children's", "Musical"],
        ["Drama"],
        ["Comedy"],
    ]
    assert movies.loc[2, "title"] == 'Café: "Au Revoir" (2000)'
    assert movies["year"].tolist() == [1996, 1975, 2000]


@pytest.mark.parametrize("name", ["ml-20m", "ml-25m", "ml-latest-small"])
def test_csv_metadata_handles_quotes_ranges_and_no_genres(tmp_path: Path, name: str) -> None:
    write_ml_csv(tmp_path / name)

    movies = load_item_metadata(name, tmp_path, download=False, verify=False)

    assert movies["title"].tolist()[1] == "American President, The (1995)"
    assert movies["genres"].tolist()[3] == []
    assert movies["genres"].tolist()[0] == [
        "Adventure",
        "Animation",
        "Children",
        "Comedy",
        "Fantasy",
    ]
    assert movies["year"].tolist() == [1995, 1995, 1994, pd.NA, 2001]
    assert str(movies["year"].dtype) == "Int64"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"196\t242\tthree\t881250949\n", "not a valid"),
        (b"196\t242\t3\n", "not a valid"),
        (b"196\t242\t3\t881250949\textra\n", "not a valid"),
        (b"196\t242\t3\t881250949\n186\t302\t3\t891717742\t0\n", "not a valid"),
    ],
    ids=["text-rating", "missing-field", "extra-field", "extra-field-later"],
)
def test_malformed_u_data_raises_data_error(tmp_path: Path, content: bytes, problem: str) -> None:
    write_ml_100k(tmp_path / "ml-100k")
    (tmp_path / "ml-100k" / "u.data").write_bytes(content)

    with pytest.raises(DataError, match=problem):
        load_movielens_100k(tmp_path, download=False, verify=False)


def test_ratings_csv_without_expected_header_raises_data_error(tmp_path: Path) -> None:
    write_ml_csv(tmp_path / "ml-20m")
    (tmp_path / "ml-20m" / "ratings.csv").write_bytes(b"user,movie,stars,time\n1,2,3.0,4\n")

    with pytest.raises(DataError, match=r"expected columns \['userId', 'movieId'"):
        load_movielens_20m(tmp_path, download=False, verify=False)


def test_empty_rating_raises_data_error_with_row(tmp_path: Path) -> None:
    write_ml_csv(tmp_path / "ml-25m")
    (tmp_path / "ml-25m" / "ratings.csv").write_bytes(
        b"userId,movieId,rating,timestamp\n1,1,4.0,1\n1,2,,2\n"
    )

    with pytest.raises(DataError, match="'rating' is empty at data row 2"):
        load_movielens_25m(tmp_path, download=False, verify=False)


def test_u_item_with_an_extra_field_on_every_line_raises_data_error(tmp_path: Path) -> None:
    write_ml_100k(tmp_path / "ml-100k")
    item_file = tmp_path / "ml-100k" / "u.item"
    item_file.write_bytes(item_file.read_bytes().replace(b"\n", b"|0\n"))

    with pytest.raises(DataError, match=r"u\.item file with 19 genre flags"):
        load_item_metadata("ml-100k", tmp_path, download=False, verify=False)


def test_u_item_with_missing_genre_flags_raises_data_error(tmp_path: Path) -> None:
    write_ml_100k(tmp_path / "ml-100k")
    (tmp_path / "ml-100k" / "u.item").write_bytes(b"1|Toy Story (1995)|01-Jan-1995||url|0|1\n")

    with pytest.raises(DataError, match="genre flags"):
        load_item_metadata("ml-100k", tmp_path, download=False, verify=False)
