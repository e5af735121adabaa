"""Corners of the base class's contract that the conformance suite does not reach:
the choice of candidate step, what ``save`` returns, models that declare no state,
the scale of the fallback ranking, and the error a model without similarities gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recommender_systems import ItemKNN, MostPopular, NotSupportedError, UnknownItemError, load
from recommender_systems.query import TopN, histories_matrix, select_rows
from tests.toy_models import RandomFactors, ToyHybrid


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"user_id": rng.integers(0, 30, 400), "item_id": rng.integers(0, 25, 400)}
    ).drop_duplicates()


class WithIndex(MostPopular):
    """MostPopular whose approximate step always answers the last item first."""

    def _approximate_step(self, purpose: str):  # type: ignore[no-untyped-def]
        def step(
            rows: np.ndarray, n: int, seen: sp.csr_matrix | None, allowed: np.ndarray | None
        ) -> TopN:
            indices = np.full((rows.size, n), -1, dtype=np.int64)
            scores = np.full((rows.size, n), np.nan, dtype=np.float32)
            indices[:, 0], scores[:, 0] = len(self.item_ids_) - 1, 1.0
            return indices, scores

        return step


def test_an_index_serves_unless_exact_results_are_asked_for(log: pd.DataFrame) -> None:
    model = WithIndex().fit(log)
    users = model.user_ids_.ids[:5]
    last = model.item_ids_.ids[-1].item()
    assert model.recommend_batch(users, 3).to_lists() == [[last]] * 5
    exact = MostPopular().fit(log).recommend_batch(users, 3).to_lists()
    assert model.recommend_batch(users, 3, approximate=False).to_lists() == exact


def test_save_returns_where_the_model_went(log: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "model.recsys"
    assert Path(MostPopular().fit(log).save(path)) == path


def test_a_model_that_declares_no_state_saves_and_loads(log: pd.DataFrame, tmp_path: Path) -> None:
    model = RandomFactors(n_factors=4).fit(log)
    loaded = load(model.save(tmp_path / "toy.recsys"))
    assert isinstance(loaded, RandomFactors)
    np.testing.assert_array_equal(loaded.item_factors_, model.item_factors_)


def test_the_fallback_ranking_is_a_share_of_users(log: pd.DataFrame) -> None:
    model = ItemKNN().fit(log)
    shares = model._fallback_scores()
    users = log.groupby("item_id")["user_id"].nunique().sort_index().to_numpy()
    np.testing.assert_allclose(shares, users / log["user_id"].nunique(), rtol=1e-6)


def test_a_model_without_similarities_says_so_before_looking_up_the_item(
    log: pd.DataFrame,
) -> None:
    model = ToyHybrid().fit(log)
    with pytest.raises(NotSupportedError, match="no item similarities"):
        model.similar_items(10**9)


def test_a_single_user_fallback_share_is_one(log: pd.DataFrame) -> None:
    alone = log[log["user_id"] == log["user_id"].iloc[0]]
    shares = ItemKNN().fit(alone)._fallback_scores()
    np.testing.assert_array_equal(shares, np.ones(alone["item_id"].nunique()))


def twins() -> pd.DataFrame:
    """Items 0 and 1 always together; items 2 and 3 always together."""
    users = np.repeat(np.arange(20), 2)
    items = np.where(np.arange(40) % 2 == 0, 0, 1) + 2 * (users % 2)
    return pd.DataFrame({"user_id": users, "item_id": items})


def test_similar_items_can_answer_the_first_item() -> None:
    model = ItemKNN().fit(twins())
    assert model.similar_items(1, n=1) == [0]


def test_fold_in_weights_count_and_each_history_is_its_own_row() -> None:
    model = ItemKNN().fit(twins())
    heavy_first = model.recommend_from_history([0, 2], n=1, weights=[10.0, 0.1], exclude_seen=False)
    heavy_last = model.recommend_from_history([0, 2], n=1, weights=[0.1, 10.0], exclude_seen=False)
    assert (heavy_first, heavy_last) == ([1], [3])
    frame = model.recommend_from_histories([[0], [2], [1]], n=1).to_frame()
    assert frame["user_id"].tolist() == [0, 1, 2]
    assert frame["item_id"].tolist() == [1, 3, 0]


def test_the_first_item_is_a_known_item_everywhere() -> None:
    model = ItemKNN().fit(twins())
    assert model.similar_items(0, n=1) == [1]
    user = model.user_ids_.ids[0].item()
    assert model.recommend(user, n=5, items=[0, 1], exclude_seen=False) == [0, 1]


def test_items_restricts_the_candidates() -> None:
    model = MostPopular().fit(twins())
    users = model.user_ids_.ids[:4]
    lists = model.recommend_batch(users, n=5, items=[2], exclude_seen=False).to_lists()
    assert lists == [[2]] * 4


def test_any_number_of_histories_including_two_and_none() -> None:
    model = ItemKNN().fit(twins())
    two = model.recommend_from_histories([[0], [2]], n=1).to_frame()
    assert two["item_id"].tolist() == [1, 3]
    assert len(model.recommend_from_histories([], n=3).to_frame()) == 0


def test_an_unknown_item_is_named_alone_beside_the_first_item() -> None:
    model = MostPopular().fit(twins())
    user = model.user_ids_.ids[0].item()
    with pytest.raises(UnknownItemError, match=r"^1 item id\(s\) unknown to the model: 999$"):
        model.recommend(user, items=[0, 999])


def test_no_histories_stack_into_no_rows() -> None:
    assert histories_matrix([], 5).shape == (0, 5)


def test_the_first_rows_of_a_wide_matrix_are_not_all_of_it() -> None:
    wide = sp.csr_matrix(np.arange(6, dtype=np.float32).reshape(2, 3))
    assert select_rows(wide, np.arange(2)) is wide
    tall = sp.csr_matrix(np.arange(6, dtype=np.float32).reshape(3, 2))
    np.testing.assert_array_equal(select_rows(tall, np.arange(2)).toarray(), [[0, 1], [2, 3]])


def test_many_unknown_items_are_counted_and_five_are_shown() -> None:
    model = MostPopular().fit(twins())
    user = model.user_ids_.ids[0].item()
    with pytest.raises(UnknownItemError, match=r"^7 item id\(s\) unknown") as raised:
        model.recommend(user, items=list(range(100, 107)))
    assert "104" in str(raised.value) and "105" not in str(raised.value)
