"""The public kernel functions refuse the same arguments with and without the extension.

With the extension the Rust bindings check the arguments; without it the NumPy
references do (``kernels/_checks.py``). Both raise ``ParameterError`` with the same
message up to the received value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from recommender_systems.errors import ParameterError
from recommender_systems.kernels import _loader, als, bpr, product, selection, similarity

needs_ext = pytest.mark.skipif(not _loader.RUST, reason="Rust extension not built")

MODULES = (als, bpr, product, selection, similarity)


def _pattern() -> sp.csr_matrix:
    return sp.csr_matrix(np.array([[1, 0, 1], [0, 1, 0]], dtype=np.float32))


def _als(**change: Any) -> None:
    args: dict[str, Any] = {
        "ratings": _pattern(),
        "fixed_factors": np.ones((3, 2), np.float32),
        "factors": np.zeros((2, 2), np.float32),
        "regularization": np.ones(2, np.float32),
        "alpha": 1.0,
    }
    args.update(change)
    als.als_solve(**args)


def _bpr(**change: Any) -> None:
    args: dict[str, Any] = {
        "positives": _pattern(),
        "user_factors": np.full((2, 2), 0.1, np.float32),
        "item_factors": np.full((3, 2), 0.1, np.float32),
        "item_bias": None,
        "learning_rate": 0.1,
        "reg": 0.01,
        "seed": 1,
    }
    args.update(change)
    bpr.bpr_epoch(**args)


def _knn(**change: Any) -> None:
    x = _pattern()
    args: dict[str, Any] = {"a": x, "b": x.T.tocsr(), "k": 2}
    args.update(change)
    similarity.sparse_topk_product(**args)


def _gram(**change: Any) -> None:
    args: dict[str, Any] = {"matrix": _pattern()}
    args.update(change)
    product.sparse_gram(**args)


def _row_product(**change: Any) -> None:
    args: dict[str, Any] = {"sparse": _pattern(), "dense": np.ones((3, 2), np.float32), "k": 2}
    args.update(change)
    product.row_product_topk(**args)


def _topk(**change: Any) -> None:
    args: dict[str, Any] = {"scores": np.ones((2, 3), np.float32), "k": 2}
    args.update(change)
    selection.topk(**args)


CASES: list[tuple[Callable[..., None], dict[str, Any], str]] = [
    (_topk, {"k": -1}, "k: expected an integer >= 0"),
    (_topk, {"n_threads": 5000}, "n_threads: expected an integer in [0, 1024]"),
    (_topk, {"scores": np.ones(3, np.float32)}, "scores: expected a C-contiguous 2-D float32"),
    (_gram, {"n_threads": -1}, "n_threads: expected an integer >= 0"),
    (_gram, {"dtype": np.int64}, "dtype: expected float32 or float64"),
    (
        _gram,
        {"matrix": sp.csr_matrix(np.array([[np.inf]], np.float32))},
        "data: expected finite values",
    ),
    (_row_product, {"k": -1}, "k: expected an integer >= 0"),
    (_row_product, {"n_threads": -1}, "n_threads: expected an integer >= 0"),
    (_row_product, {"allowed": np.ones(3, bool)}, "allowed: expected length 2"),
    (
        _row_product,
        {"dense": np.ones((3, 2), np.float64)},
        "dense: expected a C-contiguous 2-D float32",
    ),
    (
        _row_product,
        {"sparse": sp.csr_matrix(np.array([[np.nan, 0, 1]], np.float32))},
        "data: expected finite values",
    ),
    (_knn, {"k": 2.5}, "k: expected an integer >= 0"),
    (_knn, {"measure": "euclid"}, "measure: expected one of 'dot', 'cosine', 'jaccard'"),
    (_knn, {"shrink": float("nan")}, "shrink: expected a finite number >= 0"),
    (_knn, {"n_threads": -1}, "n_threads: expected an integer >= 0"),
    (_als, {"alpha": -1.0}, "alpha: expected a finite number >= 0"),
    (_als, {"factors": np.zeros((2, 0), np.float32)}, "factors: expected at least one factor"),
    (_als, {"factors": np.zeros((3, 2), np.float32)}, "factors: expected 2 rows"),
    (_als, {"fixed_factors": np.ones((3, 1), np.float32)}, "fixed_factors: expected 2 columns"),
    (_als, {"n_threads": 2**70}, "n_threads: expected an integer in [0, 1024]"),
    (_als, {"cg_steps": -2}, "cg_steps: expected an integer >= 0"),
    (_als, {"regularization": np.ones(3, np.float32)}, "regularization: expected length 2"),
    (_als, {"regularization": -np.ones(2, np.float32)}, "regularization: expected finite"),
    (_bpr, {"learning_rate": float("inf")}, "learning_rate: expected a finite number >= 0"),
    (_bpr, {"reg": 1e300}, "reg: expected a finite number >= 0"),
    (_bpr, {"user_factors": np.zeros((3, 2), np.float32)}, "user_factors: expected 2 rows"),
    (_bpr, {"seed": -1}, "seed: expected an integer in [0, 2**64)"),
    (_bpr, {"item_bias": np.zeros(2, np.float32)}, "item_bias: expected length 3"),
]


@needs_ext
@pytest.mark.parametrize(("call", "change", "message"), CASES)
def test_both_backends_refuse_alike(
    call: Callable[..., None],
    change: dict[str, Any],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ParameterError) as rust:
        call(**change)
    for module in MODULES:
        monkeypatch.setattr(module, "RUST", False)
    with pytest.raises(ParameterError) as reference:
        call(**change)
    assert str(rust.value).startswith(message), rust.value
    assert str(reference.value).startswith(message), reference.value


@pytest.mark.parametrize("call", [_topk, _knn, _als, _bpr, _gram, _row_product])
def test_valid_calls_pass_on_both_backends(
    call: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    call()
    for module in MODULES:
        monkeypatch.setattr(module, "RUST", False)
    call()
