"""The newcomer's path, run by .ci/run: the README's commands and quickstart as a
user runs them, failing on a non-zero exit or on any warning they print.

    python3 .ci/newcomer.py readme-command   # the README's first command, as written
    python3 .ci/newcomer.py quickstart       # README's Quickstart and docs/quickstart.md as scripts

Standard library only: the first command is what creates the virtualenv.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WARNING = re.compile(r"warn", re.IGNORECASE)


def fenced(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.S | re.M)


def section(text: str, title: str) -> str:
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def run(command: list[str], what: str, cwd: Path = ROOT) -> None:
    """Runs ``command`` with the user's view (stdout shown as it comes, stderr after)."""
    print(f"$ {' '.join(command)}", flush=True)
    done = subprocess.run(command, cwd=cwd, stderr=subprocess.PIPE, text=True, check=False)
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        sys.exit(f"newcomer check: {what} exited with status {done.returncode}")
    warned = [line for line in done.stderr.splitlines() if WARNING.search(line)]
    if warned:
        sys.exit(f"newcomer check: {what} printed a warning: {warned[0]}")


def readme_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = fenced(section(readme, "Two commands on a fresh machine"), "bash")[0]
    first = next(line for line in block.splitlines() if line and not line.startswith("#"))
    run(["bash", "-c", first], "the README's first command")


def quickstart() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pages = {
        "README.md's Quickstart": fenced(section(readme, "Quickstart"), "python"),
        "docs/quickstart.md": fenced((ROOT / "docs/quickstart.md").read_text("utf-8"), "python"),
    }
    python = str(ROOT / ".venv" / "bin" / "python")
    for what, blocks in pages.items():
        assert blocks, f"{what} has no Python blocks"
        with tempfile.TemporaryDirectory() as folder:
            script = Path(folder) / "quickstart.py"
            script.write_text("\n".join(blocks), encoding="utf-8")
            run([python, str(script)], what, cwd=Path(folder))


if __name__ == "__main__":
    os.environ.setdefault("RECSYS_DATA_DIR", str((ROOT / ".." / "shared" / "data").resolve()))
    {"readme-command": readme_command, "quickstart": quickstart}[sys.argv[1]]()
