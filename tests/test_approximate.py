"""The approximate candidate step (over-fetch, exact filters, exact rescoring,
fallback), checked against the exact step with searches that are exact, wrong
or useless. These need no ANN library: the index is a function here."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender_systems.approximate import ApproximateSearch, fetch_sizes
from recommender_systems.query import TopN, dense_top_candidates, rank

Search = Callable[[np.ndarray, int], np.ndarray]


def brute_force(items: np.ndarray) -> Search:
    """An exact index: the ``k`` largest inner products, ties to the lower index."""

    def search(queries: np.ndarray, k: int) -> np.ndarray:
        scores = queries @ items.T
        order = np.lexsort((np.broadcast_to(np.arange(len(items)), scores.shape), -scores))
        return order[:, :k]

    return search


def garbage(n_items: int, seed: int) -> Search:
    """An index that proposes anything: repeats, padding, keys past the catalogue."""
    rng = np.random.default_rng(seed)

    def search(queries: np.ndarray, k: int) -> np.ndarray:
        return rng.integers(-1, n_items + 3, size=(len(queries), k))

    return search


def step_for(
    users: np.ndarray, items: np.ndarray, bias: np.ndarray, search: Search
) -> tuple[ApproximateSearch, Callable[..., TopN]]:
    def scores(rows: np.ndarray) -> np.ndarray:
        return (users[rows] @ items.T + bias).astype(np.float32)

    def exact(rows: np.ndarray, n: int, seen: sp.csr_matrix | None, allowed: np.ndarray | None):  # type: ignore[no-untyped-def]
        return dense_top_candidates(
            scores, rows, n, seen, allowed, n_items=len(items), block_rows=7
        )

    folded_items = np.hstack([items, bias[:, None]]).astype(np.float32)
    step = ApproximateSearch(
        search=search if search is not None else brute_force(folded_items),
        queries=lambda rows: np.hstack([users[rows], np.ones((len(rows), 1), np.float32)]),
        scores=lambda rows, cand: (
            np.matmul(items[cand], users[rows][:, :, None])[:, :, 0] + bias[cand]
        ),
        exact=exact,
        n_items=len(items),
    )
    return step, exact


@st.composite
def problems(draw: st.DrawFn) -> dict[str, object]:
    n_users = draw(st.integers(1, 12))
    n_items = draw(st.integers(1, 50))
    dims = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    # Few distinct values: ties are common, as with integer-valued factors.
    users = rng.integers(-3, 4, (n_users, dims)).astype(np.float32)
    items = rng.integers(-3, 4, (n_items, dims)).astype(np.float32)
    bias = rng.integers(-2, 3, n_items).astype(np.float32) * draw(st.sampled_from([0.0, 1.0]))
    rows = rng.integers(0, n_users, draw(st.integers(0, 15)))
    density = draw(st.sampled_from([0.0, 0.2, 0.6, 1.0]))
    # One row of seen items per query row, as the query path passes them.
    seen = sp.csr_matrix((rng.random((rows.size, n_items)) < density).astype(np.float32))
    allowed = None
    if draw(st.booleans()):
        allowed = rng.random(n_items) < draw(st.sampled_from([0.05, 0.5, 0.95]))
    return {
        "users": users,
        "items": items,
        "bias": bias,
        "seen": seen if draw(st.booleans()) else None,
        "allowed": allowed,
        "n": draw(st.integers(1, 60)),
        "rows": rows,
        "seed": seed,
    }


def check_contract(top: np.ndarray, values: np.ndarray, problem: dict[str, object]) -> None:
    """What every approximate answer keeps, whatever the index proposed."""
    seen, allowed = problem["seen"], problem["allowed"]
    users, items, bias = problem["users"], problem["items"], problem["bias"]
    assert isinstance(users, np.ndarray) and isinstance(items, np.ndarray)
    assert isinstance(bias, np.ndarray)
    rows = problem["rows"]
    assert isinstance(rows, np.ndarray)
    for r, (row_top, row_values) in enumerate(zip(top, values, strict=True)):
        found = row_top[row_top >= 0]
        assert (row_top[len(found) :] == -1).all(), "padding only at the end"
        assert len(set(found.tolist())) == found.size, "no duplicates"
        assert found.size == 0 or found.max() < len(items)
        if isinstance(seen, sp.csr_matrix):
            assert not np.isin(found, seen[r].indices).any(), "no seen item"
        if isinstance(allowed, np.ndarray):
            assert allowed[found].all(), "nothing outside items= / exclude="
        exact = users[rows[r]] @ items[found].T + bias[found]
        np.testing.assert_allclose(row_values[: found.size], exact, rtol=1e-5, atol=1e-5)
        assert (np.diff(row_values[: found.size]) <= 1e-5).all(), "best first"


@settings(max_examples=150, deadline=None, database=None)
@given(problems())
def test_an_exact_index_gives_the_exact_answer(problem: dict[str, object]) -> None:
    users, items, bias = problem["users"], problem["items"], problem["bias"]
    assert isinstance(users, np.ndarray) and isinstance(items, np.ndarray)
    assert isinstance(bias, np.ndarray)
    step, exact = step_for(users, items, bias, None)  # type: ignore[arg-type]
    args = (problem["rows"], problem["n"], problem["seen"], problem["allowed"])
    top, values = step(*args)  # type: ignore[arg-type]
    want_top, want_values = exact(*args)
    check_contract(top, values, problem)
    # Integer-valued factors: scores are exact, so even ties resolve alike.
    np.testing.assert_array_equal(top, want_top)
    np.testing.assert_array_equal(values, want_values)


@settings(max_examples=150, deadline=None, database=None)
@given(problems())
def test_a_wrong_index_never_breaks_the_contract(problem: dict[str, object]) -> None:
    users, items, bias = problem["users"], problem["items"], problem["bias"]
    assert isinstance(users, np.ndarray) and isinstance(items, np.ndarray)
    assert isinstance(bias, np.ndarray)
    seed = problem["seed"]
    assert isinstance(seed, int)
    step, exact = step_for(users, items, bias, garbage(len(items), seed))
    args = (problem["rows"], problem["n"], problem["seen"], problem["allowed"])
    top, values = step(*args)  # type: ignore[arg-type]
    want_top, _ = exact(*args)
    check_contract(top, values, problem)
    # Never shorter than the exact list (the exact step answers the rest).
    np.testing.assert_array_equal((top >= 0).sum(axis=1), (want_top >= 0).sum(axis=1))


def test_rows_the_index_cannot_answer_fall_back_to_exact() -> None:
    rng = np.random.default_rng(0)
    users = rng.standard_normal((4, 3)).astype(np.float32)
    items = rng.standard_normal((30, 3)).astype(np.float32)
    bias = np.zeros(30, dtype=np.float32)
    calls: list[int] = []

    def empty(queries: np.ndarray, k: int) -> np.ndarray:
        calls.append(k)
        return np.full((len(queries), k), -1)

    step, exact = step_for(users, items, bias, empty)
    rows = np.arange(4)
    top, values = step(rows, 5, None, None)
    want_top, want_values = exact(rows, 5, None, None)
    assert calls  # the index was asked first
    np.testing.assert_array_equal(top, want_top)
    np.testing.assert_allclose(values, want_values)


def test_large_fetches_go_straight_to_exact() -> None:
    # 10 items allowed out of 100,000: over-fetching would need the whole catalogue.
    sizes = fetch_sizes(10, np.zeros(3, dtype=np.int64), 10 / 100_000, 100_000)
    assert sizes.tolist() == [0, 0, 0]
    # Few seen items and everything allowed: a small power of two.
    assert fetch_sizes(10, np.array([0, 6, 7]), 1.0, 100_000).tolist() == [16, 16, 32]
    # A small catalogue is scored exactly; asking for all of it fetches all of it.
    assert fetch_sizes(10, np.array([3]), 1.0, 12).tolist() == [0]
    assert fetch_sizes(20, np.array([0]), 1.0, 12).tolist() == [12]


@pytest.mark.parametrize("n", [1, 3, 100])
def test_rank_of_scores_matches_through_the_step(n: int) -> None:
    # The exact step used above is the library's own dense path.
    rng = np.random.default_rng(1)
    users = rng.standard_normal((3, 4)).astype(np.float32)
    items = rng.standard_normal((20, 4)).astype(np.float32)
    bias = rng.standard_normal(20).astype(np.float32)
    _, exact = step_for(users, items, bias, None)  # type: ignore[arg-type]
    rows = np.arange(3)
    want = rank((users @ items.T + bias).astype(np.float32), n, None, None)
    np.testing.assert_array_equal(exact(rows, n, None, None)[0], want[0])
