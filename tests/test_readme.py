"""The README's algorithm and benchmark tables are complete and current."""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path

from recommender_systems import algorithms

README = Path(__file__).resolve().parents[1] / "README.md"


def test_algorithm_table_lists_every_registered_model() -> None:
    text = README.read_text(encoding="utf-8")
    for algo in algorithms(optional=True):
        assert f"| `{algo.name}` | `{algo.cls.__name__}` |" in text, algo.name


def test_readme_names_the_test_command() -> None:
    assert "RECSYS_DATA_DIR=../shared/data .venv/bin/python -m pytest" in README.read_text()


def test_the_neural_rows_are_the_means_of_their_report() -> None:
    from benchmarks.readme import OWN_REPORTS

    report = (OWN_REPORTS.parent / "neural_quality.md").read_text(encoding="utf-8")
    for model in json.loads(OWN_REPORTS.read_text(encoding="utf-8"))["models"]:
        cells = next(
            line.split("|")
            for line in report.splitlines()
            if line.startswith(f"| {model['name']} |")
        )
        means = [float(cell.strip(" *").split(" ± ")[0]) for cell in cells[3:8]]
        metrics = model["metrics"]
        keys = ["ndcg", "precision", "recall", "map", "coverage"]
        assert means == [metrics[key] for key in keys], model["name"]


def test_the_auto_figure_is_the_mean_of_its_report() -> None:
    results = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
    auto = json.loads((results / "tuning-ml-100k-auto.json").read_text(encoding="utf-8"))["auto"]
    mean = sum(auto["ndcg"]) / len(auto["ndcg"])
    text = " ".join(README.read_text(encoding="utf-8").split())
    assert f"its own report: NDCG@10 {mean:.3f} over the same five splits" in text
    assert len(auto["ndcg"]) == 5


def test_benchmark_table_is_generated_from_the_results() -> None:
    from benchmarks.readme import SOURCE, block, current_block

    summary = json.loads(SOURCE.read_text(encoding="utf-8"))
    assert current_block(README.read_text(encoding="utf-8")) == block(summary), (
        "README's quality table is stale: run python -m benchmarks.readme"
    )


def test_every_python_version_claim_agrees() -> None:
    """README, docs, pyproject, ruff, mypy and the abi3 build name one lowest version,
    and it is the version these tests run on in CI (.ci/run uses Debian's python3)."""
    import tomllib

    root = README.parent
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    lowest = project["project"]["requires-python"].removeprefix(">=")
    claims = {
        page: re.findall(r"Python (3\.\d+)(?:\+| or newer)", (root / page).read_text("utf-8"))
        for page in ("README.md", "CONTRIBUTING.md", "docs/installation.md")
    }
    assert all(found and set(found) == {lowest} for found in claims.values()), claims
    assert project["tool"]["mypy"]["python_version"] == lowest
    assert project["tool"]["ruff"]["target-version"] == "py" + lowest.replace(".", "")
    assert f"Programming Language :: Python :: {lowest}" in project["project"]["classifiers"]
    cargo = (root / "crates" / "recsys-kernels" / "Cargo.toml").read_text(encoding="utf-8")
    assert "abi3-py" + lowest.replace(".", "") in cargo
    assert sys.version_info >= tuple(int(part) for part in lowest.split("."))


def test_the_api_reference_covers_every_registered_model() -> None:
    api = (README.parent / "docs" / "api.md").read_text(encoding="utf-8")
    documented = re.findall(r"^::: (recommender_systems[\w.]*)$", api, flags=re.M)
    for algo in algorithms():
        if not algo.cls.__module__.startswith("recommender_systems."):
            continue  # a model a test registered
        path = f"{algo.cls.__module__}.{algo.cls.__name__}"
        reexported = any(
            entry.rsplit(".", 1)[-1] == algo.cls.__name__
            and getattr(importlib.import_module(entry.rsplit(".", 1)[0]), algo.cls.__name__, None)
            is algo.cls
            for entry in documented
            if "." in entry
        )
        assert reexported or any(
            path == entry or path.startswith(entry + ".") for entry in documented
        ), f"docs/api.md has no entry for {algo.cls.__name__} ({path})"


def test_quick_runs_skip_the_slow_tests_and_the_readme_says_how() -> None:
    text = README.read_text(encoding="utf-8")
    assert '-m "not slow"' in text
    assert re.search(r"first build[^.]*\d+ min", text), "README should say how long the build takes"
