"""The README's algorithm and benchmark tables are complete and current."""

from __future__ import annotations

import json
from pathlib import Path

from recommender_systems import algorithms

README = Path(__file__).resolve().parents[1] / "README.md"


def test_algorithm_table_lists_every_registered_model() -> None:
    text = README.read_text(encoding="utf-8")
    for algo in algorithms(optional=True):
        assert f"| `{algo.name}` | `{algo.cls.__name__}` |" in text, algo.name


def test_readme_names_the_test_command() -> None:
    assert "RECSYS_DATA_DIR=../shared/data .venv/bin/python -m pytest" in README.read_text()


def test_benchmark_table_is_generated_from_the_results() -> None:
    from benchmarks.readme import SOURCE, block, current_block

    summary = json.loads(SOURCE.read_text(encoding="utf-8"))
    assert current_block(README.read_text(encoding="utf-8")) == block(summary), (
        "README's quality table is stale: run python -m benchmarks.readme"
    )
