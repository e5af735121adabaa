""".ci/run hides nothing: it stops at the first failure, never silences a check, builds
the docs strictly and walks the newcomer's path from the README."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
COMMANDS = [
    line.strip()
    for line in SCRIPT.splitlines()
    if line.strip() and not line.strip().startswith(("#", "step ", "step()"))
]


def test_failures_stop_the_run_and_nothing_is_silenced() -> None:
    assert "set -euo pipefail" in SCRIPT
    for command in COMMANDS:
        words = shlex.split(command, comments=True)
        assert "||" not in words, f"a failure is swallowed: {command}"
        assert not {"--quiet", "-q", "-qq", "--silent"} & set(words), f"hidden output: {command}"
        assert not re.search(r"[12]?>\s*/dev/null", command), f"hidden output: {command}"


def test_the_docs_build_strictly() -> None:
    assert any("mkdocs build" in command and "--strict" in command.split() for command in COMMANDS)


def test_the_newcomer_path_runs_first_and_the_readme_test_command_last() -> None:
    assert COMMANDS.index("python3 .ci/newcomer.py readme-command") < COMMANDS.index(
        "python3 .ci/newcomer.py quickstart"
    )
    first_install = next(i for i, c in enumerate(COMMANDS) if "pip install" in c)
    assert first_install > COMMANDS.index("python3 .ci/newcomer.py quickstart"), (
        "the newcomer's build must come from the README's command, on a clean clone"
    )
    assert COMMANDS[-1] == "RECSYS_DATA_DIR=../shared/data .venv/bin/python -m pytest"
