from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommender_systems import DataError, Interactions, ParameterError, split_ratings
from recommender_systems import split as sp


def _pairs(df: pd.DataFrame) -> set[tuple[object, object]]:
    return set(zip(df["user_id"], df["item_id"], strict=True))


def test_random_split_is_seeded_and_partitions(synthetic: pd.DataFrame) -> None:
    train, test = sp.random_split(synthetic, 0.2, random_state=7)
    again, _ = sp.random_split(synthetic, 0.2, random_state=7)
    other, _ = sp.random_split(synthetic, 0.2, random_state=8)
    assert len(test) == 400 and len(train) == 1600
    assert train.index.equals(again.index) and not train.index.equals(other.index)
    assert sorted([*train.index, *test.index]) == list(synthetic.index)


def test_the_former_seed_keyword_warns_at_the_line_that_used_it(synthetic: pd.DataFrame) -> None:
    with pytest.warns(DeprecationWarning, match="'seed' is deprecated, use 'random_state'") as seen:
        old = sp.random_split(synthetic, 0.2, seed=3)  # type: ignore[call-arg]
    assert seen[0].filename == __file__
    new = sp.random_split(synthetic, 0.2, random_state=3)
    pd.testing.assert_frame_equal(old[0], new[0])


def test_random_split_on_interactions(synthetic: pd.DataFrame) -> None:
    data = Interactions.from_frame(synthetic)
    train, test = sp.random_split(data, 0.25, random_state=1)
    assert isinstance(train, Interactions) and train.nnz + test.nnz == data.nnz
    assert _pairs(train.to_frame()).isdisjoint(_pairs(test.to_frame()))


def test_holdout_per_user_fraction_and_count(synthetic: pd.DataFrame) -> None:
    train, test = sp.holdout_per_user(synthetic, 0.3, random_state=2)
    counts = synthetic.groupby("user_id").size()
    held = test.groupby("user_id").size().reindex(counts.index, fill_value=0)
    assert (held == np.clip(np.round(0.3 * counts), 0, counts - 1)).all()
    _, test2 = sp.holdout_per_user(synthetic, 2, random_state=2)
    assert (test2.groupby("user_id").size() <= 2).all()
    assert set(train["user_id"]) == set(synthetic["user_id"])  # min_train=1 kept


def test_leave_last_out_takes_latest(tiny: pd.DataFrame) -> None:
    train, test = sp.leave_last_out(tiny, 1)
    latest = tiny.loc[tiny.groupby("user_id")["timestamp"].idxmax()]
    multi = tiny.groupby("user_id").size() > 1
    expected = latest[latest["user_id"].map(multi)]
    assert _pairs(test) == _pairs(expected)
    assert "dan" in set(train["user_id"])  # a single-row user keeps it in train


def test_temporal_split(tiny: pd.DataFrame) -> None:
    train, test = sp.temporal_split(tiny, cutoff=30)
    assert (test["timestamp"] >= 30).all() and (train["timestamp"] < 30).all()
    _, by_share = sp.temporal_split(tiny, 0.25)
    assert len(by_share) == 2


def test_kfold_covers_every_row_once(synthetic: pd.DataFrame) -> None:
    folds = list(sp.kfold(synthetic, 4, random_state=0))
    assert len(folds) == 4
    tested = np.concatenate([test.index.to_numpy() for _, test in folds])
    assert sorted(tested) == list(synthetic.index)


def test_split_by_name_and_errors(tiny: pd.DataFrame) -> None:
    _train, test = sp.split(tiny, "random", test_size=0.25, random_state=0)
    assert len(test) == 2
    with pytest.raises(ParameterError, match="protocol"):
        sp.split(tiny, "bogus")
    with pytest.raises(ParameterError, match="test_size"):
        sp.random_split(tiny, 1.5)
    with pytest.raises(DataError, match="timestamp"):
        sp.leave_last_out(tiny.drop(columns="timestamp"))
    with pytest.raises(DataError, match="at least one"):
        sp.random_split(tiny.iloc[:0])
    with pytest.raises(ParameterError, match="n_splits"):
        list(sp.kfold(tiny, 1))


def test_every_table_fit_takes_can_be_split(synthetic: pd.DataFrame) -> None:
    import polars as pl
    import pyarrow as pa

    expected_train, expected_test = sp.random_split(synthetic, 0.2, random_state=3)
    tables = {
        "polars": pl.from_pandas(synthetic),
        "arrow": pa.Table.from_pandas(synthetic, preserve_index=False),
        "dict": {c: synthetic[c].to_numpy() for c in synthetic.columns},
    }
    for kind, table in tables.items():
        train, test = sp.random_split(table, 0.2, random_state=3)
        assert type(train) is type(table) and type(test) is type(table), kind
        as_frame = pd.DataFrame(dict(train)) if kind == "dict" else train.to_pandas()
        assert as_frame["item_id"].tolist() == expected_train["item_id"].tolist(), kind
        assert len(test["user_id"]) == len(expected_test), kind
    train, _ = split_ratings(tables["polars"], test_size=0.2, random_state=3)
    assert len(train) == len(expected_train)
    fold_train, fold_test = sp.split(tables["polars"], "leave-last-out")
    assert len(fold_train) + len(fold_test) == len(synthetic)


def test_kfold_by_name_gives_one_fold(synthetic: pd.DataFrame) -> None:
    folds = list(sp.kfold(synthetic, 4, random_state=0))
    for i, (train, test) in enumerate(folds):
        by_name = sp.split(synthetic, "kfold", n_splits=4, fold=i, random_state=0)
        assert by_name[0].index.equals(train.index) and by_name[1].index.equals(test.index)
    with pytest.raises(ParameterError, match=r"fold: expected an integer in \[0, 3\]"):
        sp.split(synthetic, "kfold", n_splits=4, fold=4)


def test_files_and_matrices_are_refused_with_the_way_forward(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"Interactions.from_file\(path\)"):
        sp.random_split(str(tmp_path / "ratings.csv"))
