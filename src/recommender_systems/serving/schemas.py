"""Request and response bodies, for validation and the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

Id = StrictInt | StrictStr


class Recommendation(BaseModel):
    """Top-n items for one user, best first (items they interacted with are excluded)."""

    user_id: Id
    items: list[Id]
    scores: list[float]
    known: bool = Field(description="whether the model saw this user in training")


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_ids: list[Id] = Field(description="the users to recommend for")
    n: StrictInt = Field(10, ge=1, description="items per user")


class BatchResponse(BaseModel):
    results: list[Recommendation]


class HistoryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[Id] = Field(description="items a user not in the model interacted with")
    weights: list[float] | None = Field(None, description="one weight (e.g. rating) per item")
    n: StrictInt = Field(10, ge=1, description="how many items")


class HistoryResponse(BaseModel):
    items: list[Id]
    scores: list[float]


class Similar(BaseModel):
    item_id: Id
    items: list[Id]


class Health(BaseModel):
    status: str
    generation: int


class Error(BaseModel):
    """Every error response: a machine-readable code and one readable line."""

    error: str
    message: str
    detail: Any = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Error, "description": what}
    for code, what in {
        400: "malformed request (e.g. invalid JSON)",
        404: "unknown item",
        413: "request too large: a body, a batch or users x n over the server's limits",
        415: "a body that is not JSON",
        422: "invalid parameters, or not supported by this model",
    }.items()
}
#: The admin endpoints' own errors.
ADMIN_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Error, "description": "no admin token, or not the server's"},
    409: {
        "model": Error,
        "description": "the file could not be loaded; the old model keeps serving",
    },
}
