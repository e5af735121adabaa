"""``_kernels.pyi`` describes the compiled module exactly (names and parameters)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import recommender_systems
from recommender_systems.kernels import _loader

STUB = Path(recommender_systems.__file__).with_name("_kernels.pyi")


def stub_functions() -> dict[str, list[str]]:
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    return {
        node.name: [a.arg for a in node.args.args]
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
    }


@pytest.mark.skipif(_loader.extension is None, reason="Rust extension not built")
def test_stub_matches_extension() -> None:
    module = _loader.extension
    compiled = {
        name: list(inspect.signature(obj).parameters)
        for name, obj in vars(module).items()
        if callable(obj) and not name.startswith("_")
    }
    assert compiled == stub_functions()
