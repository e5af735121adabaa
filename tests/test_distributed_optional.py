"""The distributed extra stays optional: the library never imports Ray, and the
distributed module without Ray says how to install it."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
sys.modules["ray"] = None  # as if Ray were not installed: importing it fails
import recommender_systems, recommender_systems.cli
from recommender_systems.cli import main
assert "ray" not in {name.split(".")[0] for name in sys.modules if sys.modules[name]}
try:
    import recommender_systems.distributed
except ImportError as exc:
    print(exc)
else:
    raise SystemExit("imported without Ray")
sys.exit(main(["fit", "--algo", "als", "--data", "x", "--engine", "ray", "--out", "m"]))
"""


def test_the_library_works_without_ray_and_names_the_extra() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert 'pip install "recommender-systems[distributed]"' in done.stdout
    assert 'pip install "recommender-systems[distributed]"' in done.stderr  # the CLI's one line
