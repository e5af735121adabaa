"""Atomic download and extraction: a half-written file or folder is never in place."""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import ssl
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from recommender_systems.errors import ChecksumError, DataError

# Looked up at call time so tests can serve archives without a network.
urlopen = urllib.request.urlopen

TIMEOUT_SECONDS = 60.0
_CHUNK = 1 << 16
_USER_AGENT = "recommender_systems (+https://pypi.org/project/recommender-systems/)"


class NetworkError(Exception):
    """The archive could not be fetched (no route, HTTP error, timeout, cut-off)."""


# What a failed transfer raises; a local OSError (say, a full disk) is not one.
_NETWORK_FAILURES: tuple[type[BaseException], ...] = (
    urllib.error.URLError,
    http.client.HTTPException,
    TimeoutError,
    ConnectionError,
    ssl.SSLError,
)


def fetch(
    url: str,
    destination: Path,
    *,
    expected_sha256: str | None,
    progress: bool,
    timeout: float = TIMEOUT_SECONDS,
) -> None:
    """Download ``url`` to ``destination`` through a temporary file in the same folder.

    The file appears under its final name only once complete and, if
    ``expected_sha256`` is given, verified. Raises :class:`NetworkError` when the
    transfer fails and :class:`ChecksumError` when the content is wrong.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary_name = tempfile.mkstemp(
        prefix=f".{destination.name}.", suffix=".part", dir=destination.parent
    )
    temporary = Path(temporary_name)
    try:
        with os.fdopen(handle, "wb") as out:
            digest = _stream(url, out, progress=progress, timeout=timeout, label=destination.name)
        if expected_sha256 is not None and digest != expected_sha256:
            raise ChecksumError(
                f"download of {url} has SHA-256 {digest}; expected {expected_sha256}. "
                "The transfer was corrupted or the publisher changed the file; nothing "
                "was cached"
            )
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)


def _stream(url: str, out: BinaryIO, *, progress: bool, timeout: float, label: str) -> str:
    digest = hashlib.sha256()
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    show = progress and sys.stderr.isatty()
    try:
        with urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            received = 0
            with tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=label,
                disable=not show,
                file=sys.stderr,
            ) as bar:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
    except _NETWORK_FAILURES as exc:
        raise NetworkError(f"{type(exc).__name__}: {exc}") from exc
    if total is not None and received != total:
        raise NetworkError(f"connection closed after {received} of {total} bytes")
    return digest.hexdigest()


def extract_zip(
    archive: Path,
    destination: Path,
    *,
    prepare: Callable[[Path], None],
) -> None:
    """Extract ``archive`` so that its content folder becomes ``destination``.

    Extraction happens in a temporary folder next to ``destination``; ``prepare``
    is called on the extracted content folder (to verify files, write markers) and
    may raise to abandon it. Only then is the folder renamed into place. Archives
    whose members sit in one top-level folder (MovieLens) and flat archives both
    work.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    workspace = Path(
        tempfile.mkdtemp(
            prefix=f".{destination.name}.", suffix=".extracting", dir=destination.parent
        )
    )
    try:
        try:
            with zipfile.ZipFile(archive) as bundle:
                # ZipFile.extractall drops absolute paths and ".." parts itself.
                bundle.extractall(workspace)
        except zipfile.BadZipFile as exc:
            raise DataError(f"{archive} is not a valid zip archive: {exc}") from exc
        content = _content_folder(workspace)
        prepare(content)
        _rename_into_place(content, destination)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def _content_folder(workspace: Path) -> Path:
    entries = [entry for entry in workspace.iterdir() if entry.name != "__MACOSX"]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return workspace


def _rename_into_place(source: Path, destination: Path) -> None:
    if destination.is_dir() and not any(destination.iterdir()):
        destination.rmdir()
    try:
        os.rename(source, destination)
    except OSError:
        # Another process may have put a complete copy there in the meantime.
        if destination.is_dir() and any(destination.iterdir()):
            return
        raise
