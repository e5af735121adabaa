from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
import scipy.sparse as sp

from recommender_systems import DataError, Interactions, generate_interactions
from recommender_systems.idmap import IdMap
from recommender_systems.interactions import as_interactions
from tests.helpers import same_sparse


def test_from_pandas_builds_sorted_float32_csr(tiny: pd.DataFrame) -> None:
    data = Interactions.from_frame(tiny)
    assert data.shape == (4, 5)
    assert data.nnz == 8
    assert data.feedback == "explicit"
    m = data.matrix
    assert m.dtype == np.float32 and m.indptr.dtype == np.int64 and m.indices.dtype == np.int32
    assert m.has_sorted_indices
    assert data.user_ids.ids.tolist() == ["ann", "bob", "cat", "dan"]
    assert data.item_ids.ids.tolist() == [1, 2, 3, 4, 5]
    ann = data.user_ids.index_of("ann")
    assert m[ann].toarray().ravel().tolist() == [5.0, 3.0, 4.0, 0.0, 0.0]


def test_timestamps_follow_csr_order(tiny: pd.DataFrame) -> None:
    data = Interactions.from_frame(tiny)
    frame = data.to_frame()
    merged = frame.merge(tiny, on=["user_id", "item_id"], suffixes=("", "_orig"))
    assert (merged["timestamp"] == merged["timestamp_orig"]).all()
    assert (merged["rating"] == merged["rating_orig"]).all()


def test_is_immutable(tiny: pd.DataFrame) -> None:
    data = Interactions.from_frame(tiny)
    with pytest.raises(ValueError, match="read-only"):
        data.matrix.data[0] = 9.0
    with pytest.raises(AttributeError):
        data.matrix_ = None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("convert"),
    [
        pytest.param(lambda df: pl.from_pandas(df), id="polars"),
        pytest.param(lambda df: pa.Table.from_pandas(df), id="arrow"),
        pytest.param(lambda df: {c: df[c].to_numpy() for c in df.columns}, id="dict"),
    ],
)
def test_other_frame_types_give_the_same_result(tiny: pd.DataFrame, convert: object) -> None:
    expected = Interactions.from_frame(tiny)
    got = Interactions.from_frame(convert(tiny))  # type: ignore[operator]
    assert got.user_ids == expected.user_ids and got.item_ids == expected.item_ids
    assert same_sparse(got.matrix, expected.matrix)
    assert np.array_equal(got.timestamps, expected.timestamps)  # type: ignore[arg-type]


def test_from_files(tiny: pd.DataFrame, tmp_path: Path) -> None:
    expected = Interactions.from_frame(tiny)
    tiny.to_csv(tmp_path / "x.csv", index=False)
    tiny.to_csv(tmp_path / "x.tsv", index=False, sep="\t")
    tiny.to_parquet(tmp_path / "x.parquet")
    for name in ("x.csv", "x.tsv", "x.parquet"):
        got = Interactions.from_file(tmp_path / name)
        assert same_sparse(got.matrix, expected.matrix), name
        assert got.user_ids == expected.user_ids


def test_custom_column_names(tiny: pd.DataFrame) -> None:
    renamed = tiny.rename(columns={"user_id": "u", "item_id": "i", "rating": "r"})
    data = Interactions.from_frame(renamed, user_col="u", item_col="i", rating_col="r")
    assert data.nnz == 8 and data.feedback == "explicit"


def test_without_rating_is_implicit_and_counts_repeats() -> None:
    df = pd.DataFrame({"user_id": [1, 1, 1, 2], "item_id": [7, 7, 8, 7]})
    data = Interactions.from_frame(df)
    assert data.feedback == "implicit"
    assert data.matrix.toarray().tolist() == [[2.0, 1.0], [1.0, 0.0]]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("auto", 3.0), ("mean", 3.0), ("sum", 6.0), ("max", 4.0), ("first", 2.0), ("last", 4.0)],
)
def test_duplicate_policies(policy: str, expected: float) -> None:
    df = pd.DataFrame(
        {
            "user_id": [1, 1, 2],
            "item_id": [5, 5, 5],
            "rating": [2.0, 4.0, 1.0],
            "timestamp": [100, 50, 7],
        }
    )
    data = Interactions.from_frame(df, duplicates=policy)  # type: ignore[arg-type]
    assert data.matrix[0, 0] == expected
    assert data.timestamps is not None and data.timestamps[0] == 100  # latest wins


def test_duplicate_error_policy_names_the_pair() -> None:
    df = pd.DataFrame({"user_id": ["a", "a"], "item_id": ["x", "x"]})
    with pytest.raises(DataError, match=r"user 'a' and item 'x'"):
        Interactions.from_frame(df, duplicates="error")


def test_zero_rating_is_kept() -> None:
    df = pd.DataFrame({"user_id": [1, 2], "item_id": [1, 1], "rating": [0.0, 3.0]})
    assert Interactions.from_frame(df).nnz == 2


def test_from_sparse_with_and_without_ids() -> None:
    m = sp.csr_matrix(np.array([[0, 2, 0], [1, 0, 0]], dtype=np.float64))
    data = Interactions.from_sparse(m)
    assert data.user_ids.ids.tolist() == [0, 1] and data.nnz == 2
    named = Interactions.from_sparse(m, user_ids=["a", "b"], item_ids=[10, 20, 30])
    assert named.item_ids.to_index([20]).tolist() == [1]
    reordered = Interactions.from_sparse(m, user_ids=["b", "a"])
    assert reordered.user_ids.index_of("a") == 1
    with pytest.raises(DataError, match="SciPy sparse"):
        Interactions.from_sparse(np.eye(2))


def test_select_keeps_only_present_ids(tiny: pd.DataFrame) -> None:
    data = Interactions.from_frame(tiny)
    part = data.select(data.user_indices() == data.user_ids.index_of("cat"))
    assert part.user_ids.ids.tolist() == ["cat"]
    assert part.item_ids.ids.tolist() == [2, 5]
    assert part.timestamps is not None and sorted(part.timestamps.tolist()) == [5, 50]


def test_as_interactions_accepts_paths_and_matrices(tiny: pd.DataFrame, tmp_path: Path) -> None:
    tiny.to_csv(tmp_path / "d.csv", index=False)
    assert as_interactions(str(tmp_path / "d.csv")).nnz == 8
    assert as_interactions(sp.eye(3, format="csr")).nnz == 3


def test_datetime_timestamps_become_seconds() -> None:
    df = pd.DataFrame(
        {"user_id": [1], "item_id": [1], "timestamp": pd.to_datetime(["1970-01-01 00:01:00"])}
    )
    assert Interactions.from_frame(df).timestamps.tolist() == [60]  # type: ignore[union-attr]


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"user_id": [], "item_id": []}), "empty table"),
        (pd.DataFrame({"item_id": [1]}), "missing column 'user_id'"),
        (
            pd.DataFrame({"user_id": [1, 2], "item_id": [1, 2], "rating": [1.0, np.nan]}),
            r"column 'rating'.*nan at row 1",
        ),
        (
            pd.DataFrame({"user_id": [1, 2], "item_id": [1, 2], "rating": [np.inf, 1.0]}),
            r"column 'rating'.*inf at row 0",
        ),
        (
            pd.DataFrame({"user_id": ["a", None], "item_id": [1, 2]}),
            r"column 'user_id'.*null.*row 1",
        ),
        (
            pd.DataFrame({"user_id": [1, 2], "item_id": [1.0, np.nan]}),
            r"column 'item_id'.*null.*row 1",
        ),
        (
            pd.DataFrame({"user_id": [1, "b", 3], "item_id": [1, 2, 3]}),
            r"column 'user_id'.*mixed types",
        ),
        (pd.DataFrame({"user_id": [1.5], "item_id": [1]}), r"column 'user_id'.*1.5 at row 0"),
        (pd.DataFrame({"user_id": [1], "item_id": [1], "rating": ["x"]}), "column 'rating'"),
        (
            pd.DataFrame({"user_id": [1], "item_id": [1], "timestamp": [np.nan]}),
            "column 'timestamp'",
        ),
    ],
)
def test_bad_frames_raise_data_error_naming_column_and_row(
    frame: pd.DataFrame, message: str
) -> None:
    with pytest.raises(DataError, match=message):
        Interactions.from_frame(frame)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # header = line 1; the NaN is on line 3 (data row 1)
        ("user_id,item_id,rating\n1,1,4\n2,1,nan\n", r"'rating'.*received nan at line 3 of"),
        ("user_id,item_id,rating\n1,1,4\n\n2,1,4\n3,,4\n", r"'item_id'.*null at line 5 of"),
        ("user_id\titem_id\ttimestamp\n1\t1\tinf\n", r"'timestamp'.*inf at line 2 of"),
    ],
)
def test_a_bad_value_in_a_file_names_its_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / ("data.tsv" if "\t" in text else "data.csv")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=message) as raised:
        Interactions.from_file(path)
    assert str(path) in str(raised.value) and "row" not in str(raised.value)


def test_named_optional_column_must_exist(tiny: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="missing column 'score'"):
        Interactions.from_frame(tiny, rating_col="score")


def test_bad_container_and_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="received list"):
        Interactions.from_frame([1, 2, 3])
    with pytest.raises(DataError, match="not found"):
        Interactions.from_file(tmp_path / "missing.csv")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match="could not read"):
        Interactions.from_file(tmp_path / "bad.parquet")


def test_bad_duplicates_policy(tiny: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="duplicates: expected one of"):
        Interactions.from_frame(tiny, duplicates="median")  # type: ignore[arg-type]


def test_non_finite_sparse_values() -> None:
    m = sp.csr_matrix(np.array([[np.nan, 1.0]]))
    with pytest.raises(DataError, match="finite"):
        Interactions.from_sparse(m)


def test_with_items_appends_empty_columns_for_new_ids(tiny: pd.DataFrame) -> None:
    data = Interactions.from_frame(tiny)
    wider = data.with_items([5, 9, 7, 9])  # 5 is known; 9 twice
    assert wider.item_ids.ids.tolist() == [1, 2, 3, 4, 5, 9, 7]
    assert wider.matrix.shape == (4, 7) and wider.matrix[:, 5:].nnz == 0
    assert same_sparse(wider.matrix[:, :5], data.matrix)
    assert np.array_equal(wider.timestamps, data.timestamps)  # type: ignore[arg-type]
    assert wider.feedback == data.feedback
    assert data.with_items([1, 2]) is data
    with pytest.raises(DataError, match=r"item_ids: expected int ids .* received str ids"):
        data.with_items(["x"])


# ------------------------------------------------------ issue 11: data that was let through
@pytest.mark.parametrize(
    "columns",
    [
        {"user_id": [1, 2, 3], "item_id": [1, 2], "rating": [1.0, 2.0, 3.0]},  # IndexError before
        {"user_id": [1, 2], "item_id": [1, 2], "rating": [1.0, 2.0, 3.0]},  # silently cut before
        {"user_id": [1, 2], "item_id": [1, 2], "timestamp": [1]},
    ],
)
def test_ragged_columns_are_a_data_error(columns: dict[str, list[float]]) -> None:
    with pytest.raises(DataError, match="expected columns of the same length"):
        Interactions.from_frame(columns)


def test_a_two_dimensional_column_is_a_data_error() -> None:
    with pytest.raises(DataError, match="one value per row"):
        Interactions.from_frame({"user_id": np.ones((2, 2)), "item_id": [1, 2]})


@pytest.mark.parametrize("value", [3e38, -3e38, 1.5e12, np.inf])
def test_values_beyond_the_documented_range_are_refused(value: float) -> None:
    frame = pd.DataFrame({"user_id": [1, 2], "item_id": [1, 2], "rating": [1.0, value]})
    with pytest.raises(DataError, match=r"column 'rating': expected finite numbers within.*row 1"):
        Interactions.from_frame(frame)
    matrix = sp.csr_matrix(np.array([[1.0, value]], dtype=np.float64))
    with pytest.raises(DataError, match="matrix: expected finite numbers within"):
        Interactions.from_sparse(matrix)


@pytest.mark.slow
def test_values_at_the_bound_give_finite_scores() -> None:
    from recommender_systems import algorithms
    from recommender_systems.interactions import MAX_ABS_VALUE

    frame = generate_interactions(60, 40, 600, random_state=2, ratings=True)
    frame["rating"] = frame["rating"] * (MAX_ABS_VALUE / 5)
    for algorithm in algorithms():
        model = algorithm.create().fit(frame)
        recs = model.recommend_batch(model.user_ids_.ids, 10)
        assert recs.mask.any() and np.isfinite(recs.scores[recs.mask]).all(), algorithm.name


def test_csv_ids_keep_their_text_unless_canonical_integers(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("user_id,item_id,rating\n001,0044,5\n2,7,3\n010,0044,1\n")
    data = Interactions.from_file(path)
    assert data.user_ids.ids.tolist() == ["001", "010", "2"]  # not 1, 10 and 2
    assert data.item_ids.ids.tolist() == ["0044", "7"]
    path.write_text("user_id,item_id\n1,-7\n20,3\n")
    data = Interactions.from_file(path)
    assert data.user_ids.kind == "int" and data.item_ids.ids.tolist() == [-7, 3]
    path.write_text("u\ti\n1\tx\n")
    assert Interactions.from_file(path, sep="\t", user_col="u", item_col="i").user_ids.kind == "int"


def test_from_sparse_shares_a_canonical_matrix_and_never_changes_the_callers() -> None:
    canonical = sp.csr_matrix(np.array([[1, 0, 2], [0, 3, 0]], dtype=np.float32))
    data = Interactions.from_sparse(canonical)
    for ours, theirs in [
        (data.matrix.data, canonical.data),
        (data.matrix.indices, canonical.indices),
    ]:
        assert np.shares_memory(ours, theirs)
        assert not ours.flags.writeable
    assert canonical.data.flags.writeable  # the caller's arrays stay as they were
    # Duplicates and stored zeros need changes: made on a copy, never on the input.
    messy = sp.csr_matrix(
        (np.array([1, 2, 0], np.float32), np.array([2, 2, 1]), np.array([0, 2, 3])),
        shape=(2, 3),
    )
    before = (messy.data.copy(), messy.indices.copy(), messy.indptr.copy())
    data = Interactions.from_sparse(messy)
    assert data.matrix.toarray().tolist() == [[0, 0, 3], [0, 0, 0]]
    for after, original in zip((messy.data, messy.indices, messy.indptr), before, strict=True):
        np.testing.assert_array_equal(after, original)


def test_a_bad_value_in_a_large_matrix_is_reported_at_its_position() -> None:
    # Values are checked a million at a time; the message names the absolute position.
    n = (1 << 20) + 10
    data = np.ones(n, np.float32)
    data[n - 5] = np.nan
    matrix = sp.csr_matrix((data, np.arange(n), np.array([0, n])), shape=(1, n))
    with pytest.raises(DataError, match=f"at stored position {n - 5}"):
        Interactions(matrix, IdMap(np.arange(1)), IdMap(np.arange(n)))
