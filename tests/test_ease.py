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
)
from tests.helpers import dense


@pytest.fixture(scope="module")
def data(synthetic: pd.DataFrame) -> Interactions:
    return Interactions.from_frame(synthetic)


def closed_form(matrix: np.ndarray, l2: float) -> np.ndarray:
    binary = (matrix != 0).astype(np.float64)
    p = np.linalg.inv(binary.T @ binary + l2 * np.eye(binary.shape[1]))
    weights = -p / np.diag(p)
    np.fill_diagonal(weights, 0.0)
    return weights


@pytest.mark.parametrize(("dtype", "rtol"), [("float64", 1e-9), ("float32", 2e-3)])
def test_weights_are_steck_closed_form(data: Interactions, dtype: str, rtol: float) -> None:
    model = EASE(regularization=50.0, dtype=dtype).fit(data)  # type: ignore[arg-type]
    assert model.similarity_.dtype == np.dtype(dtype)
    want = closed_form(data.matrix.toarray(), 50.0)
    np.testing.assert_allclose(
        dense(model.similarity_), want, rtol=rtol, atol=rtol * np.abs(want).max()
    )


def test_scores_treat_interactions_as_binary(data: Interactions) -> None:
    model = EASE(regularization=20.0).fit(data)
    user = data.user_ids.ids[1]
    row = (data.matrix[1].toarray()[0] != 0).astype(np.float64)
    want = row @ model.similarity_
    np.testing.assert_allclose(model.score(user, data.item_ids.ids), want, rtol=1e-5)


def test_fold_in_needs_no_refit_and_matches_a_known_user(data: Interactions) -> None:
    model = EASE(regularization=20.0).fit(data)
    user = data.user_ids.ids[7].item()
    items = data.item_ids.ids[data.matrix[7].indices].tolist()
    assert model.recommend_from_history(items, n=10) == model.recommend(user, n=10)
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
    # 200,000 items would need 320 GB in float64: refused at once, nothing allocated.
    monkeypatch.setattr(_memory, "available_memory", lambda: 64 << 30)
    items = np.arange(200_000)
    frame = pd.DataFrame({"user_id": items % 7, "item_id": items})
    with pytest.raises(InsufficientMemoryError, match=r"needs about 298\.1 GiB.*64\.0 GiB"):
        EASE().fit(frame)
    with pytest.raises(InsufficientMemoryError, match=r"200,000 x 200,000 float32"):
        EASE(dtype="float32").fit(frame)
