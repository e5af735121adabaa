"""Every failure becomes a JSON body ``{"error", "message", "detail"}`` with a 4xx
status; only a bug in the server itself gives a 500. Responses never show the
server's internals: no exception class names, no tracebacks, no paths (the 500's
details go to the server's log)."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from recommender_systems.errors import (
    DataError,
    ModelFileError,
    NotSupportedError,
    ParameterError,
    UnknownItemError,
    UnknownUserError,
)

logger = logging.getLogger("recommender_systems.serving")


class RequestTooLarge(Exception):
    """A batch or body over the server's limits (413)."""


class Unauthorized(Exception):
    """An admin request without the server's admin token (401)."""


# The first matching class wins: more specific classes come first.
_STATUS: tuple[tuple[type[Exception], int, str], ...] = (
    (UnknownItemError, 404, "unknown_item"),
    (UnknownUserError, 404, "unknown_user"),
    (NotSupportedError, 422, "not_supported"),
    (ModelFileError, 409, "reload_failed"),
    (ParameterError, 422, "invalid_parameter"),
    (DataError, 422, "invalid_data"),
    (RequestTooLarge, 413, "too_large"),
    (Unauthorized, 401, "unauthorized"),
)


def error_response(
    status: int,
    code: str,
    message: str,
    detail: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = orjson.dumps({"error": code, "message": message, "detail": detail})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def install(app: FastAPI) -> None:
    """Registers the handlers that turn exceptions into JSON error responses."""

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        content_type = request.headers.get("content-type", "")
        unparsed = any(isinstance(e.get("input"), bytes) for e in errors)
        if content_type and "json" not in content_type and (unparsed or _json_invalid(errors)):
            return error_response(
                415,
                "unsupported_media_type",
                f"send the body as JSON, with Content-Type: application/json (not {content_type})",
            )
        if _json_invalid(errors):
            return error_response(400, "malformed_json", "the request body is not valid JSON")
        if unparsed:
            return error_response(
                400, "malformed_json", "expected a JSON body with Content-Type: application/json"
            )
        message = "; ".join(_describe(e) for e in errors)
        return error_response(422, "invalid_request", message, _jsonable(errors))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    for cls, status, code in _STATUS:
        app.add_exception_handler(cls, _handler(status, code))

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> Response:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "internal server error (see the server log)")


def _handler(status: int, code: str) -> Any:
    headers = {"www-authenticate": "Bearer"} if status == 401 else None

    async def handle(request: Request, exc: Exception) -> Response:
        return error_response(status, code, str(exc), headers=headers)

    return handle


def _json_invalid(errors: Any) -> bool:
    return any(e.get("type") == "json_invalid" for e in errors)


def _describe(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("query", "body"))
    return f"{where or 'request'}: {error.get('msg', 'invalid')}"


def _jsonable(errors: Any) -> Any:
    # Where and what only: the input is the client's own (possibly megabytes), and the
    # context may hold exception objects.
    return [{key: e.get(key) for key in ("loc", "msg", "type")} for e in errors]
