"""Timing and reporting helpers shared by the benchmark scripts."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def median_seconds(run: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``run()`` over ``repeats`` calls, after ``warmup`` calls.

    This machine is shared and noisy: medians of several runs, never one timing.
    """
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine_summary(packages: tuple[str, ...] = ("recommender-systems", "numpy", "scipy")) -> str:
    """One Markdown paragraph naming the CPU count, Python and package versions."""
    versions = []
    for name in packages:
        try:
            versions.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return (
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, {platform.system()}; "
        f"Python {platform.python_version()}; " + ", ".join(versions) + "."
    )


def write_result(name: str, text: str) -> Path:
    """Writes ``benchmarks/results/<name>`` and returns its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    path.write_text(text, encoding="utf-8")
    return path
