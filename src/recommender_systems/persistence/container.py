"""The model file container: a JSON header and aligned raw array blobs, in one file.

Layout (all integers little-endian)::

    offset 0   magic      8 bytes  b"\\x89RSMODEL"
           8   version    uint32   format version of everything that follows
          12   flags      uint32   0 (reserved)
          16   length     uint64   header length in bytes
          24   checksum   32 bytes SHA-256 of the header bytes
          56   header     JSON, UTF-8 (what the file holds, and one entry per array)
               padding    zeros up to a multiple of 64
               blobs      each array's raw bytes, each starting at a multiple of 64

Every byte is covered: the header by its SHA-256, each array by its own SHA-256
(listed in the header), the padding must be zeros, and the file length must be
exactly what the header announces. Before anything is allocated, sizes are
bounded: only regular files are opened (never a device or a FIFO), the header is
at most :data:`MAX_HEADER_BYTES` and nests at most :data:`MAX_HEADER_DEPTH`
levels, every array's size is computed exactly (no int64 overflow) and must lie
inside the file. Arrays are read with ``np.frombuffer`` over the file's bytes
read into private memory (or over a copy-on-write memory map, on request), never
unpickled. See docs/decisions/0005-model-file-format.md for why.
"""

from __future__ import annotations

import hashlib
import json
import math
import mmap
import os
import re
import stat
import struct
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from recommender_systems.errors import ModelFileError, NotSupportedError

MAGIC = b"\x89RSMODEL"
#: The format version this library writes; it reads every version up to this one.
FORMAT_VERSION = 1
FORMAT_NAME = "recommender-systems-model"
ALIGNMENT = 64
_PREAMBLE = struct.Struct("<8sIIQ32s")
#: A header larger than this is not something this library wrote (arrays live in
#: blobs; the header holds their descriptions and the model's small values).
MAX_HEADER_BYTES = 64 << 20
#: Nesting of the header's JSON (a hybrid of hybrids stays far below it).
MAX_HEADER_DEPTH = 100
_MAX_NDIM = 32
# dtype strings this format stores: numbers, booleans, fixed-width unicode, dates.
# Anything else (objects, structured or void dtypes) would need pickle.
_DTYPE = re.compile(r"^[<>|=]?(b1|[iu][1248]|f[248]|c(8|16)|U\d+|[Mm]8(\[\w+\])?)$")

# What a file of another kind starts with, to say what it looks like.
_KNOWN_KINDS: tuple[tuple[bytes, str], ...] = (
    (b"\x80", "a Python pickle"),
    (b"PK\x03\x04", "a zip archive (for example NumPy .npz)"),
    (b"\x93NUMPY", "a NumPy .npy array"),
    (b"PAR1", "a Parquet file"),
    (b"\x89HDF", "an HDF5 file"),
    (b"{", "a JSON document"),
)


@dataclass(frozen=True)
class ArrayEntry:
    """Where one array lives in the file and how to read it."""

    dtype: str
    shape: tuple[int, ...]
    order: str  # "C" or "F": the layout of the saved bytes, restored on load
    offset: int  # from the start of the blob section
    nbytes: int
    sha256: str
    writeable: bool
    label: str  # where the array sits in the model, for error messages

    def to_json(self) -> dict[str, Any]:
        return {
            "dtype": self.dtype,
            "shape": list(self.shape),
            "order": self.order,
            "offset": self.offset,
            "nbytes": self.nbytes,
            "sha256": self.sha256,
            "writeable": self.writeable,
            "label": self.label,
        }

    @classmethod
    def from_json(cls, entry: Any) -> ArrayEntry:
        if not isinstance(entry, dict):
            raise ModelFileError(f"malformed header: an array entry is {type(entry).__name__}")
        try:
            raw_shape = entry["shape"]
            if not isinstance(raw_shape, list) or len(raw_shape) > _MAX_NDIM:
                raise ValueError(f"shape {raw_shape!r}")
            if not all(isinstance(s, int) and not isinstance(s, bool) for s in raw_shape):
                raise ValueError(f"shape {raw_shape!r}")
            shape = tuple(raw_shape)
            result = cls(
                dtype=str(entry["dtype"]),
                shape=shape,
                order=str(entry["order"]),
                offset=int(entry["offset"]),
                nbytes=int(entry["nbytes"]),
                sha256=str(entry["sha256"]),
                writeable=bool(entry["writeable"]),
                label=str(entry.get("label", "?")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"malformed header: bad array entry {entry!r} ({exc})") from None
        dtype = checked_dtype(result.dtype, result.label)
        count = math.prod(shape)  # Python integers: exact, never wrapping around
        if (
            result.order not in ("C", "F")
            or min(shape, default=0) < 0
            or result.offset < 0
            or result.offset % ALIGNMENT
            or result.nbytes != count * dtype.itemsize
            or (count and not dtype.itemsize)  # '<U0': elements of no bytes at all
        ):
            raise ModelFileError(f"malformed header: inconsistent array entry {entry!r}")
        return result


def checked_dtype(text: str, label: str) -> np.dtype[Any]:
    """The NumPy dtype for ``text`` if the format allows it (never object/structured)."""
    if not _DTYPE.match(text):
        raise ModelFileError(f"array {label}: dtype {text!r} is not allowed in a model file")
    return np.dtype(text)


def storable(array: np.ndarray, label: str) -> np.ndarray:
    """``array`` if the format can store its dtype; otherwise a clear error at save time."""
    dtype_text = array.dtype.str
    if array.dtype.hasobject or not _DTYPE.match(dtype_text):
        raise NotSupportedError(
            f"{label}: cannot save an array of dtype {array.dtype} (model files hold numbers, "
            "booleans, fixed-width strings and dates, never Python objects)"
        )
    return array


def _blob(array: np.ndarray) -> tuple[str, np.ndarray]:
    """The array's layout and its bytes as a flat uint8 view (a copy only if strided)."""
    if array.ndim > 1 and array.flags.f_contiguous and not array.flags.c_contiguous:
        return "F", array.T.reshape(-1).view(np.uint8)
    return "C", np.ascontiguousarray(array).reshape(-1).view(np.uint8)


def _align(n: int) -> int:
    return -(-n // ALIGNMENT) * ALIGNMENT


def write(
    path: str | os.PathLike[str],
    header: dict[str, Any],
    arrays: Sequence[np.ndarray],
    labels: Sequence[str],
) -> Path:
    """Writes ``header`` (JSON-able, without ``arrays``) and ``arrays`` to ``path`` atomically."""
    blobs: list[np.ndarray] = []
    entries: list[dict[str, Any]] = []
    offset = 0
    for array, label in zip(arrays, labels, strict=True):
        order, data = _blob(array)
        entries.append(
            ArrayEntry(
                dtype=array.dtype.str,
                shape=tuple(array.shape),
                order=order,
                offset=offset,
                nbytes=int(data.nbytes),
                sha256=hashlib.sha256(memoryview(data)).hexdigest(),  # type: ignore[arg-type]
                writeable=bool(array.flags.writeable),
                label=label,
            ).to_json()
        )
        blobs.append(data)
        offset = _align(offset + int(data.nbytes))
    full = {**header, "arrays": entries, "data_size": offset}
    header_bytes = json.dumps(full, allow_nan=False, separators=(",", ":")).encode("utf-8")
    preamble = _PREAMBLE.pack(
        MAGIC, FORMAT_VERSION, 0, len(header_bytes), hashlib.sha256(header_bytes).digest()
    )

    def write_to(out: BinaryIO) -> None:
        start = len(preamble) + len(header_bytes)
        out.write(preamble)
        out.write(header_bytes)
        out.write(bytes(_align(start) - start))
        for data in blobs:
            out.write(memoryview(data))  # type: ignore[arg-type]
            out.write(bytes(_align(data.nbytes) - data.nbytes))

    return atomic_write(path, write_to)


def atomic_write(path: str | os.PathLike[str], write_to: Callable[[BinaryIO], None]) -> Path:
    """Runs ``write_to`` on a temporary file beside ``path``, then renames it over ``path``.

    A crash before the rename leaves any old file at ``path`` untouched (at worst a
    stray ``.<name>.*.tmp`` beside it).
    """
    target = Path(path)
    if target.is_dir():
        raise ModelFileError(f"{target}: expected a file path, received a directory")
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise ModelFileError(f"{target}: cannot write there: folder {directory} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            write_to(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_directory(directory)
    return target


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not possible on every platform.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass
class Contents:
    """A file's parsed header, its arrays, and what the file was."""

    header: dict[str, Any]
    arrays: list[np.ndarray]
    path: Path
    header_sha256: str
    file_size: int


def read(
    path: str | os.PathLike[str], *, mmap_arrays: bool = False, verify: bool = True
) -> Contents:
    """Reads and checks a model file; arrays are views of the file's bytes read into
    private memory, or of a copy-on-write memory map (``mmap_arrays=True``)."""
    source = Path(path)
    with _open(source) as f:
        size = os.fstat(f.fileno()).st_size
        buffer: mmap.mmap | bytearray
        if mmap_arrays and size:
            buffer = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
        else:
            buffer = _read_exactly(f, size, source)
    view = memoryview(buffer)
    try:
        header, header_sha, data_start = _parse_header(view, source)
        _check_length(header, data_start, size, source)
        entries = _entries(header, source)
        if verify:
            _verify(view, entries, data_start, size, source)
        arrays = [_array(buffer, entry, data_start) for entry in entries]
    finally:
        view.release()
    return Contents(header, arrays, source, header_sha, size)


def _read_exactly(f: BinaryIO, size: int, source: Path) -> bytearray:
    """The file's ``size`` bytes (its size when opened), read once into private memory."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    filled = 0
    while filled < size:
        got = f.readinto(view[filled:])  # type: ignore[attr-defined]
        if not got:
            raise ModelFileError(
                f"{source}: the file is truncated: it shrank to {filled} bytes while being read"
            )
        filled += got
    view.release()
    return buffer


def read_header(path: str | os.PathLike[str]) -> Contents:
    """The header alone (checked against its SHA-256 and the file length), no arrays."""
    source = Path(path)
    with _open(source) as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(_PREAMBLE.size)
        length = _check_preamble(head, size, source)[1]
        if length > MAX_HEADER_BYTES:
            raise ModelFileError(f"{source}: the file is damaged: header length {length}")
        head += f.read(length)
    header, header_sha, data_start = _parse_header(memoryview(head), source, file_size=size)
    _check_length(header, data_start, size, source)
    return Contents(header, [], source, header_sha, size)


def _check_length(header: dict[str, Any], data_start: int, size: int, source: Path) -> None:
    data_size = header.get("data_size")
    if not isinstance(data_size, int) or data_size < 0:
        raise ModelFileError(f"{source}: malformed header: bad data size {data_size!r}")
    expected = data_start + data_size
    if expected != size:
        kind = "truncated" if size < expected else "damaged"
        raise ModelFileError(
            f"{source}: the file is {kind}: expected {expected} bytes, found {size}"
        )


def _open(source: Path) -> BinaryIO:
    """``source`` opened for reading if it is a regular file (closed by the caller).

    Opened without blocking, so that a FIFO with no writer cannot hang the caller,
    and checked on the open descriptor, so that what is read is what was checked.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(source, flags)
    except FileNotFoundError:
        raise ModelFileError(f"{source}: no such model file") from None
    except IsADirectoryError:
        raise ModelFileError(f"{source}: expected a model file, received a directory") from None
    except OSError as exc:
        raise ModelFileError(f"{source}: cannot open the model file: {exc.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        what = "a directory" if stat.S_ISDIR(mode) else "a device, FIFO or socket"
        raise ModelFileError(f"{source}: expected a model file, received {what}")
    return os.fdopen(fd, "rb")


def _check_preamble(head: bytes, size: int, source: Path) -> tuple[int, int, bytes]:
    if not head.startswith(MAGIC[: min(len(head), len(MAGIC))]) or not head:
        looks = next((what for magic, what in _KNOWN_KINDS if head.startswith(magic)), None)
        detail = f" (it looks like {looks})" if looks else ""
        what = "an empty file" if not head else f"not a recommender_systems model file{detail}"
        raise ModelFileError(f"{source}: {what}")
    if len(head) < _PREAMBLE.size:
        raise ModelFileError(f"{source}: the file is truncated ({size} bytes)")
    _, version, flags, length, checksum = _PREAMBLE.unpack(head[: _PREAMBLE.size])
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{source}: written in model file format {version} by a newer version of "
            f"recommender-systems; this version reads formats up to {FORMAT_VERSION}: "
            "upgrade recommender-systems to load it"
        )
    if version < 1 or flags:
        raise ModelFileError(
            f"{source}: the file is damaged: format version {version}, flags {flags:#x}"
        )
    return version, length, checksum


def _parse_header(
    view: memoryview, source: Path, *, file_size: int | None = None
) -> tuple[dict[str, Any], str, int]:
    size = len(view) if file_size is None else file_size
    _, length, checksum = _check_preamble(bytes(view[: _PREAMBLE.size]), size, source)
    end = _PREAMBLE.size + length
    if end > len(view):
        raise ModelFileError(
            f"{source}: the file is truncated: its header needs {end} bytes, found {len(view)}"
        )
    if length > MAX_HEADER_BYTES:
        raise ModelFileError(f"{source}: the file is damaged: header length {length}")
    header_bytes = view[_PREAMBLE.size : end]
    if hashlib.sha256(header_bytes).digest() != checksum:
        raise ModelFileError(f"{source}: the file is damaged: the header fails its SHA-256 check")
    text = bytes(header_bytes)
    depth = json_depth(text)
    if depth > MAX_HEADER_DEPTH:
        raise ModelFileError(
            f"{source}: malformed header: nested {depth} levels deep (at most {MAX_HEADER_DEPTH})"
        )
    try:
        header = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{source}: malformed header: {exc}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{source}: malformed header: not a {FORMAT_NAME} header")
    return header, checksum.hex(), _align(end)


_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')


def json_depth(text: bytes) -> int:
    """How deeply the JSON ``text`` nests arrays and objects (found without parsing
    it, so that a hostile header cannot exhaust the parser's recursion).

    Example:
        >>> json_depth(b'{"a": [1, {"b": "[[["}]}')
        3
    """
    bare = np.frombuffer(_STRINGS.sub(b'""', text), dtype=np.uint8)
    steps = np.isin(bare, (ord("["), ord("{"))).astype(np.int64)
    steps -= np.isin(bare, (ord("]"), ord("}")))
    return int(np.cumsum(steps).max(initial=0))


def _entries(header: dict[str, Any], source: Path) -> list[ArrayEntry]:
    raw = header.get("arrays")
    if not isinstance(raw, list):
        raise ModelFileError(f"{source}: malformed header: no array list")
    entries = [ArrayEntry.from_json(entry) for entry in raw]
    data_size = header["data_size"]  # checked by _check_length
    for entry in entries:
        # Checked whether or not checksums are verified: an array never reads past the file.
        if entry.offset + entry.nbytes > data_size:
            raise ModelFileError(
                f"{source}: malformed header: array {entry.label} lies past the end of the file"
            )
    return entries


def _verify(
    view: memoryview, entries: list[ArrayEntry], data_start: int, size: int, source: Path
) -> None:
    covered = data_start
    header_end = _PREAMBLE.size + struct.unpack_from("<Q", view, 16)[0]
    if any(view[header_end:data_start]):
        raise ModelFileError(f"{source}: the file is damaged: non-zero padding after the header")
    for entry in entries:
        start = data_start + entry.offset
        end = start + entry.nbytes
        if start < covered or end > size:
            raise ModelFileError(f"{source}: malformed header: array {entry.label} overlaps")
        if any(view[covered:start]):
            raise ModelFileError(f"{source}: the file is damaged: non-zero padding at {covered}")
        if hashlib.sha256(view[start:end]).hexdigest() != entry.sha256:
            raise ModelFileError(
                f"{source}: the file is damaged: array {entry.label} fails its SHA-256 check"
            )
        covered = end
    if any(view[covered:size]):
        raise ModelFileError(f"{source}: the file is damaged: non-zero padding at the end")


def _array(buffer: mmap.mmap | bytearray, entry: ArrayEntry, data_start: int) -> np.ndarray:
    dtype = np.dtype(entry.dtype)
    if entry.nbytes == 0:
        array = np.empty(entry.shape, dtype=dtype, order=entry.order)  # type: ignore[call-overload]
    else:
        flat = np.frombuffer(
            buffer,
            dtype=dtype,
            count=entry.nbytes // dtype.itemsize,
            offset=data_start + entry.offset,
        )
        if entry.order == "F":
            array = flat.reshape(entry.shape[::-1]).T
        else:
            array = flat.reshape(entry.shape)
    if not entry.writeable:
        array.flags.writeable = False
    return array
