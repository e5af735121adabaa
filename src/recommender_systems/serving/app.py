"""The FastAPI application: routes over the model a :class:`ModelHolder` serves.

Single-user requests run on the event loop (they take well under a millisecond;
a hop to a worker thread would cost more than it saves); batch requests run in the
thread pool so that one large batch never stalls the others. Responses are
serialised with orjson straight from NumPy arrays.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import hmac
import logging
import signal
import socket
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from fastapi import FastAPI, Request
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from recommender_systems.errors import ModelFileError, ParameterError
from recommender_systems.query import UnknownUsers
from recommender_systems.recommendations import Recommendations
from recommender_systems.serving import errors
from recommender_systems.serving.limits import BodyLimit, check_n, check_results, check_size
from recommender_systems.serving.schemas import (
    ADMIN_RESPONSES,
    ERROR_RESPONSES,
    BatchRequest,
    BatchResponse,
    Health,
    HistoryRequest,
    HistoryResponse,
    Recommendation,
    Similar,
)
from recommender_systems.serving.state import ModelHolder, Served, Settings

logger = logging.getLogger("recommender_systems.serving")
_NUMPY = orjson.OPT_SERIALIZE_NUMPY


def create_app(settings: Settings, holder: ModelHolder | None = None) -> FastAPI:
    """The service for ``settings.model_path`` (loaded now, so a bad file fails fast)."""
    holder = holder or ModelHolder(settings.model_path)
    from recommender_systems import __version__

    # Swagger UI and ReDoc assets come from the fastapi-offline package, not a CDN,
    # so /docs and /redoc work on a machine without internet access.
    app = FastAPIOffline(
        title="recommender_systems",
        version=__version__,
        description="Recommendations from a saved model. Ids are the model's own (integers "
        "or strings); items a user interacted with are never recommended to them.",
        lifespan=_lifespan(holder),
    )
    app.state.holder = holder
    app.state.settings = settings
    errors.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    _recommend_routes(app, holder, settings)
    _item_routes(app, holder, settings)
    _status_routes(app, holder, settings)
    if settings.admin_token is not None:
        _admin_routes(app, holder, settings.admin_token)
    return app


def _recommend_routes(app: FastAPI, holder: ModelHolder, settings: Settings) -> None:
    """``GET /recommend`` (one user), ``POST /recommend`` (many), ``POST /recommend/history``."""

    # The GET endpoints read their query themselves: FastAPI's parameter machinery
    # costs more than the recommendation itself (see docs/decisions); the OpenAPI
    # schema still documents the parameters.
    @app.get(
        "/recommend",
        response_model=Recommendation,
        responses=ERROR_RESPONSES,
        openapi_extra=_query_schema("user_id", "the user's id", settings.max_n),
    )
    async def recommend(request: Request) -> Response:
        """Top-n items for one user. A user the model never saw gets what the one
        unknown-user rule says (the model's own, or the server's --unknown-users; see
        /info)."""
        served = holder.current
        text, n = _read_query(request, "user_id", settings.max_n)
        user = served.model.user_ids_.coerce(text, name="user_id")
        policy = _unknown_users(served, settings)
        recs = served.model.recommend_batch(_one(user), n, unknown=policy)
        return _json(_row(recs, 0, user, served), served)

    @app.post("/recommend", response_model=BatchResponse, responses=ERROR_RESPONSES)
    async def recommend_many(body: BatchRequest) -> Response:
        """Top-n items for many users at once (the fast path for bulk work)."""
        check_size(len(body.user_ids), settings.max_batch, "user_ids")
        check_n(body.n, settings.max_n)
        check_results(len(body.user_ids), body.n, settings.max_results)
        served = holder.current
        policy = _unknown_users(served, settings)
        return await run_in_threadpool(_batch, served, body.user_ids, body.n, policy)

    @app.post("/recommend/history", response_model=HistoryResponse, responses=ERROR_RESPONSES)
    async def recommend_history(body: HistoryRequest) -> Response:
        """Top-n items for a user not in the model, from the items they interacted with
        (fold-in, for models that support it; 422 ``not_supported`` otherwise). Unknown
        item ids are ignored; a history with no known item is a 422."""
        check_size(len(body.items), settings.max_batch, "items")
        check_n(body.n, settings.max_n)
        served = holder.current
        model = served.model
        history = [model.item_ids_.coerce(item, name="item_id") for item in body.items]
        weights = None if body.weights is None else [body.weights]
        recs = model.recommend_from_histories([history], body.n, weights=weights)
        mask = recs.mask[0]
        payload = {"items": _ids(recs.items[0][mask]), "scores": recs.scores[0][mask]}
        return _json(payload, served)


def _item_routes(app: FastAPI, holder: ModelHolder, settings: Settings) -> None:
    """``GET /similar``."""

    @app.get(
        "/similar",
        response_model=Similar,
        responses=ERROR_RESPONSES,
        openapi_extra=_query_schema("item_id", "the item's id", settings.max_n),
    )
    async def similar(request: Request) -> Response:
        """The items most similar to an item (for models with item vectors or similarities)."""
        served = holder.current
        text, n = _read_query(request, "item_id", settings.max_n)
        item = served.model.item_ids_.coerce(text, name="item_id")
        return _json({"item_id": item, "items": served.model.similar_items(item, n)}, served)


def _unknown_users(served: Served, settings: Settings) -> UnknownUsers:
    """The policy for users unseen in training: the server's, else the model's own."""
    return settings.unknown_users or served.model.unknown_users


def _status_routes(app: FastAPI, holder: ModelHolder, settings: Settings) -> None:
    """``GET /healthz`` and ``GET /info``."""

    @app.get("/healthz", response_model=Health)
    async def healthz() -> Response:
        """Liveness: the server is up and has a model."""
        served = holder.current
        return _json({"status": "ok", "generation": served.generation}, served)

    @app.get("/info")
    async def info() -> Response:
        """The model being served (from its file), and the server's settings."""
        served = holder.current
        limits = {
            "unknown_users": _unknown_users(served, settings),
            "max_n": settings.max_n,
            "max_batch": settings.max_batch,
            "max_results": settings.max_results,
            "max_body_bytes": settings.max_body_bytes,
            "admin": settings.admin_token is not None,
        }
        return _json({**served.describe(), "server": limits}, served)


def _admin_routes(app: FastAPI, holder: ModelHolder, token: str) -> None:
    """``POST /admin/reload``, behind the server's admin token."""
    expected = hashlib.sha256(token.encode()).digest()

    def authorize(request: Request) -> None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        # Digests of equal length, compared in constant time: the time taken says
        # nothing about the token.
        digest = hashlib.sha256(given.strip().encode()).digest()
        if scheme.lower() != "bearer" or not hmac.compare_digest(digest, expected):
            raise errors.Unauthorized(
                "admin endpoints need the token the server was started with "
                "(Authorization: Bearer TOKEN)"
            )

    @app.post("/admin/reload", responses=ADMIN_RESPONSES)
    async def reload(request: Request) -> Response:
        """Loads the model file again (e.g. after it was replaced) and serves it to new
        requests; requests in flight finish on the old model. Needs ``Authorization:
        Bearer TOKEN`` with the server's admin token."""
        authorize(request)
        served = await run_in_threadpool(holder.reload)
        return _json(served.describe(), served)


def run(
    settings: Settings, *, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info"
) -> None:
    """Serves ``settings.model_path`` with uvicorn until interrupted (SIGINT/SIGTERM).

    Logs one line when it is ready: the URL it listens on (the real port when
    ``port`` is 0), the model, its size and how long it took to load. ``log_level``
    applies to the service's own messages; uvicorn's own start-up messages show
    only at ``debug`` or ``trace``.
    """
    import uvicorn

    holder = ModelHolder(settings.model_path)
    app = create_app(settings, holder)
    # Bound here, so that a busy port is an OSError the CLI reports in one line, and
    # listening already, so that the logged URL answers as soon as it is printed.
    sock = _listen(host, port)
    _log_to_stderr(log_level)
    logger.info(_ready_line(sock, holder.current, settings))
    quiet = log_level.lower() not in ("debug", "trace")
    config = uvicorn.Config(
        app,
        log_level="warning" if quiet else log_level,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run(sockets=[sock])


def _ready_line(sock: socket.socket, served: Served, settings: Settings) -> str:
    host, port = sock.getsockname()[:2]
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    info = served.info
    return (
        f"listening on {url}: {Path(info.path).name} ({info.model}; {info.n_users:,} users x "
        f"{info.n_items:,} items; {info.file_size / 2**20:.1f} MiB), loaded in "
        f"{served.load_seconds:.2f} s; admin endpoints "
        f"{'on' if settings.admin_token is not None else 'off'}"
    )


def _log_to_stderr(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("recsys serve: %(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper() if level.lower() != "trace" else logging.DEBUG)
    logger.propagate = False


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


# ---------------------------------------------------------------- helpers
def _lifespan(
    holder: ModelHolder,
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        pending: set[asyncio.Future[Any]] = set()

        def on_hangup() -> None:
            task = asyncio.ensure_future(_reload_logged(holder))
            pending.add(task)
            task.add_done_callback(pending.discard)

        # Signals reach only the main thread (a server run in a thread has no SIGHUP).
        hangup = hasattr(signal, "SIGHUP") and threading.current_thread() is threading.main_thread()
        if hangup:
            loop.add_signal_handler(signal.SIGHUP, on_hangup)
        # What exists now (the model, the libraries) lives as long as the server: keeping
        # it out of the garbage collector's scans shortens the pauses that set p99.
        gc.freeze()
        try:
            yield
        finally:
            if hangup:
                loop.remove_signal_handler(signal.SIGHUP)

    return lifespan


async def _reload_logged(holder: ModelHolder) -> None:
    try:
        served = await asyncio.to_thread(holder.reload)
    except ModelFileError as exc:
        logger.error("reload failed, the old model keeps serving: %s", exc)
    else:
        logger.warning("reloaded %s (generation %d)", holder.path, served.generation)


def _one(user: Any) -> np.ndarray:
    return np.asarray([user], dtype=np.int64 if isinstance(user, int) else str)


def _ids(values: np.ndarray) -> Any:
    # orjson writes int and float arrays itself; it does not take NumPy strings.
    return values if values.dtype.kind in "iu" else values.tolist()


def _row(recs: Recommendations, i: int, user: Any, served: Served) -> dict[str, Any]:
    mask = recs.mask[i]
    known = bool(served.model.user_ids_.index_of(user, missing="ignore") >= 0)
    return {"user_id": user, "items": _ids(recs.items[i][mask]), "scores": recs.scores[i][mask],
            "known": known}  # fmt: skip


def _batch(served: Served, user_ids: list[Any], n: int, policy: UnknownUsers) -> Response:
    model = served.model
    users = [model.user_ids_.coerce(u, name="user_id") for u in user_ids]
    array = np.asarray(users, dtype=np.int64 if model.user_ids_.kind == "int" else str)
    recs = model.recommend_batch(array, n, unknown=policy)
    known = model.user_ids_.to_index(array, missing="ignore") >= 0
    counts = recs.mask.sum(axis=1).tolist()
    items = recs.items.tolist()
    scores = recs.scores.tolist()
    results = [
        {"user_id": u, "items": items[i][:c], "scores": scores[i][:c], "known": bool(known[i])}
        for i, (u, c) in enumerate(zip(users, counts, strict=True))
    ]
    return _json({"results": results}, served)


def _json(payload: Any, served: Served) -> Response:
    return Response(
        orjson.dumps(payload, option=_NUMPY),
        media_type="application/json",
        headers={"x-model-tag": served.tag},
    )


def _read_query(request: Request, id_name: str, max_n: int) -> tuple[str, int]:
    params = request.query_params
    text = params.get(id_name)
    if not text:
        raise ParameterError(f"{id_name}: expected an id in the query, received none")
    raw_n = params.get("n")
    if raw_n is None:
        return text, min(10, max_n)
    try:
        n = int(raw_n)
    except ValueError:
        n = 0
    if not 1 <= n <= max_n:
        raise ParameterError(f"n: expected an integer from 1 to {max_n}, received {raw_n!r}")
    return text, n


def _query_schema(id_name: str, description: str, max_n: int) -> dict[str, Any]:
    id_schema = {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    n_schema = {"type": "integer", "minimum": 1, "maximum": max_n, "default": 10}
    return {
        "parameters": [
            {"name": id_name, "in": "query", "required": True, "schema": id_schema,
             "description": description},
            {"name": "n", "in": "query", "required": False, "schema": n_schema,
             "description": "how many items"},
        ]
    }  # fmt: skip
