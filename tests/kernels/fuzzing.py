"""Generated calls of every kernel binding, valid and broken, and the one rule they obey.

A call starts from a valid problem (including zero rows, zero columns, empty
rows and ``k`` beyond the catalogue), then up to :data:`MAX_DEFECTS` arguments
are broken: CSR arrays that are inconsistent (``indptr`` not monotone, not
starting at 0 or not ending at ``nnz``; indices out of range; lengths that do
not match), wrong dtypes, ranks and layouts, read-only or shared outputs, NaN
and infinities, and scalars that are negative, huge, NaN or of the wrong type.

:func:`check` runs one call: the binding either raises an error of
``recommender_systems.errors`` or returns what the NumPy reference returns for
the same arguments. Anything else (another exception, a different result) fails.
Used by ``tests/kernels/test_fuzz.py`` (a bounded run in CI) and by
``benchmarks/fuzz_kernels.py`` (a long run that counts the outcomes).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from hypothesis import strategies as st

from recommender_systems.errors import RecsysError
from recommender_systems.kernels import (
    _loader,
    factor_topk_reference,
    sparse_topk_product_reference,
    topk_reference,
)
from recommender_systems.kernels.als import als_solve_reference, gram_reference
from recommender_systems.kernels.bpr import bpr_epoch_reference
from recommender_systems.kernels.product import (
    product_topk_reference,
    row_product_topk_reference,
    sparse_gram_reference,
    transposed_product_reference,
)

ext = _loader.extension

#: The most arguments one generated call breaks.
MAX_DEFECTS = 2

Args = dict[str, Any]


@dataclass(frozen=True)
class Binding:
    """A kernel binding, how to generate its valid calls, and its reference."""

    name: str
    valid: Callable[[st.DrawFn], Args]
    #: Argument name -> kind of defects it can get (see ``DEFECTS``).
    kinds: dict[str, str]
    #: Compares the binding's result (``got``, and the arguments after the call)
    #: with the reference run on ``before`` (a copy of the arguments).
    compare: Callable[[Any, Args, Args], None]


# ----------------------------------------------------------------- valid calls
SPECIAL_SCORES = [0.0, 1.0, 2.0, -1.5, 3.25, np.nan, -np.inf, np.inf]
SMALL_VALUES = [0.0, 0.0, 1.0, 2.0, -1.0, 0.5]  # sums are exact in any order


def _pattern(draw: st.DrawFn, rows: int, cols: int, values: list[float] | None) -> sp.csr_matrix:
    mask = np.array(
        draw(st.lists(st.booleans(), min_size=rows * cols, max_size=rows * cols)), dtype=bool
    ).reshape(rows, cols)
    data = np.ones((rows, cols), np.float32)
    if values is not None:
        data = np.array(
            draw(st.lists(st.sampled_from(values), min_size=rows * cols, max_size=rows * cols)),
            dtype=np.float32,
        ).reshape(rows, cols)
    m = sp.csr_matrix(np.where(mask, data, 0).astype(np.float32))
    m.sort_indices()
    return m


def _csr_args(m: sp.csr_matrix, prefix: str = "") -> Args:
    return {
        f"{prefix}indptr": m.indptr.astype(np.int64),
        f"{prefix}indices": m.indices.astype(np.int32),
        f"{prefix}data": m.data.astype(np.float32),
    }


def _k(draw: st.DrawFn, n: int) -> int:
    return draw(st.sampled_from([0, 1, 2, n, n + 3, 2**62, 2**64 + 1]))


def _threads(draw: st.DrawFn) -> int:
    return draw(st.sampled_from([0, 1, 2, 3, 64, 1024]))


def _topk_valid(draw: st.DrawFn) -> Args:
    rows, cols = draw(st.integers(0, 8)), draw(st.integers(0, 12))
    values = st.sampled_from(SPECIAL_SCORES)
    scores = np.array(
        draw(st.lists(values, min_size=rows * cols, max_size=rows * cols)), dtype=np.float32
    ).reshape(rows, cols)
    args: Args = {"scores": scores, "k": _k(draw, cols), "n_threads": _threads(draw)}
    if draw(st.booleans()):
        exclude = _csr_args(_pattern(draw, rows, cols, None), "exclude_")
        args["exclude_indptr"], args["exclude_indices"] = (
            exclude["exclude_indptr"],
            exclude["exclude_indices"],
        )
    return args


def _factor_topk_valid(draw: st.DrawFn) -> Args:
    n_users, n_items, f = draw(st.integers(0, 6)), draw(st.integers(0, 12)), draw(st.integers(1, 4))

    def small(rows: int, cols: int) -> np.ndarray:
        values = st.sampled_from(SMALL_VALUES)  # sums are exact in any order
        cells = rows * cols
        return np.array(draw(st.lists(values, min_size=cells, max_size=cells)), np.float32).reshape(
            rows, cols
        )

    users = np.array(
        draw(st.lists(st.integers(0, max(0, n_users - 1)), max_size=8 if n_users else 0)),
        np.int64,
    )
    args: Args = {
        "user_factors": small(n_users, f),
        "users": users,
        "item_factors": small(n_items, f),
        "k": _k(draw, n_items),
        "n_threads": _threads(draw),
    }
    if draw(st.booleans()):
        args["bias"] = small(1, n_items)[0].copy()
    if draw(st.booleans()):
        exclude = _csr_args(_pattern(draw, users.size, n_items, None), "exclude_")
        args["exclude_indptr"], args["exclude_indices"] = (
            exclude["exclude_indptr"],
            exclude["exclude_indices"],
        )
    if draw(st.booleans()):
        cells = st.lists(st.booleans(), min_size=n_items, max_size=n_items)
        args["allowed"] = np.array(draw(cells), dtype=bool)
    return args


def _knn_valid(draw: st.DrawFn) -> Args:
    rows, mid = draw(st.integers(0, 8)), draw(st.integers(0, 8))
    x = _pattern(draw, rows, mid, SMALL_VALUES)
    args: Args = {
        **_csr_args(x, "a_"),
        **_csr_args(x.T.tocsr(), "b_"),
        "n_cols": rows,
        "k": _k(draw, rows),
        "exclude_diagonal": draw(st.booleans()),
        "n_threads": _threads(draw),
    }
    if draw(st.booleans()):
        # Columns beyond those b uses: the result does not change.
        args["n_cols"] = draw(st.sampled_from([rows, rows + 5, 2**31 - 1]))
    measure = draw(st.sampled_from(["dot", "cosine", "jaccard"]))
    args["measure"] = measure
    if measure != "dot":
        norms = st.sampled_from([0.0, 1.0, 2.0, 4.0])
        args["row_norms"] = np.array(draw(st.lists(norms, min_size=rows, max_size=rows)), "f4")
        args["col_norms"] = np.array(draw(st.lists(norms, min_size=rows, max_size=rows)), "f4")
        args["shrink"] = draw(st.sampled_from([0.0, 0.5, 1.0]))
    return args


def _factors(draw: st.DrawFn, rows: int, k: int, scale: float = 0.1) -> np.ndarray:
    seed = draw(st.integers(0, 2**32 - 1))
    return (np.random.default_rng(seed).standard_normal((rows, k)) * scale).astype(np.float32)


def _bpr_valid(draw: st.DrawFn) -> Args:
    users, items, k = draw(st.integers(0, 8)), draw(st.integers(0, 8)), draw(st.integers(1, 6))
    m = _pattern(draw, users, items, None)
    return {
        "indptr": m.indptr.astype(np.int64),
        "indices": m.indices.astype(np.int32),
        "user_factors": _factors(draw, users, k),
        "item_factors": _factors(draw, items, k),
        "item_bias": _factors(draw, 1, items)[0] if draw(st.booleans()) else None,
        "learning_rate": draw(st.sampled_from([0.0, 0.01, 0.1])),
        "reg": draw(st.sampled_from([0.0, 0.01, 0.1])),
        "seed": draw(st.sampled_from([0, 1, 2**63, 2**64 - 1])),
        "n_threads": _threads(draw),
    }


def _als_valid(draw: st.DrawFn) -> Args:
    # Well-conditioned systems (more fixed rows than factors, some regularisation),
    # so that any number of float32 CG steps agrees with the reference.
    rows, k = draw(st.integers(0, 8)), draw(st.integers(1, 5))
    cols = draw(st.integers(3 * k, 3 * k + 6))
    m = _pattern(draw, rows, cols, [0.0, 1.0, 2.0, 4.0])
    exact = draw(st.booleans())
    args: Args = {
        **_csr_args(m),
        "fixed_factors": _factors(draw, cols, k, scale=1.0),
        "factors": _factors(draw, rows, k),
        "regularization": np.full(rows, draw(st.sampled_from([0.1, 1.0])), np.float32),
        "alpha": draw(st.sampled_from([0.0, 0.5, 4.0])),
        "cg_steps": draw(st.sampled_from([0, 1, 3, 50, 2**40])),
        "exact": exact,
        "n_threads": _threads(draw),
    }
    if draw(st.booleans()):
        args["gram"] = gram_reference(args["fixed_factors"])
    return args


def _gram_valid(draw: st.DrawFn) -> Args:
    rows, k = draw(st.integers(0, 30)), draw(st.integers(0, 6))
    return {"factors": _factors(draw, rows, k, scale=1.0), "n_threads": _threads(draw)}


def _product_valid(draw: st.DrawFn) -> Args:
    rows, mid, cols = draw(st.integers(0, 8)), draw(st.integers(0, 8)), draw(st.integers(0, 8))
    cells = st.lists(st.sampled_from(SMALL_VALUES), min_size=mid * cols, max_size=mid * cols)
    args: Args = {
        **_csr_args(_pattern(draw, rows, mid, SMALL_VALUES)),
        "dense": np.array(draw(cells), dtype=np.float32).reshape(mid, cols),
        "n_threads": _threads(draw),
    }
    if draw(st.booleans()):
        scales = st.lists(st.sampled_from(SMALL_VALUES), min_size=rows, max_size=rows)
        args["scale"] = np.array(draw(scales), dtype=np.float32)
    return args


def _sparse_gram_valid(draw: st.DrawFn) -> Args:
    rows, cols = draw(st.integers(0, 8)), draw(st.integers(0, 8))
    return {
        **_csr_args(_pattern(draw, rows, cols, SMALL_VALUES)),
        # Columns no row uses: zero rows and columns of the Gram matrix.
        "n_cols": cols + draw(st.sampled_from([0, 0, 1, 5])),
        "n_threads": _threads(draw),
    }


# ------------------------------------------------------------------ comparisons
def _compare_topk(got: Any, args: Args, before: Args) -> None:
    want = topk_reference(
        before["scores"],
        before["k"],
        before.get("exclude_indptr"),
        before.get("exclude_indices"),
    )
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def _compare_factor_topk(got: Any, args: Args, before: Args) -> None:
    want = factor_topk_reference(
        before["user_factors"],
        before["users"],
        before["item_factors"],
        before["k"],
        before.get("bias"),
        before.get("exclude_indptr"),
        before.get("exclude_indices"),
        before.get("allowed"),
    )
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def _compare_knn(got: Any, args: Args, before: Args) -> None:
    b_indices = before["b_indices"]
    # Only the columns b uses matter (n_cols may be 2**31 - 1).
    n_cols = min(before["n_cols"], int(b_indices.max()) + 1 if b_indices.size else 0)
    n_mid = before["b_indptr"].size - 1
    a = sp.csr_matrix(
        (before["a_data"], before["a_indices"], before["a_indptr"]),
        shape=(before["a_indptr"].size - 1, n_mid),
    )
    b = sp.csr_matrix(
        (before["b_data"], b_indices, before["b_indptr"]), shape=(n_mid, max(n_cols, 0))
    )
    col_norms = before.get("col_norms")
    want = sparse_topk_product_reference(
        a,
        b,
        min(before["k"], 2**62),
        measure=before.get("measure", "dot"),
        row_norms=before.get("row_norms"),
        col_norms=None if col_norms is None else col_norms[: b.shape[1]],
        shrink=before.get("shrink", 0.0),
        exclude_diagonal=before.get("exclude_diagonal", False),
    )
    np.testing.assert_array_equal(got[0], want.indptr)
    np.testing.assert_array_equal(got[1], want.indices)
    np.testing.assert_array_equal(got[2], want.data)


def _compare_bpr(got: Any, args: Args, before: Args) -> None:
    want = bpr_epoch_reference(
        before["indptr"],
        before["indices"],
        before["user_factors"],
        before["item_factors"],
        before["item_bias"],
        before["learning_rate"],
        before["reg"],
        before["seed"],
    )
    assert got[1:] == want[1:]
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5, atol=1e-5)
    for name in ("user_factors", "item_factors", "item_bias"):
        if before[name] is not None:
            np.testing.assert_allclose(args[name], before[name], rtol=1e-4, atol=1e-6)


def _compare_als(got: Any, args: Args, before: Args) -> None:
    assert got is None
    als_solve_reference(
        before["indptr"],
        before["indices"],
        before["data"],
        before["fixed_factors"],
        before["factors"],
        before["regularization"],
        before["alpha"],
        cg_steps=before.get("cg_steps", 3),
        exact=before.get("exact", False),
        gram=before.get("gram"),
    )
    scale = max(1.0, float(np.abs(before["factors"]).max(initial=0.0)))
    np.testing.assert_allclose(args["factors"], before["factors"], rtol=1e-3, atol=1e-4 * scale)


def _compare_gram(got: Any, args: Args, before: Args) -> None:
    want = gram_reference(before["factors"])
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def _product_f64_valid(draw: st.DrawFn) -> Args:
    args = _product_valid(draw)
    args.pop("scale", None)
    args["data"] = args["data"].astype(np.float64)
    args["dense"] = args["dense"].astype(np.float64)
    return args


def _product_topk_valid(draw: st.DrawFn) -> Args:
    args = _product_valid(draw)
    rows, cols = args["indptr"].size - 1, args["dense"].shape[1]
    args["k"] = _k(draw, rows)
    if draw(st.booleans()):  # some columns of dense, in any order, repeats allowed
        picks = st.lists(st.integers(0, cols - 1), max_size=6) if cols else st.just([])
        args["columns"] = np.array(draw(picks), dtype=np.int64)
        cols = args["columns"].size
    if draw(st.booleans()):
        exclude = _csr_args(_pattern(draw, cols, rows, None), "exclude_")
        args["exclude_indptr"] = exclude["exclude_indptr"]
        args["exclude_indices"] = exclude["exclude_indices"]
    if draw(st.booleans()):
        args["allowed"] = np.array(draw(st.lists(st.booleans(), min_size=rows, max_size=rows)))
    return args


def _row_product_topk_valid(draw: st.DrawFn) -> Args:
    args = _product_valid(draw)
    args.pop("scale", None)
    rows, cols = args["indptr"].size - 1, args["dense"].shape[1]
    args["k"] = _k(draw, cols)
    if draw(st.booleans()):
        exclude = _csr_args(_pattern(draw, rows, cols, None), "exclude_")
        args["exclude_indptr"] = exclude["exclude_indptr"]
        args["exclude_indices"] = exclude["exclude_indices"]
    if draw(st.booleans()):
        args["allowed"] = np.array(draw(st.lists(st.booleans(), min_size=cols, max_size=cols)))
    return args


def _exact_sums(before: Args) -> bool:
    """Whether every sum of the product is exact in any order and with or without a
    fused multiply-add: no finite value so large that the two may overflow apart."""
    dense = before["dense"]
    return not (np.isfinite(dense) & (np.abs(dense) > 1e30)).any()


def _compare_product(got: Any, args: Args, before: Args) -> None:
    want = transposed_product_reference(
        before["indptr"], before["indices"], before["data"], before["dense"], before.get("scale")
    )
    assert got.shape == want.shape and got.dtype == np.float32
    if _exact_sums(before):
        np.testing.assert_array_equal(got, want)


def _compare_product_f64(got: Any, args: Args, before: Args) -> None:
    want = transposed_product_reference(
        before["indptr"], before["indices"], before["data"], before["dense"]
    )
    assert got.shape == want.shape and got.dtype == np.float64
    np.testing.assert_array_equal(got, want)  # small exact values, or inf / NaN alike


def _compare_sparse_gram(double: bool) -> Callable[[Any, Args, Args], None]:
    def compare(got: Any, args: Args, before: Args) -> None:
        want = sparse_gram_reference(
            before["indptr"], before["indices"], before["data"], before["n_cols"], double
        )
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)  # small values: exact sums in any order

    return compare


def _compare_product_topk(got: Any, args: Args, before: Args) -> None:
    want = product_topk_reference(
        before["indptr"],
        before["indices"],
        before["data"],
        before["dense"],
        min(before["k"], 2**62),
        before.get("columns"),
        before.get("scale"),
        before.get("exclude_indptr"),
        before.get("exclude_indices"),
        before.get("allowed"),
    )
    assert got[0].shape == want[0].shape and got[1].dtype == np.float32
    if _exact_sums(before):
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


def _compare_row_product_topk(got: Any, args: Args, before: Args) -> None:
    want = row_product_topk_reference(
        before["indptr"],
        before["indices"],
        before["data"],
        before["dense"],
        min(before["k"], 2**62),
        before.get("exclude_indptr"),
        before.get("exclude_indices"),
        before.get("allowed"),
    )
    assert got[0].shape == want[0].shape and got[1].dtype == np.float32
    # SciPy's sums, in the same order and unfused: equal even when they round.
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


BINDINGS: dict[str, Binding] = {
    b.name: b
    for b in [
        Binding(
            "topk",
            _topk_valid,
            {
                "scores": "dense2d",
                "k": "count",
                "exclude_indptr": "indptr",
                "exclude_indices": "indices",
                "n_threads": "threads",
            },
            _compare_topk,
        ),
        Binding(
            "factor_topk",
            _factor_topk_valid,
            {
                "user_factors": "factors2d",
                "users": "indices",
                "item_factors": "factors2d",
                "k": "count",
                "bias": "norms",
                "exclude_indptr": "indptr",
                "exclude_indices": "indices",
                "allowed": "mask",
                "n_threads": "threads",
            },
            _compare_factor_topk,
        ),
        Binding(
            "sparse_topk_product",
            _knn_valid,
            {
                "a_indptr": "indptr",
                "a_indices": "indices",
                "a_data": "data",
                "b_indptr": "indptr",
                "b_indices": "indices",
                "b_data": "data",
                "n_cols": "count",
                "k": "count",
                "measure": "choice",
                "row_norms": "norms",
                "col_norms": "norms",
                "shrink": "number",
                "exclude_diagonal": "flag",
                "n_threads": "threads",
            },
            _compare_knn,
        ),
        Binding(
            "bpr_epoch",
            _bpr_valid,
            {
                "indptr": "indptr",
                "indices": "indices",
                "user_factors": "output2d",
                "item_factors": "output2d",
                "item_bias": "output1d",
                "learning_rate": "number",
                "reg": "number",
                "seed": "count",
                "n_threads": "threads",
            },
            _compare_bpr,
        ),
        Binding(
            "als_solve",
            _als_valid,
            {
                "indptr": "indptr",
                "indices": "indices",
                "data": "data",
                "fixed_factors": "factors2d",
                "factors": "output2d",
                "regularization": "data",
                "alpha": "number",
                "cg_steps": "count",
                "exact": "flag",
                "gram": "factors2d",
                "n_threads": "threads",
            },
            _compare_als,
        ),
        Binding(
            "gram", _gram_valid, {"factors": "factors2d", "n_threads": "threads"}, _compare_gram
        ),
        Binding(
            "transposed_product",
            _product_valid,
            {
                "indptr": "indptr",
                "indices": "indices",
                "data": "data",
                "dense": "dense2d",
                "scale": "norms",
                "n_threads": "threads",
            },
            _compare_product,
        ),
        Binding(
            "transposed_product_f64",
            _product_f64_valid,
            {
                "indptr": "indptr",
                "indices": "indices",
                "data": "data",
                "dense": "dense2d",
                "n_threads": "threads",
            },
            _compare_product_f64,
        ),
        Binding(
            "sparse_gram",
            _sparse_gram_valid,
            {
                "indptr": "indptr",
                "indices": "indices",
                "data": "data",
                "n_cols": "count",
                "n_threads": "threads",
            },
            _compare_sparse_gram(double=False),
        ),
        Binding(
            "sparse_gram_f64",
            _sparse_gram_valid,
            {
                "indptr": "indptr",
                "indices": "indices",
                "data": "data",
                "n_cols": "count",
                "n_threads": "threads",
            },
            _compare_sparse_gram(double=True),
        ),
        Binding(
            "product_topk",
            _product_topk_valid,
            {
                "indptr": "indptr",
                "indices": "indices",
                "data": "data",
                "dense": "dense2d",
                "k": "count",
                "columns": "indices",
                "scale": "norms",
                "exclude_indptr": "indptr",
                "exclude_indices": "indices",
                "allowed": "mask",
                "n_threads": "threads",
            },
            _compare_product_topk,
        ),
        Binding(
            "row_product_topk",
            _row_product_topk_valid,
            {
                "indptr": "indptr",
                "indices": "indices",
                "data": "data",
                "dense": "dense2d",
                "k": "count",
                "exclude_indptr": "indptr",
                "exclude_indices": "indices",
                "allowed": "mask",
                "n_threads": "threads",
            },
            _compare_row_product_topk,
        ),
    ]
}


# --------------------------------------------------------------------- defects
def _non_contiguous(a: np.ndarray) -> np.ndarray:
    if a.ndim == 2:
        return np.asfortranarray(a) if a.shape[0] > 1 and a.shape[1] > 1 else a[:, ::-1]
    return np.repeat(a, 2)[::2]


def _assign(a: np.ndarray, position: int, value: float) -> np.ndarray:
    """A copy of ``a`` with ``value`` at flat ``position`` (widening the dtype if
    an earlier defect made it too narrow for the value)."""
    out = np.array(a, copy=True)
    try:
        out.flat[position] = value
    except (ValueError, OverflowError):
        out = out.astype(np.result_type(out.dtype, np.asarray(value).dtype))
        out.flat[position] = value
    return out


def _poke(value: float) -> Callable[[np.ndarray, st.DrawFn], Any]:
    def poke(a: np.ndarray, draw: st.DrawFn) -> Any:
        if a.size == 0:
            return a
        return _assign(a, draw(st.integers(0, a.size - 1)), value)

    return poke


def _shift_entry(a: np.ndarray, draw: st.DrawFn) -> Any:
    if a.size == 0:
        return np.array([1], a.dtype)
    position = draw(st.integers(0, a.size - 1))
    shift = draw(st.sampled_from([-3, -1, 1, 5]))
    return _assign(a, position, a.flat[position].item() + shift)


def _swap(a: np.ndarray, draw: st.DrawFn) -> Any:
    if a.size < 2:
        return a[::-1].copy()
    i = draw(st.integers(0, a.size - 2))
    first, second = a.flat[i].item(), a.flat[i + 1].item()
    return _assign(_assign(a, i, second + 1), i + 1, first)


def _drop_column(a: np.ndarray, draw: st.DrawFn) -> Any:
    return a[..., :-1].copy()


def _wide(a: np.ndarray, draw: st.DrawFn) -> Any:
    # 2**17 factors: a (2**17, 2**17) Gram matrix is 64 GiB.
    return np.zeros((a.shape[0] if a.ndim == 2 else 0, 2**17), np.float32)


def _read_only(a: np.ndarray, draw: st.DrawFn) -> Any:
    out = a.copy()
    out.setflags(write=False)
    return out


def _retyped(a: np.ndarray, draw: st.DrawFn) -> Any:
    with np.errstate(invalid="ignore", over="ignore"):
        return a.astype(draw(st.sampled_from([np.int32, np.int64, np.float64, np.uint8])))


ARRAY_DEFECTS: list[Callable[[np.ndarray, st.DrawFn], Any]] = [
    _retyped,
    lambda a, draw: _non_contiguous(a),
    lambda a, draw: a.reshape(1, *a.shape),
    lambda a, draw: a.tolist(),
    lambda a, draw: None,
    lambda a, draw: 3,
    lambda a, draw: a[:-1].copy(),
    lambda a, draw: np.concatenate([a, a[:1]]) if a.ndim else a,
]
SCALAR_DEFECTS: dict[str, list[Any]] = {
    "count": [-1, -(2**70), 2**64, 2**100, 2.5, float("nan"), "3", True, None, np.int8(-2)],
    "threads": [-1, 1025, 2**31, 2**64, 2**100, 1.0, "2", True, None],
    "number": [-1.0, float("nan"), float("inf"), -float("inf"), 1e300, "x", True, None, [1.0]],
    "flag": [1, "yes", None, 0.0],
    "choice": ["euclid", 3, None, b"dot"],
}
KIND_DEFECTS: dict[str, list[Callable[[np.ndarray, st.DrawFn], Any]]] = {
    "indptr": [_shift_entry, _swap, _poke(-1), _poke(2**40), lambda a, d: np.zeros(0, a.dtype)],
    "indices": [_poke(-1), _poke(2**31 - 1), _poke(10**6), _shift_entry],
    "data": [_poke(np.nan), _poke(np.inf), _poke(-np.inf), _poke(-1.0)],
    "norms": [_poke(np.nan), _poke(np.inf), _poke(3e38), _drop_column],
    "dense2d": [_poke(np.nan), _poke(np.inf), _poke(-np.inf), _poke(3e38), _read_only],
    "factors2d": [_poke(np.nan), _poke(np.inf), _drop_column, _read_only, _wide],
    "output2d": [_poke(np.nan), _read_only, _drop_column],
    "output1d": [_poke(np.inf), _read_only],
}


def _shared_with(arrays: list[np.ndarray]) -> Callable[[np.ndarray, st.DrawFn], Any]:
    """A defect: the argument becomes one of ``arrays`` (memory shared with another)."""

    def shared(a: np.ndarray, draw: st.DrawFn) -> Any:
        return draw(st.sampled_from(arrays))

    return shared


@st.composite
def calls(draw: st.DrawFn, binding: Binding) -> Args:
    """A call of ``binding``: valid, then with up to ``MAX_DEFECTS`` broken arguments."""
    args = binding.valid(draw)
    for _ in range(draw(st.integers(0, MAX_DEFECTS))):
        name = draw(st.sampled_from(sorted(binding.kinds)))
        kind = binding.kinds[name]
        value = args.get(name)
        arrays = [v for k, v in args.items() if isinstance(v, np.ndarray) and k != name]
        if kind in SCALAR_DEFECTS:
            args[name] = draw(st.sampled_from(SCALAR_DEFECTS[kind]))
        elif isinstance(value, np.ndarray):
            defects = KIND_DEFECTS.get(kind, []) + ARRAY_DEFECTS
            if kind.startswith("output") and arrays:
                # An output that shares its memory with another argument.
                defects = [*defects, _shared_with(arrays)]
            args[name] = draw(st.sampled_from(defects))(value, draw)
        elif arrays:
            # An optional array that was left out, given as another argument's.
            args[name] = draw(st.sampled_from(arrays))
    return args


def check(binding: Binding, args: Args) -> str:
    """Runs one call; returns ``"ok"`` or the name of the typed error it raised.

    Raises ``AssertionError`` when the result differs from the reference, and
    lets any exception that is not a ``RecsysError`` through.
    """
    assert ext is not None
    before = copy.deepcopy(args)
    try:
        got = getattr(ext, binding.name)(**args)
    except RecsysError as exc:
        return type(exc).__name__
    binding.compare(got, args, before)
    return "ok"
