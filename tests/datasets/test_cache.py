"""Data home resolution, verification, and the download path, all offline.

Archives are built from fixture files and served by the fake network of
conftest.py (or by a local HTTP server on 127.0.0.1); expected hashes are patched
to the fixtures' own.
"""

from __future__ import annotations

import functools
import http.server
import threading
import urllib.request
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from recommender_systems.datasets import (
    UnverifiedDataWarning,
    _download,
    dataset_dir,
    download,
    load_goodbooks_10k,
    load_item_metadata,
    load_movielens_100k,
    resolve_data_home,
)
from recommender_systems.datasets._integrity import VERIFIED_MARKER
from recommender_systems.datasets._registry import SPECS
from recommender_systems.errors import ChecksumError, DataError, DatasetNotAvailableError

from .conftest import (
    FakeNetwork,
    patch_spec,
    sha256,
    tree,
    write_goodbooks,
    write_ml_100k,
    zip_bytes,
)

ML100K_URL = SPECS["ml-100k"].archive_url


@pytest.fixture
def ml100k_zip(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """An ml-100k archive of fixture files, with the registry trusting its hashes."""
    files = write_ml_100k(tmp_path_factory.mktemp("source"))
    archive = zip_bytes(files, top_folder="ml-100k")
    patch_spec(
        monkeypatch,
        "ml-100k",
        archive_sha256=sha256(archive),
        file_sha256={
            "u.data": sha256(files["u.data"]),
            "u.item": sha256(files["u.item"]),
            "u.genre": None,
        },
    )
    return archive


# --- where files live -------------------------------------------------------------


def test_explicit_data_home_wins_over_environment(tmp_path: Path) -> None:
    assert resolve_data_home(tmp_path / "explicit") == tmp_path / "explicit"
    assert dataset_dir("ml-1m", tmp_path) == tmp_path / "ml-1m"


def test_environment_variable_is_the_default(
    isolated_data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve_data_home() == isolated_data_home
    assert dataset_dir("goodbooks-10k") == isolated_data_home / "goodbooks-10k"


def test_xdg_cache_then_home_cache_without_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RECSYS_DATA_DIR")
    assert resolve_data_home() == tmp_path / "xdg-cache" / "recommender_systems"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert resolve_data_home() == tmp_path / "home" / ".cache" / "recommender_systems"


def test_unknown_dataset_name_lists_known_names() -> None:
    with pytest.raises(DataError, match="unknown dataset 'ml-2k': expected one of 'ml-100k'"):
        dataset_dir("ml-2k")


# --- pre-extracted folders ----------------------------------------------------------


def test_pre_extracted_folder_is_read_without_writing(
    tmp_path: Path, network: FakeNetwork, ml100k_zip: bytes
) -> None:
    write_ml_100k(tmp_path / "ml-100k")
    before = tree(tmp_path)

    with pytest.warns(UnverifiedDataWarning, match="u.genre"):
        load_item_metadata("ml-100k", tmp_path)
    ratings = load_movielens_100k(tmp_path)

    assert len(ratings) == 3
    assert tree(tmp_path) == before
    assert network.requested == []


def test_files_with_known_hash_load_without_warning(tmp_path: Path, ml100k_zip: bytes) -> None:
    write_ml_100k(tmp_path / "ml-100k")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ratings = load_movielens_100k(tmp_path)

    assert ratings["user_id"].tolist() == [196, 186, 22]


def test_changed_file_in_pre_extracted_folder_raises_checksum_error(
    tmp_path: Path, ml100k_zip: bytes
) -> None:
    write_ml_100k(tmp_path / "ml-100k")
    with (tmp_path / "ml-100k" / "u.data").open("ab") as handle:
        handle.write(b"1\t1\t1\t1\n")

    with pytest.raises(ChecksumError, match=r"u\.data has SHA-256 [0-9a-f]{64}; expected"):
        load_movielens_100k(tmp_path)
    assert len(load_movielens_100k(tmp_path, verify=False)) == 4


def test_unverifiable_files_warn_unless_extracted_from_checked_archive(tmp_path: Path) -> None:
    write_goodbooks(tmp_path / "goodbooks-10k")

    with pytest.warns(UnverifiedDataWarning, match=r"could not verify ratings\.csv") as caught:
        load_goodbooks_10k(tmp_path)
    assert caught[0].filename == __file__  # attributed to the caller, not the library

    marker = tmp_path / "goodbooks-10k" / VERIFIED_MARKER
    marker.write_text(SPECS["goodbooks-10k"].archive_sha256 or "", encoding="ascii")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(load_goodbooks_10k(tmp_path)) == 3


# --- downloading --------------------------------------------------------------------


def test_download_extracts_into_place_and_is_cached(
    tmp_path: Path, network: FakeNetwork, ml100k_zip: bytes
) -> None:
    network.serve(ML100K_URL, ml100k_zip)

    ratings = load_movielens_100k(tmp_path, progress=False)

    assert ratings["item_id"].tolist() == [242, 302, 242]
    assert sorted(tree(tmp_path)) == [
        f"ml-100k/{VERIFIED_MARKER}",
        "ml-100k/u.data",
        "ml-100k/u.genre",
        "ml-100k/u.item",
    ]
    # Loaded again, from the cache: no request, and no warning for u.genre.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_item_metadata("ml-100k", tmp_path)
    assert network.requested == [ML100K_URL]


def test_download_goes_to_recsys_data_dir_by_default(
    isolated_data_home: Path, network: FakeNetwork, ml100k_zip: bytes
) -> None:
    network.serve(ML100K_URL, ml100k_zip)

    folder = download("ml-100k", progress=False)

    assert folder == isolated_data_home / "ml-100k"
    assert (folder / "u.data").is_file()
    assert download("ml-100k") == folder
    assert network.requested == [ML100K_URL]


def test_flat_archive_is_extracted_into_the_dataset_folder(
    tmp_path: Path, network: FakeNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = write_goodbooks(tmp_path / "fixture-source")
    archive = zip_bytes(files, top_folder=None)
    spec = patch_spec(monkeypatch, "goodbooks-10k", archive_sha256=sha256(archive))
    network.serve(spec.archive_url, archive)

    tags = load_goodbooks_10k(tmp_path / "home", kind="tags", progress=False)

    assert tags["tag_name"].tolist() == ["-", "fantasy", "to-read", "classics"]
    assert (tmp_path / "home" / "goodbooks-10k" / "book_tags.csv").is_file()


def test_archive_checksum_mismatch_caches_nothing(
    tmp_path: Path, network: FakeNetwork, ml100k_zip: bytes
) -> None:
    corrupted = bytearray(ml100k_zip)
    corrupted[len(corrupted) // 2] ^= 0xFF
    network.serve(ML100K_URL, bytes(corrupted))
    home = tmp_path / "home"

    with pytest.raises(ChecksumError, match="nothing was cached"):
        load_movielens_100k(home)

    assert tree(home) == {}


def test_member_checksum_mismatch_caches_nothing(
    tmp_path: Path, network: FakeNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = write_ml_100k(tmp_path / "fixture-source")
    archive = zip_bytes(files, top_folder="ml-100k")
    patch_spec(
        monkeypatch,
        "ml-100k",
        archive_sha256=sha256(archive),
        file_sha256={"u.data": "0" * 64, "u.item": None, "u.genre": None},
    )
    network.serve(ML100K_URL, archive)
    home = tmp_path / "home"

    with pytest.raises(ChecksumError, match=r"u\.data"):
        load_movielens_100k(home)

    assert tree(home) == {}


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"fail_after": 100}, DatasetNotAvailableError),
        ({"length": 10_000_000}, DatasetNotAvailableError),
    ],
    ids=["connection-reset", "truncated"],
)
def test_interrupted_download_caches_nothing(
    tmp_path: Path,
    network: FakeNetwork,
    ml100k_zip: bytes,
    options: dict[str, int],
    error: type[Exception],
) -> None:
    network.serve(ML100K_URL, ml100k_zip, **options)
    home = tmp_path / "home"

    with pytest.raises(error, match="the download failed"):
        load_movielens_100k(home)

    assert tree(home) == {}


def test_keyboard_interrupt_during_download_caches_nothing(
    tmp_path: Path, network: FakeNetwork, ml100k_zip: bytes
) -> None:
    network.serve(ML100K_URL, ml100k_zip, fail_after=100, failure=KeyboardInterrupt())
    home = tmp_path / "home"

    with pytest.raises(KeyboardInterrupt):
        load_movielens_100k(home)

    assert tree(home) == {}


def test_interrupted_extraction_leaves_no_dataset_folder(
    tmp_path: Path, network: FakeNetwork, ml100k_zip: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    network.serve(ML100K_URL, ml100k_zip)
    disk_full = True
    extractall = zipfile.ZipFile.extractall

    def flaky_extractall(self: zipfile.ZipFile, *args: Any, **kwargs: Any) -> None:
        if disk_full:
            raise OSError(28, "No space left on device")
        extractall(self, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "extractall", flaky_extractall)
    home = tmp_path / "home"

    with pytest.raises(OSError, match="No space left"):
        load_movielens_100k(home)

    # Only the complete, verified archive stays, so the next call need not download.
    assert sorted(tree(home)) == ["ml-100k.zip"]
    disk_full = False
    network.routes.clear()
    assert len(load_movielens_100k(home)) == 3
    assert network.requested == [ML100K_URL]
    assert sorted(tree(home)) == [
        f"ml-100k/{VERIFIED_MARKER}",
        "ml-100k/u.data",
        "ml-100k/u.genre",
        "ml-100k/u.item",
    ]


def test_archive_without_expected_files_raises_data_error(
    tmp_path: Path, network: FakeNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = zip_bytes({"README": b"hello"}, top_folder="ml-100k")
    patch_spec(monkeypatch, "ml-100k", archive_sha256=sha256(archive))
    network.serve(ML100K_URL, archive)
    home = tmp_path / "home"

    with pytest.raises(DataError, match=r"has no u\.data"):
        load_movielens_100k(home)

    assert tree(home) == {}


def test_no_network_and_no_cache_names_dataset_url_and_folder(tmp_path: Path) -> None:
    folder = tmp_path / "offline" / "ml-100k"

    with pytest.raises(DatasetNotAvailableError) as caught:
        load_movielens_100k(tmp_path / "offline", progress=False)

    message = str(caught.value)
    assert "'ml-100k'" in message
    assert ML100K_URL in message
    assert str(folder) in message
    assert not folder.parent.exists()


def test_download_false_never_touches_the_network(tmp_path: Path, network: FakeNetwork) -> None:
    with pytest.raises(DatasetNotAvailableError, match="download=False") as caught:
        load_goodbooks_10k(tmp_path, download=False)

    assert str(tmp_path / "goodbooks-10k") in str(caught.value)
    assert network.requested == []


def test_incomplete_folder_is_reported_not_overwritten(
    tmp_path: Path, network: FakeNetwork, ml100k_zip: bytes
) -> None:
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    (folder / "u.data").write_bytes(b"1\t2\t3\t4\n")
    network.serve(ML100K_URL, ml100k_zip)

    with pytest.raises(DatasetNotAvailableError, match=r"exists but lacks u\.item, u\.genre"):
        load_item_metadata("ml-100k", tmp_path)

    assert tree(tmp_path) == {"ml-100k/u.data": b"1\t2\t3\t4\n"}
    assert network.requested == []


def test_progress_bar_stays_off_when_stderr_is_not_a_terminal(
    tmp_path: Path,
    network: FakeNetwork,
    ml100k_zip: bytes,
    capsys: pytest.CaptureFixture[str],
) -> None:
    network.serve(ML100K_URL, ml100k_zip)

    download("ml-100k", tmp_path, progress=True)

    assert capsys.readouterr().err == ""


# --- a real HTTP transfer, on the loopback interface only -------------------------


@pytest.fixture
def local_server(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return None


def test_download_over_real_http_from_loopback(
    tmp_path: Path, local_server: str, ml100k_zip: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "served" / "ml-100k.zip").write_bytes(ml100k_zip)
    patch_spec(monkeypatch, "ml-100k", archive_url=f"{local_server}/ml-100k.zip")
    real_urlopen = urllib.request.urlopen

    def loopback_only(request: urllib.request.Request, timeout: float | None = None) -> object:
        assert request.full_url.startswith("http://127.0.0.1:")
        return real_urlopen(request, timeout=timeout)

    monkeypatch.setattr(_download, "urlopen", loopback_only)

    ratings = load_movielens_100k(tmp_path / "home", progress=False)

    assert len(ratings) == 3
    assert (tmp_path / "home" / "ml-100k" / VERIFIED_MARKER).is_file()
