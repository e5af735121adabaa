"""The fused factor top-n kernel against its NumPy reference (dense scores, then
top-k), and the factor models' candidate step against the default one."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender_systems import ALS, BPR, SVD, Recommender
from recommender_systems.errors import ParameterError
from recommender_systems.kernels import _loader, factor_topk, factor_topk_reference
from recommender_systems.matrix_factorization import FUSED_MIN_USERS, MatrixFactorization

ext = _loader.extension
needs_ext = pytest.mark.skipif(ext is None, reason="Rust extension not built")

Problem = tuple[
    np.ndarray, np.ndarray, np.ndarray, int, np.ndarray | None, sp.csr_matrix, np.ndarray | None
]


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    """Small-integer factors: every dot product is exact in float32 whatever the
    summation order, so the kernel must equal the reference exactly, ties included."""
    n_users = draw(st.integers(1, 8))
    n_items = draw(st.integers(0, 40))
    f = draw(st.integers(1, 6))
    ints = st.integers(-2, 2)
    u = np.array(draw(st.lists(ints, min_size=n_users * f, max_size=n_users * f)), np.float32)
    v = np.array(draw(st.lists(ints, min_size=n_items * f, max_size=n_items * f)), np.float32)
    users = np.array(draw(st.lists(st.integers(0, n_users - 1), min_size=0, max_size=12)), np.int64)
    bias = None
    if draw(st.booleans()):
        bias = np.array(
            draw(
                st.lists(
                    st.sampled_from([0.0, 1.0, -1.0, 2.5, -np.inf]),
                    min_size=n_items,
                    max_size=n_items,
                )
            ),
            np.float32,
        )
    cells = users.size * n_items
    mask = np.array(draw(st.lists(st.booleans(), min_size=cells, max_size=cells)), bool)
    mask = mask.reshape(users.size, n_items)
    if users.size and draw(st.booleans()):
        mask[draw(st.integers(0, users.size - 1))] = True  # a user who has seen everything
    if users.size and draw(st.booleans()):
        mask[draw(st.integers(0, users.size - 1))] = False  # a user who has seen nothing
    allowed = None
    if draw(st.booleans()):
        allowed = np.array(
            draw(st.lists(st.booleans(), min_size=n_items, max_size=n_items)), dtype=bool
        )
    k = draw(st.integers(0, n_items + 5))  # includes n beyond the catalogue
    return (
        u.reshape(n_users, f),
        users,
        v.reshape(n_items, f),
        k,
        bias,
        sp.csr_matrix(mask.astype(np.float32)),
        allowed,
    )


@needs_ext
@settings(max_examples=400, deadline=None)
@given(problems(), st.sampled_from([0, 1, 2]))
def test_rust_equals_reference_on_exact_scores(problem: Problem, threads: int) -> None:
    u, users, v, k, bias, seen, allowed = problem
    got = factor_topk(u, users, v, k, bias=bias, exclude=seen, allowed=allowed, n_threads=threads)
    indptr, indices = seen.indptr.astype(np.int64), seen.indices.astype(np.int32)
    want = factor_topk_reference(u, users, v, k, bias, indptr, indices, allowed)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@needs_ext
@pytest.mark.parametrize("with_bias", [False, True])
def test_large_parallel_problem_with_ties_matches_reference(with_bias: bool) -> None:
    # Many users and items over several tiles and user blocks, integer factors
    # with many ties, a power-law of norms so that the norm bound prunes.
    rng = np.random.default_rng(1)
    u = rng.integers(-3, 4, size=(700, 8)).astype(np.float32)
    v = rng.integers(-3, 4, size=(3000, 8)).astype(np.float32)
    v[500:] = np.sign(v[500:])  # most items have small norms
    bias = rng.integers(-2, 3, size=3000).astype(np.float32) if with_bias else None
    users = rng.integers(0, 700, size=1500).astype(np.int64)
    seen = sp.csr_matrix(sp.random(1500, 3000, density=0.02, random_state=2, dtype=np.float32))
    keep = np.ones(1500, np.float32)
    keep[7] = 0  # a user who has seen nothing
    seen = sp.csr_matrix(seen.multiply(keep[:, None]))
    seen.eliminate_zeros()
    allowed = rng.random(3000) < 0.9
    for k, mask in [(10, None), (25, allowed), (3001, None)]:
        got = factor_topk(u, users, v, k, bias=bias, exclude=seen, allowed=mask, n_threads=2)
        want = factor_topk_reference(
            u,
            users,
            v,
            k,
            bias,
            seen.indptr.astype(np.int64),
            seen.indices.astype(np.int32),
            mask,
        )
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


@needs_ext
def test_float_factors_give_a_true_top_n() -> None:
    # With float factors the kernel's dot products differ from BLAS's by rounding
    # only: each list must be a correct top-n of the exact (float64) scores, up to
    # float32 rounding.
    rng = np.random.default_rng(3)
    u = rng.standard_normal((300, 64)).astype(np.float32)
    v = (rng.standard_normal((5000, 64)) * rng.pareto(2.0, (5000, 1))).astype(np.float32)
    bias = rng.standard_normal(5000).astype(np.float32)
    users = np.arange(300, dtype=np.int64)
    got_idx, got_val = factor_topk(u, users, v, 20, bias=bias, n_threads=2)
    exact = u.astype(np.float64) @ v.T.astype(np.float64) + bias
    want_idx, want_val = factor_topk_reference(u, users, v, 20, bias)
    np.testing.assert_allclose(got_val, want_val, rtol=1e-5, atol=1e-4)
    kth = np.sort(exact, axis=1)[:, -20]
    chosen = np.take_along_axis(exact, got_idx, axis=1)
    assert np.all(chosen >= kth[:, None] - 1e-4)
    assert all(np.unique(row).size == row.size for row in got_idx)
    assert (got_idx == want_idx).mean() > 0.99


@needs_ext
def test_bad_arguments_raise_parameter_errors() -> None:
    u = np.ones((2, 3), np.float32)
    v = np.ones((4, 3), np.float32)
    with pytest.raises(ParameterError, match="users"):
        factor_topk(u, np.array([2]), v, 1)
    with pytest.raises(ParameterError, match="users"):
        factor_topk(u, np.array([-1]), v, 1)
    with pytest.raises(ParameterError, match="bias"):
        factor_topk(u, np.array([0]), v, 1, bias=np.ones(3, np.float32))
    with pytest.raises(ParameterError, match="allowed"):
        factor_topk(u, np.array([0]), v, 1, allowed=np.ones(3, bool))
    with pytest.raises(ParameterError, match="item_factors"):
        factor_topk(u, np.array([0]), np.ones((4, 2), np.float32), 1)
    with pytest.raises(ParameterError, match="exclude"):
        factor_topk(u, np.array([0]), v, 1, exclude=sp.csr_matrix(np.zeros((2, 4), np.float32)))


def _interactions(seed: int) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    n_users, n_items = 300, 120
    popularity = rng.pareto(1.5, n_items) + 0.1
    rows, cols = [], []
    for user in range(n_users):
        chosen = rng.choice(
            n_items, size=rng.integers(1, 25), replace=False, p=popularity / popularity.sum()
        )
        rows.extend([user] * chosen.size)
        cols.extend(chosen.tolist())
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, n_items))


@needs_ext
@pytest.mark.parametrize(
    "model",
    [
        ALS(n_factors=16, epochs=3, random_state=0),
        BPR(n_factors=16, epochs=3, random_state=0),
        SVD(n_factors=16),
    ],
    ids=["ALS", "BPR", "SVD"],
)
def test_models_fused_step_equals_the_dense_step(model: MatrixFactorization) -> None:
    model.fit(_interactions(0), progress=False)
    users = np.arange(len(model.user_ids_), dtype=np.int64)
    assert users.size >= FUSED_MIN_USERS
    seen = model.user_items_
    allowed = np.ones(len(model.item_ids_), bool)
    allowed[::3] = False
    for mask in (None, allowed):
        got = model._top_candidates(users, 10, seen, mask)
        want = Recommender._top_candidates(model, users, 10, seen, mask)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-5, atol=1e-6)
        assert (got[0] == want[0]).mean() > 0.99
        # Where the lists differ, the scores tie up to rounding.
        differ = got[0] != want[0]
        np.testing.assert_allclose(got[1][differ], want[1][differ], rtol=1e-5, atol=1e-6)
