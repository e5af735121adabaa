"""The HTTP service, tested over real HTTP: uvicorn serves on a loopback port (in a
thread, or as the real ``recsys serve`` process) and httpx talks to it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import uvicorn

from recommender_systems import MeanRating, MostPopular, Recommender, read_info
from recommender_systems.serving import Settings, create_app
from tests.toy_models import RandomFactors, SlowModel, ToyHybrid

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "a-test-admin-token-0123456789"
ADMIN = {"authorization": f"Bearer {TOKEN}"}


@contextlib.contextmanager
def serving(settings: Settings) -> Iterator[httpx.Client]:
    """The real server on a free loopback port, in a thread, for the ``with`` block."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings), log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.01)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=20) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


@pytest.fixture(scope="module")
def factors(synthetic: pd.DataFrame) -> RandomFactors:
    return RandomFactors(n_factors=8).fit(synthetic)


@pytest.fixture(scope="module")
def factors_file(factors: RandomFactors, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return factors.save(tmp_path_factory.mktemp("serve") / "factors.recsys")


@pytest.fixture(scope="module")
def client(factors_file: Path) -> Iterator[httpx.Client]:
    settings = Settings(
        factors_file, max_n=50, max_batch=100, max_body_bytes=100_000, unknown_users="popular"
    )
    with serving(settings) as c:
        yield c


def as_float32(values: list[float]) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def test_recommend_excludes_seen_items_and_matches_the_model(
    client: httpx.Client, factors: RandomFactors, synthetic: pd.DataFrame
) -> None:
    for user in synthetic["user_id"].unique()[:10].tolist():
        response = client.get("/recommend", params={"user_id": user, "n": 7})
        assert response.status_code == 200
        body = response.json()
        expected = factors.recommend_batch([user], 7)
        assert body["user_id"] == user and body["known"] is True
        assert body["items"] == expected.to_lists()[0]
        np.testing.assert_array_equal(as_float32(body["scores"]), expected.scores[0])
        seen = set(synthetic.loc[synthetic["user_id"] == user, "item_id"])
        assert not seen & set(body["items"])


def test_unknown_user_gets_the_policy_chosen_at_start_up(
    client: httpx.Client, factors: RandomFactors, factors_file: Path
) -> None:
    body = client.get("/recommend", params={"user_id": 999_999, "n": 5}).json()
    assert body["known"] is False
    assert body["items"] == factors.recommend_batch([999_999], 5, unknown="popular").to_lists()[0]
    # Without a choice at start-up, the model's own rule (a personalised model: empty).
    with serving(Settings(factors_file)) as own:
        body = own.get("/recommend", params={"user_id": 999_999}).json()
        assert body == {"user_id": 999_999, "items": [], "scores": [], "known": False}
        info = own.get("/info").json()
        assert info["server"]["unknown_users"] == info["unknown_users"] == "empty"
    with serving(Settings(factors_file, unknown_users="raise")) as strict:
        response = strict.get("/recommend", params={"user_id": 999_999})
        assert response.status_code == 404 and response.json()["error"] == "unknown_user"


def test_string_ids(tmp_path: Path, tiny: pd.DataFrame) -> None:
    model = MostPopular().fit(tiny.astype({"item_id": str}))
    with serving(Settings(model.save(tmp_path / "m"))) as c:
        body = c.get("/recommend", params={"user_id": "ann", "n": 5}).json()
        assert body["items"] == model.recommend("ann", 5) and body["user_id"] == "ann"
        assert c.post("/recommend", json={"user_ids": ["bob", 42]}).json()["results"][1] == {
            "user_id": "42",
            "items": model.recommend_batch(["42"], 10).to_lists()[0],
            "scores": model.recommend_batch(["42"], 10).scores[0].tolist(),
            "known": False,
        }


def test_batch_matches_the_model(
    client: httpx.Client, factors: RandomFactors, synthetic: pd.DataFrame
) -> None:
    users = [*synthetic["user_id"].unique()[:30].tolist(), 123_456]
    response = client.post("/recommend", json={"user_ids": users, "n": 4})
    assert response.status_code == 200
    results = response.json()["results"]
    expected = factors.recommend_batch(users, 4, unknown="popular")
    assert [r["user_id"] for r in results] == users
    assert [r["items"] for r in results] == expected.to_lists()
    assert [r["known"] for r in results] == [True] * 30 + [False]
    np.testing.assert_array_equal(as_float32([s for r in results for s in r["scores"]]),
                                  expected.scores[expected.mask])  # fmt: skip


def test_history_fold_in(client: httpx.Client, factors: RandomFactors) -> None:
    items = factors.item_ids_.ids[:5].tolist()
    body = client.post("/recommend/history", json={"items": [*items, 10**9], "n": 6}).json()
    assert body["items"] == factors.recommend_from_history(items, 6)
    assert not set(body["items"]) & set(items) and len(body["scores"]) == 6
    weighted = client.post(
        "/recommend/history", json={"items": items, "weights": [5, 1, 1, 1, 1], "n": 6}
    ).json()
    assert weighted["items"] == factors.recommend_from_history(items, 6, weights=[5, 1, 1, 1, 1])


def test_similar_items(client: httpx.Client, factors: RandomFactors) -> None:
    item = factors.item_ids_.ids[3].item()
    body = client.get("/similar", params={"item_id": item, "n": 5}).json()
    assert body == {"item_id": item, "items": factors.similar_items(item, 5)}


def test_health_info_and_openapi(client: httpx.Client, factors_file: Path) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "generation": 1}
    info = client.get("/info").json()
    assert info["model_class"] == "tests.toy_models.RandomFactors"
    assert info["header_sha256"] == read_info(factors_file).header_sha256
    assert info["server"] == {
        "unknown_users": "popular",
        "max_n": 50,
        "max_batch": 100,
        "max_results": 100_000,
        "max_body_bytes": 100_000,
        "admin": False,
    }
    assert info["path"] == "factors.recsys"  # the file's name, never where it lives
    schema = client.get("/openapi.json").json()
    assert {"/recommend", "/recommend/history", "/similar", "/healthz", "/info"} <= set(
        schema["paths"]
    )
    assert {"get", "post"} <= set(schema["paths"]["/recommend"])
    params = {p["name"]: p for p in schema["paths"]["/recommend"]["get"]["parameters"]}
    assert params["user_id"]["required"] and params["n"]["schema"]["maximum"] == 50
    assert client.get("/docs").status_code == 200


JSON = {"content-type": "application/json"}
BAD_REQUESTS: list[tuple[str, str, dict[str, Any], int, str]] = [
    ("GET", "/recommend", {"params": {}}, 422, "invalid_parameter"),
    ("GET", "/recommend", {"params": {"user_id": ""}}, 422, "invalid_parameter"),
    ("GET", "/recommend", {"params": {"user_id": 1, "n": 0}}, 422, "invalid_parameter"),
    ("GET", "/recommend", {"params": {"user_id": 1, "n": -3}}, 422, "invalid_parameter"),
    ("GET", "/recommend", {"params": {"user_id": 1, "n": 51}}, 422, "invalid_parameter"),
    ("GET", "/recommend", {"params": {"user_id": 1, "n": "ten"}}, 422, "invalid_parameter"),
    ("GET", "/recommend", {"params": {"user_id": 1, "n": ""}}, 422, "invalid_parameter"),
    ("GET", "/recommend", {"params": {"user_id": "abc"}}, 422, "invalid_data"),
    ("GET", "/similar", {"params": {"item_id": 10**9}}, 404, "unknown_item"),
    ("GET", "/similar", {"params": {}}, 422, "invalid_parameter"),
    ("GET", "/similar", {"params": {"item_id": 1, "n": 0}}, 422, "invalid_parameter"),
    (
        "POST",
        "/recommend",
        {"content": b'{"user_ids": [1,', "headers": JSON},
        400,
        "malformed_json",
    ),
    ("POST", "/recommend", {"content": b"{}", "headers": JSON}, 422, "invalid_request"),
    ("POST", "/recommend", {"content": b'{"user_ids": [1]}'}, 400, "malformed_json"),
    ("POST", "/recommend", {"json": {"user_ids": [1], "n": 0}}, 422, "invalid_request"),
    ("POST", "/recommend", {"json": {"user_ids": [1], "n": 51}}, 422, "invalid_parameter"),
    ("POST", "/recommend", {"json": {"user_ids": [1.5]}}, 422, "invalid_request"),
    ("POST", "/recommend", {"json": {"user_ids": [None]}}, 422, "invalid_request"),
    ("POST", "/recommend", {"json": {"user_ids": ["x"]}}, 422, "invalid_data"),
    ("POST", "/recommend", {"json": {"user_ids": [1], "extra": 1}}, 422, "invalid_request"),
    ("POST", "/recommend", {"json": {"user_ids": list(range(101))}}, 413, "too_large"),
    ("POST", "/recommend", {"json": {"user_ids": [1] * 30_000}}, 413, "too_large"),
    ("POST", "/recommend", {"json": [1, 2]}, 422, "invalid_request"),
    ("POST", "/recommend", {"data": {"user_ids": "1"}}, 415, "unsupported_media_type"),
    ("POST", "/recommend/history", {"json": {"items": []}}, 422, "invalid_data"),
    ("POST", "/recommend/history", {"json": {"items": [10**9]}}, 422, "invalid_data"),
    ("POST", "/recommend/history", {"json": {"items": [1], "weights": []}}, 422, "invalid_data"),
    ("POST", "/recommend/history", {"content": b"nope", "headers": JSON}, 400, "malformed_json"),
    ("POST", "/recommend/history", {"content": b"nope"}, 400, "malformed_json"),
    ("GET", "/nowhere", {}, 404, "not_found"),
    ("DELETE", "/recommend", {}, 405, "method_not_allowed"),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "code"), BAD_REQUESTS)
def test_bad_requests_get_a_4xx_with_a_json_error(
    client: httpx.Client, method: str, path: str, kwargs: dict[str, Any], status: int, code: str
) -> None:
    response = client.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code and body["message"]


def test_models_without_fold_in_or_similarities_say_so(tmp_path: Path, tiny: pd.DataFrame) -> None:
    # Every built-in model folds in: a custom model without fold-in or similarities.
    with serving(Settings(ToyHybrid().fit(tiny).save(tmp_path / "p"))) as c:
        response = c.post("/recommend/history", json={"items": [1, 2]})
        assert response.status_code == 422 and response.json()["error"] == "not_supported"
        response = c.get("/similar", params={"item_id": 1})
        assert response.status_code == 422 and "no item similarities" in response.json()["message"]


# ------------------------------------------------------------------ reloading
def test_requests_in_flight_finish_on_the_old_model(tmp_path: Path, tiny: pd.DataFrame) -> None:
    path = tmp_path / "model.recsys"
    SlowModel(delay=1.0).fit(tiny).save(path)
    old_tag = read_info(path).header_sha256[:16]
    with serving(Settings(path, admin_token=TOKEN)) as c, ThreadPoolExecutor(4) as pool:
        slow = [pool.submit(c.post, "/recommend", json={"user_ids": ["dan"], "n": 2})
                for _ in range(3)]  # fmt: skip
        time.sleep(0.3)  # the slow requests are now in flight
        MeanRating(min_ratings=1).fit(tiny).save(path)
        new_tag = read_info(path).header_sha256[:16]
        reloaded = c.post("/admin/reload", headers=ADMIN)
        assert reloaded.status_code == 200 and reloaded.json()["generation"] == 2
        assert not any(f.done() for f in slow), "reload must not wait for requests in flight"
        for future in slow:
            response = future.result()
            assert response.status_code == 200 and response.headers["x-model-tag"] == old_tag
        fresh = c.get("/recommend", params={"user_id": "dan"})
        assert fresh.headers["x-model-tag"] == new_tag
        assert fresh.json()["items"] == MeanRating(min_ratings=1).fit(tiny).recommend("dan")
        assert c.get("/info").json()["model_class"].endswith("MeanRating")


def test_a_bad_file_on_reload_keeps_the_old_model(tmp_path: Path, tiny: pd.DataFrame) -> None:
    path = MostPopular().fit(tiny).save(tmp_path / "m")
    with serving(Settings(path, admin_token=TOKEN)) as c:
        path.write_bytes(path.read_bytes()[:-10])
        response = c.post("/admin/reload", headers=ADMIN)
        assert response.status_code == 409 and response.json()["error"] == "reload_failed"
        assert "truncated" in response.json()["message"]
        assert str(tmp_path) not in response.text  # the file's name only
        assert c.get("/recommend", params={"user_id": "ann"}).status_code == 200
        assert c.get("/healthz").json()["generation"] == 1


def test_no_request_fails_while_reloading(tmp_path: Path, synthetic: pd.DataFrame) -> None:
    path = tmp_path / "m"
    models: list[Recommender] = [MostPopular().fit(synthetic), RandomFactors(4).fit(synthetic)]
    models[0].save(path)
    users = synthetic["user_id"].unique()[:50].tolist()
    with serving(Settings(path, admin_token=TOKEN)) as c:
        stop = time.monotonic() + 3

        def hammer(offset: int) -> list[int]:
            statuses: list[int] = []
            i = offset
            while time.monotonic() < stop and len(statuses) < 2000:
                user = users[i % len(users)]
                statuses.append(c.get("/recommend", params={"user_id": user}).status_code)
                i += 1
            return statuses

        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(hammer, k) for k in range(4)]
            for k in range(10):
                models[k % 2].save(path)
                assert c.post("/admin/reload", headers=ADMIN).status_code == 200
                time.sleep(0.05)
            statuses = [s for f in futures for s in f.result()]
    assert statuses and set(statuses) == {200}


def test_recsys_serve_process_reloads_on_sighup(tmp_path: Path, tiny: pd.DataFrame) -> None:
    path = MostPopular().fit(tiny).save(tmp_path / "m.recsys")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    command = [sys.executable, "-m", "recommender_systems", "serve", "--model", str(path),
               "--port", str(port), "--log-level", "warning"]  # fmt: skip
    proc = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
            deadline = time.monotonic() + 30
            while True:
                try:
                    c.get("/healthz")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline and proc.poll() is None, "no server"
                    time.sleep(0.1)
            assert c.get("/recommend", params={"user_id": "ann"}).json()["items"] == [4, 5]
            MeanRating(min_ratings=1).fit(tiny).save(path)
            proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while c.get("/healthz").json()["generation"] != 2:
                assert time.monotonic() < deadline, "SIGHUP did not reload"
                time.sleep(0.05)
            assert c.get("/info").json()["model_class"].endswith("MeanRating")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) in (0, -signal.SIGTERM)  # uvicorn re-raises SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_recsys_serve_bad_model_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.recsys"
    bad.write_text("not a model")
    proc = subprocess.run(
        [sys.executable, "-m", "recommender_systems", "serve", "--model", str(bad)],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ}, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("recsys: error:") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_recsys_serve_on_a_busy_port_is_one_line(tmp_path: Path, tiny: pd.DataFrame) -> None:
    path = MostPopular().fit(tiny).save(tmp_path / "m")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        proc = subprocess.run(
            [sys.executable, "-m", "recommender_systems", "serve", "--model", str(path),
             "--port", port],
            capture_output=True, text=True, cwd=ROOT, timeout=60,
        )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"recsys: error: cannot listen on 127.0.0.1:{port}: " + (
        "Address already in use"
    )
