"""Approximate search through a real index (the ``ann`` extra): models build it,
queries use it, model files keep it."""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommender_systems import (
    ALS,
    BPR,
    SVD,
    ItemKNN,
    MatrixFactorization,
    ModelFileError,
    NotSupportedError,
    ParameterError,
    generate_interactions,
    load,
)

pytest.importorskip("faiss", reason="the 'ann' extra is not installed")

from recommender_systems import ann
from recommender_systems.cli import main
from recommender_systems.cli._common import CliError
from recommender_systems.cli.serve import require_index
from recommender_systems.item_index import tie_aware_recall

MODELS: dict[str, Callable[[], MatrixFactorization]] = {
    "als": lambda: ALS(n_factors=16, epochs=4, random_state=0),
    "bpr": lambda: BPR(n_factors=16, epochs=10, random_state=0),
    "svd": lambda: SVD(n_factors=16, random_state=0),
}


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return generate_interactions(400, 3_000, 12_000, random_state=3)


@pytest.fixture(scope="module", params=sorted(MODELS))
def fitted(request: pytest.FixtureRequest, log: pd.DataFrame) -> MatrixFactorization:
    return MODELS[request.param]().fit(log)


def same_lists(a: np.ndarray, b: np.ndarray, a_scores: np.ndarray, b_scores: np.ndarray) -> None:
    """Equal rankings, up to float rounding: equal scores, and equal items except
    where two scores are within rounding of each other."""
    np.testing.assert_allclose(a_scores, b_scores, rtol=1e-4, atol=1e-5)
    differ = a != b
    if differ.any():
        gaps = np.abs(np.diff(np.nan_to_num(b_scores), axis=1))
        near_tie = np.zeros_like(differ)
        near_tie[:, 1:] |= gaps < 1e-4
        near_tie[:, :-1] |= gaps < 1e-4
        assert (near_tie | ~differ).all()


def test_an_exact_index_answers_like_the_exact_path(fitted: MatrixFactorization) -> None:
    model = fitted
    model.build_index(exact=True)
    users = model.user_ids_.ids
    items = model.item_ids_.ids
    for kwargs in ({}, {"exclude": items[::3]}, {"items": items[:200]}, {"exclude_seen": False}):
        approx = model.recommend_batch(users, 15, approximate=True, **kwargs)
        exact = model.recommend_batch(users, 15, approximate=False, **kwargs)
        same_lists(approx.item_indices, exact.item_indices, approx.scores, exact.scores)
    for item in items[:20]:
        assert model.similar_items(item, 8, approximate=True) == pytest.approx(
            model.similar_items(item, 8, approximate=False)
        ) or _similar_near_tie(model, item)
    model.drop_index()


def _similar_near_tie(model: MatrixFactorization, item: object) -> bool:
    sims = np.sort(model._item_similarity(model.item_ids_.to_index(np.array([item])))[0])[::-1]
    return bool((np.abs(np.diff(sims[:12])) < 1e-5).any())


def test_the_graph_index_gets_the_recall_its_calibration_reports(
    fitted: MatrixFactorization, recwarn: pytest.WarningsRecorder
) -> None:
    model = fitted
    model.build_index()
    index = model.item_index_
    # Calibration reaches the target, or says (with a warning) that it could not.
    short = [w for w in recwarn if "below target_recall" in str(w.message)]
    assert index.calibration_recall_ >= 0.95 or short
    if isinstance(model, ALS | SVD):
        assert index.calibration_recall_ >= 0.95
    users = model.user_ids_.ids
    approx = model.recommend_batch(users, 10)  # the index, by default
    exact = model.recommend_batch(users, 10, approximate=False)
    # Recall with ties: an item scoring at least the exact 10th score is a hit.
    kth = np.nanmin(exact.scores, axis=1, keepdims=True)
    hits = ((approx.item_indices >= 0) & (approx.scores >= kth - 1e-5)).sum()
    # Calibration sampled every user here: it measured this very recall.
    assert hits / (exact.item_indices >= 0).sum() >= index.calibration_recall_ - 0.01
    seen = model.user_items_
    for row, recs in enumerate(approx.item_indices):
        assert not np.isin(recs, seen[row].indices).any()
        assert len(set(recs[recs >= 0].tolist())) == (recs >= 0).sum()
    model.drop_index()


def test_index_round_trips_through_a_model_file(log: pd.DataFrame, tmp_path: Path) -> None:
    model = BPR(n_factors=8, epochs=5, random_state=0).fit(log).build_index()
    path = model.save(tmp_path / "bpr.recsys")
    users = model.user_ids_.ids[:100]
    want = model.recommend_batch(users, 10, approximate=True)
    for mmap in (True, False):
        loaded = load(path, mmap=mmap)
        assert isinstance(loaded, BPR) and loaded.has_index
        assert loaded.item_index_.get_params() == model.item_index_.get_params()
        assert loaded.item_index_.expansion_search_ == model.item_index_.expansion_search_
        got = loaded.recommend_batch(users, 10)  # the saved index, by default
        np.testing.assert_array_equal(got.item_indices, want.item_indices)
        np.testing.assert_array_equal(got.scores, want.scores)
        assert loaded.similar_items(log.item_id[0], 5) == model.similar_items(log.item_id[0], 5)


def test_a_damaged_index_is_a_model_file_error(log: pd.DataFrame, tmp_path: Path) -> None:
    model = ALS(n_factors=8, epochs=2, random_state=0).fit(log).build_index(similar_items=False)
    model.item_index_.blob_ = np.zeros(64, dtype=np.uint8)  # not an index at all
    loaded = load(model.save(tmp_path / "broken.recsys"))
    with pytest.raises(ModelFileError, match="approximate index"):
        loaded.recommend(0, approximate=True)
    # The exact path does not need it.
    assert len(loaded.recommend(0, approximate=False)) == 10


def test_fit_drops_the_index_and_approximate_true_then_says_how_to_build_it(
    log: pd.DataFrame,
) -> None:
    model = ALS(n_factors=8, epochs=2, random_state=0).fit(log).build_index()
    assert model.has_index
    model.fit(log)
    assert "item_index_" not in vars(model)
    with pytest.raises(NotSupportedError, match=r"build_index\(\)"):
        model.recommend_batch([0, 1], approximate=True)
    with pytest.raises(NotSupportedError, match="similar_items"):
        model.similar_items(log.item_id[0], approximate=True)
    with pytest.raises(ParameterError, match="approximate"):
        model.recommend(0, approximate="yes")  # type: ignore[arg-type]
    assert len(model.recommend(0)) == 10  # None: exact without an index


def test_bad_index_options_are_refused_before_building(log: pd.DataFrame) -> None:
    model = ALS(n_factors=8, epochs=2, random_state=0).fit(log)
    with pytest.raises(ParameterError, match="connectivity"):
        model.build_index(connectivity=1)
    with pytest.raises(ParameterError, match="target_recall"):
        model.build_index(target_recall=1.5)
    with pytest.raises(ParameterError, match="expansion_search"):
        model.build_index(expansion_search=0)
    with pytest.raises(TypeError):
        model.build_index(size=3)
    assert not model.has_index
    # A fixed width skips calibration, and its recall is still measured.
    index = model.build_index(expansion_search=8, similar_items=False).item_index_
    assert index.expansion_search_ == 8 and 0.0 <= index.calibration_recall_ <= 1.0


def test_unknown_users_keep_their_policy(log: pd.DataFrame) -> None:
    model = SVD(n_factors=8, random_state=0).fit(log).build_index()
    nobody = 10**9  # an id no user has
    recs = model.recommend_batch([0, nobody], 5, unknown="popular")
    exact = model.recommend_batch([0, nobody], 5, unknown="popular", approximate=False)
    assert recs.to_lists()[1] == exact.to_lists()[1]
    assert model.recommend(nobody) == []


def test_models_without_item_vectors_have_no_index(log: pd.DataFrame) -> None:
    model = ItemKNN().fit(log)
    with pytest.raises(NotSupportedError, match="ItemKNN without one"):
        model.recommend(0, approximate=True)
    with pytest.raises(NotSupportedError, match="item vectors"):
        ann.ensure_index(model)


def test_ensure_index_keeps_a_saved_index_and_builds_a_missing_one(log: pd.DataFrame) -> None:
    model = ALS(n_factors=8, epochs=2, random_state=0).fit(log)
    assert ann.ensure_index(model) is model and model.has_index
    index = model.item_index_
    ann.ensure_index(model)
    assert model.item_index_ is index


def test_without_the_extra_importing_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "faiss", None)
    monkeypatch.delitem(sys.modules, "recommender_systems.ann")
    with pytest.raises(ImportError, match=r"pip install 'recommender-systems\[ann\]'"):
        importlib.import_module("recommender_systems.ann")


# `recsys serve --ann` of docs/approximate.md runs here (its page runs in test_docs_truth.py).
def test_recsys_fit_ann_saves_an_index_and_serve_ann_requires_one(
    log: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "log.csv"
    log.to_csv(data, index=False)
    fit = ["fit", "--data", str(data), "--quiet", "--param", "n_factors=8"]
    indexed, plain = tmp_path / "indexed.recsys", tmp_path / "plain.recsys"
    assert main([*fit, "--algo", "als", "--out", str(indexed), "--ann"]) == 0
    assert main([*fit, "--algo", "als", "--out", str(plain)]) == 0
    with_index, without = load(indexed), load(plain)
    assert isinstance(with_index, ALS) and isinstance(without, ALS)
    assert with_index.has_index and not without.has_index
    require_index(str(indexed))
    with pytest.raises(CliError, match="holds none"):
        require_index(str(plain))
    knn = ["fit", "--data", str(data), "--quiet", "--algo", "item-knn", "--ann"]
    assert main([*knn, "--out", str(tmp_path / "knn.recsys")]) != 0
    assert "item vectors" in capsys.readouterr().err


def test_a_served_model_file_with_an_index_answers_from_it(
    log: pd.DataFrame, tmp_path: Path
) -> None:
    pytest.importorskip("fastapi", reason="the 'serve' extra is not installed")
    from recommender_systems.serving import Settings
    from tests.test_serving import serving

    model = ALS(n_factors=8, epochs=3, random_state=0).fit(log).build_index()
    path = model.save(tmp_path / "als.recsys")
    users = model.user_ids_.ids[:30].tolist()
    with serving(Settings(path)) as client:
        assert "item_index_" in client.get("/info").json()["state"]
        got = client.post("/recommend", json={"user_ids": users, "n": 10}).json()
    want = model.recommend_batch(users, 10, approximate=True).to_lists()
    assert [row["items"] for row in got["results"]] == want


def test_calibration_recall_ignores_queries_without_answers() -> None:
    # A calibration user who has seen every item has no exact answer (a NaN row):
    # before, numpy warned "All-NaN slice encountered" into `recsys fit --ann`.
    vectors = np.eye(3, dtype=np.float32)
    queries = np.ones((2, 3), dtype=np.float32)
    truth = np.array([[1.0, 1.0], [np.nan, np.nan]], dtype=np.float32)
    found = np.array([[0, 1], [-1, -1]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tie_aware_recall(found, truth, vectors, queries) == 1.0
