"""Finds the compiled extension, or records why the NumPy fallback is in use.

Set ``RECSYS_NO_EXTENSION=1`` to force the pure NumPy/Python reference kernels
(useful to compare results or to debug).

Type checkers see ``extension`` as the stubbed module ``_kernels.pyi``, so every
call into the extension is checked against the stub; at run time it is the
module or ``None``. Callers branch on the plain bool :data:`RUST` (a check of
``extension is None`` would look unreachable to the type checker).
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import TYPE_CHECKING

__all__ = ["RUST", "backend", "backend_status", "extension"]


def _load() -> tuple[ModuleType | None, str]:
    if os.environ.get("RECSYS_NO_EXTENSION", "").strip() not in {"", "0"}:
        return None, "disabled by RECSYS_NO_EXTENSION"
    try:
        from recommender_systems import _kernels
    except ImportError as exc:
        return None, f"extension not importable: {exc}"
    return _kernels, "rust"


_module, _status = _load()

if TYPE_CHECKING:
    from recommender_systems import _kernels as extension
else:
    extension = _module

#: Whether the compiled kernels are in use (else the NumPy references are).
RUST: bool = _module is not None


def backend() -> str:
    """``"rust"`` when the compiled kernels are in use, else ``"python"``."""
    return "rust" if RUST else "python"


def backend_status() -> str:
    """Why the current backend was chosen."""
    return _status
