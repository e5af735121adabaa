"""Mapping between external ids (ints or strings) and internal indices ``0..n-1``.

Models and kernels work on internal indices; users of the library only ever see
their own ids. An :class:`IdMap` converts between the two in both directions,
vectorised, with one rule for every id that comes in:

- **Ids are integers or strings, and must be exact.** Integers must fit in int64;
  floats are accepted only when they are whole numbers within ``±2**53`` (what
  pandas makes of an integer column that passed through a missing value): beyond
  that, two different ids can become the same float, so such ids raise
  :class:`~recommender_systems.errors.DataError` instead of being merged.
- **A lookup must use the map's id type.** Asking an integer-id model about
  ``"1"`` (or a string-id model about ``1``), or mixing types in one list, raises a
  :class:`~recommender_systems.errors.DataError` that names the model's id type. An
  unknown id *of the right type* is simply unknown (the unknown-user rule applies).
- **Text is parsed once, at the edge** (:meth:`IdMap.coerce` for URLs and command
  lines, :func:`ids_from_text` for CSV files): text that is a canonical integer
  (``"42"``, ``"-7"``; not ``"042"``, ``"+7"``, ``"4_2"``) is an integer, anything
  else keeps its text, so user ``"001"`` stays ``"001"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from recommender_systems.errors import DataError

IdKind = Literal["int", "str"]

#: Floats hold every integer exactly only up to this magnitude.
MAX_EXACT_FLOAT_ID = 2**53
_INT64 = np.iinfo(np.int64)
#: A canonical integer in text: no sign but "-", no leading zeros, no spaces or "_".
CANONICAL_INT = re.compile(r"(0|-?[1-9][0-9]*)\Z")
_KIND_WORDS = {"int": "integers", "str": "strings"}


def normalize_ids(
    values: Any, name: str, *, expected: IdKind | None = None, where: str = "row"
) -> np.ndarray:
    """Validates ids and returns them as ``int64`` or a NumPy unicode array.

    Accepted: integers (within int64), strings, and floats that are whole numbers
    within ``±2**53``. Nulls, mixed integers and strings, non-integral or inexact
    floats are errors that name ``name`` and the first offending ``where`` (row).
    With ``expected``, ids of the other kind are an error naming the expected kind.

    Example:
        >>> normalize_ids([3, 1, 2], "user_id").dtype
        dtype('int64')
        >>> normalize_ids([1e20], "user_id")
        Traceback (most recent call last):
        ...
        recommender_systems.errors.DataError: column 'user_id': expected ids that can be ...
    """
    # Messages say "column 'user_id'" for data and "user_id" for a lookup's list.
    name = f"column {name!r}" if where == "row" else name
    arr = np.asarray(values)
    if arr.ndim != 1:
        arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values.ravel())
    if arr.ndim != 1:
        raise DataError(f"{name}: expected a flat list of ids, received shape {arr.shape}")
    kind = arr.dtype.kind
    if kind in "iu":
        result = _exact_ints(arr, name, where)
    elif kind == "U":
        result = arr
    elif kind == "S":
        result = arr.astype(str)
    elif kind == "f":
        result = _whole_floats(arr, name, where)
    elif kind in "OMm":
        result = _normalize_objects(arr, name, where, expected)
    else:
        what = "booleans" if kind == "b" else f"dtype {arr.dtype}"
        raise DataError(f"{name}: expected integer or string ids, received {what}")
    if expected is not None and result.size and _kind(result) != expected:
        raise _wrong_kind(name, expected, result[0].item(), 0, where)
    return result


def ids_from_text(values: Any, name: str) -> np.ndarray:
    """Ids read from text (a CSV column): int64 when every value is a canonical
    integer within int64, else the text itself, so ``"001"`` stays ``"001"``.

    Example:
        >>> ids_from_text(["10", "-2"], "user_id").tolist()
        [10, -2]
        >>> ids_from_text(["7", "007"], "user_id").tolist()
        ['7', '007']
    """
    column = pd.Series(np.asarray(values, dtype=object))
    nulls = column.isna().to_numpy()
    if nulls.any():
        pos = int(np.argmax(nulls))
        raise DataError(f"column {name!r}: expected non-null ids, received a null", row=pos)
    texts = column.astype(str)
    if texts.size and bool(texts.str.fullmatch(CANONICAL_INT.pattern[:-2]).all()):
        # Python ints: exact at any length, so a value beyond int64 is found, not wrapped.
        numbers = [int(t) for t in texts.tolist()]
        if _INT64.min <= min(numbers) and max(numbers) <= _INT64.max:
            return np.asarray(numbers, dtype=np.int64)
    return texts.to_numpy(dtype=str)


def _kind(arr: np.ndarray) -> IdKind:
    return "str" if arr.dtype.kind == "U" else "int"


def _wrong_kind(name: str, expected: IdKind, value: Any, pos: int, where: str) -> DataError:
    words = _KIND_WORDS[expected]
    return DataError(
        f"{name}: expected {words} (this model's ids are {words}), received the "
        f"{type(value).__name__} {value!r}{_at(where, pos)}"
    )


def _at(where: str, pos: int) -> str:
    return f" at {where} {pos}" if where else ""


def _inexact(name: str, value: Any, pos: int, where: str) -> DataError:
    return DataError(
        f"{name}: expected ids that can be represented exactly (integers, strings, or whole "
        f"floats within ±2**53), received {value!r}{_at(where, pos)}"
    )


def _exact_ints(arr: np.ndarray, name: str, where: str) -> np.ndarray:
    if arr.dtype.kind == "u" and arr.size and int(arr.max()) > _INT64.max:
        pos = int(np.argmax(arr > _INT64.max))
        raise _inexact(name, arr[pos].item(), pos, where)
    return arr.astype(np.int64, copy=False)


def _whole_floats(arr: np.ndarray, name: str, where: str) -> np.ndarray:
    bad = ~np.isfinite(arr)
    if bad.any():
        pos = int(np.argmax(bad))
        raise DataError(
            f"{name}: expected non-null ids, received a null ({arr[pos]}){_at(where, pos)}"
        )
    frac = arr != np.round(arr)
    if frac.any():
        pos = int(np.argmax(frac))
        raise DataError(
            f"{name}: expected integer or string ids, received {arr[pos]}{_at(where, pos)}"
        )
    huge = np.abs(arr) > MAX_EXACT_FLOAT_ID
    if huge.any():
        pos = int(np.argmax(huge))
        raise _inexact(name, arr[pos].item(), pos, where)
    return arr.astype(np.int64)


def _normalize_objects(
    arr: np.ndarray, name: str, where: str, expected: IdKind | None = None
) -> np.ndarray:
    nulls = pd.isna(arr)
    if nulls.any():
        pos = int(np.argmax(nulls))
        raise DataError(
            f"{name}: expected non-null ids, received a null ({arr[pos]!r}){_at(where, pos)}"
        )
    is_str = np.fromiter((isinstance(v, str) for v in arr), dtype=bool, count=arr.size)
    if is_str.all():
        return arr.astype(str)
    is_int = np.fromiter(
        (isinstance(v, int | np.integer) and not isinstance(v, bool) for v in arr),
        dtype=bool,
        count=arr.size,
    )
    if is_int.all():
        try:
            return arr.astype(np.int64)
        except OverflowError:
            pos = next(i for i, v in enumerate(arr) if not _INT64.min <= v <= _INT64.max)
            raise _inexact(name, arr[pos], pos, where) from None
    if expected is not None and is_str.any():
        wrong = ~is_str if expected == "str" else is_str
        pos = int(np.argmax(wrong))
        raise _wrong_kind(name, expected, arr[pos], pos, where)
    if is_str.any() and is_int.any():
        first_str, first_int = int(np.argmax(is_str)), int(np.argmax(is_int))
        raise DataError(
            f"{name}: expected ids of one type (all integers or all strings), received "
            f"mixed types: {arr[first_int]!r} at {where} {first_int} and {arr[first_str]!r} "
            f"at {where} {first_str}"
        )
    pos = int(np.argmax(~(is_str | is_int)))
    value = arr[pos]
    if isinstance(value, float | np.floating) and not is_str.any():
        return _whole_floats(arr.astype(np.float64), name, where)
    raise DataError(
        f"{name}: expected integer or string ids, received "
        f"{type(value).__name__} {value!r}{_at(where, pos)}"
    )


class IdMap:
    """A bijection between external ids and internal indices ``0..len-1``.

    ``IdMap(ids)`` keeps the given order (index ``i`` is ``ids[i]``);
    :meth:`encode` sorts, so maps built from the same data agree on indices.

    Example:
        >>> m = IdMap(np.array(["b", "a", "c"]))
        >>> m.to_index(["c", "a"]).tolist()
        [2, 1]
        >>> m.to_ids([0]).tolist()
        ['b']
    """

    __slots__ = ("_ids", "_index")

    def __init__(self, ids: npt.ArrayLike, *, name: str = "ids") -> None:
        arr = normalize_ids(ids, name)
        index = pd.Index(arr)
        if not index.is_unique:
            dup = index[index.duplicated()][0]
            raise DataError(f"{name}: expected unique ids, received {dup!r} more than once")
        arr = np.array(arr, copy=True)
        arr.flags.writeable = False
        self._ids: np.ndarray = arr
        self._index = index

    @classmethod
    def encode(cls, values: npt.ArrayLike, *, name: str = "ids") -> tuple[IdMap, np.ndarray]:
        """Builds a map over the distinct ``values`` (sorted) and returns their indices.

        Example:
            >>> m, indices = IdMap.encode([30, 10, 30])
            >>> m.ids.tolist(), indices.tolist()
            ([10, 30], [1, 0, 1])
        """
        arr = normalize_ids(values, name)
        indices, uniques = pd.factorize(arr, sort=True)
        return cls(np.asarray(uniques), name=name), indices.astype(np.int64, copy=False)

    @property
    def ids(self) -> np.ndarray:
        """The external ids, in index order (read-only)."""
        return self._ids

    @property
    def kind(self) -> IdKind:
        """``"int"`` or ``"str"``."""
        return "str" if self._ids.dtype.kind == "U" else "int"

    def __len__(self) -> int:
        return int(self._ids.size)

    def __contains__(self, external_id: object) -> bool:
        try:
            return self.index_of(external_id, missing="ignore") >= 0
        except DataError:  # an id of another type is simply not in the map
            return False

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IdMap):
            return NotImplemented
        return self._ids.dtype.kind == other._ids.dtype.kind and np.array_equal(
            self._ids, other._ids
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        head = ", ".join(repr(v) for v in self._ids[:3].tolist())
        more = ", ..." if len(self) > 3 else ""
        return f"IdMap({len(self)} {self.kind} ids: [{head}{more}])"

    def keys(self, ids: Iterable[Any] | np.ndarray, *, name: str = "id") -> np.ndarray:
        """``ids`` as an array of this map's id type (int64 or unicode), checked by the
        module's rule: an id of the other type, a mix of types or an inexact id raises
        :class:`~recommender_systems.errors.DataError` naming ``name`` and the map's type.

        Example:
            >>> IdMap(np.array([1, 2])).keys(["2"], name="user_id")
            Traceback (most recent call last):
            ...
            recommender_systems.errors.DataError: user_id: expected integers (this model's ...
        """
        return normalize_ids(id_array(ids), name, expected=self.kind, where="position")

    def to_index(
        self,
        ids: Iterable[Any] | np.ndarray,
        *,
        missing: Literal["raise", "ignore"] = "raise",
        name: str = "id",
    ) -> np.ndarray:
        """Internal indices of ``ids`` (int64), which must be of this map's id type
        (see :meth:`keys`).

        Ids not in the map raise ``KeyError`` listing a few of them, or with
        ``missing="ignore"`` come back as ``-1``.
        """
        values = self.keys(ids, name=name)
        if values.size == 0:
            return np.empty(0, dtype=np.int64)
        if values.size == 1:  # one user per request (serving): a hash lookup, not an indexer
            indices = np.array([self._position(values[0].item())], dtype=np.int64)
        else:
            indices = self._index.get_indexer(values).astype(np.int64, copy=False)
        if missing == "raise" and (indices < 0).any():
            unknown = values[indices < 0]
            shown = ", ".join(repr(v) for v in unknown[:5].tolist())
            raise KeyError(f"{unknown.size} unknown id(s): {shown}")
        return indices

    def index_of(
        self,
        external_id: object,
        *,
        missing: Literal["raise", "ignore"] = "raise",
        name: str = "id",
    ) -> int:
        """Internal index of one id (``-1`` with ``missing="ignore"`` when unknown); an
        id of the wrong type raises :class:`~recommender_systems.errors.DataError`."""
        position = self._position(self.key(external_id, name=name))
        if position < 0 and missing == "raise":
            raise KeyError(f"unknown id {external_id!r}")
        return position

    def key(self, external_id: object, *, name: str = "id") -> Any:
        """One id as this map's id type (a Python ``int`` or ``str``), by the module's rule."""
        value = external_id
        if self.kind == "int":
            if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
                if not _INT64.min <= value <= _INT64.max:
                    raise _inexact(name, int(value), 0, "")
                return int(value)
            if isinstance(value, float | np.floating):
                return int(_whole_floats(np.array([value], dtype=np.float64), name, "")[0])
        elif isinstance(value, str):
            return str(value)
        if value is None or (isinstance(value, float) and np.isnan(value)):
            raise DataError(f"{name}: expected an id, received {value!r}")
        raise _wrong_kind(name, self.kind, value, 0, "")

    def _position(self, key: Any) -> int:
        try:
            found = self._index.get_loc(key)
        except KeyError:
            return -1
        # Ids are unique, so a hit is one position.
        return found if isinstance(found, int) else -1

    def to_ids(self, indices: npt.ArrayLike) -> np.ndarray:
        """External ids at ``indices`` (which must be in ``[0, len)``)."""
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            bad = idx[(idx < 0) | (idx >= len(self))][0]
            raise IndexError(f"index {bad} out of range for {len(self)} ids")
        return self._ids[idx]

    def coerce(self, value: object, *, name: str = "id") -> Any:
        """``value`` (text from a URL, a command line or JSON) as this map's id type:
        an ``int`` for integer ids (from a canonical integer: ``"42"``, not ``"042"``),
        a ``str`` for string ids (an integer from JSON becomes its text). The id need
        not be in the map.

        Example:
            >>> IdMap(np.array([10, 20])).coerce("10"), IdMap(np.array(["a"])).coerce(7)
            (10, '7')
        """
        if self.kind == "str":
            if isinstance(value, str | int | np.integer) and not isinstance(value, bool):
                return str(value)
        elif isinstance(value, int | np.integer) and not isinstance(value, bool):
            return self.key(value, name=name)
        elif isinstance(value, str) and CANONICAL_INT.match(value):
            return self.key(int(value), name=name)
        words = _KIND_WORDS[self.kind]
        raise DataError(f"{name}: expected an id like this model's ({words}), received {value!r}")

    def describe_id(self, external_id: object) -> str:
        """A short phrase for error messages, noting an id of the wrong type."""
        text = repr(external_id)
        if self.kind == "int" and isinstance(external_id, str):
            return f"{text} (a string; this model's ids are integers)"
        if self.kind == "str" and not isinstance(external_id, str):
            return f"{text} (a {type(external_id).__name__}; this model's ids are strings)"
        return text


def id_array(values: Iterable[Any] | npt.ArrayLike) -> np.ndarray:
    """A 1-D array of ids that keeps each element's own type (never a common one:
    ``[9, "a"]`` must not become two strings); :meth:`IdMap.keys` then checks them.

    Example:
        >>> id_array([9, 1, "nobody"]).dtype
        dtype('O')
    """
    if isinstance(values, np.ndarray):
        return values.reshape(-1)
    if isinstance(values, str | bytes):
        raise DataError(f"expected a list of ids, received the single string {values!r}")
    try:
        items = list(values)  # type: ignore[arg-type]
    except TypeError:
        raise DataError(
            f"expected a list of ids, received {type(values).__name__} {values!r}"
        ) from None
    kinds = set(map(type, items))
    if kinds <= {str}:
        return np.array(items, dtype=str) if items else np.empty(0, dtype=object)
    if kinds <= {int}:
        try:
            return np.array(items, dtype=np.int64)
        except OverflowError:
            pass  # normalize_ids names the id that does not fit
    return np.fromiter(items, dtype=object, count=len(items))
