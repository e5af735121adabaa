"""The Rust BPR epoch against its Python reference, and its argument checks.

Both draw their randomness from the same counter-based streams (a keyed
permutation for the visiting order, SplitMix64 for the negatives), so a
single-threaded Rust epoch and the reference apply the *same* sampled triples;
the factors then agree up to float32 rounding (fused multiply-adds, summation
order). This is an exact-replay comparison, not a statistical one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender_systems.kernels import _loader
from recommender_systems.kernels.bpr import bpr_epoch, bpr_epoch_reference, bpr_triples
from recommender_systems.kernels.selection import csr_arrays

ext = _loader.extension
needs_ext = pytest.mark.skipif(ext is None, reason="Rust extension not built")

Factors = tuple[np.ndarray, np.ndarray, np.ndarray]


def pattern(n_users: int, n_items: int, density: float, seed: int) -> sp.csr_matrix:
    m = sp.csr_matrix(sp.random(n_users, n_items, density=density, random_state=seed))
    m.data[:] = 1.0
    m.sort_indices()
    return m.astype(np.float32)


def factors(n_users: int, n_items: int, k: int, seed: int) -> Factors:
    rng = np.random.default_rng(seed)
    return (
        (rng.standard_normal((n_users, k)) * 0.1).astype(np.float32),
        (rng.standard_normal((n_items, k)) * 0.1).astype(np.float32),
        (rng.standard_normal(n_items) * 0.1).astype(np.float32),
    )


@st.composite
def problems(draw: st.DrawFn) -> tuple[sp.csr_matrix, int, int, float, float, bool]:
    n_users = draw(st.integers(1, 15))
    n_items = draw(st.integers(1, 12))
    density = draw(st.sampled_from([0.1, 0.4, 0.9, 1.0]))
    m = pattern(n_users, n_items, density, draw(st.integers(0, 1000)))
    return (
        m,
        draw(st.integers(1, 9)),
        draw(st.integers(0, 2**64 - 2)),
        draw(st.sampled_from([0.0, 0.01, 0.1])),
        draw(st.sampled_from([0.0, 0.01, 0.1])),
        draw(st.booleans()),
    )


@needs_ext
@settings(max_examples=150, deadline=None)
@given(problems())
def test_rust_matches_reference_on_the_same_triples(
    problem: tuple[sp.csr_matrix, int, int, float, float, bool],
) -> None:
    m, k, seed, lr, reg, with_bias = problem
    users, items, bias = factors(*m.shape, k, seed=seed % 1000)
    ours = (users.copy(), items.copy(), bias.copy() if with_bias else None)
    theirs = (users.copy(), items.copy(), bias.copy() if with_bias else None)
    indptr, indices = csr_arrays(m)
    for epoch in range(2):
        got = ext.bpr_epoch(indptr, indices, *ours, lr, reg, seed + epoch, 1)
        want = bpr_epoch_reference(indptr, indices, *theirs, lr, reg, seed + epoch)
        assert got[1:] == want[1:]
        assert got[0] == pytest.approx(want[0], rel=1e-5, abs=1e-5)
    for a, b in zip(ours, theirs, strict=True):
        if a is not None:
            assert b is not None
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_triples_are_a_shuffle_of_the_pairs_with_unseen_negatives() -> None:
    m = pattern(40, 25, 0.3, seed=2)
    indptr, indices = csr_arrays(m)
    users, positives, negatives, skipped = bpr_triples(indptr, indices, 25, seed=9)
    assert skipped == 0
    visited = sorted(zip(users.tolist(), positives.tolist(), strict=True))
    assert visited == sorted(zip(*m.nonzero(), strict=True))
    assert not m[users, negatives].any(), "a negative was an item the user has seen"
    assert not np.array_equal(users, np.sort(users)), "the pairs should be shuffled"
    again = bpr_triples(indptr, indices, 25, seed=10)
    assert not np.array_equal(again[2], negatives), "another seed, other negatives"


def test_users_who_saw_every_item_are_skipped() -> None:
    m = sp.csr_matrix(np.array([[1, 1, 1], [1, 0, 0]], dtype=np.float32))
    users, items, _ = factors(2, 3, 2, seed=0)
    _, updates, skipped = bpr_epoch(m, users, items, None, 0.1, 0.0, seed=1)
    assert (updates, skipped) == (1, 3)


@needs_ext
def test_one_thread_is_bit_reproducible_and_hogwild_learns() -> None:
    # Two taste groups: the first half of the users use the first half of the items.
    # 250,000 pairs: enough for the kernel to give each of two threads a shard.
    grid = pattern(5000, 400, 0.25, seed=4).tolil()
    grid[:2500, 200:] = 0
    grid[2500:, :200] = 0
    m = sp.csr_matrix(grid)
    m.eliminate_zeros()
    assert m.nnz > 200_000
    runs = []
    for threads in (1, 1, 2):
        users, items, bias = factors(5000, 400, 16, seed=1)
        losses = [
            bpr_epoch(m, users, items, bias, 0.05, 0.001, seed=e, n_threads=threads)[0]
            for e in range(6)
        ]
        runs.append((users, items, losses))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert not np.array_equal(runs[0][0], runs[2][0]), "two threads should run two shards"
    # Mean loss per pair: ln 2 = 0.69 before learning, about 0.29 after six epochs.
    hogwild, serial = runs[2][2][-1] / m.nnz, runs[0][2][-1] / m.nnz
    assert hogwild < 0.35
    assert hogwild == pytest.approx(serial, rel=0.1)


def test_small_problems_ignore_extra_threads() -> None:
    m = pattern(50, 30, 0.3, seed=2)
    results = []
    for threads in (1, 2):
        users, items, bias = factors(50, 30, 4, seed=0)
        bpr_epoch(m, users, items, bias, 0.1, 0.01, seed=3, n_threads=threads)
        results.append(users)
    np.testing.assert_array_equal(results[0], results[1])


def good_args() -> dict[str, Any]:
    m = pattern(4, 5, 0.5, seed=1)
    indptr, indices = csr_arrays(m)
    users, items, bias = factors(4, 5, 3, seed=0)
    return {
        "indptr": indptr,
        "indices": indices,
        "user_factors": users,
        "item_factors": items,
        "item_bias": bias,
        "learning_rate": 0.1,
        "reg": 0.01,
        "seed": 3,
        "n_threads": 1,
    }


Change = Callable[[dict[str, Any]], None]


def _set(name: str, value: Callable[[dict[str, Any]], object]) -> Change:
    def change(args: dict[str, Any]) -> None:
        args[name] = value(args)

    return change


def _shared(args: dict[str, Any]) -> None:
    args["item_factors"] = args["user_factors"]


BAD_INPUTS = [
    ("user_factors", _set("user_factors", lambda a: np.ones((4, 3), np.float64))),
    ("user_factors", _set("user_factors", lambda a: np.ones((4, 3), np.float32, order="F"))),
    ("user_factors", _set("user_factors", lambda a: np.ones((3, 3), np.float32))),
    ("item_factors", _set("item_factors", lambda a: np.ones((5, 2), np.float32))),
    ("item_factors", _set("item_factors", lambda a: np.full((5, 3), np.nan, np.float32))),
    ("user_factors", _set("user_factors", lambda a: np.ones((4, 0), np.float32))),
    ("item_bias", _set("item_bias", lambda a: np.zeros(4, np.float32))),
    ("indices", _set("indices", lambda a: a["indices"] + 10)),
    ("indices", _set("indices", lambda a: a["indices"].astype(np.int64))),
    ("user_factors", _set("indptr", lambda a: a["indptr"][:-1].copy())),
    ("indptr", _set("indptr", lambda a: a["indptr"] + np.arange(5))),
    ("learning_rate", _set("learning_rate", lambda a: -0.1)),
    ("reg", _set("reg", lambda a: -1.0)),
    ("reg", _set("reg", lambda a: float("nan"))),
    ("seed", _set("seed", lambda a: -1)),
    ("seed", _set("seed", lambda a: 2**64)),
    ("n_threads", _set("n_threads", lambda a: -2)),
    ("item_factors", _shared),
]


@needs_ext
@pytest.mark.parametrize(("name", "change"), BAD_INPUTS)
def test_kernel_rejects_bad_input_naming_the_argument(
    name: str, change: Callable[[dict[str, Any]], None]
) -> None:
    args = good_args()
    change(args)
    with pytest.raises(ValueError, match=f"^{name}: expected"):
        ext.bpr_epoch(**args)


@needs_ext
def test_kernel_rejects_unsorted_rows() -> None:
    args = good_args()
    args["indptr"] = np.array([0, 2, 2, 2, 2], dtype=np.int64)
    args["indices"] = np.array([3, 1], dtype=np.int32)
    with pytest.raises(ValueError, match=r"^indices: expected strictly increasing"):
        ext.bpr_epoch(**args)
