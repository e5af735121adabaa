"""How much memory the process can still use, to fail early instead of swapping.

:func:`available_memory` reads ``MemAvailable`` from ``/proc/meminfo`` (Linux),
capped by the cgroup limit when the process runs in a container, and falls back
to ``os.sysconf`` (other Unix systems). Where neither works it returns ``None``
and :func:`require_memory` does not check.
"""

from __future__ import annotations

import os
from pathlib import Path

from recommender_systems.errors import InsufficientMemoryError

_MEMINFO = Path("/proc/meminfo")
_CGROUP_V2 = Path("/sys/fs/cgroup")


def available_memory() -> int | None:
    """Bytes of memory available to this process, or ``None`` when unknown."""
    candidates = [value for value in (_meminfo_available(), _cgroup_headroom()) if value]
    if not candidates:
        candidates = [value for value in (_sysconf_available(),) if value]
    return min(candidates) if candidates else None


def require_memory(needed: int, what: str, advice: str = "") -> None:
    """Raises :class:`InsufficientMemoryError` when ``needed`` bytes exceed what is
    available, saying how much ``what`` needs and how much there is."""
    available = available_memory()
    if available is not None and needed > available:
        hint = f" {advice}" if advice else ""
        raise InsufficientMemoryError(
            f"{what} needs about {format_bytes(needed)} of memory, but only about "
            f"{format_bytes(available)} is available.{hint}"
        )


def format_bytes(size: float) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def _meminfo_available() -> int | None:
    try:
        for line in _MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # the file says kB, meaning KiB
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_headroom() -> int | None:
    try:
        limit = (_CGROUP_V2 / "memory.max").read_text().strip()
        if limit == "max":
            return None
        current = int((_CGROUP_V2 / "memory.current").read_text().strip())
        return max(0, int(limit) - current)
    except (OSError, ValueError):
        return None


def _sysconf_available() -> int | None:
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None
