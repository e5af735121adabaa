"""Model files: exact round trips for every registered model (and toy models covering
every kind of state), clear errors for damaged or foreign files, atomic writes, and
no code execution on load."""

from __future__ import annotations

import json
import os
import pickle
import struct
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recommender_systems import (
    ALS,
    HybridRecommender,
    IdMap,
    Interactions,
    ItemKNN,
    ModelFileError,
    MostPopular,
    NotFittedError,
    NotSupportedError,
    Recommender,
    UnknownUserError,
    algorithms,
    evaluate,
    load,
    read_info,
)
from recommender_systems._estimator import Estimator, fitted_state
from recommender_systems.persistence import container, load_with_info
from tests.toy_models import CscNeighbours, RandomFactors, toy_models

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data(synthetic: pd.DataFrame) -> Interactions:
    return Interactions.from_frame(synthetic)


def all_models(data: Interactions) -> dict[str, Recommender]:
    """Every registered algorithm (as it is now or will be after merges) and the toys."""
    models = {a.name: a.create() for a in algorithms(optional=True)}
    for model in models.values():
        if "random_state" in model.get_params():
            model.set_params(random_state=7)
    if "auto" in models:  # a few trials: the file format, not the search
        models["auto"].set_params(n_trials=2)
    return {**models, **toy_models(data.item_ids.ids)}


MODEL_NAMES = sorted(
    [a.name for a in algorithms(optional=True)]
    + ["toy-random-factors", "toy-csc-neighbours", "toy-hybrid", "toy-features"]
)


@pytest.fixture(scope="module")
def fitted(data: Interactions) -> dict[str, Recommender]:
    return {name: model.fit(data) for name, model in all_models(data).items()}


def assert_same_value(a: Any, b: Any, where: str = "state") -> None:
    """Deep equality that also checks types, dtypes and array layouts."""
    assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert a.flags.f_contiguous == b.flags.f_contiguous, f"{where}: layout"
        assert a.flags.writeable == b.flags.writeable, f"{where}: writeable"
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype and (a == b or (np.isnan(a) and np.isnan(b))), where
    elif sp.issparse(a):
        # issparse narrows to SparseABC, which the stubs give no attributes.
        left, right = cast(Any, a), cast(Any, b)
        assert left.format == right.format and left.shape == right.shape, where
        for part in ("data", "indices", "indptr"):
            assert_same_value(getattr(a, part), getattr(b, part), f"{where}.{part}")
    elif isinstance(a, IdMap):
        assert a == b, where
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    elif isinstance(a, Estimator):
        assert_same_model(a, b, where)
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_value(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            assert_same_value(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, where


def assert_same_model(a: Estimator, b: Estimator, where: str = "model") -> None:
    assert type(a) is type(b), where
    assert_same_value(a.get_params(), b.get_params(), f"{where}.params")
    assert_same_value(fitted_state(a), fitted_state(b), f"{where}.state")


def assert_same_recommendations(a: Recommender, b: Recommender, data: Interactions) -> None:
    users = np.concatenate(
        [data.user_ids.ids, np.asarray([-1, -2] if data.user_ids.kind == "int" else ["?", "!"])]
    )
    for kwargs in ({}, {"exclude_seen": False}, {"unknown": "popular"}):
        ra, rb = a.recommend_batch(users, 10, **kwargs), b.recommend_batch(users, 10, **kwargs)
        np.testing.assert_array_equal(ra.item_indices, rb.item_indices)
        np.testing.assert_array_equal(ra.scores, rb.scores)  # NaN padding compares equal
    pool = data.item_ids.ids[::4].tolist()
    user = data.user_ids.ids[1].item()
    assert a.recommend(user, 5, items=pool) == b.recommend(user, 5, items=pool)
    np.testing.assert_array_equal(a.score(user, pool), b.score(user, pool))
    if a.supports_fold_in:
        history = data.item_ids.ids[:6].tolist()
        assert a.recommend_from_history(history, 8) == b.recommend_from_history(history, 8)
    if a.supports_similar_items:
        for item in data.item_ids.ids[:5].tolist():
            assert a.similar_items(item, 6) == b.similar_items(item, 6)


@pytest.mark.parametrize("mmap", [True, False])
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_round_trip_is_exact(
    name: str, mmap: bool, fitted: dict[str, Recommender], data: Interactions, tmp_path: Path
) -> None:
    model = fitted[name]
    path = model.save(tmp_path / "model.recsys")
    loaded = load(path, mmap=mmap)
    assert_same_model(model, loaded)
    assert_same_recommendations(model, loaded, data)
    assert loaded.unknown_users == model.unknown_users


def test_every_registered_model_is_covered() -> None:
    assert {a.name for a in algorithms(optional=True)} <= set(MODEL_NAMES)


def test_string_ids_round_trip(tiny: pd.DataFrame, tmp_path: Path) -> None:
    model = RandomFactors(n_factors=3).fit(tiny.astype({"item_id": str}))
    loaded = load(model.save(tmp_path / "m"))
    assert loaded.user_ids_.kind == "str" and loaded.item_ids_.kind == "str"
    assert loaded.recommend("ann", 3) == model.recommend("ann", 3)
    assert loaded.recommend_batch(["zed"], 2).to_lists() == [[]]
    with pytest.raises(UnknownUserError):
        loaded.recommend_batch(["zed"], unknown="raise")


def test_hybrid_shares_what_it_shared(fitted: dict[str, Recommender], tmp_path: Path) -> None:
    loaded = load(fitted["toy-hybrid"].save(tmp_path / "h"))
    assert loaded.lead_ is loaded.models_[0]  # type: ignore[attr-defined]
    assert loaded.models_[0].user_ids_ is loaded.user_ids_  # type: ignore[attr-defined]


def test_loading_needs_no_training_data(tmp_path: Path, synthetic: pd.DataFrame) -> None:
    """A fresh interpreter, with the data file gone, gives the same recommendations."""
    csv = tmp_path / "train.csv"
    synthetic.to_csv(csv, index=False)
    model = MostPopular().fit(csv)
    path = model.save(tmp_path / "pop.recsys")
    csv.unlink()
    users = synthetic["user_id"].unique()[:20].tolist()
    code = f"import json, recommender_systems as rs; m = rs.load({str(path)!r}); " + (
        f"print(json.dumps(m.recommend_batch({users!r}, 5).to_lists()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    ).stdout
    assert json.loads(out) == model.recommend_batch(users, 5).to_lists()


def test_saved_model_evaluates_like_the_original_on_movielens(
    ml100k_split: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    train, test = ml100k_split
    model = MostPopular().fit(train)
    loaded = load(model.save(tmp_path / "pop.recsys"))
    result = evaluate(loaded, None, test, k=10)
    assert dict(result) == dict(evaluate(model, None, test, k=10))
    assert result["precision@10"] == pytest.approx(0.19, abs=0.01)


def test_mapped_arrays_are_copy_on_write(fitted: dict[str, Recommender], tmp_path: Path) -> None:
    path = fitted["toy-random-factors"].save(tmp_path / "f")
    before = path.read_bytes()
    loaded = load(path, mmap=True)
    loaded.user_factors_[:] = 0  # type: ignore[attr-defined]
    assert path.read_bytes() == before
    assert load(path).user_factors_.any()  # type: ignore[attr-defined]


def test_info_reads_the_header_only(fitted: dict[str, Recommender], tmp_path: Path) -> None:
    model = fitted["toy-random-factors"]
    path = model.save(tmp_path / "f.recsys")
    info = read_info(path)
    assert info.model_class == "tests.toy_models.RandomFactors" and info.algorithm is None
    assert (info.n_users, info.n_items) == (len(model.user_ids_), len(model.item_ids_))
    assert info.n_interactions == model.user_items_.nnz
    assert info.supports_fold_in and info.supports_similar_items
    assert info.format_version == container.FORMAT_VERSION
    assert info.state["item_factors_"] == f"float32 array ({len(model.item_ids_)}, 16)"
    assert info.file_size == path.stat().st_size
    assert "n_factors=16" in str(info) and "item_factors_" in str(info)
    _, same = load_with_info(path)
    assert same == info
    assert read_info(fitted["most-popular"].save(tmp_path / "p")).algorithm == "most-popular"


# ---------------------------------------------------------------- damaged files
@pytest.fixture
def small_file(tmp_path: Path, tiny: pd.DataFrame) -> Path:
    return MostPopular().fit(tiny).save(tmp_path / "small.recsys")


def test_every_changed_byte_is_detected(small_file: Path, tmp_path: Path) -> None:
    original = small_file.read_bytes()
    damaged = tmp_path / "damaged.recsys"
    for position in range(len(original)):
        data = bytearray(original)
        data[position] ^= 0x20
        damaged.write_bytes(bytes(data))
        with pytest.raises(ModelFileError):
            load(damaged)


def test_checksum_error_names_the_array(tmp_path: Path, tiny: pd.DataFrame) -> None:
    path = RandomFactors(n_factors=8).fit(tiny).save(tmp_path / "f.recsys")
    data = bytearray(path.read_bytes())
    length = struct.unpack_from("<Q", data, 16)[0]
    header = json.loads(bytes(data[56 : 56 + length]))
    entry = next(e for e in header["arrays"] if e["label"] == "model.item_factors_")
    data[container._align(56 + length) + entry["offset"] + 5] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"damaged: array model\.item_factors_ fails its SHA"):
        load(path)
    # The caller may skip the check, at their own risk: the damaged value comes through.
    original = RandomFactors(n_factors=8).fit(tiny).item_factors_
    unverified = load(path, verify=False)
    assert unverified.recommend(tiny["user_id"].iloc[0], n=2)
    assert not np.array_equal(unverified.item_factors_, original)  # type: ignore[attr-defined]


def test_every_truncation_is_detected(small_file: Path, tmp_path: Path) -> None:
    original = small_file.read_bytes()
    cut = tmp_path / "cut.recsys"
    for length in range(len(original)):
        cut.write_bytes(original[:length])
        with pytest.raises(ModelFileError, match=r"truncated|empty"):
            load(cut)
        if length > 100:
            with pytest.raises(ModelFileError, match="truncated"):
                read_info(cut)


def test_extra_bytes_are_detected(small_file: Path) -> None:
    small_file.write_bytes(small_file.read_bytes() + b"\0" * 64)
    with pytest.raises(ModelFileError, match="damaged: expected"):
        load(small_file)


def test_newer_format_version_is_refused(small_file: Path) -> None:
    data = bytearray(small_file.read_bytes())
    struct.pack_into("<I", data, 8, container.FORMAT_VERSION + 1)
    small_file.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"newer version.*upgrade recommender-systems"):
        load(small_file)
    with pytest.raises(ModelFileError, match="newer"):
        read_info(small_file)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (pickle.dumps({"a": 1}), r"not a recommender_systems model file.*pickle"),
        (b"PK\x03\x04rest of a zip", "zip archive"),
        (b'{"format": "recommender-systems-model"}', "JSON document"),
        (b"user_id,item_id\n1,2\n", "not a recommender_systems model file$"),
        (b"", "empty file"),
    ],
)
def test_files_of_another_kind(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "other"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=message):
        load(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no such model file"):
        load(tmp_path / "nope")
    with pytest.raises(ModelFileError, match="directory"):
        load(tmp_path)
    with pytest.raises(ModelFileError, match="directory"):
        MostPopular().fit(pd.DataFrame({"user_id": [1], "item_id": [1]})).save(tmp_path)


def test_numpy_npz_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "arrays.npz"
    np.savez(path, a=np.arange(3))
    with pytest.raises(ModelFileError, match="zip archive"):
        load(path)


# ------------------------------------------------------------------ no code run
def forged(
    tmp_path: Path, model_node: dict[str, Any], arrays: list[np.ndarray] | None = None
) -> Path:
    header = {
        "format": container.FORMAT_NAME,
        "format_version": 1,
        "library_version": "0",
        "created": "now",
        "summary": {},
        "model": model_node,
    }
    arrays = arrays or []
    return container.write(tmp_path / "forged", header, arrays, ["a"] * len(arrays))


def test_a_file_cannot_name_arbitrary_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    node = {
        "$": "model",
        "id": 0,
        "class": {"name": None, "class": "os.system"},
        "params": {"command": f"touch {marker}"},
        "state": {},
    }
    with pytest.raises(ModelFileError, match=r"neither a registered algorithm.*import"):
        load(forged(tmp_path, node))
    assert not marker.exists()


def test_a_file_cannot_set_dunder_attributes(tmp_path: Path) -> None:
    node = {
        "$": "model",
        "id": 0,
        "class": {"name": "most-popular", "class": "x"},
        "params": {},
        "state": {"__class__": None},
    }
    with pytest.raises(ModelFileError, match="not a fitted-state name"):
        load(forged(tmp_path, node))


@pytest.mark.parametrize(
    "node",
    [
        {"$": "pickle", "data": "gASV"},
        {"$": "array", "index": 5},
        {"$": "sparse", "format": "coo", "container": "matrix"},
        [1, {"$": "float", "value": "1e999"}],
    ],
)
def test_malformed_values_are_refused(tmp_path: Path, node: Any) -> None:
    model = {
        "$": "model",
        "id": 0,
        "class": {"name": "most-popular", "class": "x"},
        "params": {},
        "state": {"item_scores_": node},
    }
    with pytest.raises(ModelFileError, match="malformed"):
        load(forged(tmp_path, model))


def test_out_of_bounds_sparse_indices_are_refused(tmp_path: Path) -> None:
    arrays: list[np.ndarray] = [
        np.ones(2, np.float32),
        np.array([0, 9], np.int32),
        np.array([0, 2], np.int64),
    ]
    node = {"$": "sparse", "format": "csr", "container": "matrix", "shape": [1, 3],
            "data": 0, "indices": 1, "indptr": 2}  # fmt: skip
    model = {
        "$": "model",
        "id": 0,
        "class": {"name": "most-popular", "class": "x"},
        "params": {},
        "state": {"user_items_": node},
    }
    with pytest.raises(ModelFileError, match="malformed sparse"):
        load(forged(tmp_path, model, arrays))


def test_object_dtype_in_a_forged_entry_is_refused(small_file: Path) -> None:
    raw = small_file.read_bytes()
    header = json.loads(raw[56 : 56 + struct.unpack_from("<Q", raw, 16)[0]])
    header["arrays"][0]["dtype"] = "|O"
    with pytest.raises(ModelFileError, match="not allowed"):
        container.ArrayEntry.from_json(header["arrays"][0])


def test_unknown_custom_class_asks_for_an_import(tmp_path: Path, tiny: pd.DataFrame) -> None:
    path = CscNeighbours().fit(tiny).save(tmp_path / "c")
    code = f"import recommender_systems as rs; rs.load({str(path)!r})"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert proc.returncode != 0
    assert "tests.toy_models.CscNeighbours" in proc.stderr and "import" in proc.stderr


# ------------------------------------------------------------------ saving
def test_unfitted_and_unsaveable_models(tmp_path: Path, tiny: pd.DataFrame) -> None:
    with pytest.raises(NotFittedError):
        MostPopular().save(tmp_path / "m")
    model: Recommender = RandomFactors(n_factors=2).fit(tiny)  # declares no state of its own
    model.callback_ = lambda: None  # type: ignore[attr-defined]
    with pytest.raises(NotSupportedError, match=r"model\.callback_: cannot save a value of type"):
        model.save(tmp_path / "m")
    model.callback_ = np.array([object()])  # type: ignore[attr-defined]
    with pytest.raises(NotSupportedError, match="dtype object"):
        model.save(tmp_path / "m")
    popular = MostPopular().fit(tiny)  # declares its state: nothing else may be saved
    popular.extra_ = np.zeros(3)  # type: ignore[attr-defined]
    with pytest.raises(NotSupportedError, match="'extra_' is not declared by MostPopular"):
        popular.save(tmp_path / "m")
    assert not list(tmp_path.iterdir())


class DiesAfter:
    """A file whose ``n``-th write fails, as a full disk would."""

    def __init__(self, out: Any, n: int) -> None:
        self.out, self.left = out, n

    def write(self, data: Any) -> int:
        self.left -= 1
        if self.left == 0:
            raise OSError("disk full")
        return int(self.out.write(data))


def test_failed_save_keeps_the_old_file(
    small_file: Path, tiny: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = small_file.read_bytes()
    real = container.atomic_write
    monkeypatch.setattr(
        container, "atomic_write", lambda p, w: real(p, lambda out: w(DiesAfter(out, 6)))
    )
    with pytest.raises(OSError, match="disk full"):
        RandomFactors(n_factors=4).fit(tiny).save(small_file)
    assert small_file.read_bytes() == before
    assert [p.name for p in small_file.parent.iterdir()] == [small_file.name]


def test_crash_mid_save_keeps_the_old_file(small_file: Path) -> None:
    """A process killed while writing (os._exit, no cleanup) leaves the old file whole."""
    before = small_file.read_bytes()
    script = textwrap.dedent(
        f"""
        import os, pandas as pd
        from recommender_systems.persistence import container
        from tests.toy_models import RandomFactors
        real = container.atomic_write
        def crash_midway(path, write_to):
            class Dies:
                def __init__(self, out): self.out, self.n = out, 0
                def write(self, data):
                    self.n += 1
                    if self.n == 4:
                        self.out.flush(); os._exit(9)
                    return self.out.write(data)
            return real(path, lambda out: write_to(Dies(out)))
        container.atomic_write = crash_midway
        df = pd.DataFrame({{"user_id": [1, 2, 3], "item_id": [1, 2, 2]}})
        RandomFactors(n_factors=50).fit(df).save({str(small_file)!r})
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=False)
    assert proc.returncode == 9
    assert small_file.read_bytes() == before
    assert type(load(small_file)) is MostPopular  # still the old model
    leftovers = [p for p in small_file.parent.iterdir() if p != small_file]
    assert len(leftovers) == 1 and leftovers[0].name.endswith(".tmp")


def test_save_accepts_str_and_returns_the_path(tmp_path: Path, tiny: pd.DataFrame) -> None:
    target = str(tmp_path / "m.recsys")
    assert MostPopular().fit(tiny).save(target) == Path(target)
    os.chmod(target, 0o444)
    MostPopular().fit(tiny).save(target)  # replacing a read-only file works (rename)


def _save_under_former_names(model: Any, path: Path, renames: dict[str, str]) -> None:
    """Writes ``model`` as a file from before a rename would hold it (``renames``:
    current name -> former name, for hyperparameters and fitted state alike)."""
    from recommender_systems.persistence import _summary
    from recommender_systems.persistence.codec import Encoder

    encoder = Encoder()
    tree = encoder.model(model)
    for part in ("params", "state"):
        tree[part] = {renames.get(k, k): v for k, v in tree[part].items()}
    header = {
        "format": container.FORMAT_NAME,
        "format_version": container.FORMAT_VERSION,
        "library_version": "0.1.0",
        "created": "2026-11-01T00:00:00+00:00",
        "summary": _summary(model),
        "model": tree,
    }
    container.write(path, header, encoder.arrays, encoder.labels)


def test_files_written_before_a_rename_still_load(tmp_path: Path, synthetic: pd.DataFrame) -> None:
    als = ALS(n_factors=4, epochs=2, regularization=0.05, random_state=0).fit(synthetic)
    path = tmp_path / "old-als.recsys"
    _save_under_former_names(
        als, path, {"epochs": "iterations", "regularization": "reg", "regularization_": "reg_"}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # loading an old file is not the caller's mistake
        loaded = load(path)
    assert loaded.get_params()["epochs"] == 2 and loaded.regularization_ == 0.05  # type: ignore[attr-defined]
    assert loaded.recommend(1, n=5) == als.recommend(1, n=5)
    with pytest.warns(DeprecationWarning, match="'reg_' is deprecated, use 'regularization_'"):
        assert loaded.reg_ == 0.05  # type: ignore[attr-defined]

    hybrid = HybridRecommender([MostPopular(), ItemKNN(n_neighbors=5)]).fit(synthetic)
    old = tmp_path / "old-hybrid.recsys"
    _save_under_former_names(hybrid, old, {"recommenders": "models", "recommenders_": "models_"})
    again = load(old)
    assert [type(m) for m in again.recommenders_] == [MostPopular, ItemKNN]  # type: ignore[attr-defined]
    assert again.recommend(1, n=5) == hybrid.recommend(1, n=5)
