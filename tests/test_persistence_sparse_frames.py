"""Model files hold DataFrames of sparse columns (``text_features`` output): exact
round trips of the frames and of the models built on them, and clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest

from recommender_systems import (
    ContentBased,
    HybridBook,
    Interactions,
    ModelFileError,
    NotSupportedError,
    load,
)
from recommender_systems.features import text_features
from recommender_systems.persistence.codec import Decoder, Encoder
from tests.test_persistence import assert_same_model, assert_same_recommendations, forged


def round_trip(value: Any) -> Any:
    encoder = Encoder()
    node = encoder.value(value, "value")
    return Decoder(encoder.arrays).value(node)


def sparse_frame(values: np.ndarray, index: Any, columns: Any) -> pd.DataFrame:
    import scipy.sparse as sp

    frame: pd.DataFrame = cast(Any, pd.DataFrame).sparse.from_spmatrix(
        sp.csr_matrix(values), index=index, columns=columns
    )
    return frame


@pytest.mark.parametrize(
    "frame",
    [
        text_features({1: "a b b", 2: "", 3: "c"}, method="count"),
        text_features({"x": "sci-fi", "y": "drama"}),
        sparse_frame(np.eye(3, dtype=np.float64), pd.Index([5, 6, 7], name="id"), [0, 1, 2]),
        sparse_frame(np.array([[True, False]]), pd.RangeIndex(1), ["a", "b"]),
        sparse_frame(np.zeros((2, 0), dtype=np.float32), pd.Index(["p", "q"]), []),
    ],
    ids=["counts", "tfidf-str-ids", "float64-named-index", "bool", "no-columns"],
)
def test_sparse_frames_round_trip_exactly(frame: pd.DataFrame) -> None:
    back = round_trip(frame)
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    assert list(back.dtypes) == list(frame.dtypes)


def test_one_array_triple_however_many_columns() -> None:
    frame = text_features({i: f"w{i} common" for i in range(300)}, method="binary")
    encoder = Encoder()
    encoder.value(frame, "features")
    assert len(encoder.arrays) == 4  # data, indices, indptr, index values


def test_mixed_or_unusual_sparse_frames_are_refused_clearly() -> None:
    frame = text_features({1: "a", 2: "b"}, method="count")
    frame["dense"] = [1.0, 2.0]
    with pytest.raises(NotSupportedError, match="all sparse of one dtype with fill value 0"):
        round_trip(frame)
    filled = pd.DataFrame({"a": pd.arrays.SparseArray([1.0, np.nan], fill_value=np.nan)})
    with pytest.raises(NotSupportedError, match="fill value 0"):
        round_trip(filled)


def test_a_forged_sparse_frame_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    arrays: list[np.ndarray] = [
        np.ones(1, np.float32),
        np.zeros(1, np.int32),
        np.array([0, 1], np.int64),
        np.array([1, 2], np.int64),
    ]
    matrix = {"$": "sparse", "format": "csc", "container": "matrix", "shape": [2, 1],
              "data": 0, "indices": 1, "indptr": 2}  # fmt: skip
    index = {"kind": "values", "values": {"kind": "numpy", "values": 3}, "name": None}
    frame = {"$": "sparse_dataframe", "columns": ["a", "b"], "matrix": matrix, "index": index}
    model = {
        "$": "model",
        "id": 0,
        "class": {"name": "content", "class": "x"},
        "params": {"item_features": frame},
        "state": {},
    }
    with pytest.raises(ModelFileError, match="malformed header: a sparse DataFrame"):
        load(forged(tmp_path, model, arrays))


@pytest.mark.parametrize("mmap", [True, False])
def test_models_on_text_features_round_trip(
    synthetic: pd.DataFrame, tmp_path: Path, mmap: bool
) -> None:
    data = Interactions.from_frame(synthetic)
    words = ["space", "war", "love", "sci-fi", "drama"]
    texts = {
        item: " ".join(words[j] for j in range(5) if (item + j) % 3 == 0)
        for item in [*data.item_ids.ids.tolist(), 10_001, 10_002]  # two cold items
    }
    features = text_features(texts, ngram_range=(1, 2))
    for model in (ContentBased(item_features=features), HybridBook(item_features=features)):
        model.fit(data)
        loaded = load(model.save(tmp_path / f"{type(model).__name__}.recsys"), mmap=mmap)
        assert_same_model(model, loaded)
        assert_same_recommendations(model, loaded, data)
