"""Every relative link in README.md and the docs leads to a file (and heading) that
exists, and every page in mkdocs.yml's nav exists."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from tests.markdown_blocks import ROOT, pages

# [text](target) and ![alt](target), not inside code; targets without a scheme.
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


def _without_blocks(text: str) -> str:
    return re.sub(r"^([ \t]*)(`{3,}).*?^\1\2", "", text, flags=re.S | re.M)


def _without_code(text: str) -> str:
    return re.sub(r"`[^`\n]*`", "", _without_blocks(text))


def _anchor(heading: str) -> str:
    """The id Python-Markdown's toc extension gives a heading (its default slugify)."""
    text = re.sub(r"`|\*|_(?=\w)|(?<=\w)_|\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _anchors(page: Path) -> set[str]:
    text = _without_blocks(page.read_text(encoding="utf-8"))
    return {_anchor(m.group(1)) for line in text.splitlines() if (m := _HEADING.match(line))}


def _links(page: Path) -> list[str]:
    return _LINK.findall(_without_code(page.read_text(encoding="utf-8")))


def _broken(page: Path, root: Path = ROOT) -> list[str]:
    broken = []
    for target in _links(page):
        if _SCHEME.match(target) or target.startswith("//"):
            continue  # a web address: not checked offline
        path_part, _, anchor = target.partition("#")
        destination = (page.parent / path_part).resolve() if path_part else page
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif not destination.is_relative_to(root):
            broken.append(f"{target}: outside the repository")
        elif anchor and destination.suffix == ".md" and anchor not in _anchors(destination):
            broken.append(f"{target}: no heading with the anchor #{anchor}")
    return broken


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    broken = _broken(page)
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def _nav_files(entry: object) -> list[str]:
    if isinstance(entry, str):
        return [entry]
    if isinstance(entry, list):
        return [name for item in entry for name in _nav_files(item)]
    if isinstance(entry, dict):
        return [name for value in entry.values() for name in _nav_files(value)]
    return []


def test_mkdocs_nav_pages_exist_and_every_page_is_in_the_nav() -> None:
    yaml = pytest.importorskip("yaml")  # with the docs extra
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    listed = _nav_files(config["nav"])
    docs = ROOT / "docs"
    missing = [name for name in listed if not (docs / name).is_file()]
    assert not missing, f"mkdocs.yml's nav names missing pages: {missing}"
    unlisted = sorted(
        str(p.relative_to(docs))
        for p in docs.rglob("*.md")
        if str(p.relative_to(docs)) not in listed
    )
    assert not unlisted, f"pages missing from mkdocs.yml's nav: {unlisted}"


def test_the_link_checker_finds_what_is_broken(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (tmp_path / "outside.md").write_text("# Outside\n", encoding="utf-8")
    (repo / "other.md").write_text("# Other page\n\n## `recsys serve` and *more*\n")
    page = repo / "page.md"
    page.write_text(
        "[ok](other.md) [ok](other.md#recsys-serve-and-more) [web](https://example.org/x)\n"
        "[gone](missing.md) [bad anchor](other.md#nowhere) [out](../outside.md)\n"
        "`[in code](missing.md)`\n\n```\n[in a block](missing.md)\n```\n",
        encoding="utf-8",
    )
    assert _broken(page, root=repo) == [
        "missing.md: no such file",
        "other.md#nowhere: no heading with the anchor #nowhere",
        "../outside.md: outside the repository",
    ]
