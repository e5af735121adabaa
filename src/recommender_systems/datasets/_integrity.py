"""SHA-256 checks of archives and of extracted dataset files."""

from __future__ import annotations

import hashlib
import sys
import warnings
from collections.abc import Iterable
from pathlib import Path
from types import FrameType

from recommender_systems.datasets._registry import DatasetSpec
from recommender_systems.errors import ChecksumError

# Written into a dataset folder that this library extracted from an archive whose
# SHA-256 it checked, so files without a published per-file hash count as verified.
VERIFIED_MARKER = ".recommender_systems-verified-archive"

_CHUNK = 1 << 20

# Re-hashing a multi-gigabyte file on every load is wasteful; a file whose path,
# size and modification time are unchanged keeps its digest for the process.
_digest_memo: dict[tuple[str, int, int], str] = {}


class UnverifiedDataWarning(UserWarning):
    """A dataset file was loaded without a SHA-256 to check it against."""


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of the file at ``path``, read in chunks."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    cached = _digest_memo.get(key)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    hexdigest = digest.hexdigest()
    _digest_memo[key] = hexdigest
    return hexdigest


def check_sha256(path: Path, expected: str, *, what: str) -> None:
    """Raise :class:`ChecksumError` if ``path`` does not hash to ``expected``."""
    actual = sha256_of(path)
    if actual != expected:
        raise ChecksumError(
            f"{what} {path} has SHA-256 {actual}; expected {expected}. The file is "
            "damaged or is another version: delete it and download again, or pass "
            "verify=False to use it anyway"
        )


def extracted_from_verified_archive(spec: DatasetSpec, folder: Path) -> bool:
    """True if ``folder`` was extracted by this library from the checked archive."""
    marker = folder / VERIFIED_MARKER
    try:
        return marker.read_text(encoding="ascii").strip() == spec.archive_sha256
    except (OSError, UnicodeDecodeError):
        return False


def verify_files(spec: DatasetSpec, folder: Path, names: Iterable[str]) -> None:
    """Check each file in ``names`` against its official SHA-256.

    A file with no published hash is accepted with an :class:`UnverifiedDataWarning`,
    unless the folder came from an archive whose hash was checked.
    """
    unverified: list[str] = []
    for name in names:
        expected = spec.file_sha256.get(name)
        if expected is not None:
            check_sha256(folder / name, expected, what=f"{spec.name} file")
        else:
            unverified.append(name)
    if unverified and not extracted_from_verified_archive(spec, folder):
        warnings.warn(
            f"{spec.name}: could not verify {', '.join(unverified)} in {folder}: no "
            "official SHA-256 is known for these files and the folder was not "
            "extracted by recommender_systems from a checked archive",
            UnverifiedDataWarning,
            stacklevel=_stacklevel_outside_package(),
        )


def _stacklevel_outside_package() -> int:
    """The ``stacklevel`` that attributes a warning to the caller of the library."""
    package_dir = str(Path(__file__).resolve().parent.parent)
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(package_dir):
        frame = frame.f_back
        level += 1
    return level
