"""Argument checks of the NumPy reference kernels.

With the extension, the Rust bindings check every argument (and raise
:class:`~recommender_systems.errors.ParameterError` with these same messages); the
Python wrappers pass arguments straight through. Without it, the references run
these checks first, so both backends refuse the same inputs the same way.
"""

from __future__ import annotations

import math

import numpy as np

from recommender_systems._validation import check_int, check_non_negative_int
from recommender_systems.errors import ParameterError
from recommender_systems.hyperparameters import MAX_THREADS

__all__ = [
    "check_factor_matrix",
    "check_finite",
    "check_length",
    "check_non_negative_number",
    "check_rows",
    "check_same_columns",
    "check_threads",
    "count",
]

#: An integer ``>= 0`` (``k``, ``n_cols``, ``cg_steps``).
count = check_non_negative_int


def check_threads(n_threads: object) -> int:
    """A thread count in ``[0, MAX_THREADS]`` (0: all cores)."""
    value = check_int(n_threads, "n_threads", minimum=0)
    if value > MAX_THREADS:
        raise ParameterError(
            f"n_threads: expected an integer in [0, {MAX_THREADS}] (0: all cores), "
            f"received {n_threads!r}"
        )
    return value


def check_factor_matrix(array: object, name: str, *, ndim: int = 2) -> np.ndarray:
    """``array`` if it is a C-contiguous float32 array of ``ndim`` dimensions."""
    if (
        not isinstance(array, np.ndarray)
        or array.dtype != np.float32
        or array.ndim != ndim
        or not array.flags.c_contiguous
    ):
        raise ParameterError(
            f"{name}: expected a C-contiguous {ndim}-D float32 array, received {_describe(array)}"
        )
    return array


def check_finite(array: np.ndarray, name: str) -> None:
    """Fails unless every value of ``array`` is finite."""
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise ParameterError(
            f"{name}: expected finite values, received {array.flat[bad[0]]} at position {bad[0]}"
        )


def check_rows(array: np.ndarray, name: str, rows: int, meaning: str) -> None:
    """Fails unless ``array`` has ``rows`` rows; ``meaning`` says why."""
    if array.shape[0] != rows:
        raise ParameterError(f"{name}: expected {rows} rows ({meaning}), received {array.shape[0]}")


def check_length(array: np.ndarray, name: str, length: int) -> None:
    """Fails unless the 1-D ``array`` holds ``length`` values."""
    if array.shape[0] != length:
        raise ParameterError(f"{name}: expected length {length}, received length {array.shape[0]}")


def check_same_columns(array: np.ndarray, name: str, like: np.ndarray, like_name: str) -> None:
    """Fails unless ``array`` has as many columns as ``like``, and ``like`` at least one."""
    if like.shape[1] == 0:
        raise ParameterError(f"{like_name}: expected at least one factor column, received 0")
    if array.shape[1] != like.shape[1]:
        raise ParameterError(
            f"{name}: expected {like.shape[1]} columns like {like_name}, received {array.shape[1]}"
        )


def check_non_negative_number(value: float, name: str) -> float:
    """Fails unless ``value`` is a finite number ``>= 0`` in float32, as the kernels
    compute (1e300 is infinite there)."""
    with np.errstate(over="ignore"):
        as_float32 = float(np.float32(value))
    if not (math.isfinite(as_float32) and as_float32 >= 0):
        raise ParameterError(f"{name}: expected a finite number >= 0, received {value}")
    return value


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        layout = "" if value.flags.c_contiguous else " that is not C-contiguous"
        return f"a {value.ndim}-D {value.dtype} array{layout}"
    return f"an object of type {type(value).__name__}"
