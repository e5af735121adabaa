"""The CLI reference covers every command and the hyperparameter reference is current."""

from __future__ import annotations

import argparse
from pathlib import Path

from recommender_systems import algorithms
from recommender_systems.cli import build_parser
from recommender_systems.cli.describe import describe
from recommender_systems.registry import OPTIONAL

ROOT = Path(__file__).resolve().parents[1]
# The examples of every page run in tests/test_docs_truth.py.


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
