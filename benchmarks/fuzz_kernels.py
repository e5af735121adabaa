"""Fuzzing the kernel bindings: a long run of the generated calls of the test suite.

    python -m benchmarks.fuzz_kernels [--examples 5000] [--hang-seconds 60]

Each binding gets ``--examples`` generated calls (``tests/kernels/fuzzing.py``):
valid problems with up to two broken arguments. Each call must raise an error of
``recommender_systems.errors`` or return what the NumPy reference returns.
Counts every outcome: results equal to the reference, each typed error, and any
failure (another exception, a different result). A call that takes longer than
``--hang-seconds`` stops the run with a traceback (a hang); a crash of the
process stops it too. Writes ``benchmarks/results/robustness_kernels.md``.
"""

from __future__ import annotations

import argparse
import faulthandler
import time
import traceback
from collections import Counter

from hypothesis import HealthCheck, given, settings
from tests.kernels.fuzzing import BINDINGS, MAX_DEFECTS, Args, Binding, calls, check

from benchmarks._common import machine_summary, write_result
from recommender_systems.kernels import _loader


def fuzz(binding: Binding, examples: int, hang_seconds: float) -> tuple[Counter[str], list[str]]:
    """The outcomes of ``examples`` generated calls, and the first failures in full."""
    outcomes: Counter[str] = Counter()
    failures: list[str] = []

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(calls(binding))
    def run(args: Args) -> None:
        faulthandler.dump_traceback_later(hang_seconds, exit=True)
        try:
            outcomes[check(binding, args)] += 1
        except AssertionError:
            outcomes["wrong result"] += 1
            failures.append(f"{binding.name}({args!r}):\n{traceback.format_exc()}")
        except Exception as exc:  # every other exception is a failure to count
            outcomes[f"untyped {type(exc).__name__}"] += 1
            failures.append(f"{binding.name}({args!r}):\n{traceback.format_exc()}")
        finally:
            faulthandler.cancel_dump_traceback_later()

    run()
    return outcomes, failures[:3]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=5000, help="calls per binding")
    parser.add_argument("--hang-seconds", type=float, default=60.0)
    parser.add_argument("--only", nargs="*", choices=sorted(BINDINGS), help="these bindings")
    args = parser.parse_args()
    if not _loader.RUST:
        raise SystemExit(f"the Rust extension is not available: {_loader.backend_status()}")

    rows = []
    totals: Counter[str] = Counter()
    all_failures: list[str] = []
    start = time.perf_counter()
    for name, binding in sorted(BINDINGS.items()):
        if args.only and name not in args.only:
            continue
        began = time.perf_counter()
        outcomes, failures = fuzz(binding, args.examples, args.hang_seconds)
        seconds = time.perf_counter() - began
        totals.update(outcomes)
        all_failures += failures
        tried = sum(outcomes.values())
        ok = outcomes["ok"]
        typed = sum(n for k, n in outcomes.items() if k.endswith("Error") and " " not in k)
        failed = tried - ok - typed
        kinds = ", ".join(
            f"{k} {n}" for k, n in sorted(outcomes.items()) if k != "ok" and " " not in k
        )
        rows.append(
            f"| `{name}` | {tried:,} | {ok:,} | {typed:,} ({kinds}) | {failed} | {seconds:.0f} s |"
        )
        print(rows[-1], flush=True)
    elapsed = time.perf_counter() - start

    tried = sum(totals.values())
    failed = sum(n for k, n in totals.items() if " " in k)
    lines = [
        "# Kernel bindings under generated bad input",
        "",
        f"`python -m benchmarks.fuzz_kernels --examples {args.examples}`: each binding of "
        "`recommender_systems._kernels` called with generated arguments "
        "(`tests/kernels/fuzzing.py`): a valid problem (zero rows and columns, empty rows, "
        f"`k` beyond the catalogue, 0 to 1024 threads) with 0 to {MAX_DEFECTS} arguments broken "
        "(inconsistent CSR arrays, indices out of range, length mismatches, wrong dtypes, ranks "
        "and layouts, read-only or shared outputs, NaN and infinities, negative, huge, NaN or "
        "mistyped scalars). Each call must raise an error of `recommender_systems.errors` or "
        "return exactly what the NumPy reference returns (to float32 rounding for ALS and BPR).",
        "",
        "| binding | calls | equal to the reference | typed errors | failures | time |",
        "|---|---:|---:|---|---:|---:|",
        *rows,
        "",
        f"In all: {tried:,} calls, {totals['ok']:,} results equal to the reference, "
        f"{tried - totals['ok'] - failed:,} typed errors, {failed} failures (untyped errors or "
        f"wrong results), 0 crashes and 0 hangs (either would have stopped the run; calls are "
        f"stopped after {args.hang_seconds:.0f} s). {elapsed:.0f} s in all.",
        "",
        machine_summary(),
        "",
    ]
    if all_failures:
        lines += ["## First failures", "", "```", *all_failures, "```", ""]
    path = write_result("robustness_kernels.md", "\n".join(lines))
    print(f"wrote {path}")
    if failed:
        raise SystemExit(f"{failed} calls failed")


if __name__ == "__main__":
    main()
