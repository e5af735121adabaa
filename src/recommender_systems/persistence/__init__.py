"""Saving and loading models: arrays plus JSON metadata, never pickle.

``model.save(path)`` writes one file (atomically); :func:`load` rebuilds the
model from it without the training data, with exactly the same recommendations.
Everything a model learned is in its attributes ending with ``_`` (the model
contract), so every model, present and future, is saved by the same code.

A file is checked for integrity (checksums, sizes), then for meaning: every
fitted attribute against the model class's declared state
(:mod:`recommender_systems.state`: kinds, dtypes, shapes against the id maps)
and every hyperparameter through the class's own declaration, so a file that
loads is a model that can answer.

Example:
    >>> import pandas as pd, tempfile, os
    >>> from recommender_systems import MostPopular, load
    >>> model = MostPopular().fit(pd.DataFrame({"user_id": [1, 2], "item_id": [7, 8]}))
    >>> path = os.path.join(tempfile.mkdtemp(), "model.recsys")
    >>> _ = model.save(path)
    >>> load(path).recommend(1)
    [8]
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import scipy.sparse as sp

from recommender_systems._estimator import Estimator, fitted_state
from recommender_systems.errors import ModelFileError, NotSupportedError, RecsysError
from recommender_systems.idmap import IdMap
from recommender_systems.persistence import container
from recommender_systems.persistence.classes import qualified_name, registered_name
from recommender_systems.persistence.codec import Decoder, Encoder
from recommender_systems.state import StateMismatch, check_state

if TYPE_CHECKING:  # the model base class sits above this module: no import at run time
    from recommender_systems.base import Recommender

__all__ = ["FORMAT_VERSION", "ModelInfo", "load", "load_with_info", "read_info", "save"]

FORMAT_VERSION = container.FORMAT_VERSION


@dataclass(frozen=True)
class ModelInfo:
    """What a model file holds, read from its header alone (no arrays are loaded)."""

    path: str
    format_version: int
    library_version: str
    created: str
    algorithm: str | None
    model_class: str
    model: str  # the model's repr, with its non-default hyperparameters
    n_users: int
    n_items: int
    n_interactions: int
    user_id_kind: str
    item_id_kind: str
    unknown_users: str
    supports_fold_in: bool
    supports_similar_items: bool
    file_size: int
    header_sha256: str
    state: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        rows = [(k, v) for k, v in self.to_dict().items() if k != "state"]
        width = max(len(k) for k, _ in rows)
        lines = [f"{k:<{width}}  {v}" for k, v in rows]
        lines.append("state:")
        lines += [f"  {name}: {what}" for name, what in self.state.items()]
        return "\n".join(lines)


def save(model: Recommender, path: str | os.PathLike[str]) -> Path:
    """Writes a fitted ``model`` to ``path`` (atomically: a crash keeps any old file)."""
    model._check_fitted()
    try:
        check_state(model)
    except StateMismatch as exc:
        raise NotSupportedError(
            f"cannot save: {exc} (a model declares its fitted state in its class's `state`; "
            "see recommender_systems.state)"
        ) from None
    from recommender_systems import __version__

    encoder = Encoder()
    tree = encoder.model(model)
    header = {
        "format": container.FORMAT_NAME,
        "format_version": container.FORMAT_VERSION,
        "library_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "summary": _summary(model),
        "model": tree,
    }
    return container.write(path, header, encoder.arrays, encoder.labels)


def load(path: str | os.PathLike[str], *, mmap: bool = False, verify: bool = True) -> Recommender:
    """The model saved at ``path``, ready to recommend (no training data needed).

    By default the file is read once into private memory: the loaded model never
    depends on the file again, so replacing, truncating or deleting it afterwards
    cannot affect it. ``mmap=True`` maps the file copy-on-write instead (faster to
    load, pages shared between processes), for batch jobs that want it, at a risk:
    if the file is overwritten in place or truncated while mapped (rather than
    replaced by a rename, as ``save`` does), the model reads the new bytes
    unchecked or the process dies with ``SIGBUS``. ``verify`` checks every array's
    SHA-256. A damaged, truncated, foreign or newer-format file, or one whose
    content does not fit its model class, raises
    :class:`~recommender_systems.errors.ModelFileError`.
    """
    return load_with_info(path, mmap=mmap, verify=verify)[0]


def load_with_info(
    path: str | os.PathLike[str], *, mmap: bool = False, verify: bool = True
) -> tuple[Recommender, ModelInfo]:
    """Like :func:`load`, with the file's :class:`ModelInfo` from the same read."""
    contents = container.read(path, mmap_arrays=mmap, verify=verify)
    try:
        model = Decoder(contents.arrays).model(contents.header.get("model"))
        if not model.is_fitted:
            raise ModelFileError("the file holds no fitted model")
        check_state(model)
    except RecsysError as exc:
        raise ModelFileError(f"{contents.path}: {exc}") from None
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        raise ModelFileError(f"{contents.path}: could not rebuild the model: {exc}") from None
    return cast("Recommender", model), _info(contents)


def read_info(path: str | os.PathLike[str]) -> ModelInfo:
    """What the file at ``path`` holds, from its header (fast: no arrays are read)."""
    return _info(container.read_header(path))


def _info(contents: container.Contents) -> ModelInfo:
    header = contents.header
    summary = header.get("summary")
    if not isinstance(summary, dict):
        raise ModelFileError(f"{contents.path}: malformed header: no summary")
    # A newer library may add summary fields within the same format: ignore them.
    known = {f.name for f in fields(ModelInfo)}
    try:
        return ModelInfo(
            path=str(contents.path),
            format_version=int(header["format_version"]),
            library_version=str(header["library_version"]),
            created=str(header["created"]),
            file_size=contents.file_size,
            header_sha256=contents.header_sha256,
            **{k: v for k, v in summary.items() if k in known},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{contents.path}: malformed header: {exc}") from None


def _summary(model: Recommender) -> dict[str, Any]:
    return {
        "algorithm": registered_name(type(model)),
        "model_class": qualified_name(type(model)),
        "model": _short(repr(model), 500),
        "n_users": len(model.user_ids_),
        "n_items": len(model.item_ids_),
        "n_interactions": int(model.user_items_.nnz),
        "user_id_kind": model.user_ids_.kind,
        "item_id_kind": model.item_ids_.kind,
        "unknown_users": model.unknown_users,
        "supports_fold_in": model.supports_fold_in,
        "supports_similar_items": model.supports_similar_items,
        "state": {name: _describe(value) for name, value in fitted_state(model).items()},
    }


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array {tuple(value.shape)}"
    if isinstance(value, sp.csr_matrix | sp.csc_matrix | sp.csr_array | sp.csc_array):
        return f"{value.dtype} {value.format.upper()} {tuple(value.shape)}, {value.nnz} stored"
    if isinstance(value, IdMap):
        return f"{len(value)} {value.kind} ids"
    if isinstance(value, Estimator):
        return f"model {type(value).__name__}"
    if isinstance(value, list | tuple | dict):
        return f"{type(value).__name__} of {len(value)}"
    return _short(repr(value), 80)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
