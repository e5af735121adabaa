"""Fitted state, declared once per model class.

A model lists what ``fit`` leaves behind (its attributes ending with ``_``) with
what each one must be: an array of a dtype and a shape, a sparse matrix, an id
map, a number, nested models. Shapes are written in named dimensions:
``"n_users"`` and ``"n_items"`` are the sizes of the model's id maps, and any
other name (``"n_factors"``) is fixed by the first attribute that uses it and must
agree everywhere else.

Model files read the declaration: ``save`` refuses a model whose state does not
match it, and ``load`` checks every attribute of a file against it, after the
checksums and before the model answers a single request, so a file whose item
ids are fewer than its factor rows is a :class:`~recommender_systems.errors.ModelFileError`,
not a 500 on every recommendation.

Example:
    >>> from recommender_systems.state import Array, declare_state
    >>> class Toy:
    ...     state = declare_state(
    ...         user_factors_=Array("float32", ("n_users", "n_factors")),
    ...         item_factors_=Array("float32", ("n_items", "n_factors")),
    ...     )
    >>> sorted(Toy.state)
    ['item_factors_', 'user_factors_']

A declaration made with :func:`declare_state` is *complete*: a file may hold no
other fitted attribute. The base class's declaration is *open* (``open=True``),
so a model that declares nothing of its own still loads, with only the base
class's attributes checked; every model in this library declares its state, and
a test checks that the declaration matches what ``fit`` leaves behind.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender_systems._estimator import Estimator, fitted_state
from recommender_systems.errors import RecsysError
from recommender_systems.idmap import IdMap

__all__ = [
    "Array",
    "Fitted",
    "Ids",
    "Models",
    "Number",
    "Record",
    "Sparse",
    "Stack",
    "StateDeclaration",
    "StateMismatch",
    "Text",
    "check_state",
    "declare_state",
    "declared_state",
]

#: A dimension: a fixed size, a name, or ``None`` for any size.
Dim = int | str | None


class StateMismatch(RecsysError, ValueError):
    """A model's fitted state does not match its class's declaration."""


class Dims:
    """Named dimensions, bound as they are met; ``n_users`` and ``n_items`` come
    from the model's id maps."""

    def __init__(self, state: Mapping[str, Any]) -> None:
        self.sizes: dict[str, int] = {
            dim: len(state[attr])
            for dim, attr in (("n_users", "user_ids_"), ("n_items", "item_ids_"))
            if isinstance(state.get(attr), IdMap)
        }

    def match(self, shape: tuple[int, ...], wanted: tuple[Dim, ...], where: str) -> None:
        if len(shape) != len(wanted):
            raise StateMismatch(f"{where}: expected {len(wanted)} dimensions, received {shape}")
        for size, dim in zip(shape, wanted, strict=True):
            if isinstance(dim, int) and size != dim:
                raise StateMismatch(f"{where}: expected shape {_show(wanted)}, received {shape}")
            if isinstance(dim, str):
                bound = self.sizes.setdefault(dim, size)
                if bound != size:
                    raise StateMismatch(
                        f"{where}: expected shape {_show(wanted)} with {dim} = {bound}, "
                        f"received {shape}"
                    )


def _show(wanted: tuple[Dim, ...]) -> str:
    return "(" + ", ".join("any" if d is None else str(d) for d in wanted) + ")"


class Kind:
    """What one fitted attribute must be."""

    optional: bool = False

    def check(self, value: Any, where: str, dims: Dims, model: Any) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Array(Kind):
    """A NumPy array of one of ``dtype`` (``"str"``: any unicode width), with
    ``shape``. Float arrays hold no NaN, and no infinity unless ``allow_inf``.
    ``optional`` allows ``None``."""

    dtype: str | tuple[str, ...]
    shape: tuple[Dim, ...]
    optional: bool = False
    allow_inf: bool = False

    def check(self, value: Any, where: str, dims: Dims, model: Any) -> None:
        if not isinstance(value, np.ndarray):
            raise StateMismatch(f"{where}: expected an array, received {type(value).__name__}")
        _check_dtype(value.dtype, self.dtype, where)
        dims.match(value.shape, self.shape, where)
        if value.dtype.kind == "f":
            _check_finite(value, where, self.allow_inf)


@dataclass(frozen=True)
class Sparse(Kind):
    """A SciPy sparse matrix in ``format`` (``"csr"`` or ``"csc"``) of ``dtype``,
    with ``shape``; its values are finite."""

    format: str
    dtype: str
    shape: tuple[Dim, Dim]

    def check(self, value: Any, where: str, dims: Dims, model: Any) -> None:
        if not sp.issparse(value) or value.format != self.format:  # type: ignore[attr-defined]
            raise StateMismatch(
                f"{where}: expected a {self.format.upper()} matrix, received {type(value).__name__}"
            )
        matrix: Any = value
        _check_dtype(matrix.dtype, self.dtype, where)
        dims.match(tuple(matrix.shape), self.shape, where)
        _check_finite(matrix.data, where, allow_inf=False)


@dataclass(frozen=True)
class Ids(Kind):
    """An :class:`~recommender_systems.idmap.IdMap`."""

    def check(self, value: Any, where: str, dims: Dims, model: Any) -> None:
        if not isinstance(value, IdMap):
            raise StateMismatch(f"{where}: expected an id map, received {type(value).__name__}")


@dataclass(frozen=True)
class Number(Kind):
    """A finite Python or NumPy number ``>= low`` (when given)."""

    low: float | None = None

    def check(self, value: Any, where: str, dims: Dims, model: Any) -> None:
        real = isinstance(value, int | float | np.integer | np.floating)
        if not real or isinstance(value, bool) or not np.isfinite(value):
            raise StateMismatch(f"{where}: expected a finite number, received {value!r}")
        if self.low is not None and value < self.low:
            raise StateMismatch(f"{where}: expected a number >= {self.low}, received {value!r}")


@dataclass(frozen=True)
class Models(Kind):
    """A non-empty list of fitted models (each checked against its own class's
    declaration) that share the model's user and item ids. ``count`` names a
    dimension bound to how many there are."""

    count: str | None = None

    def check(self, value: Any, where: str, dims: Dims, model: Any) -> None:
        if not isinstance(value, list) or not value:
            raise StateMismatch(f"{where}: expected a non-empty list of fitted models")
        for i, member in enumerate(value):
            if not isinstance(member, Estimator) or not member.is_fitted:
                raise StateMismatch(f"{where}[{i}]: expected a fitted model")
            check_state(member)
            for ids in ("user_ids_", "item_ids_"):
                mine, theirs = getattr(model, ids), getattr(member, ids, None)
                if theirs is not mine and theirs != mine:
                    raise StateMismatch(f"{where}[{i}]: its {ids} differ from the model's")
        if self.count is not None:
            dims.match((len(value),), (self.count,), where)


@dataclass(frozen=True)
class Fitted(Kind):
    """A fitted estimator of class ``cls`` (a helper a model keeps, such as its
    :class:`~recommender_systems.values.ValueWeights`), checked against its own
    class's declaration. ``optional``: it may be absent or ``None`` (files saved
    before the model had it)."""

    cls: type
    optional: bool = False

    def check(self, value: Any, where: str, dims: Dims, model: Any) -> None:
        if not isinstance(value, self.cls) or not getattr(value, "is_fitted", False):
            raise StateMismatch(
                f"{where}: expected a fitted {self.cls.__name__}, received {type(value).__name__}"
            )
        check_state(value)


@dataclass(frozen=True)
class Text(Kind):
    """One of the strings ``options`` (with ``prefixes``: a string of at most 200
    characters that starts with one of them, such as a library and its version)."""

    options: tuple[str, ...]
    prefixes: bool = False

    def check(self, value: Any, where: str, dims: Dims, model: Any) -> None:
        if self.prefixes:
            ok = isinstance(value, str) and len(value) <= 200 and value.startswith(self.options)
        else:
            ok = value in self.options
        if not ok:
            raise StateMismatch(
                f"{where}: expected one of {', '.join(map(repr, self.options))}, received {value!r}"
            )


@dataclass(frozen=True)
class Stack(Kind):
    """A non-empty list of finite ``ndim``-dimensional arrays of ``dtype``, such as
    a network's layer weights. ``first`` / ``last`` are the shapes of the first and
    last arrays; ``chained`` says each matrix's columns are the next one's rows;
    ``widths_of`` names a stack of matrices whose column counts are these vectors'
    lengths (a layer's biases); ``count`` names a dimension bound to the length."""

    dtype: str
    ndim: int
    first: tuple[Dim, ...] | None = None
    last: tuple[Dim, ...] | None = None
    chained: bool = False
    widths_of: str | None = None
    count: str | None = None

    def check(self, value: Any, where: str, dims: Dims, model: Any) -> None:
        if not isinstance(value, list) or not value:
            raise StateMismatch(f"{where}: expected a non-empty list of arrays")
        for i, array in enumerate(value):
            Array(self.dtype, (None,) * self.ndim).check(array, f"{where}[{i}]", dims, model)
        if self.first is not None:
            dims.match(value[0].shape, self.first, f"{where}[0]")
        if self.last is not None:
            dims.match(value[-1].shape, self.last, f"{where}[-1]")
        if self.chained:
            for i in range(len(value) - 1):
                if value[i].shape[1] != value[i + 1].shape[0]:
                    raise StateMismatch(
                        f"{where}[{i + 1}]: expected {value[i].shape[1]} rows (the columns "
                        f"of {where}[{i}]), received {value[i + 1].shape}"
                    )
        if self.widths_of is not None:
            matrices = getattr(model, self.widths_of, None)
            widths = [m.shape[1] for m in matrices] if isinstance(matrices, list) else []
            if [a.shape[0] for a in value] != widths:
                raise StateMismatch(
                    f"{where}: expected lengths {widths} (the columns of {self.widths_of}), "
                    f"received {[a.shape[0] for a in value]}"
                )
        if self.count is not None:
            dims.match((len(value),), (self.count,), where)


_PLAIN = (str, int, float, bool, type(None))


def _plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    return isinstance(value, _PLAIN)


@dataclass(frozen=True)
class Record(Kind):
    """A dict with string keys whose values are plain data (strings, numbers,
    booleans, None, and lists or dicts of them), such as a report."""

    def check(self, value: Any, where: str, dims: Dims, model: Any) -> None:
        if not isinstance(value, dict) or not _plain(value):
            raise StateMismatch(
                f"{where}: expected a dict of plain data, received {type(value).__name__}"
            )


class StateDeclaration(Mapping[str, Kind]):
    """A read-only mapping of attribute name to :class:`Kind`; ``open`` says
    whether a model may hold fitted attributes it does not list."""

    def __init__(self, kinds: Mapping[str, Kind], *, open: bool) -> None:
        self._kinds = dict(kinds)
        self.open = open

    def __getitem__(self, name: str) -> Kind:
        return self._kinds[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._kinds)

    def __len__(self) -> int:
        return len(self._kinds)

    def __repr__(self) -> str:
        return f"StateDeclaration({self._kinds!r}, open={self.open})"


def declare_state(
    *inherited: Mapping[str, Kind], open: bool = False, **kinds: Kind
) -> StateDeclaration:
    """A class's declaration: the ``inherited`` declarations (in order), then
    ``kinds``. Complete unless ``open``."""
    merged: dict[str, Kind] = {}
    for base in inherited:
        merged.update(base)
    merged.update(kinds)
    return StateDeclaration(merged, open=open)


def declared_state(cls: type) -> StateDeclaration:
    """The declaration of ``cls`` (an open, empty one if it declares none)."""
    found = getattr(cls, "state", None)
    return found if isinstance(found, StateDeclaration) else StateDeclaration({}, open=True)


def check_state(model: Any) -> None:
    """Checks ``model``'s fitted state against its class's declaration: every listed
    attribute present (absent or ``None`` allowed where optional) and of its kind, dtype and shape,
    and nothing unlisted unless the declaration is open. Raises
    :class:`StateMismatch` naming the first attribute that does not match. An
    unfitted model (no state at all) passes."""
    state = fitted_state(model)
    if not state:
        return
    declaration = declared_state(type(model))
    name = type(model).__name__
    missing = [
        attr for attr, kind in declaration.items() if attr not in state and not kind.optional
    ]
    if missing:
        raise StateMismatch(f"{name}: fitted state {missing[0]!r} is missing")
    if not declaration.open:
        extra = sorted(set(state) - set(declaration))
        if extra:
            raise StateMismatch(f"{name}: fitted state {extra[0]!r} is not declared by {name}")
    # Id maps first: they give n_users and n_items.
    order = sorted(declaration, key=lambda attr: not isinstance(declaration[attr], Ids))
    dims = Dims(state)
    for attr in order:
        value = state.get(attr)
        if value is None and declaration[attr].optional:
            continue
        declaration[attr].check(value, f"{name}.{attr}", dims, model)


def _check_dtype(dtype: np.dtype[Any], wanted: str | tuple[str, ...], where: str) -> None:
    options = (wanted,) if isinstance(wanted, str) else wanted
    ok = any(
        (dtype.kind == "U" and dtype.isnative) if option == "str" else dtype == np.dtype(option)
        for option in options
    )
    if not ok:
        raise StateMismatch(f"{where}: expected dtype {' or '.join(options)}, received {dtype}")


def _check_finite(values: np.ndarray, where: str, allow_inf: bool) -> None:
    bad = np.isnan(values) if allow_inf else ~np.isfinite(values)
    if bad.any():
        raise StateMismatch(
            f"{where}: expected {'no NaN' if allow_inf else 'finite values'}, received "
            f"{values[bad].flat[0]}"
        )
