"""The fenced code blocks of the repository's Markdown pages, with their markers.

A block is run by the docs-truth tests unless an HTML comment on the lines right
before its fence says otherwise (CONTRIBUTING.md, "Examples in the docs"):

- ``<!-- not-run: REASON -->``: the block is shown, never run; the reason says why
  (and where it is tested instead, when it is).
- ``<!-- requires: EXTRA[, EXTRA] -->``: the block needs an optional extra (``ray``,
  ``optuna``, ``torch``, ``faiss``, ...); it and the page's later blocks are skipped
  when one is not installed.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})(?P<lang>[\w+-]*)[^\n]*$")
_MARKER = re.compile(r"^\s*<!--\s*(?P<kind>not-run|requires)\s*:\s*(?P<value>.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, its code and its markers."""

    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    not_run: str | None = None
    requires: tuple[str, ...] = field(default_factory=tuple)

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def pages() -> list[Path]:
    """Every Markdown page a reader sees: the top-level ones and all of docs/."""
    top = sorted(ROOT.glob("*.md"))
    return [*top, *sorted((ROOT / "docs").rglob("*.md"))]


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of ``page`` in order, each with the markers just above it."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence = opening["fence"]
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        not_run, requires = _markers(lines, i)
        code = textwrap.dedent("\n".join(lines[i + 1 : end])) + "\n"
        found.append(Block(page, i + 1, opening["lang"].lower(), code, not_run, requires))
        i = end + 1
    return found


def _markers(lines: list[str], fence: int) -> tuple[str | None, tuple[str, ...]]:
    not_run: str | None = None
    requires: tuple[str, ...] = ()
    j = fence - 1
    while j >= 0 and (marker := _MARKER.match(lines[j])) is not None:
        if marker["kind"] == "not-run":
            not_run = marker["value"]
        else:
            requires = tuple(name.strip() for name in marker["value"].split(",") if name.strip())
        j -= 1
    return not_run, requires
