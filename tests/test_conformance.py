"""The contract of DESIGN.md, checked for every registered model.

A model added to the registry is tested here without new code. Data is small and
generated, so the whole suite stays fast.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recommender_systems import (
    DataError,
    Interactions,
    NotFittedError,
    NotSupportedError,
    ParameterError,
    Recommender,
    UnknownItemError,
    UnknownUserError,
    algorithms,
)

ALGORITHMS = {a.name: a for a in algorithms(optional=True)}  # with installed extras
SEED = 11


def make(name: str) -> Recommender:
    model = ALGORITHMS[name].create()
    if "random_state" in model.get_params():
        model.set_params(random_state=SEED)
    return model


@pytest.fixture(scope="module")
def data(synthetic: pd.DataFrame) -> Interactions:
    return Interactions.from_frame(synthetic)


@pytest.fixture(scope="module")
def fitted(data: Interactions) -> dict[str, Recommender]:
    return {name: make(name).fit(data) for name in ALGORITHMS}


def seen_items(data: Interactions, user: object) -> set[object]:
    row = data.matrix[data.user_ids.index_of(user)]
    return set(data.item_ids.to_ids(row.indices).tolist())


names = pytest.mark.parametrize("name", sorted(ALGORITHMS))


@names
def test_fit_returns_self(name: str, data: Interactions) -> None:
    model = make(name)
    assert model.fit(data) is model and model.is_fitted


@names
def test_not_fitted_raises(name: str) -> None:
    model = make(name)
    for call in (
        lambda: model.recommend(1),
        lambda: model.recommend_batch([1]),
        lambda: model.score(1, [1]),
    ):
        with pytest.raises(NotFittedError, match="fit"):
            call()


@names
def test_recommendations_are_unseen_unique_and_ranked(
    name: str, fitted: dict[str, Recommender], data: Interactions
) -> None:
    model = fitted[name]
    for user in data.user_ids.ids[:25].tolist():
        recs = model.recommend(user, n=10)
        assert len(recs) == len(set(recs)) <= 10
        assert not set(recs) & seen_items(data, user)
        if recs:
            scores = model.score(user, recs)
            assert np.all(np.diff(scores) <= 1e-6), "scores must not increase down the list"


@names
def test_items_and_exclude_filters(
    name: str, fitted: dict[str, Recommender], data: Interactions
) -> None:
    model = fitted[name]
    user = data.user_ids.ids[0].item()
    pool = data.item_ids.ids[::3].tolist()
    recs = model.recommend(user, n=50, items=pool)
    assert set(recs) <= set(pool) - seen_items(data, user)
    banned = model.recommend(user, n=3)
    assert not set(model.recommend(user, n=10, exclude=banned)) & set(banned)
    assert model.recommend(user, n=5, exclude=["no-such-item"]) == model.recommend(user, n=5)
    with pytest.raises(UnknownItemError, match="no-such-item"):
        model.recommend(user, items=["no-such-item"])


@names
def test_exclude_seen_false_allows_seen(
    name: str, fitted: dict[str, Recommender], data: Interactions
) -> None:
    model = fitted[name]
    n_items = data.n_items
    user = data.user_ids.ids[0].item()
    everything = model.recommend(user, n=n_items, exclude_seen=False)
    restricted = model.recommend(user, n=n_items)
    assert set(restricted) <= set(everything)


@names
def test_unknown_user_follows_the_documented_rule(
    name: str, fitted: dict[str, Recommender]
) -> None:
    model = fitted[name]
    recs = model.recommend("nobody-at-all", n=5)
    if model.unknown_users == "empty":
        assert recs == []
    else:
        assert len(recs) == 5
    with pytest.raises(UnknownUserError, match="nobody"):
        model.recommend_batch(["nobody"], unknown="raise")
    assert model.recommend_batch(["nobody"], n=4, unknown="empty").to_lists() == [[]]
    assert len(model.recommend_batch(["nobody"], n=4, unknown="popular").to_lists()[0]) == 4
    with pytest.raises(UnknownUserError):
        model.score("nobody", [1])


@names
@pytest.mark.parametrize("n", [0, -1, 2.5, "3", None])
def test_bad_n(name: str, n: object, fitted: dict[str, Recommender], data: Interactions) -> None:
    with pytest.raises(ParameterError, match="n: expected an integer >= 1"):
        fitted[name].recommend(data.user_ids.ids[0].item(), n=n)  # type: ignore[arg-type]


@names
def test_n_larger_than_catalogue(
    name: str, fitted: dict[str, Recommender], data: Interactions
) -> None:
    user = data.user_ids.ids[0].item()
    recs = fitted[name].recommend(user, n=10**9)
    assert len(recs) <= data.n_items - len(seen_items(data, user))


@names
def test_batch_and_single_agree(
    name: str, fitted: dict[str, Recommender], data: Interactions
) -> None:
    model = fitted[name]
    users = data.user_ids.ids[:30].tolist()
    batch = model.recommend_batch(users, n=7)
    assert batch.to_lists() == [model.recommend(u, n=7) for u in users]
    frame = batch.to_frame()
    assert list(frame.columns) == ["user_id", "rank", "item_id", "score"]
    assert len(frame) == int(batch.mask.sum())


@names
def test_reproducible(name: str, data: Interactions, fitted: dict[str, Recommender]) -> None:
    again = make(name).fit(data)
    users = data.user_ids.ids[:20].tolist()
    assert (
        again.recommend_batch(users, 10).to_lists()
        == fitted[name].recommend_batch(users, 10).to_lists()
    )


@names
def test_params_clone_and_repr(name: str, fitted: dict[str, Recommender]) -> None:
    model = fitted[name]
    params = model.get_params()
    twin = model.clone()
    assert twin.get_params().keys() == params.keys() and not twin.is_fitted
    assert type(twin).__name__ in repr(twin)
    with pytest.raises(ParameterError, match="not a parameter"):
        twin.set_params(definitely_not_a_param=1)


@names
def test_fold_in_or_clear_refusal(
    name: str, fitted: dict[str, Recommender], data: Interactions
) -> None:
    model = fitted[name]
    history = data.item_ids.ids[:5].tolist()
    if not model.supports_fold_in:
        with pytest.raises(NotSupportedError):
            model.recommend_from_history(history)
        return
    recs = model.recommend_from_history(history, n=8)
    assert len(recs) == len(set(recs)) <= 8 and not set(recs) & set(history)
    with pytest.raises(DataError, match="history"):
        model.recommend_from_history([])
    with pytest.raises(DataError, match="history"):
        model.recommend_from_history(["unknown-item"])


@names
def test_similar_items_or_clear_refusal(
    name: str, fitted: dict[str, Recommender], data: Interactions
) -> None:
    model = fitted[name]
    item = data.item_ids.ids[0].item()
    if not model.supports_similar_items:
        with pytest.raises(NotSupportedError):
            model.similar_items(item)
        return
    similar = model.similar_items(item, n=5)
    assert item not in similar and len(similar) == len(set(similar)) <= 5
    with pytest.raises(UnknownItemError):
        model.similar_items("not-an-item")


@names
def test_string_ids_and_edge_shapes(name: str) -> None:
    # An empty user row, an item nobody touched, and a single-user dataset.
    matrix = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 0, 0, 0], [1, 1, 0, 0]], dtype=np.float32))
    data = Interactions.from_sparse(
        matrix, user_ids=["u0", "u1", "u2"], item_ids=["a", "b", "c", "d"]
    )
    model = make(name).fit(data)
    assert set(model.recommend("u0", n=4)) <= {"b", "d"}
    model.recommend("u1", n=4)
    single = pd.DataFrame(
        {"user_id": ["solo"] * 3, "item_id": ["x", "y", "z"], "rating": [5.0, 3.0, 1.0]}
    )
    assert make(name).fit(single).recommend("solo") == []
