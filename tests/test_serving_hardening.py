"""Issue 11 for the HTTP service, over real HTTP: the served model never depends on
its file, limits count real bytes and real work, admin endpoints need a token, and
responses show no internals."""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from recommender_systems import ALS, MostPopular, ParameterError, Recommender, read_info
from recommender_systems.serving import Settings
from tests.test_serving import serving

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "a-test-admin-token-0123456789"
ADMIN = {"authorization": f"Bearer {TOKEN}"}
READY = re.compile(
    r"^recsys serve: listening on http://127\.0\.0\.1:(\d+): (\S+) \((.+); ([\d,]+) users x "
    r"([\d,]+) items; ([\d.]+) MiB\), loaded in ([\d.]+) s; admin endpoints (on|off)$"
)


@contextlib.contextmanager
def recsys_serve(
    model: Path, *extra: str
) -> Iterator[tuple[httpx.Client, subprocess.Popen[str], str]]:
    """The real ``recsys serve`` process on a port of its choosing (``--port 0``),
    found from the line it logs when ready."""
    command = [sys.executable, "-m", "recommender_systems", "serve", "--model", str(model),
               "--port", "0", *extra]  # fmt: skip
    proc = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    try:
        deadline = time.monotonic() + 60
        line = ""
        while not line.startswith("recsys serve: listening"):
            remaining = deadline - time.monotonic()
            assert remaining > 0 and proc.poll() is None, f"no ready line (got {line!r})"
            if select.select([proc.stderr], [], [], remaining)[0]:
                line = proc.stderr.readline().rstrip("\n")
        found = READY.match(line)
        assert found, line
        with httpx.Client(base_url=f"http://127.0.0.1:{found[1]}", timeout=20) as client:
            yield client, proc, line
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def als(synthetic: pd.DataFrame) -> ALS:
    return ALS(n_factors=8, epochs=3, random_state=0).fit(synthetic)


# ------------------------------------------------- the served model owns its memory
def test_the_server_survives_its_file_being_overwritten_truncated_and_deleted(
    als: ALS, synthetic: pd.DataFrame, tmp_path: Path
) -> None:
    """Before: `cp other.recsys served.recsys` and the next request killed the server
    (Bus error, exit 135): the model was memory-mapped from the file."""
    path = als.save(tmp_path / "served.recsys")
    other = MostPopular().fit(synthetic).save(tmp_path / "other.recsys").read_bytes()
    users = als.user_ids_.ids[:40].tolist()
    with recsys_serve(path, "--admin-token", TOKEN) as (client, proc, line):
        assert "served.recsys (ALS(" in line and "120 users x 80 items" in line
        assert line.endswith("admin endpoints on")
        statuses: list[int] = []
        stop = threading.Event()

        def hammer(offset: int) -> None:
            with httpx.Client(base_url=str(client.base_url), timeout=20) as own:
                i = offset
                while not stop.is_set():
                    user = users[i % len(users)]
                    statuses.append(own.get("/recommend", params={"user_id": user}).status_code)
                    i += 1

        threads = [threading.Thread(target=hammer, args=(k,)) for k in range(3)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(0.3)
            with open(path, "r+b") as f:  # in place, the same inode: what `cp` does
                f.write(other)
                f.truncate()
            time.sleep(0.3)
            assert (
                client.post("/admin/reload", headers=ADMIN)
                .json()["model_class"]
                .endswith("MostPopular")
            )
            time.sleep(0.3)
            os.truncate(path, 100)  # a half-written file
            time.sleep(0.3)
            failed = client.post("/admin/reload", headers=ADMIN)
            assert failed.status_code == 409 and "served.recsys" in failed.json()["message"]
            assert str(tmp_path) not in failed.text
            path.unlink()
            time.sleep(0.3)
            assert client.post("/admin/reload", headers=ADMIN).status_code == 409
            als.save(path)  # deploy again, and reload while the requests keep coming
            for _ in range(5):
                assert client.post("/admin/reload", headers=ADMIN).status_code == 200
            time.sleep(0.3)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
        assert proc.poll() is None, "the server died"
        assert len(statuses) > 50 and set(statuses) == {200}
        health = client.get("/healthz").json()
        assert health["generation"] == 7  # 1 + the 6 reloads that succeeded
        body = client.get("/recommend", params={"user_id": users[0]}).json()
        assert body["items"] == als.recommend(users[0])


def test_the_ready_line_names_the_real_port_model_size_and_load_time(tmp_path: Path) -> None:
    # The `recsys serve` examples of README.md and docs/cli.md, which the docs-truth
    # test cannot run to completion (a server runs until stopped), rest on this test.
    model = MostPopular().fit(pd.DataFrame({"user_id": [1, 2], "item_id": [3, 4]}))
    path = model.save(tmp_path / "pop.recsys")
    with recsys_serve(path) as (client, _, line):
        found = READY.match(line)
        assert found is not None
        port, name, repr_, n_users, n_items, mib, seconds, admin = found.groups()
        assert int(port) > 0 and client.get("/healthz").status_code == 200
        assert (name, repr_, n_users, n_items) == ("pop.recsys", "MostPopular()", "2", "2")
        assert float(mib) == pytest.approx(path.stat().st_size / 2**20, abs=0.05)
        assert 0 <= float(seconds) < 30 and admin == "off"


# ------------------------------------------------------------- limits on real bytes
@pytest.fixture(scope="module")
def limited(als: ALS, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    path = als.save(tmp_path_factory.mktemp("limits") / "als.recsys")
    settings = Settings(path, max_n=100, max_batch=500, max_results=1000, max_body_bytes=20_000)
    with serving(settings) as client:
        yield client


def test_a_body_announced_over_the_limit_is_refused_unread(limited: httpx.Client) -> None:
    body = b'{"user_ids": [' + b"1," * 15_000 + b"1]}"
    response = limited.post(
        "/recommend", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413 and response.json()["error"] == "too_large"
    assert "at most 20000 bytes" in response.json()["message"]
    assert response.headers["connection"] == "close"


def raw_request(client: httpx.Client, head: bytes, body_chunks: list[bytes]) -> bytes:
    """Sends a request over a plain socket and returns what the server answered,
    without ever finishing the body."""
    url = client.base_url
    assert url.port is not None
    with socket.create_connection((url.host, url.port), timeout=10) as sock:
        sock.sendall(head)
        with contextlib.suppress(OSError):  # the server may close while we still send
            for chunk in body_chunks:
                sock.sendall(chunk)
        answer = b""
        with contextlib.suppress(OSError):
            while b"\r\n\r\n" not in answer:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        return answer


def chunked(payload: bytes) -> bytes:
    return f"{len(payload):x}\r\n".encode() + payload + b"\r\n"


def test_a_chunked_body_is_counted_while_it_is_read(limited: httpx.Client) -> None:
    """Before: a chunked body was read whole (105 MB: RSS 287 -> 1,110 MB) before the
    413. Here the body is never finished: the 413 can only come from counting."""
    head = (
        b"POST /recommend HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n"
        b"transfer-encoding: chunked\r\n\r\n"
    )
    chunks = [chunked(b"[" + b"1," * 2000)] * 6  # 24 kB, over the 20 kB limit, no end chunk
    answer = raw_request(limited, head, chunks)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"connection: close" in answer.lower()


def test_a_chunked_body_within_the_limit_is_served(limited: httpx.Client, als: ALS) -> None:
    users = als.user_ids_.ids[:3].tolist()

    def parts() -> Iterator[bytes]:  # httpx sends an iterator with chunked encoding
        yield b'{"user_ids": '
        yield str(users).encode()
        yield b', "n": 2}'

    response = limited.post(
        "/recommend", content=parts(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert [r["items"] for r in response.json()["results"]] == als.recommend_batch(
        users, 2
    ).to_lists()


def test_the_work_of_one_request_is_capped(limited: httpx.Client, als: ALS) -> None:
    """Before: 10,000 users x n=1000 built a 244 MB response within the default limits."""
    users = als.user_ids_.ids[:100].tolist()
    response = limited.post("/recommend", json={"user_ids": users, "n": 11})
    assert response.status_code == 413
    assert response.json()["message"] == (
        "users x n: at most 1000 recommendations per request, received 100 x 11 = 1100; "
        "ask for fewer users or a smaller n"
    )
    assert limited.post("/recommend", json={"user_ids": users, "n": 10}).status_code == 200


def test_the_default_limits_refuse_the_244_mb_request(als: ALS, tmp_path: Path) -> None:
    settings = Settings(als.save(tmp_path / "m"))
    assert settings.max_batch * settings.max_n > settings.max_results == 100_000
    with serving(settings) as client:
        users = [int(u) for u in np.resize(als.user_ids_.ids, 10_000)]
        response = client.post("/recommend", json={"user_ids": users, "n": 1000})
        assert response.status_code == 413 and response.json()["error"] == "too_large"


# ------------------------------------------------------------------- admin endpoints
def test_admin_endpoints_are_off_without_a_token(limited: httpx.Client) -> None:
    assert limited.post("/admin/reload").status_code == 404
    assert limited.get("/info").json()["server"]["admin"] is False
    assert "/admin/reload" not in limited.get("/openapi.json").json()["paths"]


def test_admin_endpoints_need_the_token(als: ALS, tmp_path: Path) -> None:
    with serving(Settings(als.save(tmp_path / "m"), admin_token=TOKEN)) as client:
        for headers in (
            {},
            {"authorization": "Bearer not-the-token"},
            {"authorization": f"Basic {TOKEN}"},
            {"authorization": f"Bearer {TOKEN}x"},
        ):
            response = client.post("/admin/reload", headers=headers)
            assert response.status_code == 401, headers
            assert response.json()["error"] == "unauthorized"
            assert response.headers["www-authenticate"] == "Bearer"
        assert client.get("/healthz").json()["generation"] == 1
        assert client.post("/admin/reload", headers=ADMIN).status_code == 200
        assert client.get("/healthz").json()["generation"] == 2


@pytest.mark.parametrize("token", ["", "short", 12345])
def test_a_guessable_admin_token_is_refused(token: object, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="admin token: expected a string of at least 16"):
        Settings(tmp_path / "m", admin_token=token)  # type: ignore[arg-type]


def test_recsys_serve_reads_the_token_from_the_environment(tmp_path: Path) -> None:
    path = MostPopular().fit(pd.DataFrame({"user_id": [1], "item_id": [2]})).save(tmp_path / "m")
    env = {**os.environ, "RECSYS_ADMIN_TOKEN": TOKEN}
    command = [sys.executable, "-m", "recommender_systems", "serve", "--model", str(path),
               "--port", "0"]  # fmt: skip
    proc = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stderr is not None
    try:
        line = proc.stderr.readline()
        assert line.rstrip().endswith("admin endpoints on"), line
        port = READY.match(line.rstrip())
        assert port is not None
        with httpx.Client(base_url=f"http://127.0.0.1:{port[1]}", timeout=10) as client:
            assert client.post("/admin/reload", headers=ADMIN).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)


# ------------------------------------------------------------- no internals shown
class Broken(Recommender):
    """A model with a bug: scoring fails with an internal error."""

    def __init__(self) -> None:
        pass

    def _fit(self, data: object) -> None:
        self.ready_ = True

    def _scores(self, users: np.ndarray) -> np.ndarray:
        raise RuntimeError("secret detail in /srv/private/model.py")


def test_a_server_bug_shows_no_exception_class_or_path(tmp_path: Path) -> None:
    path = Broken().fit(pd.DataFrame({"user_id": [1], "item_id": [2]})).save(tmp_path / "b")
    with serving(Settings(path)) as client:
        response = client.get("/recommend", params={"user_id": 1})
        assert response.status_code == 500
        assert response.json() == {
            "error": "internal_error",
            "message": "internal server error (see the server log)",
            "detail": None,
        }
        assert "RuntimeError" not in response.text and "/srv" not in response.text


def test_validation_errors_do_not_echo_the_request(limited: httpx.Client) -> None:
    response = limited.post("/recommend", json={"user_ids": [1.5] * 400})
    assert response.status_code == 422
    assert all(set(e) == {"loc", "msg", "type"} for e in response.json()["detail"])


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/recommend", {"params": {"user_id": str(2**70)}}),
        ("GET", "/recommend", {"params": {"user_id": str(2**63)}}),
        ("POST", "/recommend", {"json": {"user_ids": [1, 2**70]}}),
        ("POST", "/recommend/history", {"json": {"items": [2**64]}}),
        ("GET", "/similar", {"params": {"item_id": str(-(2**63) - 1)}}),
    ],
)
def test_ids_beyond_int64_are_a_422_not_a_500(
    limited: httpx.Client, method: str, path: str, kwargs: dict[str, object]
) -> None:
    """Before: a bare OverflowError, a 500 and a reset connection."""
    response = limited.request(method, path, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_data"


def test_info_shows_the_file_name_not_its_path(limited: httpx.Client) -> None:
    info = limited.get("/info").json()
    assert info["path"] == "als.recsys" and "/" not in info["path"]


# ------------------------------------------------------------------ offline docs
@pytest.mark.parametrize(
    ("page", "asset"), [("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")]
)
def test_docs_pages_load_their_assets_from_the_server(
    limited: httpx.Client, page: str, asset: str
) -> None:
    """Before: /docs loaded Swagger UI from a CDN, so it was blank offline."""
    html = limited.get(page).text
    assert f"/static-offline-docs/{asset}" in html
    assert "http://" not in html and "https://" not in html  # nothing from elsewhere
    script = limited.get(f"/static-offline-docs/{asset}")
    assert script.status_code == 200 and len(script.content) > 100_000


def test_read_info_still_gives_the_full_path(
    limited: httpx.Client, tmp_path: Path, als: ALS
) -> None:
    path = als.save(tmp_path / "x.recsys")
    assert read_info(path).path == str(path)  # the Python API is not a network boundary
