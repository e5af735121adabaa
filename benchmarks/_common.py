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


def interleaved_medians(
    runs: dict[str, Callable[[], object]], repeats: int = 5, warmup: int = 1
) -> dict[str, float]:
    """Median wall time of each run, timing them in turn (a, b, a, b, ...) so that
    a change in the machine's load affects every run alike.

    Example:
        >>> sorted(interleaved_medians({"a": lambda: None, "b": lambda: None}, 3))
        ['a', 'b']
    """
    for _ in range(warmup):
        for run in runs.values():
            run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


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
