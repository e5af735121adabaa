"""Saving and loading a large factor model: 100k users x 64 factors.

    python -m benchmarks.persistence [--users 100000] [--items 20000] [--factors 64]

The model is the test-only ``RandomFactors`` stand-in (float32 user and item
factors, like ALS or BPR) fitted on generated interactions, so the file also holds
the id maps and the seen-items CSR. Load times are medians of several runs with a
warm page cache (the file was just written), for each loading mode. Writes
``benchmarks/results/persistence.md``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from tests.toy_models import RandomFactors

from benchmarks._common import machine_summary, median_seconds, write_result
from recommender_systems import generate_interactions, load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--interactions", type=int, default=2_000_000)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    frame = generate_interactions(args.users, args.items, args.interactions, random_state=1)
    model = RandomFactors(n_factors=args.factors).fit(frame)
    users = model.user_ids_.ids[:: max(1, len(model.user_ids_) // 1000)]
    expected = model.recommend_batch(users, 10)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "factors.recsys"
        save_seconds = median_seconds(lambda: model.save(path), repeats=3)
        size = path.stat().st_size
        modes = {
            "read into private memory, SHA-256 verified (default)": {},
            "memory-mapped, SHA-256 verified": {"mmap": True, "verify": True},
            "memory-mapped, not verified": {"mmap": True, "verify": False},
        }
        timings = {
            label: median_seconds(lambda kw=kw: load(path, **kw), args.repeats)  # type: ignore[misc]
            for label, kw in modes.items()
        }
        loaded = load(path)
        start = time.perf_counter()
        got = loaded.recommend_batch(users, 10)
        first_batch = time.perf_counter() - start
        assert np.array_equal(got.item_indices, expected.item_indices), "results differ"
        assert np.array_equal(got.scores, expected.scores), "scores differ"

    lines = [
        "# Model files: saving and loading a large factor model",
        "",
        f"{len(model.user_ids_):,} users x {args.factors} factors, {len(model.item_ids_):,} "
        f"items, {model.user_items_.nnz:,} seen interactions; file size {size / 2**20:.1f} MiB. "
        f"Medians of {args.repeats} loads with a warm page cache. The loaded model's "
        f"recommendations for {users.size:,} users equal the original's (checked in the run).",
        "",
        "| operation | seconds |",
        "|---|---:|",
        f"| save (atomic write, SHA-256 of every array) | {save_seconds:.3f} |",
    ]
    lines += [f"| load: {label} | {seconds:.3f} |" for label, seconds in timings.items()]
    lines += [
        f"| first recommend_batch for {users.size:,} users after loading | {first_batch:.3f} |",
        "",
        machine_summary(),
        "",
        "Command: `python -m benchmarks.persistence`",
        "",
    ]
    print("\n".join(lines))
    print(f"written to {write_result('persistence.md', chr(10).join(lines))}")


if __name__ == "__main__":
    main()
