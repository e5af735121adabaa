"""Every example in README.md and the docs runs as written.

Python blocks run page by page in one namespace (a block may use what an earlier
block of the same page made), in a temporary directory. Shell blocks whose
commands call ``recsys`` run line by line in a temporary directory that holds small
generated data files under the names the docs use (``ratings.csv``, ``plays.csv``,
``interactions/``, ...), with MovieLens 100k for ``--dataset ml-100k``. Markers
(tests/markdown_blocks.py) exempt a block with a reason or name the extra it needs.
New pages are picked up without changing this file.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recommender_systems import generate_interactions
from tests.conftest import ml100k_available
from tests.markdown_blocks import ROOT, Block, blocks, pages

SHELL = ("bash", "sh", "console", "shell")
COMMAND_TIMEOUT = 300  # seconds; each documented command finishes in a few seconds here
# A block that reads MovieLens 100k needs it under RECSYS_DATA_DIR (never downloaded here).
MOVIELENS = re.compile(r"movielens_100k|ml-100k")


# Pages whose examples tune models (minutes, measured on two shared cores: tuning.md's
# Python 82 s and shell 112 s, cli.md's shell 234 s): `-m "not slow"` skips them.
SLOW = {("python", "docs/tuning.md"), ("shell", "docs/tuning.md"), ("shell", "docs/cli.md")}


def _params(kind: str, pages_: list[Path]) -> list[object]:
    return [
        pytest.param(
            page,
            id=str(page.relative_to(ROOT)),
            marks=[pytest.mark.slow] if (kind, str(page.relative_to(ROOT))) in SLOW else [],
        )
        for page in pages_
    ]


def _python_pages() -> list[object]:
    return _params("python", [p for p in pages() if any(b.lang == "python" for b in blocks(p))])


def _shell_pages() -> list[object]:
    return _params("shell", [p for p in pages() if any(_is_recsys_block(b) for b in blocks(p))])


def _is_recsys_block(block: Block) -> bool:
    return block.lang in SHELL and any(_recsys_words(line) for line in _commands(block))


def _commands(block: Block) -> list[str]:
    """The block's commands: continuation lines joined, comments and prompts dropped."""
    joined = block.code.replace("\\\n", " ")
    commands = []
    for raw in joined.splitlines():
        line = raw.strip().removeprefix("$ ")
        if line and not line.startswith("#"):
            commands.append(line)
    return commands


def _recsys_words(command: str) -> list[str] | None:
    """``command``'s words from ``recsys`` on, when it runs ``recsys`` (after VAR=... words)."""
    words = shlex.split(command, comments=True)
    while words and re.fullmatch(r"\w+=.*", words[0]):
        words = words[1:]
    return words if words and words[0] == "recsys" else None


def _missing(requires: tuple[str, ...]) -> list[str]:
    absent = []
    for name in requires:
        if name == "ml-100k":
            if not ml100k_available():
                absent.append(name)
        elif importlib.util.find_spec(name) is None:
            absent.append(name)
    return absent


def _needs(block: Block) -> tuple[str, ...]:
    implied = ("ml-100k",) if MOVIELENS.search(block.code) else ()
    return (*block.requires, *implied)


def _check_exemption(block: Block) -> None:
    reason = block.not_run or ""
    assert len(reason) >= 10, f"{block.where}: 'not-run' needs a reason a reader understands"
    named = re.search(r"tests/[\w/]+\.py", reason)
    if named:  # "runs in tests/x.py": that file exists and names the page
        path = ROOT / named.group(0)
        assert path.is_file(), f"{block.where}: {named.group(0)} does not exist"
        assert block.page.name in path.read_text(encoding="utf-8"), (
            f"{block.where}: {named.group(0)} does not mention {block.page.name}"
        )


@pytest.mark.parametrize("page", _python_pages())
def test_python_blocks_run(
    page: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data_dir = os.environ.get("RECSYS_DATA_DIR")
    if data_dir:  # the examples run elsewhere; keep a relative data folder found
        monkeypatch.setenv("RECSYS_DATA_DIR", str(Path(data_dir).resolve()))
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for block in (b for b in blocks(page) if b.lang == "python"):
        if block.not_run is not None:
            _check_exemption(block)
            continue
        absent = _missing(_needs(block))
        if absent:
            pytest.skip(f"{block.where} and later blocks need {', '.join(absent)}")
        code = "\n" * (block.line) + block.code  # tracebacks point at the page's lines
        exec(compile(code, str(block.page), "exec"), namespace)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A folder with the data files the shell examples name, generated small."""
    ratings = generate_interactions(300, 120, 4_000, ratings=True, timestamps=True, random_state=1)
    ratings.to_csv(tmp_path / "ratings.csv", index=False)
    plays = generate_interactions(300, 200, 5_000, counts=True, random_state=2)
    plays.to_csv(tmp_path / "plays.csv", index=False)
    test_rows = ratings.iloc[::5]
    test_rows.to_csv(tmp_path / "test.csv", index=False)
    for name, frame in (("interactions", ratings), ("test", test_rows)):
        folder = tmp_path / name
        folder.mkdir()
        for number, rows in enumerate(np.array_split(np.arange(len(frame)), 2)):
            frame.iloc[rows].to_parquet(folder / f"part-{number}.parquet", index=False)
    (tmp_path / "users.txt").write_text("1\n2\n3\n", encoding="utf-8")
    return tmp_path


@pytest.mark.skipif(not ml100k_available(), reason="MovieLens 100k not under RECSYS_DATA_DIR")
@pytest.mark.parametrize("page", _shell_pages())
def test_shell_blocks_run(page: Path, workspace: Path) -> None:
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "CI": "true",
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "RECSYS_DATA_DIR": str(Path(os.environ["RECSYS_DATA_DIR"]).resolve()),
    }
    skipped = []
    for block in (b for b in blocks(page) if _is_recsys_block(b)):
        if block.not_run is not None:
            _check_exemption(block)
            continue
        absent = _missing(block.requires)
        if absent:  # shell blocks stand alone: the next ones still run
            skipped.append(f"{block.where} (needs {', '.join(absent)})")
            continue
        for command in _commands(block):
            done = subprocess.run(
                ["bash", "-c", command],
                cwd=workspace,
                env=env,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT,
                check=False,
            )
            said = f"{block.where}: {command}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
            assert done.returncode == 0, said
            assert "warning" not in done.stderr.lower(), said
    if skipped:
        pytest.skip(f"every other block ran; skipped {'; '.join(skipped)}")


def test_every_block_is_known() -> None:
    """Each block is run by a test above, or plainly not a runnable example."""
    for page in pages():
        for block in blocks(page):
            if block.not_run is not None:
                _check_exemption(block)
            for name in block.requires:
                assert name == "ml-100k" or re.fullmatch(r"[a-z_][a-z0-9_]*", name), (
                    f"{block.where}: 'requires: {name}' is not an importable module name"
                )
