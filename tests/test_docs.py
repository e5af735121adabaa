"""The Python examples in the README and the docs run as written, and the CLI
reference covers every command."""

from __future__ import annotations

import argparse
import importlib.util
import re
from pathlib import Path

import pytest

from recommender_systems import algorithms
from recommender_systems.cli import build_parser
from recommender_systems.cli.describe import describe
from recommender_systems.registry import OPTIONAL
from tests.conftest import requires_ml100k

ROOT = Path(__file__).resolve().parents[1]
# Pages whose examples run offline with MovieLens 100k. docs/datasets.md shows
# downloads of other datasets and is not executed.
PAGES = [
    ROOT / "README.md",
    *(
        ROOT / "docs" / f"{name}.md"
        for name in ("installation", "quickstart", "data", "evaluation", "models", "tuning")
    ),
]


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


@requires_ml100k
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_python_examples_run_in_order(page: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = python_blocks(page)
    assert blocks, f"{page.name} should have Python examples"
    namespace: dict[str, object] = {}
    for block in blocks:
        if "recommender_systems.neural" in block and importlib.util.find_spec("torch") is None:
            continue  # the neural extra is not installed
        exec(compile(block, str(page), "exec"), namespace)
    assert capsys.readouterr().out, f"{page.name}'s examples should print something"


def test_cli_reference_documents_every_command() -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    subparsers = next(
        a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    )
    for name in subparsers.choices:
        assert f"## `recsys {name}" in text, f"docs/cli.md does not document 'recsys {name}'"


def test_hyperparameter_reference_is_current() -> None:
    # Regenerate with: (head -n 9 docs/hyperparameters.md; recsys describe) > new.md
    page = (ROOT / "docs" / "hyperparameters.md").read_text(encoding="utf-8")
    header, marker, _ = page.partition("## `")
    assert marker, "docs/hyperparameters.md lost its generated sections"
    installed = {a.name for a in algorithms(optional=True)}
    # Sections of models whose extra is not installed here cannot be regenerated.
    absent = {name for name in OPTIONAL if name not in installed}
    kept = [
        section
        for section in page[len(header) :].split("\n## `")
        if section.lstrip("#` ").split("`", 1)[0] not in absent
    ]
    assert header + "\n## `".join(kept) == header + describe([]), (
        "docs/hyperparameters.md is out of date"
    )
