"""The data object: who interacted with what, how strongly, and when.

:class:`Interactions` is immutable. It holds a users x items CSR matrix (float32
values, int64 ``indptr``, int32 ``indices``, sorted within rows), the external
user and item ids (:class:`~recommender_systems.idmap.IdMap`) and optional
timestamps aligned with the matrix's stored values.

Duplicate (user, item) rows follow one policy, chosen by ``duplicates=``:

- ``"auto"`` (default): ``"mean"`` when the values are ratings (explicit
  feedback), ``"sum"`` when they are implicit counts (clicks, plays). Without a
  rating column every row counts 1, so repeated rows add up.
- ``"sum"``, ``"mean"``, ``"max"``, ``"first"``, ``"last"``: that aggregate.
- ``"error"``: a duplicate raises :class:`~recommender_systems.errors.DataError`.

The timestamp of a merged pair is the latest one.

Values (ratings, counts, weights) must be finite numbers within
``±MAX_ABS_VALUE`` (10¹²): large enough for any count, duration or amount, small
enough that float32 arithmetic on them (a sum of squares over 2³¹ values) stays
finite, so no model turns them into NaN scores. Anything else raises
:class:`~recommender_systems.errors.DataError` naming the column and row; the
rule is enforced here, once, for every way data comes in (and for fold-in
weights).

Ids follow the rule of :mod:`recommender_systems.idmap`; ids read from a CSV or
TSV file keep their text unless every one of them is a canonical integer (user
``001`` stays ``"001"``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from recommender_systems._deprecation import warn_renamed
from recommender_systems._validation import check_choice
from recommender_systems.errors import DataError
from recommender_systems.idmap import IdMap, ids_from_text, normalize_ids

DuplicatePolicy = Literal["auto", "sum", "mean", "max", "first", "last", "error"]
Feedback = Literal["explicit", "implicit"]
_POLICIES: tuple[DuplicatePolicy, ...] = ("auto", "sum", "mean", "max", "first", "last", "error")

#: The largest magnitude of a value (see the module docs).
MAX_ABS_VALUE = 1e12

USER_COL = "user_id"
ITEM_COL = "item_id"
RATING_COL = "rating"
TIMESTAMP_COL = "timestamp"


class Interactions:
    """Immutable users x items interactions with their ids.

    Build one with :meth:`from_frame`, :meth:`from_file` or :meth:`from_sparse`
    (or pass a DataFrame straight to a model's ``fit``).

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"user_id": ["u1", "u1", "u2"], "item_id": [10, 20, 10],
        ...                    "rating": [4.0, 5.0, 3.0]})
        >>> data = Interactions.from_frame(df)
        >>> data
        Interactions(2 users x 2 items, 3 interactions, explicit)
        >>> data.matrix.toarray().tolist()
        [[4.0, 5.0], [3.0, 0.0]]
    """

    __slots__ = ("_feedback", "_items", "_matrix", "_timestamps", "_users")

    def __init__(
        self,
        matrix: sp.csr_matrix | sp.csr_array,
        user_ids: IdMap,
        item_ids: IdMap,
        *,
        timestamps: npt.ArrayLike | None = None,
        feedback: Feedback = "implicit",
    ) -> None:
        csr = _canonical_csr(matrix)
        if csr.shape != (len(user_ids), len(item_ids)):
            raise DataError(
                f"matrix: expected shape ({len(user_ids)}, {len(item_ids)}) to match the ids, "
                f"received {csr.shape}"
            )
        ts: np.ndarray | None = None
        if timestamps is not None:
            ts = np.array(timestamps, copy=True)
            if ts.shape != (csr.nnz,):
                raise DataError(
                    f"timestamps: expected one per stored value ({csr.nnz}), received {ts.shape}"
                )
            ts.flags.writeable = False
        self._matrix = csr
        self._users = user_ids
        self._items = item_ids
        self._timestamps = ts
        self._feedback: Feedback = check_choice(feedback, "feedback", ("explicit", "implicit"))

    # ------------------------------------------------------------------ access
    @property
    def matrix(self) -> sp.csr_matrix:
        """The users x items CSR matrix (float32, read-only arrays)."""
        return self._matrix

    @property
    def user_ids(self) -> IdMap:
        return self._users

    @property
    def item_ids(self) -> IdMap:
        return self._items

    @property
    def timestamps(self) -> np.ndarray | None:
        """One timestamp per stored value, in CSR order, or ``None``."""
        return self._timestamps

    @property
    def feedback(self) -> Feedback:
        """``"explicit"`` for ratings, ``"implicit"`` for counts and clicks."""
        return self._feedback

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self._users), len(self._items))

    @property
    def n_users(self) -> int:
        return len(self._users)

    @property
    def n_items(self) -> int:
        return len(self._items)

    @property
    def nnz(self) -> int:
        """Number of distinct (user, item) pairs."""
        return int(self._matrix.nnz)

    def __len__(self) -> int:
        return self.nnz

    def __repr__(self) -> str:
        ts = ", timestamps" if self._timestamps is not None else ""
        return (
            f"Interactions({self.n_users} users x {self.n_items} items, "
            f"{self.nnz} interactions, {self._feedback}{ts})"
        )

    def user_indices(self) -> np.ndarray:
        """The internal user index of every stored value, in CSR order."""
        return np.repeat(np.arange(self.n_users, dtype=np.int64), np.diff(self._matrix.indptr))

    def user_codes(self) -> np.ndarray:
        """Deprecated: the former name of :meth:`user_indices`."""
        warn_renamed("Interactions", "user_codes", "user_indices", stacklevel=2)
        return self.user_indices()

    def to_frame(self) -> pd.DataFrame:
        """The long form: ``user_id``, ``item_id``, ``rating`` (or ``value``), ``timestamp``."""
        value_col = RATING_COL if self._feedback == "explicit" else "value"
        frame = pd.DataFrame(
            {
                USER_COL: self._users.ids[self.user_indices()],
                ITEM_COL: self._items.ids[self._matrix.indices],
                value_col: self._matrix.data,
            }
        )
        if self._timestamps is not None:
            frame[TIMESTAMP_COL] = self._timestamps
        return frame

    def select(self, mask: npt.ArrayLike) -> Interactions:
        """The interactions whose stored values are selected by a boolean ``mask``.

        The result keeps only the users and items that still have interactions, so
        its ids are a subset of these (splitters use this).
        """
        keep = np.asarray(mask, dtype=bool)
        if keep.shape != (self.nnz,):
            raise DataError(f"mask: expected {self.nnz} booleans, received shape {keep.shape}")
        users = self.user_indices()[keep]
        items = self._matrix.indices[keep].astype(np.int64)
        ts = None if self._timestamps is None else self._timestamps[keep]
        user_map, user_index = IdMap.encode(self._users.ids[users], name=USER_COL)
        item_map, item_index = IdMap.encode(self._items.ids[items], name=ITEM_COL)
        return _build(
            user_index,
            item_index,
            self._matrix.data[keep],
            ts,
            user_map,
            item_map,
            feedback=self._feedback,
            duplicates="error",
        )

    def with_items(self, item_ids: npt.ArrayLike) -> Interactions:
        """These interactions with the ``item_ids`` they lack appended as items nobody
        interacted with (empty columns). Existing items keep their indices.

        Content-based models use this to recommend items that have features but no
        interactions yet ("cold" items).

        Example:
            >>> import pandas as pd
            >>> data = Interactions.from_frame(pd.DataFrame({"user_id": [1], "item_id": [5]}))
            >>> data.with_items([5, 9]).item_ids.ids.tolist()
            [5, 9]
        """
        extra = normalize_ids(item_ids, "item_ids")
        kind = "str" if extra.dtype.kind == "U" else "int"
        if extra.size and kind != self._items.kind:
            raise DataError(
                f"item_ids: expected {self._items.kind} ids like the interactions' item "
                f"ids, received {kind} ids such as {extra[0].item()!r}"
            )
        new = pd.unique(extra[self._items.to_index(extra, missing="ignore") < 0])
        if new.size == 0:
            return self
        ids = IdMap(np.concatenate([self._items.ids, new]), name=ITEM_COL)
        matrix = sp.csr_matrix(
            (self._matrix.data, self._matrix.indices, self._matrix.indptr),
            shape=(self.n_users, len(ids)),
        )
        return Interactions(
            matrix, self._users, ids, timestamps=self._timestamps, feedback=self._feedback
        )

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_frame(
        cls,
        frame: Any,
        *,
        user_col: str = USER_COL,
        item_col: str = ITEM_COL,
        rating_col: str | None = RATING_COL,
        timestamp_col: str | None = TIMESTAMP_COL,
        feedback: Feedback | None = None,
        duplicates: DuplicatePolicy = "auto",
    ) -> Interactions:
        """Builds interactions from a pandas or polars DataFrame, an Arrow table or a dict.

        ``rating_col`` and ``timestamp_col`` are optional: when the column is absent
        and the argument was left at its default, it is simply not used. Without a
        rating column every row counts 1 (implicit feedback). ``feedback`` says how
        to read the values (default: ``"explicit"`` when there is a rating column).
        """
        columns = _columns(frame)
        check_choice(duplicates, "duplicates", _POLICIES)
        for col in (user_col, item_col):
            if col not in columns:
                raise DataError(
                    f"missing column {col!r}: expected columns {user_col!r}, {item_col!r} "
                    f"[, {rating_col!r}][, {timestamp_col!r}]; received {sorted(columns)}. "
                    "Name yours with user_col=, item_col=, rating_col=, timestamp_col= "
                    "(model.fit(df, user_col=...) or Interactions.from_frame(df, user_col=...))"
                )
        rating_col = _optional_column(columns, rating_col, RATING_COL)
        timestamp_col = _optional_column(columns, timestamp_col, TIMESTAMP_COL)
        used = [c for c in (user_col, item_col, rating_col, timestamp_col) if c is not None]
        n_rows = _common_length(columns, used)
        if n_rows == 0:
            raise DataError("expected at least one interaction, received an empty table")

        users = normalize_ids(columns[user_col], user_col)
        items = normalize_ids(columns[item_col], item_col)
        if rating_col is None:
            values = np.ones(n_rows, dtype=np.float32)
        else:
            values = check_values(columns[rating_col], f"column {rating_col!r}")
        ts = None if timestamp_col is None else _timestamps(columns[timestamp_col], timestamp_col)
        if feedback is None:
            feedback = "explicit" if rating_col is not None else "implicit"
        user_map, user_index = IdMap.encode(users, name=user_col)
        item_map, item_index = IdMap.encode(items, name=item_col)
        return _build(
            user_index,
            item_index,
            values,
            ts,
            user_map,
            item_map,
            feedback=feedback,
            duplicates=duplicates,
        )

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        *,
        sep: str | None = None,
        **kwargs: Any,
    ) -> Interactions:
        """Reads a CSV, TSV or Parquet file (by extension) with a header row.

        Keyword arguments are those of :meth:`from_frame` (column names, policy).
        """
        file = Path(path)
        if not file.is_file():
            raise DataError(f"expected an existing data file, received {str(file)!r} (not found)")
        suffix = file.suffix.lower()
        id_cols = [kwargs.get("user_col", USER_COL), kwargs.get("item_col", ITEM_COL)]
        if suffix in {".parquet", ".pq"}:
            try:
                frame = pd.read_parquet(file)
            except (ValueError, OSError) as exc:
                raise DataError(f"could not read {str(file)!r} as a table: {exc}") from exc
            return cls.from_frame(frame, **kwargs)
        delimiter = sep or ("\t" if suffix in {".tsv", ".tab"} else ",")
        try:
            # Ids are read as text and parsed by the one rule (ids_from_text).
            frame = pd.read_csv(file, sep=delimiter, dtype=dict.fromkeys(id_cols, str))
        except (ValueError, OSError) as exc:
            raise DataError(f"could not read {str(file)!r} as a table: {exc}") from exc
        try:
            for col in id_cols:
                if col in frame.columns:
                    frame[col] = ids_from_text(frame[col].to_numpy(), col)
            return cls.from_frame(frame, **kwargs)
        except DataError as exc:
            if exc.row is None:
                raise
            # A person opens the file in an editor: name its line, not the data row.
            line = _text_line(file, exc.row)
            raise DataError(f"{exc.reason} at line {line} of {str(file)!r}") from None

    @classmethod
    def from_sparse(
        cls,
        matrix: Any,
        user_ids: npt.ArrayLike | None = None,
        item_ids: npt.ArrayLike | None = None,
        *,
        timestamps: npt.ArrayLike | None = None,
        feedback: Feedback = "implicit",
    ) -> Interactions:
        """Wraps a SciPy sparse users x items matrix; ``user_ids`` name its rows and
        ``item_ids`` its columns, in order (default ``0..n-1``).

        Explicit zeros are dropped (a zero is no interaction) and duplicate entries
        are summed, as SciPy does. ``timestamps`` must align with the canonical CSR
        order of the stored values.

        A float32 CSR matrix with sorted indices, no duplicates and no stored zeros is
        not copied: the interactions share its arrays (and never write to them), so
        a large matrix is held once. Copy it first if you change it afterwards.
        """
        if not sp.issparse(matrix):
            raise DataError(
                f"matrix: expected a SciPy sparse matrix, received {type(matrix).__name__}"
            )
        csr = sp.csr_matrix(cast(Any, matrix))  # shares the arrays of a CSR matrix
        if not csr.has_canonical_format or not csr.data.all():
            # Never change the caller's matrix: work on a copy.
            csr = csr.copy()
            csr.sum_duplicates()
            csr.eliminate_zeros()
        n_users, n_items = csr.shape
        users = IdMap(np.arange(n_users) if user_ids is None else user_ids, name=USER_COL)
        items = IdMap(np.arange(n_items) if item_ids is None else item_ids, name=ITEM_COL)
        return cls(csr, users, items, timestamps=timestamps, feedback=feedback)


def as_interactions(data: Any, **kwargs: Any) -> Interactions:
    """``data`` if it is already :class:`Interactions`, else ``Interactions.from_frame(data)``
    (or ``from_file`` for a path, ``from_sparse`` for a SciPy matrix); ``kwargs`` name
    the columns of a table or file."""
    if isinstance(data, Interactions) or sp.issparse(data):
        if kwargs:
            raise DataError(
                f"{', '.join(kwargs)}: column names apply to a table or a file, not to "
                f"{type(data).__name__}"
            )
        return data if isinstance(data, Interactions) else Interactions.from_sparse(data)
    if isinstance(data, str | os.PathLike):
        return Interactions.from_file(data, **kwargs)
    return Interactions.from_frame(data, **kwargs)


# ---------------------------------------------------------------------- helpers
def _text_line(file: Path, row: int) -> int:
    """The 1-based line of ``file`` (header counted) that holds data row ``row``.

    pandas skips blank lines, so they are skipped here too; a quoted field that
    spans lines is not followed (the line of its first part is close enough).
    """
    with file.open(encoding="utf-8", errors="replace") as lines:
        seen = -1  # the header is row -1
        for number, text in enumerate(lines, start=1):
            if text.strip():
                if seen == row:
                    return number
                seen += 1
    return row + 2


def _canonical_csr(matrix: Any) -> sp.csr_matrix:
    """``matrix`` as float32 CSR with sorted, distinct indices (int32) per row and an
    int64 ``indptr``, in read-only arrays. Arrays that already have that form are
    shared with ``matrix`` (read-only views), not copied."""
    csr = sp.csr_matrix(matrix)
    if not csr.has_canonical_format:
        # A stored zero is a real interaction (a rating of 0); only duplicates merge.
        csr = csr.copy()
        csr.sum_duplicates()  # sorts too
    data = csr.data.astype(np.float32, copy=False)
    _check_stored_values(data)
    out = sp.csr_matrix(cast(Any, csr.shape), dtype=np.float32)
    # Assigned after construction: SciPy's constructor casts both index arrays to one
    # type, which would copy them.
    out.indptr = _read_only(csr.indptr.astype(np.int64, copy=False))
    out.indices = _read_only(csr.indices.astype(np.int32, copy=False))
    out.data = _read_only(data)
    out.has_sorted_indices = True
    return out


def _check_stored_values(data: np.ndarray) -> None:
    """:func:`check_values` on a matrix's stored values, a million at a time: its
    float64 temporaries then stay small however large the matrix."""
    step = 1 << 20
    for start in range(0, data.size, step):
        try:
            check_values(data[start : start + step], "matrix", where="stored position")
        except DataError:
            # The whole array, for the message to give the absolute position.
            check_values(data, "matrix", where="stored position")
            raise


def _read_only(array: np.ndarray) -> np.ndarray:
    """A read-only view of ``array`` (which itself stays as it was)."""
    view = array.view()
    view.flags.writeable = False
    return view


def _columns(frame: Any) -> Mapping[str, Any]:
    """Column name -> 1-D array for pandas, polars, Arrow tables and dicts."""
    if isinstance(frame, pd.DataFrame):
        return {str(c): frame[c].to_numpy() for c in frame.columns}
    module = type(frame).__module__.split(".")[0]
    if module == "polars" and hasattr(frame, "get_columns"):
        return {str(s.name): s.to_numpy() for s in frame.get_columns()}
    if module == "pyarrow" and hasattr(frame, "column_names"):
        return {
            str(name): frame.column(name).to_numpy(zero_copy_only=False)
            if hasattr(frame.column(name), "to_numpy")
            else np.asarray(frame.column(name))
            for name in frame.column_names
        }
    if isinstance(frame, Mapping):
        return {str(k): _column_array(v) for k, v in frame.items()}
    raise DataError(
        "expected a pandas or polars DataFrame, a pyarrow Table or a dict of columns, "
        f"received {type(frame).__name__}"
    )


def require_non_negative(values: np.ndarray, who: str, why: str) -> None:
    """Raises :class:`DataError` unless every value is ``>= 0``, for a model that
    ``who`` names and whose method needs it (``why``)."""
    if values.size and values.min() < 0:
        raise DataError(f"values: {who} expects values >= 0 ({why}), received {values.min()}")


def _common_length(columns: Mapping[str, Any], names: list[str]) -> int:
    lengths = {}
    for name in names:
        shape = np.shape(columns[name])
        if len(shape) != 1:
            raise DataError(f"column {name!r}: expected one value per row, received shape {shape}")
        lengths[name] = shape[0]
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name!r} has {n}" for name, n in lengths.items())
        raise DataError(f"expected columns of the same length, received: {listed}")
    return next(iter(lengths.values()))


def _at(message: str, where: str, pos: int) -> DataError:
    """The error for a bad value at ``pos``; a row keeps its number apart (DataError.row)."""
    if where == "row":
        return DataError(message, row=pos)
    return DataError(f"{message} at {where} {pos}")


def check_values(values: Any, name: str, *, where: str = "row") -> np.ndarray:
    """``values`` as float32 after checking the rule for values (see the module
    docs): finite numbers within ``±MAX_ABS_VALUE``; :class:`DataError` otherwise.

    Example:
        >>> check_values([1, 2.5], "column 'rating'").tolist()
        [1.0, 2.5]
        >>> check_values([1, 3e38], "column 'rating'")
        Traceback (most recent call last):
        ...
        recommender_systems.errors.DataError: column 'rating': expected finite numbers ...
    """
    raw = np.asarray(values)
    if raw.dtype.kind == "O":
        nulls = pd.isna(raw)
        if nulls.any():
            pos = int(np.argmax(nulls))
            raise _at(f"{name}: expected numbers, received null", where, pos)
    try:
        arr = raw.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name}: expected numbers, received dtype {raw.dtype}") from exc
    bad = ~(np.abs(arr) <= MAX_ABS_VALUE)  # also true for NaN
    if bad.any():
        pos = int(np.argmax(bad))
        raise _at(
            f"{name}: expected finite numbers within ±{MAX_ABS_VALUE:g} (so that float32 "
            f"arithmetic stays finite), received {arr[pos]}",
            where,
            pos,
        )
    return arr.astype(np.float32)


def _column_array(values: Any) -> np.ndarray:
    """A dict column as an array; values NumPy cannot stack (``[0, [1]]``) stay
    Python objects, for the checks to name."""
    try:
        return np.asarray(values)
    except (ValueError, TypeError):
        items = list(values)
        return np.fromiter(items, dtype=object, count=len(items))


def _optional_column(columns: Mapping[str, Any], name: str | None, default: str) -> str | None:
    if name is None:
        return None
    if name in columns:
        return name
    if name == default:
        return None
    raise DataError(f"missing column {name!r}; received columns {sorted(columns)}")


def _finite_numbers(values: Any, name: str) -> np.ndarray:
    raw = np.asarray(values)
    if raw.dtype.kind == "O":
        nulls = pd.isna(raw)
        if nulls.any():
            pos = int(np.argmax(nulls))
            raise DataError(f"column {name!r}: expected numbers, received null", row=pos)
    try:
        arr = raw.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"column {name!r}: expected numbers, received dtype {raw.dtype}") from exc
    bad = ~np.isfinite(arr)
    if bad.any():
        pos = int(np.argmax(bad))
        raise DataError(f"column {name!r}: expected finite numbers, received {arr[pos]}", row=pos)
    return arr.astype(np.float32)


def _timestamps(values: Any, name: str) -> np.ndarray:
    raw = np.asarray(values)
    if raw.dtype.kind == "M":
        if np.isnat(raw).any():
            pos = int(np.argmax(np.isnat(raw)))
            raise DataError(f"column {name!r}: expected timestamps, received NaT", row=pos)
        return raw.astype("datetime64[s]").astype(np.int64)
    if raw.dtype.kind in "iu":
        return raw.astype(np.int64)
    arr = _finite_numbers(raw, name).astype(np.float64)
    return arr.astype(np.int64) if np.array_equal(arr, np.round(arr)) else arr


def _build(
    user_index: np.ndarray,
    item_index: np.ndarray,
    values: np.ndarray,
    timestamps: np.ndarray | None,
    user_map: IdMap,
    item_map: IdMap,
    *,
    feedback: Feedback,
    duplicates: DuplicatePolicy,
) -> Interactions:
    n_users, n_items = len(user_map), len(item_map)
    key = user_index * np.int64(n_items) + item_index
    order = np.argsort(key, kind="stable")
    key = key[order]
    values = values[order]
    ts = None if timestamps is None else timestamps[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    if starts.size != key.size:
        values, ts = _merge_duplicates(
            key, starts, values, ts, feedback, duplicates, user_map, item_map
        )
        key = key[starts]
    rows = key // n_items
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_users), out=indptr[1:])
    csr = sp.csr_matrix(
        (values.astype(np.float32), (key % n_items).astype(np.int32), indptr),
        shape=(n_users, n_items),
    )
    return Interactions(csr, user_map, item_map, timestamps=ts, feedback=feedback)


def _merge_duplicates(
    key: np.ndarray,
    starts: np.ndarray,
    values: np.ndarray,
    ts: np.ndarray | None,
    feedback: Feedback,
    duplicates: DuplicatePolicy,
    user_map: IdMap,
    item_map: IdMap,
) -> tuple[np.ndarray, np.ndarray | None]:
    policy = duplicates
    if policy == "auto":
        policy = "mean" if feedback == "explicit" else "sum"
    if policy == "error":
        dup = int(np.argmax(np.diff(key) == 0))
        n_items = len(item_map)
        user = user_map.ids[key[dup] // n_items].item()
        item = item_map.ids[key[dup] % n_items].item()
        raise DataError(
            f"expected one row per (user, item) pair (duplicates='error'), received "
            f"user {user!r} and item {item!r} more than once"
        )
    counts = np.diff(np.r_[starts, key.size])
    vals = values.astype(np.float64)
    if policy == "sum":
        merged = np.add.reduceat(vals, starts)
    elif policy == "mean":
        merged = np.add.reduceat(vals, starts) / counts
    elif policy == "max":
        merged = np.maximum.reduceat(vals, starts)
    elif policy == "first":
        merged = vals[starts]
    else:  # "last"
        merged = vals[starts + counts - 1]
    merged_ts = None if ts is None else np.maximum.reduceat(ts, starts)
    return merged.astype(np.float32), merged_ts
