"""Load test of the HTTP service on loopback: throughput, latency, errors, memory.

    python -m benchmarks.serving_load --model MODEL [--import MODULE] [--duration 30]
    python -m benchmarks.serving_load --standins     # MostPopular and a 64-factor stand-in

Starts ``recsys serve`` as a separate process on a port of its choosing (``--port
0``; the port is read from the line it logs when ready), with an admin token, warms
it up, then measures three phases:

1. ``GET /recommend?user_id=...&n=10`` for random known users from
   ``--concurrency`` keep-alive clients for ``--duration`` seconds;
2. the same while another client calls ``POST /admin/reload`` every
   ``--reload-every`` seconds (each reload reads, checks and swaps in the model);
3. the batch endpoint (``POST /recommend`` with ``--batch-size`` users), in items
   per second.

The load generator is written for low overhead, since it shares the machine's two
cores with the server: one asyncio process (uvloop when installed) over raw
streams, with every request's bytes built before the clock starts and responses
parsed only as far as the status line and ``Content-Length``. Reports requests/s,
p50/p95/p99 latency, errors, the server's CPU time per request and its RSS before
and after. Writes ``benchmarks/results/serving_load.md``.

``--standins`` runs MovieLens 100k with MostPopular and with ``RandomFactors`` (64
random float32 factors over the real ids, a test-only model that scores like ALS);
``--model`` takes any model file (``recsys fit --algo als --dataset ml-100k --out
als.recsys``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks._common import machine_summary, write_result
from recommender_systems import load, read_info

ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TOKEN = "load-test-admin-token-0123456789"
_LENGTH = re.compile(rb"\r\ncontent-length: *(\d+)", re.IGNORECASE)
_PORT = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


@dataclass
class Phase:
    """One measured phase: what was asked, and how it went."""

    label: str
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    server_cpu_seconds: float
    reloads: dict[int, int] = field(default_factory=dict)

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000


class Server:
    """``recsys serve`` in a child process, on the port it chose and logged."""

    def __init__(self, model: Path, imports: list[str], extra: list[str]) -> None:
        command = [sys.executable, "-m", "recommender_systems", "serve", "--model", str(model),
                   "--port", "0", "--admin-token", TOKEN, *extra]  # fmt: skip
        for module in imports:
            command += ["--import", module]
        self.process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
        assert self.process.stderr is not None
        self.ready_line = self.process.stderr.readline().strip()
        found = _PORT.search(self.ready_line)
        if not found:
            self.stop()
            raise SystemExit(f"the server did not start: {self.ready_line!r}")
        self.port = int(found[1])

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nhost: bench\r\n\r\n".encode()


def post(path: str, body: Any, headers: str = "") -> bytes:
    data = json.dumps(body).encode() if body is not None else b""
    head = (
        f"POST {path} HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n"
        f"content-length: {len(data)}\r\n{headers}\r\n"
    )
    return head.encode() + data


class Connection:
    """One keep-alive connection; a request is its prepared bytes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, request: bytes) -> int:
        """The response's status (the body is read and dropped)."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        found = _LENGTH.search(head)
        if found:
            await self.reader.readexactly(int(found[1]))
        return int(head[9:12])

    def close(self) -> None:
        self.writer.close()


async def run_phase(
    server: Server,
    label: str,
    requests: list[bytes],
    concurrency: int,
    duration: float,
    max_requests: int,
    reload_every: float | None = None,
) -> Phase:
    latencies: list[float] = []
    errors = 0
    issued = 0
    reloads: dict[int, int] = {}
    connections = [await Connection.open(server.port) for _ in range(concurrency)]
    cpu_before = server.cpu_seconds()
    clock = time.perf_counter
    start = clock()
    stop_at = start + duration

    async def client(connection: Connection, offset: int) -> None:
        nonlocal errors, issued
        i = offset
        while clock() < stop_at and issued < max_requests:
            issued += 1
            request = requests[i % len(requests)]
            i += 1
            began = clock()
            try:
                status = await connection.send(request)
            except (OSError, asyncio.IncompleteReadError):
                errors += 1
                connection.close()
                connection = await Connection.open(server.port)
                continue
            if status == 200:
                latencies.append(clock() - began)
            else:
                errors += 1

    async def reloader() -> None:
        assert reload_every is not None
        admin = await Connection.open(server.port)
        request = post("/admin/reload", None, f"authorization: Bearer {TOKEN}\r\n")
        while clock() < stop_at:
            status = await admin.send(request)
            reloads[status] = reloads.get(status, 0) + 1
            await asyncio.sleep(reload_every)
        admin.close()

    tasks = [client(c, k * 997) for k, c in enumerate(connections)]
    if reload_every is not None:
        tasks.append(reloader())
    await asyncio.gather(*tasks)
    seconds = clock() - start
    for connection in connections:
        connection.close()
    cpu = server.cpu_seconds() - cpu_before
    return Phase(label, issued, errors, seconds, latencies, cpu, reloads)


def phase_cells(phase: Phase, n: int, rss: tuple[float, float]) -> dict[str, str]:
    """The measures of one phase, by row label."""
    ok = len(phase.latencies)
    rps = ok / phase.seconds
    return {
        "requests (ok / errors)": f"{ok:,} / {phase.errors}",
        "throughput": f"{rps:,.0f} requests/s ({rps * n:,.0f} items/s)",
        "latency p50 / p95 / p99": f"{phase.percentile(50):.2f} / {phase.percentile(95):.2f} / "
        f"{phase.percentile(99):.2f} ms",
        "latency mean / max": f"{statistics.fmean(phase.latencies) * 1000:.2f} / "
        f"{max(phase.latencies) * 1000:.2f} ms",
        "server CPU per request": f"{phase.server_cpu_seconds / max(1, ok) * 1e6:.0f} us",
        "server RSS before / after": f"{rss[0]:.1f} / {rss[1]:.1f} MiB",
        "reloads (HTTP status)": ", ".join(
            f"{count:,} x {status}" for status, count in sorted(phase.reloads.items())
        )
        or "none",
    }


async def measure(args: argparse.Namespace, model_path: Path, imports: list[str]) -> list[str]:
    model = load(model_path)
    users = model.user_ids_.ids.tolist()
    info = read_info(model_path)
    n = args.n
    rng = random.Random(0)
    singles = [get(f"/recommend?user_id={rng.choice(users)}&n={n}") for _ in range(8192)]
    batches = [
        post("/recommend", {"user_ids": rng.sample(users, args.batch_size), "n": n})
        for _ in range(256)
    ]
    server = Server(model_path, imports, ["--max-batch", str(max(10_000, args.batch_size))])
    try:
        await run_phase(server, "warm-up", singles, args.concurrency, 3, 50_000)
        rss0 = server.rss_mib()
        single = await run_phase(server, "single", singles, args.concurrency, args.duration,
                                 args.max_requests)  # fmt: skip
        rss1 = server.rss_mib()
        reloading = await run_phase(
            server, "reload", singles, args.concurrency, args.duration, args.max_requests,
            args.reload_every,
        )  # fmt: skip
        rss2 = server.rss_mib()
        batch_concurrency = max(1, min(4, args.concurrency))
        batch = await run_phase(server, "batch", batches, batch_concurrency, args.batch_duration,
                                args.max_requests)  # fmt: skip
        rss3 = server.rss_mib()
    finally:
        server.stop()

    single_rps = len(single.latencies) / single.seconds
    batch_ok = len(batch.latencies)
    batch_items = batch_ok * args.batch_size * n / batch.seconds
    name = info.algorithm or info.model_class.rsplit(".", 1)[-1]
    every_ms = args.reload_every * 1000
    first = phase_cells(single, n, (rss0, rss1))
    second = phase_cells(reloading, n, (rss1, rss2))
    return [
        f"## {name}: {info.model}",
        "",
        f"Model file `{model_path.name}`: {info.n_users:,} users x {info.n_items:,} items, "
        f"{info.file_size / 2**20:.1f} MiB. Server: `recsys serve` (one uvicorn process, "
        f"defaults, the model in private memory). Its ready line: `{server.ready_line}`.",
        "",
        f"Load: {args.concurrency} concurrent keep-alive clients, `GET /recommend?user_id="
        f"<random known user>&n={n}`, {single.seconds:.1f} s per phase.",
        "",
        f"| measure | single users | the same, `POST /admin/reload` every {every_ms:.0f} ms |",
        "|---|---:|---:|",
        *[f"| {label} | {first[label]} | {second[label]} |" for label in first],
        "",
        f"Batch: `POST /recommend`, {args.batch_size} users x n={n}, {batch_concurrency} clients, "
        f"{batch.seconds:.1f} s: {batch_ok / batch.seconds:,.1f} requests/s = "
        f"**{batch_items:,.0f} items/s** ({batch_items / max(single_rps * n, 1):.1f}x the "
        f"single-user endpoint), p99 {batch.percentile(99):.1f} ms, {batch.errors} errors; "
        f"RSS after {rss3:.1f} MiB.",
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
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per phase")
    parser.add_argument("--reload-every", type=float, default=0.1, help="seconds (default 0.1)")
    parser.add_argument("--max-requests", type=int, default=2_000_000)
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--batch-duration", type=float, default=10.0)
    parser.add_argument("--output", default="serving_load.md", help="results file name")
    args = parser.parse_args()

    run: Callable[[Any], Any] = asyncio.run
    try:
        import uvloop

        run = uvloop.run
    except ImportError:
        pass
    lines = [
        "# HTTP service under load",
        "",
        "Target: zero errors, p99 under 20 ms at concurrency 32 on this 2-core machine "
        "(the load generator runs on the same cores), RSS stable, and no failed request "
        "while the model is reloaded every 100 ms.",
        "",
    ]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        runs = standins(Path(tmp)) if args.standins else [(args.model, args.imports)]
        for path, imports in runs:
            section = run(measure(args, path, imports))
            print("\n".join(section), flush=True)
            lines += section
    # The machine is shared: its load says how far the numbers are from a quiet one.
    lines += [
        f"Machine load (1-minute average) at the start / end: {load_before:.1f} / "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.",
        "",
    ]
    command = " ".join(["python -m benchmarks.serving_load", *sys.argv[1:]])
    lines += [machine_summary(("recommender-systems", "numpy", "fastapi", "uvicorn", "uvloop")),
              "", f"Command: `{command}`", ""]  # fmt: skip
    print(f"written to {write_result(args.output, chr(10).join(lines))}")


if __name__ == "__main__":
    main()
