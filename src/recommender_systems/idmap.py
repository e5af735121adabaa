"""Mapping between external ids (ints or strings) and internal indices ``0..n-1``.

Models and kernels work on internal indices; users of the library only ever see
their own ids. An :class:`IdMap` converts between the two in both directions,
vectorised, with one documented rule for ids it does not know.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from recommender_systems.errors import DataError

IdKind = Literal["int", "str"]


def normalize_ids(values: Any, name: str) -> np.ndarray:
    """Validates an id column and returns it as ``int64`` or a NumPy unicode array.

    Accepted: integers, strings, and floats that are whole numbers (what pandas
    makes of an integer column that passed through a missing value). Nulls, mixed
    integers and strings in one column, and non-integral floats are errors that
    name the column and the first offending row.

    Example:
        >>> normalize_ids([3, 1, 2], "user_id").dtype
        dtype('int64')
    """
    arr = np.asarray(values)
    if arr.ndim != 1:
        arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values.ravel())
    if arr.dtype.kind in "iu":
        if arr.dtype.kind == "u" and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
            pos = int(np.argmax(arr))
            raise DataError(
                f"column {name!r}: expected ids that fit in int64, received {arr[pos]} at row {pos}"
            )
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "U":
        return arr
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            pos = int(np.argmax(bad))
            raise DataError(
                f"column {name!r}: expected non-null ids, received a null ({arr[pos]}) at row {pos}"
            )
        frac = arr != np.round(arr)
        if frac.any():
            pos = int(np.argmax(frac))
            raise DataError(
                f"column {name!r}: expected integer or string ids, received {arr[pos]} at row {pos}"
            )
        return arr.astype(np.int64)
    if arr.dtype.kind == "b":
        raise DataError(f"column {name!r}: expected integer or string ids, received booleans")
    if arr.dtype.kind in "OSMm":
        return _normalize_objects(arr, name)
    raise DataError(f"column {name!r}: expected integer or string ids, received dtype {arr.dtype}")


def _normalize_objects(arr: np.ndarray, name: str) -> np.ndarray:
    nulls = pd.isna(arr)
    if nulls.any():
        pos = int(np.argmax(nulls))
        raise DataError(
            f"column {name!r}: expected non-null ids, received a null ({arr[pos]!r}) at row {pos}"
        )
    if arr.dtype.kind == "S":
        return arr.astype(str)
    is_str = np.fromiter((isinstance(v, str) for v in arr), dtype=bool, count=arr.size)
    if is_str.all():
        return arr.astype(str)
    is_int = np.fromiter(
        (isinstance(v, int | np.integer) and not isinstance(v, bool) for v in arr),
        dtype=bool,
        count=arr.size,
    )
    if is_int.all():
        return arr.astype(np.int64)
    if is_str.any() and is_int.any():
        first_str, first_int = int(np.argmax(is_str)), int(np.argmax(is_int))
        pos = max(first_str, first_int)
        raise DataError(
            f"column {name!r}: expected ids of one type (all integers or all strings), "
            f"received mixed types: {arr[first_int]!r} at row {first_int} and "
            f"{arr[first_str]!r} at row {first_str} (first mix at row {pos})"
        )
    pos = int(np.argmax(~(is_str | is_int)))
    raise DataError(
        f"column {name!r}: expected integer or string ids, received "
        f"{type(arr[pos]).__name__} {arr[pos]!r} at row {pos}"
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
            return bool(self._index.get_indexer([external_id])[0] >= 0)
        except TypeError:
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

    def to_index(
        self, ids: Iterable[Any], *, missing: Literal["raise", "ignore"] = "raise"
    ) -> np.ndarray:
        """Internal indices of ``ids`` (int64).

        Ids not in the map raise ``KeyError`` listing a few of them, or with
        ``missing="ignore"`` come back as ``-1``.
        """
        values = ids if isinstance(ids, np.ndarray) else np.array(list(ids), dtype=np.object_)
        if values.ndim != 1:
            values = values.ravel()
        if values.size == 0:
            return np.empty(0, dtype=np.int64)
        if values.size == 1:  # one user per request (serving): a hash lookup, not an indexer
            indices = np.array([self.index_of(values[0], missing="ignore")], dtype=np.int64)
        else:
            indices = self._lookup(values)
        if missing == "raise" and (indices < 0).any():
            unknown = values[indices < 0]
            shown = ", ".join(repr(v) for v in unknown[:5].tolist())
            raise KeyError(f"{unknown.size} unknown id(s): {shown}")
        return indices

    def _lookup(self, values: np.ndarray) -> np.ndarray:
        try:
            return self._index.get_indexer(values).astype(np.int64, copy=False)
        except TypeError:
            # Ids of a type the index cannot even compare with are simply unknown.
            return np.fromiter(
                (self.index_of(v, missing="ignore") for v in values), np.int64, values.size
            )

    def index_of(
        self, external_id: object, *, missing: Literal["raise", "ignore"] = "raise"
    ) -> int:
        """Internal index of one id (``-1`` with ``missing="ignore"`` when unknown)."""
        try:
            found = self._index.get_loc(external_id)
        except (KeyError, TypeError, pd.errors.InvalidIndexError):
            found = -1
        # Ids are unique, so a hit is one position; bools are never ids.
        position = found if isinstance(found, int) and not isinstance(external_id, bool) else -1
        if position < 0 and missing == "raise":
            raise KeyError(f"unknown id {external_id!r}")
        return position

    def to_ids(self, indices: npt.ArrayLike) -> np.ndarray:
        """External ids at ``indices`` (which must be in ``[0, len)``)."""
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            bad = idx[(idx < 0) | (idx >= len(self))][0]
            raise IndexError(f"index {bad} out of range for {len(self)} ids")
        return self._ids[idx]

    def coerce(self, value: object) -> Any:
        """``value`` (e.g. text from a URL, a command line or JSON) as this map's id
        type: an ``int`` for integer ids, a ``str`` for string ids. The id need not be
        in the map.

        Example:
            >>> IdMap(np.array([10, 20])).coerce("10"), IdMap(np.array(["a"])).coerce(7)
            (10, '7')
        """
        if self.kind == "str":
            if isinstance(value, str | int | np.integer) and not isinstance(value, bool):
                return str(value)
        elif isinstance(value, int | np.integer) and not isinstance(value, bool):
            return int(value)
        elif isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        wanted = "integers" if self.kind == "int" else "strings"
        raise DataError(f"expected an id like this model's ({wanted}), received {value!r}")

    def describe_id(self, external_id: object) -> str:
        """A short phrase for error messages, noting an id of the wrong type."""
        text = repr(external_id)
        if self.kind == "int" and isinstance(external_id, str):
            return f"{text} (a string; this model's ids are integers)"
        if self.kind == "str" and not isinstance(external_id, str):
            return f"{text} (a {type(external_id).__name__}; this model's ids are strings)"
        return text
