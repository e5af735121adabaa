"""The model a server is serving, and reloading it without dropping requests.

A served model lives in the server's private memory: the file is read once,
checked (checksums, then the model class's declared state and hyperparameters)
and never mapped, so replacing it in place, truncating it or deleting it cannot
affect the model being served; only a reload reads the file again.

A request takes ``holder.current`` once, at its start, and uses that snapshot to
the end; a reload builds the new model completely (off the event loop) and then
swaps the reference in one assignment. So requests in flight finish on the old
model, new requests get the new one, and a file that fails to load leaves the old
model serving.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recommender_systems._validation import check_positive_int
from recommender_systems.base import Recommender
from recommender_systems.errors import ModelFileError, ParameterError
from recommender_systems.persistence import ModelInfo, load_with_info
from recommender_systems.query import UnknownUsers

#: The shortest admin token accepted: anything shorter can be guessed.
MIN_TOKEN_LENGTH = 16


@dataclass(frozen=True)
class Settings:
    """How a server runs; chosen at start-up (``recsys serve`` options)."""

    model_path: str | os.PathLike[str]
    #: What a user unseen in training gets: ``None`` for the model's own rule (its
    #: ``unknown_users``), else the popularity ranking, an empty list, or a 404
    #: (``"raise"``): the one unknown-user rule of ``recommender_systems.query``.
    unknown_users: UnknownUsers | None = None
    #: Largest ``n`` a request may ask for.
    max_n: int = 1000
    #: Most users in one ``POST /recommend`` (and items in one history).
    max_batch: int = 10_000
    #: Most recommendations one request may ask for: users x ``n`` (413 beyond).
    max_results: int = 100_000
    #: Largest request body accepted, in bytes, counted as it is read (413 beyond).
    max_body_bytes: int = 8 << 20
    #: The token that ``POST /admin/reload`` requires (``Authorization: Bearer
    #: TOKEN``); ``None`` disables the admin endpoints (SIGHUP still reloads).
    admin_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name in ("max_n", "max_batch", "max_results", "max_body_bytes"):
            check_positive_int(getattr(self, name), name)
        token = self.admin_token
        if token is not None and (not isinstance(token, str) or len(token) < MIN_TOKEN_LENGTH):
            raise ParameterError(
                f"admin token: expected a string of at least {MIN_TOKEN_LENGTH} characters, "
                f"received {'one of ' + str(len(token)) if isinstance(token, str) else token!r}"
            )


@dataclass(frozen=True)
class Served:
    """One loaded model and where it came from."""

    model: Recommender
    info: ModelInfo
    generation: int
    loaded_at: float = field(default_factory=time.time)
    load_seconds: float = 0.0

    @property
    def tag(self) -> str:
        """Identifies the model file's content (a prefix of its header's SHA-256)."""
        return self.info.header_sha256[:16]

    def describe(self) -> dict[str, Any]:
        """What ``/info`` shows: the file's metadata (its name, never its path)."""
        return {
            **self.info.to_dict(),
            "path": Path(self.info.path).name,
            "generation": self.generation,
            "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.loaded_at)),
        }


class ModelHolder:
    """Holds the current :class:`Served` model; :meth:`reload` swaps in a new one."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.current = self._load(generation=1)

    def reload(self) -> Served:
        """Loads the file again and swaps it in; raises (keeping the old model) on failure."""
        with self._lock:  # one reload at a time; requests never wait on this lock
            self.current = self._load(generation=self.current.generation + 1)
            return self.current

    def _load(self, generation: int) -> Served:
        start = time.perf_counter()
        try:
            # Private memory (mmap=False): the served model never reads the file again.
            model, info = load_with_info(self.path, mmap=False)
        except ModelFileError as exc:
            # Clients see the file's name, not where it lives on the server.
            raise ModelFileError(str(exc).replace(str(self.path), self.path.name)) from None
        return Served(model, info, generation, load_seconds=time.perf_counter() - start)
