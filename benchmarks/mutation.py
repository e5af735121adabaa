"""Mutation testing of the core Python modules: does the suite notice a planted bug?

Each mutant changes one operator or constant in one module (a comparison flipped,
``and`` for ``or``, ``+`` for ``-``, ``not`` dropped, ``True`` for ``False``, an
integer off by one, a ``return`` value replaced by ``None``), is written into a
copy of the source tree, and the tests that cover that module run against it. A
mutant the tests fail on is *killed*; one they pass on *survives* and is either
killed by a new test or listed in the results with the reason it is benign.

This is a benchmark-style job, not part of CI (it runs the tests once per mutant)::

    python -m benchmarks.mutation                 # every core module
    python -m benchmarks.mutation --module query  # one module
    python -m benchmarks.mutation --limit 20      # a quick look
    python -m benchmarks.mutation --survivors     # after new tests: survivors only

Results: ``benchmarks/results/mutation.md`` (and ``.json``), with every survivor.
"""

from __future__ import annotations

import argparse
import ast
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks._common import RESULTS

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "recommender_systems"

#: Core modules and the tests that exercise them (kept short: each mutant runs them).
#: The conformance suite runs without the slow-to-train models (``DESELECT``): the
#: neural models and ``auto`` meet the core modules through the same code paths.
MODULES: dict[str, list[str]] = {
    "query": [
        "tests/test_conformance.py",
        "tests/test_csr_rows.py",
        "tests/test_shared_ranking.py",
        "tests/test_base_contract.py",
    ],
    "base": [
        "tests/test_conformance.py",
        "tests/test_base_contract.py",
        "tests/test_progress.py",
        "tests/test_params.py",
    ],
    "_params": ["tests/test_params.py", "tests/test_conformance.py", "tests/test_cli.py"],
    "_estimator": [
        "tests/test_conformance.py",
        "tests/test_persistence.py",
        "tests/test_hybrid.py",
    ],
    "hyperparameters": [
        "tests/test_hyperparameters.py",
        "tests/test_conformance.py",
        "tests/test_cli.py",
        "tests/test_docs.py",
    ],
    "_deprecation": ["tests/test_conformance.py", "tests/test_split.py"],
    "metrics": ["tests/test_metrics.py", "tests/test_evaluation.py", "tests/test_original_api.py"],
    "evaluation": ["tests/test_evaluation.py", "tests/test_metrics.py"],
}

DESELECT = "not TwoTowerCF and not MultVAE and not AutoRecommender"

_SWAPS: dict[type[ast.AST], Any] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.And: ast.Or,
    ast.Or: ast.And,
}


@dataclass
class Mutant:
    module: str
    line: int
    description: str
    outcome: str = "pending"  # killed, survived, timeout
    seconds: float = 0.0


def _skipped_lines(tree: ast.Module) -> set[int]:
    """Lines not worth mutating: docstrings, annotations, ``TYPE_CHECKING`` blocks."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                skip.update(range(body[0].lineno, (body[0].end_lineno or body[0].lineno) + 1))
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
        annotations: list[ast.expr | None] = []
        if isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            annotations.append(node.returns)
            args = node.args
            everything = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
            annotations += [a.annotation for a in everything if a is not None]
        for annotation in annotations:
            if annotation is not None:
                for inner in ast.walk(annotation):
                    if hasattr(inner, "lineno"):
                        skip.add(inner.lineno)
    return skip


def _sites(tree: ast.Module) -> Iterator[tuple[ast.AST, int, str]]:
    """Every (node, position, what the mutation does), in a fixed order. ``position``
    is the operator's index in a comparison (operator objects are shared singletons
    in Python's AST, so a site is named by its parent node)."""
    skip = _skipped_lines(tree)
    for node in ast.walk(tree):
        line = getattr(node, "lineno", None)
        if line is None or line in skip:
            continue
        if isinstance(node, ast.Compare):
            for position, op in enumerate(node.ops):
                if type(op) in _SWAPS:
                    yield node, position, f"{type(op).__name__} -> {_SWAPS[type(op)].__name__}"
        elif isinstance(node, ast.BinOp | ast.BoolOp) and type(node.op) in _SWAPS:
            yield node, 0, f"{type(node.op).__name__} -> {_SWAPS[type(node.op)].__name__}"
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            yield node, 0, "drop not"
        elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
            yield node, 0, f"{node.value} -> {not node.value}"
        elif (
            isinstance(node, ast.Constant) and type(node.value) is int and abs(node.value) < 1 << 20
        ):
            yield node, 0, f"{node.value} -> {node.value + 1}"
        elif isinstance(node, ast.Return) and not _returns_none(node):
            yield node, 0, "return None"


def _returns_none(node: ast.Return) -> bool:
    """``return`` or ``return None``: replacing the value by None changes nothing."""
    return node.value is None or (isinstance(node.value, ast.Constant) and node.value.value is None)


def _mutate(source: str, index: int) -> tuple[str, int, str]:
    """The module's source with its ``index``-th site mutated, the line and what changed."""
    tree = ast.parse(source)
    node, position, description = list(_sites(tree))[index]
    if isinstance(node, ast.Compare):
        node.ops[position] = _SWAPS[type(node.ops[position])]()
    elif isinstance(node, ast.BinOp | ast.BoolOp):
        node.op = _SWAPS[type(node.op)]()
    elif isinstance(node, ast.UnaryOp):
        _replace_node(tree, node, node.operand)
    elif isinstance(node, ast.Constant):
        value: Any = node.value
        node.value = (not value) if isinstance(value, bool) else value + 1
    elif isinstance(node, ast.Return):
        node.value = ast.Constant(value=None)
    return (
        ast.unparse(ast.fix_missing_locations(tree)),
        int(getattr(node, "lineno", 0)),
        description,
    )


def _replace_node(tree: ast.Module, old: ast.AST, new: ast.AST) -> None:
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, field, new)
                return
            if isinstance(value, list) and any(v is old for v in value):
                setattr(parent, field, [new if v is old else v for v in value])
                return


def run_module(
    name: str, limit: int | None, timeout: float, only: set[tuple[int, str]] | None = None
) -> list[Mutant]:
    """Runs the module's mutants (the first ``limit``; with ``only``, just the
    sites at those (line, description) pairs)."""
    source_path = PACKAGE / f"{name}.py"
    source = source_path.read_text(encoding="utf-8")
    sites = list(_sites(ast.parse(source)))
    n_sites = len(sites)
    results: list[Mutant] = []
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        tree_copy = Path(tmp) / "src"
        shutil.copytree(ROOT / "src", tree_copy)
        target = tree_copy / "recommender_systems" / f"{name}.py"
        env = {**os.environ, "PYTHONPATH": f"{tree_copy}{os.pathsep}{ROOT}"}
        for index in range(n_sites if limit is None else min(limit, n_sites)):
            node, _, what = sites[index]
            if only is not None and (int(getattr(node, "lineno", 0)), what) not in only:
                continue
            mutated, line, description = _mutate(source, index)
            mutant = Mutant(name, line, description)
            target.write_text(mutated, encoding="utf-8")
            started = time.perf_counter()
            try:
                done = subprocess.run(
                    [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                     "--no-header", "-o", "addopts=", "-k", DESELECT, *MODULES[name]],
                    cwd=ROOT, env=env, capture_output=True, timeout=timeout, check=False,
                )  # fmt: skip
                mutant.outcome = "survived" if done.returncode == 0 else "killed"
            except subprocess.TimeoutExpired:
                mutant.outcome = "timeout"
            mutant.seconds = time.perf_counter() - started
            results.append(mutant)
            print(f"{name}:{line} {description}: {mutant.outcome}", flush=True)
        target.write_text(source, encoding="utf-8")
    return results


def report(mutants: list[Mutant], benign: dict[str, str]) -> str:
    lines = [
        "# Mutation testing of the core modules",
        "",
        "Generated by `python -m benchmarks.mutation`. Each mutant changes one operator or",
        "constant; the tests covering its module run against it (`MODULES` in the script).",
        "",
        "| module | mutants | killed | timeouts | survived |",
        "|---|---:|---:|---:|---:|",
    ]
    for module in sorted({m.module for m in mutants}):
        own = [m for m in mutants if m.module == module]
        count = {o: sum(m.outcome == o for m in own) for o in ("killed", "timeout", "survived")}
        lines.append(
            f"| `{module}` | {len(own)} | {count['killed']} | {count['timeout']} | "
            f"{count['survived']} |"
        )
    survivors = [m for m in mutants if m.outcome == "survived"]
    lines += ["", "## Survivors", ""]
    if not survivors:
        lines.append("None.")
    for m in survivors:
        key = f"{m.module}:{m.line}:{m.description}"
        reason = benign.get(key, "**not yet explained**")
        lines.append(f"- `{m.module}.py` line {m.line}, {m.description}: {reason}")
    return "\n".join(lines) + "\n"


#: Survivors judged benign, with the reason (key: module:line:description).
BENIGN_FILE = RESULTS / "mutation-benign.json"


def _last_results() -> list[dict[str, Any]]:
    path = RESULTS / "mutation.json"
    found: list[dict[str, Any]] = (
        json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    )
    return found


def site_keys(name: str) -> set[tuple[int, str]]:
    """(line, description) of every mutant of module ``name`` as it is now."""
    tree = ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))
    return {(int(getattr(node, "lineno", 0)), what) for node, _, what in _sites(tree)}


def _record(new: list[Mutant], survivors_only: bool) -> list[Mutant]:
    """Merges ``new`` into the results on disk and rewrites them (after every module,
    so a long run keeps what it finished, and runs over other modules may share the
    files). Other modules keep their results; with ``survivors_only``, so do the
    module's mutants that were not run again."""
    # Runs over other modules may finish at the same time: one merge at a time.
    with open(Path(tempfile.gettempdir()) / "recsys-mutation.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _merge(new, survivors_only)


def _merge(new: list[Mutant], survivors_only: bool) -> list[Mutant]:
    again = {(m.module, m.line, m.description) for m in new}
    ran = {m.module for m in new}
    current = {name: site_keys(name) for name in ran}
    kept = [
        Mutant(**m)
        for m in _last_results()
        if (m["module"], m["line"], m["description"]) not in again
        and (survivors_only or m["module"] not in ran)
        # A site the mutator no longer makes (e.g. ``return None`` for a bare
        # ``return``) is not a mutant any more.
        and (m["module"] not in ran or (m["line"], m["description"]) in current[m["module"]])
    ]
    merged = kept + new
    benign: dict[str, str] = (
        json.loads(BENIGN_FILE.read_text(encoding="utf-8")) if BENIGN_FILE.exists() else {}
    )
    (RESULTS / "mutation.json").write_text(
        json.dumps([asdict(m) for m in merged], indent=1), encoding="utf-8"
    )
    (RESULTS / "mutation.md").write_text(report(merged, benign), encoding="utf-8")
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", action="append", choices=sorted(MODULES))
    parser.add_argument("--limit", type=int, default=None, help="mutants per module at most")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per mutant")
    parser.add_argument(
        "--survivors",
        action="store_true",
        help="run again only the mutants that survived last time (after new tests), and "
        "those without a result yet (after the module changed)",
    )
    args = parser.parse_args()
    for name in args.module or sorted(MODULES):
        only = None
        if args.survivors:
            recorded = {
                (m["line"], m["description"]): m["outcome"]
                for m in _last_results()
                if m["module"] == name
            }
            only = {key for key in site_keys(name) if recorded.get(key, "survived") == "survived"}
        _record(run_module(name, args.limit, args.timeout, only), args.survivors)
    print((RESULTS / "mutation.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
