"""Every exception the library raises on purpose lives here.

Each is a subclass of :class:`RecsysError` and of the built-in exception a caller
would naturally catch (``ValueError``, ``KeyError``, ``OSError``), so both
``except RecsysError`` and ``except ValueError`` work. Messages say what was
expected and what was received.
"""

from __future__ import annotations


class RecsysError(Exception):
    """Base class of the library's own errors."""


class DataError(RecsysError, ValueError):
    """Input data is malformed: a missing column, a null id, a NaN value, ...

    Example:
        >>> raise DataError("column 'rating' has NaN at row 3; expected finite numbers")
        Traceback (most recent call last):
        ...
        recommender_systems.errors.DataError: column 'rating' has NaN at row 3; expected ...

    ``row`` is the 0-based data row at fault when there is one (``None`` otherwise),
    so a reader of a file can name the file line instead.
    """

    def __init__(self, message: str, *, row: int | None = None) -> None:
        super().__init__(message if row is None else f"{message} at row {row}")
        self.reason = message
        self.row = row


class ParameterError(RecsysError, ValueError):
    """An argument or hyperparameter is out of range or of the wrong type.

    Example:
        >>> raise ParameterError("n: expected an integer >= 1, received 0")
        Traceback (most recent call last):
        ...
        recommender_systems.errors.ParameterError: n: expected an integer >= 1, received 0
    """


class NotSupportedError(RecsysError, NotImplementedError):
    """The model cannot do what was asked (e.g. ``similar_items`` on a popularity model)."""


class NotFittedError(RecsysError, ValueError, AttributeError):
    """A model was used before ``fit`` was called."""


class _KeyLikeError(RecsysError, KeyError):
    # KeyError.__str__ wraps its argument in quotes; a message reads better plain.
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownUserError(_KeyLikeError):
    """A user id that the model did not see during training."""


class UnknownItemError(_KeyLikeError):
    """An item id that the model does not know."""


class DatasetNotAvailableError(RecsysError, OSError):
    """A dataset is neither cached nor downloadable (for example, no network)."""


class ChecksumError(DataError):
    """A downloaded or cached file does not have the expected SHA-256."""


class InsufficientMemoryError(RecsysError, MemoryError):
    """A computation would need more memory than the machine has available."""


class ModelFileError(RecsysError, ValueError):
    """A saved model file is damaged, of another kind, or from a newer format."""


class KernelError(RecsysError, RuntimeError):
    """A Rust kernel failed inside: a bug in this library, not in the caller's input.

    Kernels check their arguments (a bad one raises :class:`ParameterError`) and
    never panic on purpose; a panic that slips through is caught at the boundary
    and raised as this error instead of taking the process down. The arrays the
    kernel was updating in place may be partly updated. Please report it with the
    arguments that caused it.
    """


__all__ = [
    "ChecksumError",
    "DataError",
    "DatasetNotAvailableError",
    "InsufficientMemoryError",
    "KernelError",
    "ModelFileError",
    "NotFittedError",
    "NotSupportedError",
    "ParameterError",
    "RecsysError",
    "UnknownItemError",
    "UnknownUserError",
]
