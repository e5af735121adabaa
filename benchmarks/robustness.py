"""The long fuzz run: many generated cases per model, counted by outcome.

    python -m benchmarks.robustness [--examples 1000] [--seed 0]

Runs the cases of ``tests/fuzzing.py`` (the same judge as ``tests/test_fuzz.py``,
which runs a few dozen per model in CI) with hypothesis exploring freely: for
every registered model, the public query methods with generated arguments,
``fit`` on generated columns, and loading mutated model files. Each (kind, model)
pair runs in its own process, so a crash (a signal, e.g. a segfault) is seen and
counted instead of ending the run; each case has a time limit (a case past it is
a hang). Outcomes: ``ok`` (a correct result), ``typed`` (a typed error from
``recommender_systems.errors``), ``untyped`` (any other exception), ``wrong``
(a result that breaks the contract), ``hang``, ``crash``.
Writes ``benchmarks/results/robustness.md``.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks._common import machine_summary, write_result

KINDS = ("query", "fit", "file")
OUTCOMES = ("ok", "typed", "untyped", "wrong", "hang", "crash")
CASE_SECONDS = 20


class Hang(BaseException):
    """A case ran past its time limit (BaseException: no handler in the library catches it)."""


def worker(kind: str, name: str, examples: int, seed: int) -> dict[str, Any]:
    """Runs ``examples`` cases of ``kind`` against model ``name`` in this process."""
    import tempfile

    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis import strategies as st
    from tests import fuzzing

    counts: Counter[str] = Counter()
    failures: list[str] = []
    data = fuzzing.training_data()

    def on_alarm(signum: int, frame: Any) -> None:
        raise Hang

    signal.signal(signal.SIGALRM, on_alarm)

    def judge(run: Any, *args: Any) -> None:
        counts["cases"] += 1
        signal.alarm(CASE_SECONDS)
        try:
            outcome = run(*args)
            counts["ok" if outcome == "ok" else "typed"] += 1
        except Hang:
            counts["hang"] += 1
            failures.append(f"hang: {args!r:.300}")
        except fuzzing.WrongResult as exc:
            counts["wrong"] += 1
            failures.append(f"wrong: {exc} for {args!r:.300}")
        except Exception as exc:
            counts["untyped"] += 1
            where = traceback.extract_tb(exc.__traceback__)[-1]
            failures.append(
                f"untyped {type(exc).__name__}: {exc!s:.150} at {Path(where.filename).name}:"
                f"{where.lineno} for {args!r:.300}"
            )
        finally:
            signal.alarm(0)

    explore = settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "query":
            model = fuzzing.make(name).fit(data)
            users, items = data.user_ids.ids[:10].tolist(), data.item_ids.ids[:10].tolist()

            @hypothesis_seed(seed)
            @explore
            @given(call=fuzzing.calls(users, items))
            def query(call: Any) -> None:
                judge(fuzzing.run_call, model, data, *call)

            query()
        elif kind == "fit":

            @hypothesis_seed(seed)
            @explore
            @given(columns=fuzzing.frames())
            def fit(columns: Any) -> None:
                judge(fuzzing.run_fit, name, columns)

            fit()
        else:
            original = fuzzing.make(name).fit(data).save(Path(tmp) / "model.recsys")
            out = Path(tmp) / "mutated.recsys"

            @hypothesis_seed(seed)
            @explore
            @given(fuzzing.header_mutations(), st.integers(0, 10**6), st.booleans())
            def file(mutation: tuple[list[int], Any], flip: int, byte: bool) -> None:
                if byte:
                    fuzzing.flip_byte(original, flip, out)
                elif not fuzzing.mutate_header(original, mutation[0], mutation[1], out):
                    return
                judge(fuzzing.run_file, out, data)

            file()
    return {"counts": dict(counts), "failures": failures[:5]}


def run_isolated(kind: str, name: str, examples: int, seed: int) -> dict[str, Any]:
    """:func:`worker` in a child process: a crash there is counted, not fatal."""
    command = [sys.executable, "-m", "benchmarks.robustness", "--worker", kind, name,
               "--examples", str(examples), "--seed", str(seed)]  # fmt: skip
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        reason = f"signal {-proc.returncode}" if proc.returncode < 0 else proc.stderr[-500:]
        return {"counts": {"crash": 1}, "failures": [f"crash: {reason}"]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000, help="cases per kind and model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, name = args.worker
        print(json.dumps(worker(kind, name, args.examples, args.seed)))
        return

    from tests import fuzzing

    started = time.perf_counter()
    rows: list[tuple[str, str, Counter[str]]] = []
    failures: list[str] = []
    for kind in KINDS:
        for name in fuzzing.NAMES:
            result = run_isolated(kind, name, args.examples, args.seed)
            counts = Counter(result["counts"])
            rows.append((kind, name, counts))
            failures += [f"{kind} / {name}: {f}" for f in result["failures"]]
            print(kind, name, dict(counts), flush=True)
    total: Counter[str] = Counter()
    for _, _, counts in rows:
        total.update(counts)
    minutes = (time.perf_counter() - started) / 60
    lines = [
        "# Robustness: the long fuzz run",
        "",
        "Every registered model, three kinds of generated input (the judge of "
        "`tests/fuzzing.py`; CI runs the same with a few dozen fixed cases per model in "
        "`tests/test_fuzz.py`): `query` calls the public methods (`recommend`, "
        "`recommend_batch`, `score`, `similar_items`, `recommend_from_history`) with bad and "
        "good ids, `n`, filters and weights; `fit` trains on generated columns (nulls, mixed "
        "id types, huge ids and values, NaN, ragged lengths); `file` loads model files with "
        "one header value changed (and re-checksummed, so only the meaning is wrong) or one "
        "bit flipped. A case ends `ok` (a correct result: at most n items, no duplicates, no "
        "seen item, finite scores), `typed` (a typed error from `recommender_systems.errors`), "
        "or fails: `untyped` (another exception), `wrong`, `hang` "
        f"(over {CASE_SECONDS} s), `crash` (the process died).",
        "",
        f"**{total['cases']:,} cases: {total['ok']:,} correct results, {total['typed']:,} "
        f"typed errors; untyped errors {total['untyped']}, wrong results {total['wrong']}, "
        f"hangs {total['hang']}, crashes {total['crash']}** ({minutes:.0f} min).",
        "",
        "| kind | model | cases | ok | typed | untyped | wrong | hang | crash |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, name, counts in rows:
        cells = " | ".join(f"{counts[o]:,}" for o in OUTCOMES)
        lines.append(f"| {kind} | {name} | {counts['cases']:,} | {cells} |")
    lines += ["", "Failures (first five per kind and model):", ""]
    lines += [f"- {f}" for f in failures] or ["- none"]
    command = " ".join(["python -m benchmarks.robustness", *sys.argv[1:]])
    lines += ["", machine_summary(("recommender-systems", "numpy", "hypothesis")), "",
              f"Command: `{command}`", ""]  # fmt: skip
    print(f"written to {write_result('robustness.md', chr(10).join(lines))}")


if __name__ == "__main__":
    main()
