from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recommender_systems import metrics as m
from recommender_systems.errors import DataError, ParameterError


def test_original_definitions_by_hand() -> None:
    predicted, actual = [1, 2, 3, 4], [2, 4, 7]
    assert m.precision_at_k(predicted, actual, 4) == 0.5  # divides by k
    assert m.precision_at_k([2], actual, 4) == 0.25  # short list: still divides by k
    assert m.recall_at_k(predicted, actual, 4) == pytest.approx(2 / 3)
    # AP: hits at ranks 2 and 4 -> (1/2 + 2/4) / min(3, 4)
    assert m.average_precision_at_k(predicted, actual, 4) == pytest.approx((0.5 + 0.5) / 3)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert m.ndcg_at_k(predicted, actual, 4) == pytest.approx(dcg / idcg)
    assert m.mrr_at_k(predicted, actual, 4) == 0.5
    assert m.hit_rate_at_k(predicted, actual, 4) == 1.0
    assert m.hit_rate_at_k([9], actual, 4) == 0.0


def test_map_divides_by_min_of_relevant_and_k() -> None:
    assert m.average_precision_at_k([5, 6], [5, 6, 7, 8], 2) == 1.0
    assert m.average_precision_at_k([5, 9], [5], 2) == 1.0


def test_repeated_item_counts_once() -> None:
    assert m.precision_at_k([1, 1, 1], [1], 3) == pytest.approx(1 / 3)


def test_batch_form_skips_users_without_relevant_items() -> None:
    value = m.precision_at_k([[1, 2], [3, 4], [5, 6]], [[1], [], [9]], 2)
    assert value == pytest.approx((0.5 + 0.0) / 2)
    assert m.map_at_k([[1, 2], [3]], [[2], [3]], 2) == pytest.approx((0.5 + 1.0) / 2)


def test_empty_actual_scores_zero() -> None:
    assert m.recall_at_k([1, 2], [], 2) == 0.0


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_bad_k(k: object) -> None:
    with pytest.raises(ParameterError, match="k: expected an integer >= 1"):
        m.precision_at_k([1], [1], k)  # type: ignore[arg-type]


def test_different_numbers_of_lists() -> None:
    with pytest.raises(DataError, match="received 2 predicted and 1 actual lists"):
        m.ndcg_at_k([[1], [2]], [[1]], 5)


def test_non_list_input() -> None:
    with pytest.raises(DataError, match="predicted: expected a list"):
        m.precision_at_k(5, [1], 5)


@given(
    st.lists(
        st.tuples(
            st.lists(st.integers(0, 15), max_size=8), st.sets(st.integers(0, 15), max_size=6)
        ),
        min_size=1,
        max_size=20,
    ),
    st.integers(1, 8),
)
def test_vectorised_hit_matrix_agrees_with_lists(
    users: list[tuple[list[int], set[int]]], k: int
) -> None:
    predicted = [p[:k] for p, _ in users]
    indices = np.full((len(users), k), -1, dtype=np.int64)
    for u, p in enumerate(predicted):
        indices[u, : len(p)] = p
    rel_users = np.array([u for u, (_, a) in enumerate(users) for _ in a], dtype=np.int64)
    rel_items = np.array([i for _, a in users for i in a], dtype=np.int64)
    hits = m.hit_matrix(indices, rel_users, rel_items)
    n_rel = np.array([len(a) for _, a in users])
    keep = n_rel > 0
    actual = [sorted(a) for _, a in users]
    for name, fn in m.RANK_METRICS.items():
        vector = fn(hits[keep], n_rel[keep], k).mean() if keep.any() else 0.0
        listed = m._list_metric(fn, predicted, actual, k)
        assert vector == pytest.approx(listed), name


def test_coverage_novelty_diversity_serendipity() -> None:
    indices = np.array([[0, 1, -1], [1, 2, 3]])
    assert m.coverage(indices, 8) == 0.5
    pop = np.array([4.0, 2.0, 1.0, 0.0])
    nov = m.novelty(indices, pop, 4)
    assert nov.tolist() == pytest.approx([(0 + 1) / 2, (1 + 2 + 2) / 3])
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    div = m.intra_list_diversity(indices, vectors)
    assert div[0] == pytest.approx(0.0)  # identical items
    assert div[1] == pytest.approx(1 - (0 + 0 + 1) / 3)
    hits = np.array([[True, False, False], [False, True, True]])
    expected = np.array([True, False, False, False])
    assert m.serendipity(hits, indices, expected, 3).tolist() == pytest.approx([0.0, 2 / 3])


# --------------------------------------------- beyond accuracy, at their edges
def test_coverage_counts_distinct_items_and_copes_with_an_empty_catalogue() -> None:
    lists = np.array([[0, 1, -1], [1, 1, -1]])
    assert m.coverage(lists, 4) == 0.5
    assert m.coverage(np.array([[0]]), 1) == 1.0
    assert m.coverage(lists, 0) == 0.0


def test_diversity_of_two_orthogonal_items_is_one_and_of_one_item_zero() -> None:
    vectors = np.eye(3)
    got = m.per_user_diversity(np.array([[0, 1], [2, -1]]), vectors)
    np.testing.assert_allclose(got, [1.0, 0.0])


def test_serendipity_counts_item_zero_like_any_other() -> None:
    hits = np.array([[True, True]])
    expected = np.array([False, True, False])
    assert m.serendipity(hits, np.array([[0, 1]]), expected, 2)[0] == 0.5


@pytest.mark.parametrize("cells_per_pair", [0, 256])  # sorted keys, then a table
def test_hit_matrix_without_relevant_items_and_with_a_repeat(
    cells_per_pair: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(m, "_TABLE_CELLS_PER_PAIR", cells_per_pair)
    none = np.array([], dtype=np.int64)
    assert not m.hit_matrix(np.array([[1, 2]]), none, none).any()
    repeat = m.hit_matrix(np.array([[1, 1]]), np.array([0]), np.array([1]))
    assert repeat.tolist() == [[True, False]]
    # Padding, a pair listed twice, and a relevant pair of a user with no list.
    lists = np.array([[3, -1, 0], [2, 3, 2]])
    hits = m.hit_matrix(lists, np.array([0, 1, 1, 1, 5]), np.array([3, 2, 2, 0, 1]))
    assert hits.tolist() == [[True, False, False], [True, False, False]]


@pytest.mark.parametrize("bad", ["abc", 3])
def test_list_metrics_refuse_a_string_or_a_number_for_a_list(bad: object) -> None:
    with pytest.raises(DataError, match="expected a list of item ids"):
        m.ndcg_at_k(bad, [1], 3)
    with pytest.raises(DataError, match="expected a list of item ids"):
        m.ndcg_at_k([1], bad, 3)


def test_catalog_coverage_needs_a_catalogue() -> None:
    with pytest.raises(DataError, match="at least one item"):
        m.catalog_coverage([[1, 2]], [], 2)


def test_serendipity_lists_must_pair_up_and_expected_may_be_per_user() -> None:
    with pytest.raises(DataError, match="one list per user"):
        m.serendipity_at_k([[1], [2]], [[1]], [3], 1)
    per_user = m.serendipity_at_k([[1, 2], [1, 2]], [[1, 2], [1, 2]], [[1], [2]], 2)
    assert per_user == pytest.approx(0.5)  # each user expected one of their two hits
    with pytest.raises(DataError, match="one list for all users or one per user"):
        m.serendipity_at_k([[1], [2], [3]], [[1], [2], [3]], [[1], [2]], 1)


def test_list_metrics_refuse_one_list_against_lists_per_user() -> None:
    with pytest.raises(DataError, match="one list of item ids each, or one list per user"):
        m.ndcg_at_k([[1, 2], [3]], [1, 3], 2)
    with pytest.raises(DataError, match="one list of item ids each, or one list per user"):
        m.ndcg_at_k([1, 3], [[1, 2], [3]], 2)


def test_beyond_accuracy_list_forms_refuse_a_string_for_a_list() -> None:
    with pytest.raises(DataError, match="predicted: expected a list of item ids"):
        m.catalog_coverage("abc", ["a", "b"], 2)


def test_ndcg_of_a_user_without_relevant_items_is_zero() -> None:
    got = m.ndcg(np.zeros((1, 3), dtype=bool), np.array([0]), 3)
    assert got.tolist() == [0.0]
