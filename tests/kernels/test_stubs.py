"""``_kernels.pyi`` describes the compiled module exactly: names, parameters, defaults.

``python -m mypy.stubtest recommender_systems._kernels`` (a step of ``.ci/run``)
checks the stub against the module's signatures, types included; this is the
quick version of the same comparison, run with the tests.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import recommender_systems
from recommender_systems.kernels import _loader

STUB = Path(recommender_systems.__file__).with_name("_kernels.pyi")

Parameters = list[tuple[str, object]]


def _default(node: ast.expr | None) -> object:
    return inspect.Parameter.empty if node is None else ast.literal_eval(node)


def stub_functions() -> dict[str, Parameters]:
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    functions: dict[str, Parameters] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            args = node.args.args
            defaults: list[ast.expr | None] = [None] * (len(args) - len(node.args.defaults))
            defaults += node.args.defaults
            functions[node.name] = [
                (a.arg, _default(d)) for a, d in zip(args, defaults, strict=True)
            ]
    return functions


def stub_all() -> list[str]:
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            names: list[str] = ast.literal_eval(node.value)
            return names
    raise AssertionError("the stub declares no __all__")


@pytest.mark.skipif(not _loader.RUST, reason="Rust extension not built")
def test_stub_matches_extension() -> None:
    module = _loader.extension
    compiled = {
        name: [(p.name, p.default) for p in inspect.signature(obj).parameters.values()]
        for name, obj in vars(module).items()
        if callable(obj) and not name.startswith("_")
    }
    assert compiled == stub_functions()
    assert sorted(module.__all__) == sorted(stub_all())
