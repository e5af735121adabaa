"""Finds the compiled extension, or records why the NumPy fallback is in use.

Set ``RECSYS_NO_EXTENSION=1`` to force the pure NumPy/Python reference kernels
(useful to compare results or to debug).
"""

from __future__ import annotations

import os
from types import ModuleType


def _load() -> tuple[ModuleType | None, str]:
    if os.environ.get("RECSYS_NO_EXTENSION", "").strip() not in {"", "0"}:
        return None, "disabled by RECSYS_NO_EXTENSION"
    try:
        from recommender_systems import _kernels
    except ImportError as exc:
        return None, f"extension not importable: {exc}"
    return _kernels, "rust"


extension, _status = _load()


def backend() -> str:
    """``"rust"`` when the compiled kernels are in use, else ``"python"``."""
    return "rust" if extension is not None else "python"


def backend_status() -> str:
    """Why the current backend was chosen."""
    return _status
