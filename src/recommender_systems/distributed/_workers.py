"""A saved model, loaded once per Ray worker from bytes shipped once to the cluster."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import ray

from recommender_systems.base import Recommender
from recommender_systems.persistence import load


def ship_model(path: str | os.PathLike[str]) -> list[ray.ObjectRef[Any]]:
    """The model file's bytes, put once in the object store (wrapped in a list, so
    that Ray hands the reference, not the bytes, to an actor's constructor)."""
    return [ray.put(Path(path).read_bytes())]


def load_shipped(shipped: list[ray.ObjectRef[Any]]) -> Recommender:
    """The model from :func:`ship_model`'s bytes (checked as any model file is)."""
    content: bytes = ray.get(shipped[0])
    with tempfile.TemporaryDirectory(prefix="recsys-model-") as folder:
        file = Path(folder) / "model.recsys"
        file.write_bytes(content)
        return load(file, mmap=False)
