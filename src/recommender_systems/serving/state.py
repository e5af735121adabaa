"""The model a server is serving, and reloading it without dropping requests.

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
from typing import Any

from recommender_systems.base import Recommender
from recommender_systems.persistence import ModelInfo, load_with_info
from recommender_systems.query import UnknownUsers


@dataclass(frozen=True)
class Settings:
    """How a server runs; chosen at start-up (``recsys serve`` options)."""

    model_path: str | os.PathLike[str]
    #: What a user unseen in training gets: the popularity ranking, an empty list, or a
    #: 404 (``"raise"``).
    unknown_users: UnknownUsers = "popular"
    #: Largest ``n`` a request may ask for.
    max_n: int = 1000
    #: Most users in one ``POST /recommend`` (and items in one history).
    max_batch: int = 10_000
    #: Largest request body accepted, in bytes.
    max_body_bytes: int = 8 << 20
    #: Whether ``POST /admin/reload`` is served (SIGHUP always reloads).
    reload_endpoint: bool = True


@dataclass(frozen=True)
class Served:
    """One loaded model and where it came from."""

    model: Recommender
    info: ModelInfo
    generation: int
    loaded_at: float = field(default_factory=time.time)

    @property
    def tag(self) -> str:
        """Identifies the model file's content (a prefix of its header's SHA-256)."""
        return self.info.header_sha256[:16]

    def describe(self) -> dict[str, Any]:
        return {
            **self.info.to_dict(),
            "generation": self.generation,
            "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.loaded_at)),
        }


class ModelHolder:
    """Holds the current :class:`Served` model; :meth:`reload` swaps in a new one."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = path
        self._lock = threading.Lock()
        model, info = load_with_info(path)
        self.current = Served(model, info, generation=1)

    def reload(self) -> Served:
        """Loads the file again and swaps it in; raises (keeping the old model) on failure."""
        with self._lock:  # one reload at a time; requests never wait on this lock
            model, info = load_with_info(self.path)
            self.current = Served(model, info, generation=self.current.generation + 1)
            return self.current
