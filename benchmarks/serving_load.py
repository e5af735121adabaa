"""Load test of the HTTP service on loopback: throughput, latency, errors, memory.

    python -m benchmarks.serving_load --model MODEL [--import MODULE] [--duration 30]
    python -m benchmarks.serving_load --standins     # MostPopular and a 64-factor stand-in

Starts ``recsys serve`` as a separate process on a free loopback port, warms it up,
then runs an asyncio load generator (aiohttp, one keep-alive connection per
concurrent client) against ``GET /recommend?user_id=...&n=10`` for random known
users: ``--concurrency`` clients for ``--duration`` seconds or ``--max-requests``
requests, whichever comes first. Then it measures the batch endpoint (``POST
/recommend`` with ``--batch-size`` users per request) the same way, in items per
second. Reports requests/s, p50/p95/p99 latency, errors, the server's CPU time
per request and its RSS before and after. The load generator shares the machine's
cores with the server, as it would on one box.

``--standins`` runs the issue's setting before ALS exists: MovieLens 100k with
MostPopular and with ``RandomFactors`` (64 random float32 factors over the real
ids, a test-only model that scores like ALS does). Re-run with ``--model`` on an
ALS model file (``recsys fit --algo als --dataset ml-100k --out als.recsys``).
Writes ``benchmarks/results/serving_load.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks._common import machine_summary, write_result
from recommender_systems import load, read_info

ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Phase:
    """One measured phase: what was asked, and how it went."""

    label: str
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    server_cpu_seconds: float

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000


class Server:
    """``recsys serve`` in a child process on a free loopback port."""

    def __init__(self, model: Path, imports: list[str], extra: list[str]) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        command = [sys.executable, "-m", "recommender_systems", "serve", "--model", str(model),
                   "--port", str(self.port), *extra]  # fmt: skip
        for module in imports:
            command += ["--import", module]
        self.process = subprocess.Popen(command, cwd=ROOT)
        self.url = f"http://127.0.0.1:{self.port}"

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    async def wait_ready(self, session: aiohttp.ClientSession) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                async with session.get(f"{self.url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit("the server did not start")
            await asyncio.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


async def run_phase(
    server: Server,
    session: aiohttp.ClientSession,
    label: str,
    make_request: Any,
    concurrency: int,
    duration: float,
    max_requests: int,
) -> Phase:
    latencies: list[float] = []
    errors = 0
    issued = 0
    cpu_before = server.cpu_seconds()
    start = time.perf_counter()
    stop_at = start + duration

    async def client(seed: int) -> None:
        nonlocal errors, issued
        rng = random.Random(seed)
        while time.perf_counter() < stop_at and issued < max_requests:
            issued += 1
            method, path, body = make_request(rng)
            began = time.perf_counter()
            try:
                async with session.request(method, server.url + path, json=body) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                        continue
            except (TimeoutError, aiohttp.ClientError):
                errors += 1
                continue
            latencies.append(time.perf_counter() - began)

    await asyncio.gather(*(client(seed) for seed in range(concurrency)))
    seconds = time.perf_counter() - start
    return Phase(label, issued, errors, seconds, latencies, server.cpu_seconds() - cpu_before)


async def measure(args: argparse.Namespace, model_path: Path, imports: list[str]) -> list[str]:
    model = load(model_path)
    users = model.user_ids_.ids.tolist()
    info = read_info(model_path)
    n = args.n
    server = Server(model_path, imports, ["--max-batch", str(max(10_000, args.batch_size))])
    timeout = aiohttp.ClientTimeout(total=10)
    connector = aiohttp.TCPConnector(limit=args.concurrency, force_close=False)
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            await server.wait_ready(session)

            def single(rng: random.Random) -> tuple[str, str, None]:
                return "GET", f"/recommend?user_id={rng.choice(users)}&n={n}", None

            def batch(rng: random.Random) -> tuple[str, str, dict[str, Any]]:
                return (
                    "POST",
                    "/recommend",
                    {"user_ids": rng.sample(users, args.batch_size), "n": n},
                )

            await run_phase(server, session, "warm-up", single, args.concurrency, 3, 20_000)
            rss_before = server.rss_mib()
            phase = await run_phase(server, session, "single", single, args.concurrency,
                                    args.duration, args.max_requests)  # fmt: skip
            rss_after = server.rss_mib()
            batch_concurrency = max(1, min(4, args.concurrency))
            batch_phase = await run_phase(server, session, "batch", batch, batch_concurrency,
                                          args.batch_duration, args.max_requests)  # fmt: skip
            rss_end = server.rss_mib()
    finally:
        server.stop()

    ok = len(phase.latencies)
    rps = ok / phase.seconds
    batch_ok = len(batch_phase.latencies)
    batch_items = batch_ok * args.batch_size * n / batch_phase.seconds
    name = info.algorithm or info.model_class.rsplit(".", 1)[-1]
    return [
        f"## {name}: {info.model}",
        "",
        f"Model file `{model_path.name}`: {info.n_users:,} users x {info.n_items:,} items, "
        f"{info.file_size / 2**20:.1f} MiB. Server: `recsys serve` (one uvicorn process, "
        f"defaults). Load: {args.concurrency} concurrent keep-alive clients, "
        f"`GET /recommend?user_id=<random known user>&n={n}`, {phase.seconds:.1f} s.",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| requests (ok / errors) | {ok:,} / {phase.errors} |",
        f"| throughput | {rps:,.0f} requests/s ({rps * n:,.0f} items/s) |",
        f"| latency p50 / p95 / p99 | {phase.percentile(50):.2f} / {phase.percentile(95):.2f} / "
        f"{phase.percentile(99):.2f} ms |",
        f"| latency mean / max | {statistics.fmean(phase.latencies) * 1000:.2f} / "
        f"{max(phase.latencies) * 1000:.2f} ms |",
        f"| server CPU per request | {phase.server_cpu_seconds / max(1, ok) * 1e6:.0f} us |",
        f"| server RSS before / after / after batch phase | {rss_before:.1f} / {rss_after:.1f} / "
        f"{rss_end:.1f} MiB |",
        f"| batch: `POST /recommend`, {args.batch_size} users x n={n}, {batch_concurrency} "
        f"clients, {batch_phase.seconds:.1f} s | {batch_ok / batch_phase.seconds:,.1f} "
        f"requests/s = **{batch_items:,.0f} items/s** ({batch_items / max(rps * n, 1):.1f}x the "
        f"single-user endpoint), p99 {batch_phase.percentile(99):.1f} ms, "
        f"{batch_phase.errors} errors |",
        "",
    ]


def standins(directory: Path) -> list[tuple[Path, list[str]]]:
    """MostPopular and a 64-factor stand-in for ALS, on MovieLens 100k."""
    from tests.toy_models import RandomFactors

    from recommender_systems import MostPopular, load_movielens_100k

    ratings = load_movielens_100k(progress=False)
    popular = MostPopular().fit(ratings).save(directory / "ml100k-most-popular.recsys")
    factors = RandomFactors(n_factors=64).fit(ratings).save(directory / "ml100k-factors64.recsys")
    return [(popular, []), (factors, ["tests.toy_models"])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", type=Path, help="a model file to serve")
    source.add_argument("--standins", action="store_true", help="MostPopular + 64-factor stand-in")
    parser.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds (default 30)")
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--batch-duration", type=float, default=10.0)
    parser.add_argument("--output", default="serving_load.md", help="results file name")
    args = parser.parse_args()

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    lines = [
        "# HTTP service under load",
        "",
        "Target: zero errors, p99 under 20 ms at concurrency 32 on this 2-core machine "
        "(the load generator runs on the same cores), RSS stable.",
        "",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        runs = standins(Path(tmp)) if args.standins else [(args.model, args.imports)]
        for path, imports in runs:
            section = asyncio.run(measure(args, path, imports))
            print("\n".join(section), flush=True)
            lines += section
    command = " ".join(["python -m benchmarks.serving_load", *sys.argv[1:]])
    lines += [machine_summary(("recommender-systems", "numpy", "fastapi", "uvicorn", "aiohttp")),
              "", f"Command: `{command}`", ""]  # fmt: skip
    print(f"written to {write_result(args.output, chr(10).join(lines))}")


if __name__ == "__main__":
    main()
