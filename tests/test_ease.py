"""EASE: the closed form, the memory check, dtypes, fold-in and quality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender_systems import (
    EASE,
    InsufficientMemoryError,
    Interactions,
    ParameterError,
    _memory,
    generate_interactions,
)
from recommender_systems.ease import RegularizationPath
from recommender_systems.query import rank, select_rows
from tests.helpers import dense


@pytest.fixture(scope="module")
def data(synthetic: pd.DataFrame) -> Interactions:
    return Interactions.from_frame(synthetic)


def closed_form(x: np.ndarray, l2: float) -> np.ndarray:
    p = np.linalg.inv(x.T @ x + l2 * np.eye(x.shape[1]))
    weights = -p / np.diag(p)
    np.fill_diagonal(weights, 0.0)
    return weights


@pytest.fixture(scope="module")
def wide() -> Interactions:
    """Fewer users than items: EASE goes through the users x users matrix."""
    return Interactions.from_frame(generate_interactions(40, 150, 1_500, random_state=4))


@pytest.mark.parametrize("shape", ["tall", "wide"])
@pytest.mark.parametrize(("dtype", "rtol"), [("float64", 1e-9), ("float32", 2e-3)])
def test_weights_are_steck_closed_form(
    data: Interactions, wide: Interactions, shape: str, dtype: str, rtol: float
) -> None:
    source = data if shape == "tall" else wide
    model = EASE(regularization=50.0, dtype=dtype, values="binary").fit(source)  # type: ignore[arg-type]
    assert model.similarity_.dtype == np.dtype(dtype)
    want = closed_form((source.matrix.toarray() != 0).astype(np.float64), 50.0)
    np.testing.assert_allclose(
        dense(model.similarity_), want, rtol=rtol, atol=rtol * np.abs(want).max()
    )


def test_default_weighs_values_by_their_log(data: Interactions) -> None:
    model = EASE(regularization=20.0, dtype="float64").fit(data)
    x = np.log1p(data.matrix.toarray().astype(np.float64))
    np.testing.assert_allclose(dense(model.similarity_), closed_form(x, 20.0), atol=1e-6)
    user = data.user_ids.ids[1]
    np.testing.assert_allclose(
        model.score(user, data.item_ids.ids), x[1] @ model.similarity_, rtol=1e-5, atol=1e-6
    )


def test_binary_scores_treat_interactions_as_binary(data: Interactions) -> None:
    model = EASE(regularization=20.0, dtype="float64", values="binary").fit(data)
    user = data.user_ids.ids[1]
    row = (data.matrix[1].toarray()[0] != 0).astype(np.float64)
    want = row @ model.similarity_
    np.testing.assert_allclose(model.score(user, data.item_ids.ids), want, rtol=1e-5)


@pytest.mark.parametrize("shape", ["tall", "wide"])
def test_regularization_path_scores_as_a_fit(
    data: Interactions, wide: Interactions, shape: str
) -> None:
    source = data if shape == "tall" else wide
    users = np.arange(source.n_users)
    # Other rows in between: the path keeps the last rows' projection, never a stale one.
    for l2, view in EASE()._sweep(source, "regularization", [3.0, 300.0]):
        fitted = EASE(regularization=l2).fit(source)
        if shape == "tall":  # fits from one Gram matrix: the same bits as a fit
            assert isinstance(view, EASE) and isinstance(fitted, EASE)
            np.testing.assert_array_equal(view.similarity_, fitted.similarity_)
        for rows in (users, users[::3], users):
            np.testing.assert_allclose(
                view._scores(rows), fitted._scores(rows), rtol=1e-3, atol=1e-4
            )


def test_the_path_scores_its_own_rows_and_fold_ins_like_a_float64_fit() -> None:
    frame = generate_interactions(40, 150, 1_500, random_state=4)
    # An item every user has: at λ = 1 its 1 - Σ in diag(P) cancels the most.
    every = pd.DataFrame({"user_id": frame["user_id"].unique(), "item_id": -1})
    data = Interactions.from_frame(pd.concat([frame, every], ignore_index=True))
    x = EASE()._fit_weights(data.matrix)
    path = RegularizationPath(x)
    users = np.arange(data.n_users)
    for l2 in (1.0, 30.0, 1e4):
        want = EASE(regularization=l2, dtype="float64").fit(data)._scores(users)
        atol = 1e-5 * np.abs(want).max()
        # Rows of X by index: all of them (half a product), a few (a plain product).
        np.testing.assert_allclose(path.user_scores(users, l2), want, rtol=1e-4, atol=atol)
        few = users[::4]
        np.testing.assert_allclose(path.user_scores(few, l2), want[few], rtol=1e-4, atol=atol)
        # The same rows as fold-in histories take the general route.
        np.testing.assert_allclose(path.scores(x, l2), want, rtol=1e-3, atol=atol)
        # The fused candidate step ranks those scores, for any set of rows.
        for rows in (users, users[1:][::-1], few):
            seen = select_rows(data.matrix, rows)
            top = path.user_top_candidates(rows, l2, 5, seen, None)
            ranked = rank(path.user_scores(rows, l2), 5, seen, None)
            np.testing.assert_array_equal(top[0], ranked[0])
            np.testing.assert_array_equal(top[1], ranked[1])


def test_only_a_view_fitted_on_the_paths_rows_scores_them_by_index(wide: Interactions) -> None:
    (_, view), (_, other) = (
        next(EASE()._sweep(source, "regularization", [10.0]))
        for source in (wide, Interactions.from_frame(generate_interactions(30, 120, 900)))
    )
    assert view.rows_on_path_  # type: ignore[attr-defined]
    other.fit(wide)  # its path was built on other rows
    assert not other.rows_on_path_  # type: ignore[attr-defined]
    fitted = EASE(regularization=10.0).fit(wide)
    users = np.arange(wide.n_users)
    scores = view._scores(users)
    np.testing.assert_allclose(scores, fitted._scores(users), rtol=1e-3, atol=1e-4)
    # Its fused candidate step ranks exactly those scores.
    seen, allowed = wide.matrix, np.arange(wide.n_items) % 3 > 0
    for mask in (None, allowed):
        want = rank(scores, 10, seen, mask)
        got = view._top_candidates(users, 10, seen, mask)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    # A view of the same path fitted on other rows (one interaction fewer, the same
    # items) has no similarity_: its candidate step ranks its own scores, through
    # the public API too.
    frame = generate_interactions(40, 150, 1_500, random_state=4)
    repeated = frame["item_id"].duplicated(keep=False) & frame["user_id"].duplicated(keep=False)
    fewer = Interactions.from_frame(frame.drop(index=frame.index[repeated][0]))
    (_, third) = next(EASE()._sweep(wide, "regularization", [10.0]))
    third.fit(fewer)
    assert not third.rows_on_path_  # type: ignore[attr-defined]
    assert getattr(third, "similarity_", None) is None
    users = np.arange(fewer.n_users)
    scores, seen = third._scores(users), fewer.matrix
    for mask in (None, allowed):
        want = rank(scores, 10, seen, mask)
        got = third._top_candidates(users, 10, seen, mask)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    batch = third.recommend_batch(fewer.user_ids.ids, n=10)
    want = rank(scores, 10, seen, None)
    np.testing.assert_array_equal(batch.item_indices, want[0])
    np.testing.assert_array_equal(batch.scores, want[1])


@pytest.mark.parametrize("shape", ["tall", "wide"])
def test_candidates_rank_exactly_the_scores(
    shape: str, data: Interactions, wide: Interactions
) -> None:
    """The float32 model's candidate step sums H B row by row (the product kernel)
    and selects as it goes: the lists and scores of ranking _scores, bit for bit."""
    source = data if shape == "tall" else wide
    model = EASE(regularization=20.0).fit(source)
    weights = model.similarity_
    assert isinstance(weights, np.ndarray)
    assert weights.dtype == np.float32 and weights.flags.c_contiguous
    users = np.arange(source.n_users)
    scores = model._scores(users)
    seen, allowed = source.matrix, np.arange(source.n_items) % 3 > 0
    some = users[::3][::-1].copy()  # a subset, in another order
    for rows in (users, some):
        for exclude in (None, select_rows(seen, rows)):
            for mask in (None, allowed):
                want = rank(scores[rows], 10, exclude, mask)
                got = model._top_candidates(rows, 10, exclude, mask)
                np.testing.assert_array_equal(got[0], want[0])
                np.testing.assert_array_equal(got[1], want[1])
    items = source.item_ids.ids[allowed]
    batch = model.recommend_batch(source.user_ids.ids, n=10, items=items)
    want = rank(scores, 10, seen, allowed)
    np.testing.assert_array_equal(batch.item_indices, want[0])
    np.testing.assert_array_equal(batch.scores, want[1])
    # k beyond the catalogue: every unseen item, padded like the default step.
    want = rank(scores, source.n_items + 5, seen, None)
    got = model._top_candidates(users, source.n_items + 5, seen, None)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_fold_in_needs_no_refit_and_matches_a_known_user(data: Interactions) -> None:
    model = EASE(regularization=20.0).fit(data)
    user = data.user_ids.ids[7].item()
    row = data.matrix[7]
    items = data.item_ids.ids[row.indices].tolist()
    got = model.recommend_from_history(items, n=10, weights=row.data.tolist())
    assert got == model.recommend(user, n=10)
    assert model.similar_items(items[0], n=3)


@pytest.mark.parametrize("value", [-1.0, 0.0, float("inf"), "500"])
def test_regularization_must_be_positive(value: object, data: Interactions) -> None:
    with pytest.raises(ParameterError, match="regularization: expected a finite number > 0"):
        EASE(regularization=value).fit(data)  # type: ignore[arg-type]


def test_dtype_must_be_a_float_name(data: Interactions) -> None:
    with pytest.raises(ParameterError, match="dtype: expected one of 'float32', 'float64'"):
        EASE(dtype="float16").fit(data)  # type: ignore[arg-type]


def test_insufficient_memory_is_reported_before_allocating(
    data: Interactions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_memory, "available_memory", lambda: 10 << 20)
    with pytest.raises(InsufficientMemoryError) as info:
        EASE().fit(data)
    message = str(info.value)
    assert f"EASE on {data.n_items} items" in message
    assert "needs about 128.0 MiB" in message  # 80 x 80 float64 plus the overhead
    assert "only about 10.0 MiB is available" in message
    assert "dtype='float32'" in message
    assert isinstance(info.value, MemoryError)


def test_a_large_catalogue_fails_up_front_with_the_sizes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 200,000 items would need 160 GB in float32: refused at once, nothing allocated.
    monkeypatch.setattr(_memory, "available_memory", lambda: 64 << 30)
    items = np.arange(200_000)
    frame = pd.DataFrame({"user_id": items % 7, "item_id": items})
    with pytest.raises(InsufficientMemoryError, match=r"needs about 149\.1 GiB.*64\.0 GiB"):
        EASE().fit(frame)
    with pytest.raises(InsufficientMemoryError, match=r"200,000 x 200,000 float64"):
        EASE(dtype="float64").fit(frame)
