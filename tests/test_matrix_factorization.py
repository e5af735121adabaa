"""What BPR, ALS and SVD share: hyperparameter checks, awkward shapes, quality on
MovieLens 100k (original protocol) with both kernel paths, and batch scoring."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recommender_systems import (
    ALS,
    BPR,
    SVD,
    Interactions,
    MatrixFactorization,
    ParameterError,
)
from tests.conftest import ORIGINAL_SEED, requires_ml100k

MODELS: dict[str, Callable[..., MatrixFactorization]] = {"bpr": BPR, "als": ALS, "svd": SVD}

BAD_PARAMS: list[tuple[str, dict[str, Any], str]] = [
    ("bpr", {"n_factors": 0}, "n_factors"),
    ("bpr", {"epochs": -1}, "epochs"),
    ("bpr", {"learning_rate": -0.1}, "learning_rate"),
    ("bpr", {"learning_rate": float("nan")}, "learning_rate"),
    ("bpr", {"regularization": -1.0}, "regularization"),
    ("bpr", {"item_bias": "yes"}, "item_bias"),
    ("bpr", {"random_state": -3}, "random_state"),
    ("bpr", {"n_threads": -1}, "n_threads"),
    ("als", {"n_factors": 2.5}, "n_factors"),
    ("als", {"epochs": -1}, "epochs"),
    ("als", {"regularization": -0.5}, "regularization"),
    ("als", {"reg_exponent": float("inf")}, "reg_exponent"),
    ("als", {"alpha": -1}, "alpha"),
    ("als", {"solver": "lu"}, "solver"),
    ("als", {"cg_steps": -2}, "cg_steps"),
    ("als", {"n_threads": "all"}, "n_threads"),
    ("svd", {"n_factors": 0}, "n_factors"),
    ("svd", {"popularity_damping": -1}, "popularity_damping"),
    ("svd", {"random_state": "seed"}, "random_state"),
]


@pytest.mark.parametrize(("name", "params", "argument"), BAD_PARAMS)
def test_bad_hyperparameters_raise_parameter_error_at_fit(
    name: str, params: dict[str, Any], argument: str, tiny: pd.DataFrame
) -> None:
    model = MODELS[name](**params)  # __init__ only stores them
    with pytest.raises(ParameterError, match=f"^{argument}: expected"):
        model.fit(tiny)
    assert not model.is_fitted


@pytest.mark.parametrize("name", sorted(MODELS))
def test_empty_user_unused_item_and_single_user_fit(name: str) -> None:
    matrix = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 0, 0, 0], [1, 1, 0, 0]], dtype=np.float32))
    data = Interactions.from_sparse(matrix, user_ids=[10, 11, 12], item_ids=["a", "b", "c", "d"])
    model = MODELS[name](random_state=0).fit(data)
    assert np.isfinite(model.user_factors_).all() and np.isfinite(model.item_factors_).all()
    assert len(model.recommend(11, n=2)) == 2  # a user without history still gets a list
    single = pd.DataFrame({"user_id": [1, 1, 1], "item_id": [5, 6, 7]})
    solo = MODELS[name](random_state=0).fit(single)
    assert solo.recommend(1) == []  # every item is seen
    assert solo.recommend(1, exclude_seen=False) != []


@pytest.mark.parametrize("name", sorted(MODELS))
def test_batch_scores_are_factor_products(name: str, synthetic: pd.DataFrame) -> None:
    model = MODELS[name](random_state=0).fit(synthetic)
    users = model.user_ids_.ids[:40]
    batch = model.recommend_batch(users, n=5)
    codes = model.user_ids_.to_index(users)
    want = model.user_factors_[codes] @ model.item_factors_.T
    bias = model._item_offsets()
    if bias is not None:
        want += bias
    listed = batch.item_indices >= 0  # heavy users may have fewer unseen items than 5
    got = np.take_along_axis(want, np.where(listed, batch.item_indices, 0), axis=1)
    np.testing.assert_allclose(batch.scores[listed], got[listed], rtol=1e-5, atol=1e-5)


def test_small_blocks_give_the_same_recommendations(
    synthetic: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = ALS(random_state=0).fit(synthetic)
    users = model.user_ids_.ids
    whole = model.recommend_batch(users, n=7).to_lists()
    monkeypatch.setattr("recommender_systems.matrix_factorization.FACTOR_BLOCK_ELEMENTS", 100)
    assert model._block_rows() == 1
    assert model.recommend_batch(users, n=7).to_lists() == whole


# The same training, in a child process where the extension cannot be imported.
FALLBACK_SCRIPT = textwrap.dedent(
    """
    import json, sys
    if sys.argv[1] == "blocked":
        sys.modules["recommender_systems._kernels"] = None  # the import fails
    import recommender_systems as rs
    ratings = rs.load_movielens_100k(progress=False)
    train, test = rs.split_ratings(ratings, 0.2, random_state={seed})
    models = {{
        "bpr": rs.BPR(
            n_factors=32, epochs=15, learning_rate=0.1, regularization=0.01, random_state=0
        ),
        "als": rs.ALS(random_state=0),
    }}
    out = {{name: rs.evaluate(m, train, test, k=10)["ndcg@10"] for name, m in models.items()}}
    out["backend"] = rs.kernel_backend()
    print(json.dumps(out))
    """
).format(seed=ORIGINAL_SEED)

#: Floors both kernel paths must clear with the settings above (a short BPR run,
#: because the Python fallback takes about a second per epoch).
FALLBACK_FLOORS = {"bpr": 0.33, "als": 0.41}


def _run(mode: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", FALLBACK_SCRIPT, mode],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


@requires_ml100k
@pytest.mark.slow
def test_rust_and_python_fallback_clear_the_same_floor() -> None:
    rust, python = _run("normal"), _run("blocked")
    assert (rust["backend"], python["backend"]) == ("rust", "python")
    for name, floor in FALLBACK_FLOORS.items():
        assert rust[name] >= floor, (name, rust)
        assert python[name] >= floor, (name, python)
