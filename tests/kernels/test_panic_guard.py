"""A panic inside a kernel reaches Python as ``KernelError``, never ``PanicException``.

Kernels validate their arguments and are not meant to panic, so the guard can
only be exercised by a panic put there on purpose: the cargo feature
``panic-probe`` adds ``_panic_probe``, a binding that panics on the calling thread
or on a pool thread. maturin never enables it; this module builds the extension
with it (a debug build in ``target/panic-probe``: one to three minutes the first time,
cached afterwards) and loads that copy beside the real one.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from recommender_systems.errors import KernelError, RecsysError
from recommender_systems.kernels import topk_reference

ROOT = Path(__file__).resolve().parents[2]
CRATE = ROOT / "crates" / "recsys-kernels"
BINDINGS = CRATE / "src" / "bindings"


def _build_probe(into: Path) -> Path:
    cargo = shutil.which("cargo")
    if cargo is None or not (CRATE / "Cargo.toml").is_file():
        pytest.skip("needs the Rust sources and cargo")
    env = {
        **os.environ,
        "PYO3_PYTHON": sys.executable,
        "PYO3_BUILD_EXTENSION_MODULE": "1",
        "CARGO_PROFILE_DEV_DEBUG": "0",
    }
    command = [
        cargo,
        "build",
        "--locked",
        "--package",
        "recsys-kernels",
        "--features",
        "panic-probe",
        "--target-dir",
        str(ROOT / "target" / "panic-probe"),
        "--message-format",
        "json-render-diagnostics",
    ]
    out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stderr[-4000:]
    for line in out.stdout.splitlines():
        message = json.loads(line)
        target = message.get("target", {})
        if message.get("reason") == "compiler-artifact" and "cdylib" in target.get("kind", []):
            library = next(
                Path(f) for f in message["filenames"] if f.endswith((".so", ".dylib", ".dll"))
            )
            # A private copy: a later build may replace the file cargo wrote.
            copy = into / library.name
            shutil.copyfile(library, copy)
            return copy
    raise AssertionError("cargo built no cdylib")


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    library = _build_probe(tmp_path_factory.mktemp("panic-probe"))
    # The init function is named after the last component: PyInit__kernels.
    loader = importlib.machinery.ExtensionFileLoader("_kernels", str(library))
    spec = importlib.util.spec_from_file_location("_kernels", library, loader=loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    assert hasattr(module, "_panic_probe")
    return module


@pytest.mark.slow
@pytest.mark.parametrize(
    ("where", "reason"),
    [("caller", "on the calling thread"), ("worker", "on a pool thread")],
)
def test_a_panic_becomes_a_kernel_error(probe: ModuleType, where: str, reason: str) -> None:
    with pytest.raises(KernelError, match=f"^_panic_probe: the Rust kernel failed .*{reason}"):
        probe._panic_probe(where)
    # What `except Exception` (or the library's own base class) catches.
    with pytest.raises(RecsysError) as caught:
        probe._panic_probe(where)
    assert isinstance(caught.value, RuntimeError)
    assert "please report it" in str(caught.value)


@pytest.mark.slow
def test_kernels_keep_working_after_a_panic(probe: ModuleType) -> None:
    for where in ("caller", "worker", "worker"):
        with pytest.raises(KernelError):
            probe._panic_probe(where)
    scores = np.random.default_rng(0).random((500, 400), dtype=np.float32)
    for n_threads in (1, 2, 0):
        got = probe.topk(scores, 5, n_threads=n_threads)
        np.testing.assert_array_equal(got[0], topk_reference(scores, 5)[0])


def test_every_binding_runs_inside_the_guard() -> None:
    if not BINDINGS.is_dir():
        pytest.skip("needs the Rust sources")
    guarded = re.compile(
        r"#\[pyfunction\].*?\bfn (\w+)\b[^{]*\{\s*guarded\(\s*\"(\w+)\"", flags=re.DOTALL
    )
    found = 0
    for source in sorted(BINDINGS.glob("*.rs")):
        text = source.read_text(encoding="utf-8")
        bindings = text.count("#[pyfunction]")
        matches = guarded.findall(text)
        assert len(matches) == bindings, f"{source.name}: a binding outside `guarded`"
        assert all(name == label for name, label in matches), matches
        found += bindings
    assert found >= 6  # the five kernels and the probe
