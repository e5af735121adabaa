"""Find a dataset's files on disk, downloading and verifying them when missing."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from pathlib import Path

from recommender_systems.datasets._download import NetworkError, extract_zip, fetch
from recommender_systems.datasets._integrity import (
    VERIFIED_MARKER,
    check_sha256,
    verify_files,
)
from recommender_systems.datasets._paths import DATA_DIR_ENV, PathLike, resolve_data_home
from recommender_systems.datasets._registry import DatasetSpec, get_spec
from recommender_systems.errors import DataError, DatasetNotAvailableError


def ensure_files(
    name: str,
    files: Iterable[str],
    data_home: PathLike | None,
    *,
    download: bool,
    progress: bool,
    verify: bool,
) -> Path:
    """The folder of dataset ``name`` once ``files`` are all in it.

    Files already present are only read (the data home may be read-only) and, with
    ``verify``, checked against their official SHA-256. Missing files are fetched
    with the official archive when ``download`` is true.
    """
    spec = get_spec(name)
    wanted = list(files)
    folder = resolve_data_home(data_home) / spec.folder
    if not _missing(folder, wanted):
        if verify:
            verify_files(spec, folder, wanted)
        return folder
    if not download:
        raise DatasetNotAvailableError(
            _not_available(spec, folder, reason="it is not cached and download=False")
        )
    download_dataset(name, data_home, progress=progress, verify=verify)
    missing = _missing(folder, wanted)
    if missing:
        raise DataError(
            f"the {spec.name} archive {spec.archive_url} has no {', '.join(missing)}; "
            "expected the official archive layout"
        )
    return folder


def download_dataset(
    name: str,
    data_home: PathLike | None = None,
    *,
    progress: bool = True,
    verify: bool = True,
) -> Path:
    """Make sure the official files of ``name`` are extracted; return their folder."""
    spec = get_spec(name)
    home = resolve_data_home(data_home)
    folder = home / spec.folder
    required = list(spec.file_sha256)
    missing = _missing(folder, required)
    if not missing:
        if verify:
            verify_files(spec, folder, required)
        return folder
    if folder.is_dir() and any(folder.iterdir()):
        raise DatasetNotAvailableError(
            f"{spec.name}: the folder {folder} exists but lacks {', '.join(missing)}. "
            "Put the missing files there, or delete the folder so that it can be "
            "downloaded again"
        )
    archive_sha256 = spec.archive_sha256 if verify else None
    created_home = not home.exists()
    try:
        archive = _obtain_archive(spec, home, archive_sha256, progress=progress)
        extract_zip(archive, folder, prepare=_member_check(spec, archive_sha256, verify=verify))
    except DataError:
        # An archive whose content is wrong must not be reused by the next call.
        (home / spec.archive_name).unlink(missing_ok=True)
        raise
    finally:
        if created_home and not folder.exists():
            # Leave no trace of a failed first download (rmdir fails if not empty).
            with contextlib.suppress(OSError):
                home.rmdir()
    archive.unlink(missing_ok=True)
    return folder


def _obtain_archive(
    spec: DatasetSpec, home: Path, archive_sha256: str | None, *, progress: bool
) -> Path:
    """The official archive in ``home``: downloaded now, or left by an earlier try."""
    folder = home / spec.folder
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetNotAvailableError(
            _not_available(spec, folder, reason=f"the data home cannot be created ({exc})")
        ) from exc
    archive = home / spec.archive_name
    if archive.is_file() and archive_sha256 is not None:
        # Only an extraction interrupted after a verified download leaves one here.
        try:
            check_sha256(archive, archive_sha256, what=f"{spec.name} archive")
        except DataError:
            archive.unlink()
    if not archive.is_file():
        try:
            fetch(spec.archive_url, archive, expected_sha256=archive_sha256, progress=progress)
        except NetworkError as exc:
            raise DatasetNotAvailableError(
                _not_available(spec, folder, reason=f"the download failed ({exc})")
            ) from exc
    return archive


def _member_check(
    spec: DatasetSpec, archive_sha256: str | None, *, verify: bool
) -> Callable[[Path], None]:
    """What to check in a freshly extracted folder before it is moved into place."""

    def check(content: Path) -> None:
        absent = _missing(content, spec.file_sha256)
        if absent:
            raise DataError(
                f"the {spec.name} archive {spec.archive_url} has no {', '.join(absent)}; "
                "expected the official archive layout"
            )
        if verify:
            for file_name, sha256 in spec.file_sha256.items():
                if sha256 is not None:
                    check_sha256(content / file_name, sha256, what=f"{spec.name} file")
        if archive_sha256 is not None:
            (content / VERIFIED_MARKER).write_text(archive_sha256 + "\n", encoding="ascii")

    return check


def _missing(folder: Path, files: Iterable[str]) -> list[str]:
    return [name for name in files if not (folder / name).is_file()]


def _not_available(spec: DatasetSpec, folder: Path, *, reason: str) -> str:
    files = ", ".join(spec.file_sha256)
    return (
        f"dataset {spec.name!r} is not available: {reason}. Download {spec.archive_url} "
        f"and extract it so that {files} are in the folder {folder} (or point "
        f"data_home= or ${DATA_DIR_ENV} at a folder that holds {spec.folder}/). "
        f"Licence: {spec.licence}"
    )
