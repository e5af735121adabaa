"""Available memory: /proc/meminfo, the cgroup limit, and the portable fallback."""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender_systems import InsufficientMemoryError, _memory


@pytest.fixture
def fake_system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(_memory, "_MEMINFO", tmp_path / "meminfo")
    monkeypatch.setattr(_memory, "_CGROUP_V2", tmp_path / "cgroup")
    monkeypatch.setattr(_memory, "_sysconf_available", lambda: None)
    (tmp_path / "cgroup").mkdir()
    return tmp_path


def test_reads_mem_available(fake_system: Path) -> None:
    (fake_system / "meminfo").write_text("MemTotal: 4000 kB\nMemAvailable:    2048 kB\n")
    assert _memory.available_memory() == 2048 * 1024


def test_a_cgroup_limit_caps_it(fake_system: Path) -> None:
    (fake_system / "meminfo").write_text("MemAvailable: 4096 kB\n")
    (fake_system / "cgroup" / "memory.max").write_text("3000000\n")
    (fake_system / "cgroup" / "memory.current").write_text("2000000\n")
    assert _memory.available_memory() == 1_000_000
    (fake_system / "cgroup" / "memory.max").write_text("max\n")
    assert _memory.available_memory() == 4096 * 1024


def test_falls_back_to_sysconf_then_unknown(
    fake_system: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_memory, "_sysconf_available", lambda: 12345)
    assert _memory.available_memory() == 12345
    monkeypatch.setattr(_memory, "_sysconf_available", lambda: None)
    assert _memory.available_memory() is None
    _memory.require_memory(10**15, "anything")  # unknown: no check


def test_the_real_machine_reports_something() -> None:
    available = _memory.available_memory()
    assert available is None or available > 0


def test_require_memory_says_needed_and_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_memory, "available_memory", lambda: 3 << 30)
    _memory.require_memory(1 << 30, "a job")
    with pytest.raises(InsufficientMemoryError, match=r"a job needs about 4\.0 GiB .* 3\.0 GiB"):
        _memory.require_memory(4 << 30, "a job")


def test_format_bytes() -> None:
    assert _memory.format_bytes(512) == "512 B"
    assert _memory.format_bytes(1536) == "1.5 KiB"
    assert _memory.format_bytes(5 << 40) == "5.0 TiB"
