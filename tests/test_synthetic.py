"""The synthetic interaction generator: size, uniqueness, tails, seeds, arguments."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender_systems.errors import ParameterError
from recommender_systems.synthetic import generate_interactions


def _pairs_are_unique(log: pd.DataFrame) -> bool:
    return not log.duplicated(["user_id", "item_id"]).any()


def test_exact_size_types_and_id_ranges() -> None:
    log = generate_interactions(500, 300, 20_000, random_state=7)

    assert len(log) == 20_000
    assert list(log.columns) == ["user_id", "item_id"]
    assert log.dtypes.tolist() == [np.dtype("int64"), np.dtype("int64")]
    assert log["user_id"].between(0, 499).all()
    assert log["item_id"].between(0, 299).all()
    assert _pairs_are_unique(log)


def test_every_user_gets_an_interaction_when_possible() -> None:
    log = generate_interactions(2_000, 1_000, 5_000, user_exponent=2.0, random_state=1)

    assert log["user_id"].nunique() == 2_000


def test_fewer_interactions_than_users_still_gives_exact_count() -> None:
    log = generate_interactions(1_000, 50, 10, random_state=2)

    assert len(log) == 10
    assert _pairs_are_unique(log)


def test_full_matrix_is_every_pair_once() -> None:
    log = generate_interactions(30, 20, 600, random_state=3)

    assert len(log) == 600
    assert _pairs_are_unique(log)
    assert log.groupby("user_id").size().eq(20).all()


@settings(max_examples=60, deadline=None, database=None)
@given(
    n_users=st.integers(1, 40),
    n_items=st.integers(1, 40),
    fill=st.floats(0.0, 1.0),
    user_exponent=st.floats(0.0, 4.0),
    item_exponent=st.floats(0.0, 8.0),
    seed=st.integers(0, 2**32),
)
def test_any_valid_arguments_give_exact_unique_log(
    n_users: int, n_items: int, fill: float, user_exponent: float, item_exponent: float, seed: int
) -> None:
    n_interactions = max(1, round(fill * n_users * n_items))

    log = generate_interactions(
        n_users,
        n_items,
        n_interactions,
        user_exponent=user_exponent,
        item_exponent=item_exponent,
        random_state=seed,
    )

    assert len(log) == n_interactions
    assert _pairs_are_unique(log)
    if n_interactions >= n_users:
        assert log["user_id"].nunique() == n_users


def test_same_seed_same_log_other_seed_other_log() -> None:
    first = generate_interactions(300, 200, 5_000, random_state=11, ratings=True, timestamps=True)
    again = generate_interactions(300, 200, 5_000, random_state=11, ratings=True, timestamps=True)
    other = generate_interactions(300, 200, 5_000, random_state=12, ratings=True, timestamps=True)

    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)


def test_item_popularity_and_user_activity_are_heavy_tailed() -> None:
    log = generate_interactions(5_000, 2_000, 100_000, random_state=0)

    item_counts = log["item_id"].value_counts()
    user_counts = log["user_id"].value_counts()
    # Top 1% of items (20 of 2,000) would hold 1% under uniform popularity.
    assert item_counts.iloc[:20].sum() / len(log) > 0.2
    assert user_counts.iloc[:50].sum() / len(log) > 0.1
    assert user_counts.max() > 20 * user_counts.median()


def test_zero_exponents_give_near_uniform_popularity() -> None:
    log = generate_interactions(2_000, 100, 50_000, user_exponent=0.0, item_exponent=0.0)

    item_counts = log["item_id"].value_counts()
    assert item_counts.max() < 1.3 * item_counts.min()


def test_ratings_and_timestamps() -> None:
    log = generate_interactions(400, 300, 10_000, ratings=True, timestamps=True, random_state=5)

    assert list(log.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert log["rating"].dtype == np.dtype("float64")
    assert set(log["rating"].unique()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert log["rating"].nunique() == 5
    assert log["timestamp"].dtype == np.dtype("int64")
    assert log["timestamp"].between(1_420_070_400, 1_420_070_400 + 3 * 365 * 86_400).all()
    # Grouped by user, each user's rows in time order.
    assert log["user_id"].is_monotonic_increasing
    assert (log.groupby("user_id")["timestamp"].diff().dropna() >= 0).all()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"n_users": 0}, "n_users: expected an integer >= 1, received 0"),
        ({"n_items": 2.5}, "n_items: expected an integer >= 1, received 2.5"),
        ({"n_interactions": True}, "n_interactions: expected an integer >= 1, received True"),
        ({"n_interactions": 201}, r"expected at most n_users \* n_items = 200 .*received 201"),
        ({"user_exponent": -1.0}, "user_exponent: expected a finite number >= 0, received -1.0"),
        ({"item_exponent": float("nan")}, "item_exponent: expected a finite number >= 0"),
        ({"item_exponent": "1"}, "item_exponent: expected a finite number >= 0, received '1'"),
        ({"random_state": -1}, "random_state: expected an integer >= 0 or None, received -1"),
        ({"random_state": 1.5}, "random_state: expected an integer >= 0 or None, received 1.5"),
        ({"ratings": "yes"}, "ratings: expected True or False, received 'yes'"),
    ],
)
def test_bad_arguments_say_what_was_expected_and_received(
    arguments: dict[str, object], message: str
) -> None:
    call: dict[str, object] = {"n_users": 10, "n_items": 20, "n_interactions": 50, **arguments}

    with pytest.raises(ParameterError, match=message):
        generate_interactions(**call)  # type: ignore[arg-type]


def test_numpy_integers_are_accepted() -> None:
    # NumPy integers are accepted at run time though the signature says int.
    log = generate_interactions(
        np.int64(10),  # type: ignore[arg-type]
        np.int32(10),  # type: ignore[arg-type]
        np.int64(30),  # type: ignore[arg-type]
        random_state=np.int64(4),  # type: ignore[arg-type]
    )

    assert len(log) == 30


@pytest.mark.slow
def test_ten_million_interactions_at_movielens_20m_scale() -> None:
    # The call docs/datasets.md shows (the docs-truth test does not run it: too big).
    tracemalloc.start()
    try:
        log = generate_interactions(138_000, 27_000, 10_000_000, random_state=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert peak < 2 * 1024**3
    assert len(log) == 10_000_000
    assert _pairs_are_unique(log)
    assert log["user_id"].nunique() == 138_000
