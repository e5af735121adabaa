"""Model files are checked for meaning, not only integrity (issue 11, item 4): a
checksum-valid file whose content does not fit its model class, whose sizes would
overflow or exhaust memory, whose header nests too deeply, or that is not a
regular file, is a ModelFileError before the model answers anything."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from recommender_systems import (
    ALS,
    BPR,
    HybridRecommender,
    IdMap,
    ItemKNN,
    ModelFileError,
    MostPopular,
    Recommender,
    algorithms,
    load,
    read_info,
)
from recommender_systems import persistence as persistence_module
from recommender_systems.persistence import container
from recommender_systems.state import check_state, declared_state


@pytest.fixture(scope="module")
def als(synthetic: pd.DataFrame) -> ALS:
    return ALS(n_factors=4, epochs=2, random_state=0).fit(synthetic)


@pytest.fixture
def unchecked_save(
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[Recommender, Path], Path]:
    """``save`` without its own state check: how a damaged or forged file is made."""

    def save(model: Recommender, path: Path) -> Path:
        with monkeypatch.context() as patch:
            patch.setattr(persistence_module, "check_state", lambda model: None)
            return model.save(path)

    return save


def forge_header(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Rewrites the file's JSON header with ``change`` and a valid header checksum."""
    raw = path.read_bytes()
    length = struct.unpack_from("<Q", raw, 16)[0]
    header = json.loads(raw[56 : 56 + length])
    blobs = raw[container._align(56 + length) :]
    change(header)
    text = json.dumps(header).encode()
    preamble = container._PREAMBLE.pack(
        container.MAGIC, 1, 0, len(text), hashlib.sha256(text).digest()
    )
    start = len(preamble) + len(text)
    path.write_bytes(preamble + text + bytes(container._align(start) - start) + blobs)


def entry(header: dict[str, Any], label: str) -> dict[str, Any]:
    return next(e for e in header["arrays"] if e["label"] == label)


# --------------------------------------------------------- state against the class
@pytest.mark.slow
def test_every_registered_model_declares_its_fitted_state(synthetic: pd.DataFrame) -> None:
    for algorithm in algorithms(optional=True):  # with the installed extras' models
        declaration = declared_state(algorithm.cls)
        assert not declaration.open, f"{algorithm.name} does not declare its fitted state"
        model = algorithm.create().fit(synthetic)
        check_state(model)  # what fit leaves behind is exactly what the class declares


def test_item_ids_shorter_than_the_factor_matrix(
    als: ALS, tmp_path: Path, unchecked_save: Callable[[Recommender, Path], Path]
) -> None:
    """Before: loaded, passed /healthz, then every /recommend answered 500."""
    broken = als.clone()
    vars(broken).update(vars(als))
    broken.item_ids_ = IdMap(als.item_ids_.ids[:-1])
    path = unchecked_save(broken, tmp_path / "m")
    with pytest.raises(
        ModelFileError,
        match=r"ALS.user_items_: expected shape \(n_users, n_items\) with n_items = 79",
    ):
        load(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: setattr(m, "item_gram_", m.item_gram_.astype(np.float64)), "dtype float32"),
        (lambda m: setattr(m, "item_gram_", m.item_gram_[:2]), r"item_gram_: expected shape"),
        (lambda m: delattr(m, "item_gram_"), "'item_gram_' is missing"),
        (lambda m: setattr(m, "sneaky_", np.zeros(2)), "'sneaky_' is not declared"),
        (lambda m: setattr(m, "alpha_", -1.0), r"alpha_: expected a number >= 0"),
        (lambda m: m.user_factors_.__setitem__((0, 0), np.nan), "finite values, received nan"),
        (lambda m: setattr(m, "user_items_", m.user_items_.tocsc()), "expected a CSR matrix"),
        (lambda m: setattr(m, "user_ids_", "not ids"), "expected an id map"),
    ],
)
def test_state_that_does_not_fit_the_class_is_refused(
    als: ALS,
    tmp_path: Path,
    unchecked_save: Callable[[Recommender, Path], Path],
    change: Callable[[ALS], None],
    message: str,
) -> None:
    broken = als.clone()
    vars(broken).update(
        {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(als).items()}
    )
    change(broken)
    try:
        path = unchecked_save(broken, tmp_path / "m")
    except Exception:  # not even encodable (a str where an id map belongs): forge it instead
        path = unchecked_save(als, tmp_path / "m")
        forge_header(path, lambda h: h["model"]["state"].update(user_ids_="not ids"))
    with pytest.raises(ModelFileError, match=message):
        load(path)


def test_hybrid_members_must_share_the_ids(
    synthetic: pd.DataFrame, tmp_path: Path, unchecked_save: Callable[[Recommender, Path], Path]
) -> None:
    hybrid = HybridRecommender([MostPopular(), ItemKNN()]).fit(synthetic)
    other = MostPopular().fit(synthetic[synthetic["item_id"] != synthetic["item_id"].iloc[0]])
    hybrid.recommenders_[0] = other
    with pytest.raises(ModelFileError, match=r"recommenders_\[0\]: its item_ids_ differ"):
        load(unchecked_save(hybrid, tmp_path / "h"))


def test_hyperparameters_are_validated_on_load(
    synthetic: pd.DataFrame, tmp_path: Path, unchecked_save: Callable[[Recommender, Path], Path]
) -> None:
    """Before: ``n_threads`` stored as 1500 loaded, and spawned 1,500 threads."""
    path = BPR(n_factors=2, epochs=1).fit(synthetic).save(tmp_path / "b")
    forge_header(path, lambda h: h["model"]["params"].update(n_threads=1500))
    with pytest.raises(ModelFileError, match=r"hyperparameters of BPR: n_threads: expected"):
        load(path)


# ------------------------------------------------- sizes bounded before allocation
@pytest.fixture
def small(tmp_path: Path, tiny: pd.DataFrame) -> Path:
    return MostPopular().fit(tiny).save(tmp_path / "small.recsys")


def test_zero_width_strings_cannot_claim_millions_of_elements(small: Path) -> None:
    """Before: a 2·10⁷-entry ``<U0`` array in an 80 KB file cost 861 MB and 5.5 s."""

    def change(header: dict[str, Any]) -> None:
        entry(header, "model.user_ids_.ids").update(dtype="<U0", shape=[20_000_000], nbytes=0)

    forge_header(small, change)
    start = time.perf_counter()
    with pytest.raises(ModelFileError, match="inconsistent array entry"):
        load(small)
    assert time.perf_counter() - start < 1.0


def test_sizes_are_computed_without_overflow(small: Path) -> None:
    """Before: shape [2**32, 2**32] with 0 bytes passed (the int64 product wraps to 0)."""
    forge_header(
        small,
        lambda h: entry(h, "model.item_scores_").update(shape=[2**32, 2**32], nbytes=0),
    )
    with pytest.raises(ModelFileError, match="inconsistent array entry"):
        load(small)


def test_arrays_never_lie_past_the_end_even_unverified(small: Path) -> None:
    forge_header(small, lambda h: entry(h, "model.item_scores_").update(offset=1 << 20))
    with pytest.raises(ModelFileError, match="past the end of the file"):
        load(small, verify=False)


def test_a_deeply_nested_header_is_refused(small: Path) -> None:
    """Before: ``RecursionError`` from the JSON parser."""
    forge_header(small, lambda h: h["summary"].update(note="placeholder"))
    raw = small.read_bytes()
    length = struct.unpack_from("<Q", raw, 16)[0]
    nested = raw[56 : 56 + length].replace(b'"placeholder"', b"[" * 100_000 + b"]" * 100_000)
    preamble = container._PREAMBLE.pack(
        container.MAGIC, 1, 0, len(nested), hashlib.sha256(nested).digest()
    )
    start = len(preamble) + len(nested)
    blobs = raw[container._align(56 + length) :]
    small.write_bytes(preamble + nested + bytes(container._align(start) - start) + blobs)
    for read in (load, read_info):
        with pytest.raises(ModelFileError, match=r"nested 100002 levels deep \(at most 100\)"):
            read(small)


# -------------------------------------------------------------- only regular files
def test_devices_are_refused_at_once() -> None:
    """Before: ``load("/dev/zero")`` read until MemoryError."""
    with pytest.raises(ModelFileError, match="received a device, FIFO or socket"):
        load("/dev/zero")


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    """Before: loading a FIFO with no writer blocked forever."""
    fifo = tmp_path / "pipe.recsys"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def attempt() -> None:
        try:
            load(fifo)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout=10)
    if thread.is_alive():  # unblock it, then fail
        with open(fifo, "wb"):
            pass
        pytest.fail("load() blocked on a FIFO")
    assert isinstance(outcome[0], ModelFileError) and "FIFO" in str(outcome[0])


# ------------------------------------------------- a loaded model owns its memory
@pytest.mark.parametrize("damage", ["overwrite", "truncate", "delete"])
def test_a_loaded_model_does_not_depend_on_its_file(
    damage: str, als: ALS, synthetic: pd.DataFrame, tmp_path: Path
) -> None:
    path = als.save(tmp_path / "als.recsys")
    loaded = load(path)  # the default: read into private memory
    users = als.user_ids_.ids[:20]
    expected = loaded.recommend_batch(users, 5).to_lists()
    if damage == "overwrite":  # in place, same inode: what `cp other.recsys served.recsys` does
        with open(path, "r+b") as f:
            f.write(MostPopular().fit(synthetic).save(tmp_path / "p").read_bytes())
            f.truncate()
    elif damage == "truncate":
        os.truncate(path, 100)
    else:
        path.unlink()
    assert loaded.recommend_batch(users, 5).to_lists() == expected
    assert np.isfinite(loaded.score(users[0].item(), als.item_ids_.ids[:3])).all()
