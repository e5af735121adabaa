"""The README's Python snippets run as written, and its algorithm table is complete."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from recommender_systems import algorithms
from tests.conftest import requires_ml100k

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


@requires_ml100k
def test_python_snippets_run_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = python_blocks()
    assert blocks, "the README should have Python examples"
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    out = capsys.readouterr().out
    assert "(3, 10) (3, 10)" in out


def test_algorithm_table_lists_every_registered_model() -> None:
    text = README.read_text(encoding="utf-8")
    for algo in algorithms():
        assert f"| `{algo.name}` | `{algo.cls.__name__}` |" in text, algo.name


def test_readme_names_the_test_command() -> None:
    assert "RECSYS_DATA_DIR=../shared/data .venv/bin/python -m pytest" in README.read_text()
