"""The Rust ALS half-step against its NumPy reference and against the textbook
dense formulation, and its argument checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender_systems.kernels import _loader
from recommender_systems.kernels.als import als_solve, als_solve_reference, gram, gram_reference
from recommender_systems.kernels.selection import csr_arrays

ext = _loader.extension
needs_ext = pytest.mark.skipif(ext is None, reason="Rust extension not built")


class Problem:
    def __init__(self, n_rows: int, n_cols: int, k: int, density: float, seed: int) -> None:
        rng = np.random.default_rng(seed)
        m = sp.csr_matrix(sp.random(n_rows, n_cols, density=density, random_state=seed))
        m.data = rng.integers(0, 5, size=m.nnz).astype(np.float32)  # includes stored zeros
        self.ratings = m.astype(np.float32)
        self.fixed = rng.standard_normal((n_cols, k)).astype(np.float32)
        self.factors = (rng.standard_normal((n_rows, k)) * 0.1).astype(np.float32)
        self.reg = rng.uniform(0.05, 3.0, n_rows).astype(np.float32)


def dense_solution(p: Problem, alpha: float) -> np.ndarray:
    """Hu, Koren and Volinsky's equations written over *every* item (no shortcut)."""
    y = p.fixed.astype(np.float64)
    out = np.zeros(p.factors.shape)
    for u in range(p.factors.shape[0]):
        row = p.ratings[u]
        confidence = np.ones(y.shape[0])
        preference = np.zeros(y.shape[0])
        confidence[row.indices] += alpha * row.data
        preference[row.indices] = 1.0
        a = y.T @ (confidence[:, None] * y) + p.reg[u] * np.eye(y.shape[1])
        out[u] = np.linalg.solve(a, y.T @ (confidence * preference))
    return out


@st.composite
def problems(draw: st.DrawFn) -> tuple[Problem, float, int]:
    """Any shape for exact solves and one CG step. Several CG steps only on
    well-conditioned systems (more fixed rows than factors): in float32, later CG
    steps on an ill-conditioned system lose orthogonality, and two correct
    implementations then drift apart by more than rounding (both still approach
    the solution; see test_conjugate_gradient_improves_on_its_warm_start)."""
    steps = draw(st.integers(0, 3))
    k = draw(st.integers(1, 10))
    n_cols = draw(st.integers(3 * k, 3 * k + 10) if steps >= 2 else st.integers(1, 15))
    problem = Problem(
        n_rows=draw(st.integers(1, 12)),
        n_cols=n_cols,
        k=k,
        density=draw(st.sampled_from([0.0, 0.2, 0.6, 1.0])),
        seed=draw(st.integers(0, 10_000)),
    )
    return problem, draw(st.sampled_from([0.0, 0.5, 4.0])), steps


@needs_ext
@settings(max_examples=150, deadline=None)
@given(problems(), st.booleans(), st.sampled_from([1, 2]))
def test_rust_matches_reference(
    problem: tuple[Problem, float, int], exact: bool, threads: int
) -> None:
    p, alpha, steps = problem
    indptr, indices = csr_arrays(p.ratings)
    ours, theirs = p.factors.copy(), p.factors.copy()
    args = (indptr, indices, p.ratings.data, p.fixed)
    ext.als_solve(*args, ours, p.reg, alpha, steps, exact, None, threads)
    als_solve_reference(*args, theirs, p.reg, alpha, cg_steps=steps, exact=exact)
    scale = max(1.0, float(np.abs(theirs).max()))
    np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-4 * scale)


@pytest.mark.parametrize("exact", [True, False])
def test_solution_matches_the_dense_textbook_equations(exact: bool) -> None:
    p = Problem(n_rows=20, n_cols=30, k=6, density=0.3, seed=7)
    # k conjugate-gradient steps solve a k-dimensional system (up to rounding).
    als_solve(p.ratings, p.fixed, p.factors, p.reg, alpha=2.0, cg_steps=6, exact=exact)
    np.testing.assert_allclose(p.factors, dense_solution(p, 2.0), rtol=1e-3, atol=1e-3)


def test_conjugate_gradient_improves_on_its_warm_start() -> None:
    p = Problem(n_rows=30, n_cols=40, k=16, density=0.3, seed=3)
    want = dense_solution(p, 1.0)
    errors = []
    for steps in (0, 1, 3):
        x = p.factors.copy()
        als_solve(p.ratings, p.fixed, x, p.reg, alpha=1.0, cg_steps=steps)
        errors.append(float(np.abs(x - want).max()))
    assert errors[0] > errors[1] > errors[2]


def test_empty_rows_get_zero_factors() -> None:
    p = Problem(n_rows=3, n_cols=4, k=2, density=0.0, seed=1)
    als_solve(p.ratings, p.fixed, p.factors, p.reg, alpha=1.0)
    assert not p.factors.any()


@needs_ext
def test_results_do_not_depend_on_threads() -> None:
    p = Problem(n_rows=300, n_cols=2500, k=8, density=0.05, seed=5)
    runs = []
    for threads in (1, 2):
        x = p.factors.copy()
        als_solve(p.ratings, p.fixed, x, p.reg, alpha=1.0, n_threads=threads)
        runs.append(x)
    np.testing.assert_array_equal(runs[0], runs[1])
    np.testing.assert_array_equal(gram(p.fixed, n_threads=1), gram(p.fixed, n_threads=2))


def test_gram_matches_numpy() -> None:
    y = np.random.default_rng(0).standard_normal((3000, 7)).astype(np.float32)
    np.testing.assert_allclose(gram(y), gram_reference(y), rtol=1e-4, atol=1e-2)


def good_args() -> dict[str, Any]:
    p = Problem(n_rows=4, n_cols=5, k=3, density=0.5, seed=2)
    indptr, indices = csr_arrays(p.ratings)
    return {
        "indptr": indptr,
        "indices": indices,
        "data": p.ratings.data,
        "fixed_factors": p.fixed,
        "factors": p.factors,
        "regularization": p.reg,
        "alpha": 1.0,
        "cg_steps": 3,
        "exact": False,
        "gram": None,
        "n_threads": 1,
    }


Change = Callable[[dict[str, Any]], None]


def _set(name: str, value: Callable[[dict[str, Any]], object]) -> Change:
    def change(args: dict[str, Any]) -> None:
        args[name] = value(args)

    return change


def _nan_at_first(name: str) -> Change:
    def change(args: dict[str, Any]) -> None:
        arr = np.array(args[name], copy=True)
        arr.flat[0] = np.nan
        args[name] = arr

    return change


def _shared(args: dict[str, Any]) -> None:
    args["factors"] = args["fixed_factors"]


BAD_INPUTS: list[tuple[str, Change]] = [
    ("factors", _set("factors", lambda a: np.ones((4, 3), np.float64))),
    ("factors", _set("factors", lambda a: np.asfortranarray(np.ones((4, 3), np.float32)))),
    ("factors", _set("factors", lambda a: np.ones((5, 3), np.float32))),
    ("factors", _set("factors", lambda a: np.ones((4, 0), np.float32))),
    ("fixed_factors", _set("fixed_factors", lambda a: np.ones((5, 2), np.float32))),
    ("fixed_factors", _set("fixed_factors", lambda a: np.ones((5, 3), np.float32)[:, ::-1])),
    ("fixed_factors", _nan_at_first("fixed_factors")),
    ("factors", _nan_at_first("factors")),
    ("data", _nan_at_first("data")),
    ("data", _set("data", lambda a: -np.asarray(a["data"]) - 1)),
    ("data", _set("data", lambda a: np.asarray(a["data"])[:-1].copy())),
    ("indices", _set("indices", lambda a: np.asarray(a["indices"]) + 7)),
    ("indices", _set("indices", lambda a: np.asarray(a["indices"]).astype(np.int64))),
    ("regularization", _set("regularization", lambda a: np.full(4, -1.0, np.float32))),
    ("regularization", _set("regularization", lambda a: np.ones(3, np.float32))),
    ("alpha", _set("alpha", lambda a: -1.0)),
    ("alpha", _set("alpha", lambda a: float("nan"))),
    ("cg_steps", _set("cg_steps", lambda a: -1)),
    ("gram", _set("gram", lambda a: np.ones((2, 2), np.float32))),
    ("n_threads", _set("n_threads", lambda a: -1)),
    ("factors", _shared),
]


@needs_ext
@pytest.mark.parametrize(("name", "change"), BAD_INPUTS)
def test_kernel_rejects_bad_input_naming_the_argument(name: str, change: Change) -> None:
    args = good_args()
    change(args)
    with pytest.raises(ValueError, match=f"^{name}: expected"):
        ext.als_solve(**args)


@needs_ext
def test_gram_kernel_rejects_nan() -> None:
    with pytest.raises(ValueError, match=r"^factors: expected finite"):
        ext.gram(np.full((2, 2), np.nan, np.float32))
