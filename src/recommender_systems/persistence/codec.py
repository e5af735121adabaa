"""Model state and hyperparameters as a JSON tree plus a list of arrays.

Every value the model contract allows has one tagged form (``{"$": kind, ...}``);
plain JSON values (``None``, booleans, integers, finite floats, strings, lists)
stand for themselves. Arrays are stored as blobs in the file and referenced by
index; a Recommender or array met twice is stored once and comes back as one
object. Decoding only ever builds these known kinds: nothing in a file names code
to run, except a model class, which :mod:`.classes` resolves against an
allow-list.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender_systems._estimator import STATE_NAME, Estimator, fitted_state
from recommender_systems.errors import ModelFileError, NotSupportedError, ParameterError
from recommender_systems.idmap import IdMap
from recommender_systems.persistence.classes import class_reference, resolve_class
from recommender_systems.persistence.container import storable

_SPARSE: dict[tuple[str, str], type[Any]] = {
    ("csr", "matrix"): sp.csr_matrix,
    ("csc", "matrix"): sp.csc_matrix,
    ("csr", "array"): sp.csr_array,
    ("csc", "array"): sp.csc_array,
}
_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class Encoder:
    """Turns values into JSON nodes, collecting arrays (with labels) on the way."""

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self.labels: list[str] = []
        self._array_ids: dict[int, int] = {}
        self._model_ids: dict[int, int] = {}
        self._keep: list[Any] = []  # keeps memoised objects alive, so ids stay unique

    def model(self, model: Estimator, where: str = "model") -> dict[str, Any]:
        if id(model) in self._model_ids:
            return {"$": "ref", "id": self._model_ids[id(model)]}
        ref = len(self._model_ids)
        self._model_ids[id(model)] = ref
        self._keep.append(model)
        params = {k: self.value(v, f"{where}.{k}") for k, v in model.get_params().items()}
        state = {k: self.value(v, f"{where}.{k}") for k, v in fitted_state(model).items()}
        return {
            "$": "model",
            "id": ref,
            "class": class_reference(type(model)),
            "params": params,
            "state": state,
        }

    def value(self, value: Any, where: str) -> Any:
        handler = self._handler(value)
        if handler is None:
            raise NotSupportedError(
                f"{where}: cannot save a value of type {type(value).__name__} (model files "
                "hold arrays, sparse CSR/CSC matrices, id maps, numbers, strings, None, "
                "lists, tuples and dicts of those, DataFrames and nested models)"
            )
        return handler(value, where)

    def _handler(self, value: Any) -> Callable[[Any, str], Any] | None:
        if isinstance(value, np.generic):  # before float: np.float64 is a float subclass
            return lambda v, w: {"$": "scalar", "index": self.array(np.asarray(v), w)}
        if value is None or isinstance(value, bool | str):
            return lambda v, _: v
        if isinstance(value, int):
            return lambda v, _: int(v)
        if isinstance(value, float):
            return _float
        if isinstance(value, np.ndarray):
            return lambda v, w: {"$": "array", "index": self.array(v, w)}
        if isinstance(value, IdMap):
            return lambda v, w: {"$": "idmap", "ids": self.array(v.ids, f"{w}.ids")}
        if isinstance(value, Estimator):
            return self.model
        if isinstance(value, list):
            return lambda v, w: [self.value(x, f"{w}[{i}]") for i, x in enumerate(v)]
        if isinstance(value, tuple):
            return lambda v, w: {
                "$": "tuple",
                "items": [self.value(x, f"{w}[{i}]") for i, x in enumerate(v)],
            }
        if isinstance(value, dict):
            return self._dict
        if sp.issparse(value) and value.format in ("csr", "csc"):  # type: ignore[attr-defined]
            return self._sparse
        if isinstance(value, pd.DataFrame):
            return self._frame
        return None

    def array(self, array: np.ndarray, where: str) -> int:
        if id(array) not in self._array_ids:
            self._array_ids[id(array)] = len(self.arrays)
            self._keep.append(array)
            self.arrays.append(storable(array, where))
            self.labels.append(where)
        return self._array_ids[id(array)]

    def _dict(self, value: dict[Any, Any], where: str) -> dict[str, Any]:
        keys = list(value)
        return {
            "$": "dict",
            "keys": [self.value(k, f"{where} key") for k in keys],
            "values": [self.value(value[k], f"{where}[{k!r}]") for k in keys],
        }

    def _sparse(self, value: Any, where: str) -> dict[str, Any]:
        return {
            "$": "sparse",
            "format": value.format,
            "container": "array" if isinstance(value, sp.sparray) else "matrix",
            "shape": [int(s) for s in value.shape],
            "data": self.array(value.data, f"{where}.data"),
            "indices": self.array(value.indices, f"{where}.indices"),
            "indptr": self.array(value.indptr, f"{where}.indptr"),
        }

    def _frame(self, frame: pd.DataFrame, where: str) -> dict[str, Any]:
        if isinstance(frame.columns, pd.MultiIndex) or isinstance(frame.index, pd.MultiIndex):
            raise NotSupportedError(f"{where}: cannot save a DataFrame with a MultiIndex")
        columns = [self.value(c, f"{where} column name") for c in frame.columns]
        if any(isinstance(dtype, pd.SparseDtype) for dtype in frame.dtypes):
            return self._sparse_frame(frame, columns, where)
        data = [
            self._column(frame.iloc[:, i], f"{where}[{frame.columns[i]!r}]")
            for i in range(frame.shape[1])
        ]
        return {
            "$": "dataframe",
            "columns": columns,
            "index": self._index(frame.index, f"{where}.index"),
            "data": data,
        }

    def _sparse_frame(self, frame: pd.DataFrame, columns: list[Any], where: str) -> dict[str, Any]:
        """A DataFrame of sparse columns (as ``text_features`` makes) as one CSC matrix:
        one array triple for the whole frame, however many columns it has."""
        dtypes = set(frame.dtypes)
        dtype = next(iter(dtypes))
        if len(dtypes) != 1 or not isinstance(dtype, pd.SparseDtype) or dtype.fill_value != 0:
            raise NotSupportedError(
                f"{where}: can save a DataFrame whose columns are all sparse of one dtype "
                f"with fill value 0, received dtypes {sorted({str(d) for d in dtypes})}"
            )
        # pandas-stubs do not describe the .sparse accessor.
        matrix = sp.csc_matrix(cast(Any, frame).sparse.to_coo(), dtype=dtype.subtype)
        return {
            "$": "sparse_dataframe",
            "columns": columns,
            "index": self._index(frame.index, f"{where}.index"),
            "matrix": self._sparse(matrix, f"{where}.values"),
        }

    def _index(self, index: pd.Index, where: str) -> dict[str, Any]:
        name = self.value(index.name, f"{where}.name")
        if isinstance(index, pd.RangeIndex):
            return {"kind": "range", "start": index.start, "stop": index.stop,
                    "step": index.step, "name": name}  # fmt: skip
        return {"kind": "values", "values": self._column(pd.Series(index), where), "name": name}

    def _column(self, column: pd.Series, where: str) -> dict[str, Any]:
        dtype = column.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            return {
                "kind": "category",
                "codes": self.array(column.cat.codes.to_numpy(), f"{where}.codes"),
                "categories": self._column(pd.Series(dtype.categories), f"{where}.categories"),
                "ordered": bool(dtype.ordered),
            }
        if isinstance(dtype, np.dtype) and dtype.kind != "O":
            return {"kind": "numpy", "values": self.array(column.to_numpy(), where)}
        missing = column.isna().to_numpy()
        texts = column.where(~missing, "")
        if not all(isinstance(v, str) for v in texts.tolist()):
            raise NotSupportedError(
                f"{where}: cannot save a column of dtype {dtype} holding non-string objects"
            )
        return {
            "kind": "strings",
            "dtype": str(dtype),
            "values": self.array(texts.to_numpy(dtype=str), where),
            "missing": self.array(missing, f"{where}.missing") if missing.any() else None,
        }


def _float(value: float, where: str) -> Any:
    if math.isfinite(value):
        return float(value)
    return {"$": "float", "value": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}


class Decoder:
    """Rebuilds values from JSON nodes and the file's arrays."""

    def __init__(self, arrays: list[np.ndarray]) -> None:
        self.arrays = arrays
        self._models: dict[int, Estimator] = {}
        self.idmaps: dict[int, IdMap] = {}

    def model(self, node: Any) -> Estimator:
        node = _tagged(node, "model")
        if node.get("$") == "ref":
            ref = _int(node, "id")
            if ref not in self._models:
                raise ModelFileError(f"malformed header: no model {ref} to refer to")
            return self._models[ref]
        cls = resolve_class(node.get("class"))
        params = _mapping(node, "params")
        state = _mapping(node, "state")
        # Files written before a rename hold the former names: read them as the new ones.
        values = cls._current_names({name: self.value(v) for name, v in params.items()}, warn=False)
        try:
            model = cls(**values)
        except TypeError as exc:
            raise ModelFileError(f"parameters do not match {cls.__name__}: {exc}") from None
        try:
            model._validate_params()  # the class's own declaration, as fit would check them
        except ParameterError as exc:
            raise ModelFileError(f"hyperparameters of {cls.__name__}: {exc}") from None
        self._models[_int(node, "id")] = model
        for name, value in state.items():
            if not STATE_NAME.match(name):
                raise ModelFileError(f"malformed header: {name!r} is not a fitted-state name")
            setattr(model, cls.renamed_state.get(name, name), self.value(value))
        return model

    def value(self, node: Any) -> Any:
        if node is None or isinstance(node, bool | int | float | str):
            return node
        if isinstance(node, list):
            return [self.value(v) for v in node]
        if not isinstance(node, dict):
            raise ModelFileError(f"malformed header: unexpected {type(node).__name__}")
        kind = node.get("$")
        decode = _DECODERS.get(kind) if isinstance(kind, str) else None
        if decode is None:
            raise ModelFileError(f"malformed header: unknown value kind {kind!r}")
        return decode(self, node)

    def array(self, index: Any) -> np.ndarray:
        if not isinstance(index, int) or not 0 <= index < len(self.arrays):
            raise ModelFileError(f"malformed header: no array {index!r}")
        return self.arrays[index]

    def _sparse(self, node: dict[str, Any]) -> Any:
        key = (node.get("format"), node.get("container"))
        if key not in _SPARSE:
            raise ModelFileError(f"malformed header: unknown sparse kind {key!r}")
        shape = tuple(_int_list(node.get("shape")))
        data, indices, indptr = (self.array(node.get(k)) for k in ("data", "indices", "indptr"))
        _check_compressed(shape, key[0], data, indices, indptr)
        matrix = _SPARSE[key](shape, dtype=data.dtype)
        # Assigned, not passed to the constructor (nor checked by scipy), which may cast
        # the index arrays: a loaded matrix keeps the exact dtypes it had.
        matrix.data, matrix.indices, matrix.indptr = data, indices, indptr
        return matrix

    def _frame(self, node: dict[str, Any]) -> pd.DataFrame:
        columns = [self.value(c) for c in _list(node, "columns")]
        data = [self._column(c) for c in _list(node, "data")]
        if len(columns) != len(data):
            raise ModelFileError("malformed header: DataFrame columns and data differ in length")
        index = self._index(node.get("index"))
        if any(len(values) != len(index) for values in data):
            raise ModelFileError("malformed header: DataFrame columns differ in length")
        frame = pd.DataFrame(dict(enumerate(data)), index=index)
        frame.columns = pd.Index(columns)
        return frame

    def _sparse_frame(self, node: dict[str, Any]) -> pd.DataFrame:
        columns = [self.value(c) for c in _list(node, "columns")]
        index = self._index(node.get("index"))
        values = node.get("matrix")
        if not isinstance(values, dict) or values.get("$") != "sparse":
            raise ModelFileError("malformed header: a sparse DataFrame without its matrix")
        matrix = self._sparse(values)
        if matrix.format != "csc" or matrix.shape != (len(index), len(columns)):
            raise ModelFileError(
                f"malformed header: a sparse DataFrame of {len(index)} rows and "
                f"{len(columns)} columns holds a {matrix.format} matrix of shape {matrix.shape}"
            )
        frame: pd.DataFrame = cast(Any, pd.DataFrame).sparse.from_spmatrix(matrix, index=index)
        frame.columns = pd.Index(columns)
        return frame

    def _index(self, node: Any) -> pd.Index:
        if not isinstance(node, dict):
            raise ModelFileError("malformed header: bad DataFrame index")
        name = self.value(node.get("name"))
        if node.get("kind") == "range":
            start, stop, step = (_int(node, k) for k in ("start", "stop", "step"))
            return pd.RangeIndex(start, stop, step, name=name)
        return pd.Index(self._column(node.get("values")), name=name)

    def _column(self, node: Any) -> Any:
        """A column's values (an array or a pandas extension array), without an index."""
        if not isinstance(node, dict):
            raise ModelFileError("malformed header: bad DataFrame column")
        kind = node.get("kind")
        if kind == "numpy":
            return np.array(self.array(node.get("values")), copy=True)
        if kind == "category":
            categories = pd.Index(self._column(node.get("categories")))
            codes = self.array(node.get("codes"))
            if codes.ndim != 1 or codes.dtype.kind != "i" or (codes >= len(categories)).any():
                raise ModelFileError("malformed header: bad category codes")
            return pd.Categorical.from_codes(
                codes, categories=categories, ordered=bool(node.get("ordered"))
            )
        if kind == "strings":
            values = self.array(node.get("values")).astype(object)
            if node.get("missing") is not None:
                values[self.array(node.get("missing"))] = None
            try:
                dtype: Any = pd.api.types.pandas_dtype(str(node.get("dtype")))
                return pd.array(values, dtype=dtype)
            except TypeError as exc:
                raise ModelFileError(f"malformed header: bad column dtype ({exc})") from None
        raise ModelFileError(f"malformed header: unknown column kind {kind!r}")


def _check_compressed(
    shape: tuple[int, ...], fmt: str, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray
) -> None:
    """Structural checks, so that no later sparse operation reads out of bounds."""
    if len(shape) != 2:
        raise ModelFileError(f"malformed sparse matrix: shape {shape}")
    major, minor = shape if fmt == "csr" else shape[::-1]
    ok = (
        data.ndim == indices.ndim == indptr.ndim == 1
        and indices.dtype.kind in "iu"
        and indptr.dtype.kind in "iu"
        and indptr.size == major + 1
        and data.size == indices.size
        and int(indptr[0]) == 0
        and int(indptr[-1]) == indices.size
        and bool(np.all(np.diff(indptr) >= 0))
        and (indices.size == 0 or (int(indices.min()) >= 0 and int(indices.max()) < minor))
    )
    if not ok:
        raise ModelFileError(f"malformed sparse matrix of shape {shape}")


def _tagged(node: Any, kind: str) -> dict[str, Any]:
    if not isinstance(node, dict) or node.get("$") not in (kind, "ref"):
        raise ModelFileError(f"malformed header: expected a {kind}")
    return node


def _mapping(node: dict[str, Any], key: str) -> dict[str, Any]:
    value = node.get(key)
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ModelFileError(f"malformed header: bad {key!r}")
    return value


def _list(node: dict[str, Any], key: str) -> list[Any]:
    value = node.get(key)
    if not isinstance(value, list):
        raise ModelFileError(f"malformed header: bad {key!r}")
    return value


def _int(node: dict[str, Any], key: str) -> int:
    value = node.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ModelFileError(f"malformed header: bad {key!r}")
    return value


def _int_list(value: Any) -> list[int]:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
    ):
        raise ModelFileError(f"malformed header: bad shape {value!r}")
    return value


def _decode_scalar(decoder: Decoder, node: dict[str, Any]) -> Any:
    array = decoder.array(node.get("index"))
    if array.ndim != 0:
        raise ModelFileError("malformed header: a scalar must be a 0-d array")
    return array[()]


def _decode_idmap(decoder: Decoder, node: dict[str, Any]) -> IdMap:
    # Models that shared one id map (a hybrid and its parts) share it again.
    ids = decoder.array(node.get("ids"))
    key = id(ids)
    if key not in decoder.idmaps:
        try:
            decoder.idmaps[key] = IdMap(ids)
        except ValueError as exc:
            raise ModelFileError(f"malformed id map: {exc}") from None
    return decoder.idmaps[key]


def _decode_float(decoder: Decoder, node: dict[str, Any]) -> float:
    text = node.get("value")
    if text not in _FLOATS:
        raise ModelFileError(f"malformed header: bad float {text!r}")
    return _FLOATS[text]


def _decode_dict(decoder: Decoder, node: dict[str, Any]) -> dict[Any, Any]:
    keys = [decoder.value(k) for k in _list(node, "keys")]
    values = [decoder.value(v) for v in _list(node, "values")]
    if len(keys) != len(values):
        raise ModelFileError("malformed header: dict keys and values differ in length")
    try:
        return dict(zip(keys, values, strict=True))
    except TypeError as exc:  # an unhashable key
        raise ModelFileError(f"malformed header: bad dict key ({exc})") from None


_DECODERS: dict[str, Callable[[Decoder, dict[str, Any]], Any]] = {
    "array": lambda d, n: d.array(n.get("index")),
    "scalar": _decode_scalar,
    "idmap": _decode_idmap,
    "float": _decode_float,
    "tuple": lambda d, n: tuple(d.value(v) for v in _list(n, "items")),
    "dict": _decode_dict,
    "sparse": Decoder._sparse,
    "dataframe": Decoder._frame,
    "sparse_dataframe": Decoder._sparse_frame,
    "model": Decoder.model,
    "ref": Decoder.model,
}
