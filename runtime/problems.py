"""RFC 9457 problem+json responses and the exception handlers that produce them."""

import json
import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import psycopg
from clickhouse_driver import errors as clickhouse_errors
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pymongo import errors as mongo_errors
from redis import exceptions as redis_errors
from starlette.exceptions import HTTPException as StarletteHTTPException

from schemas.api import FieldError, Problem

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger(__name__)
# A store that cannot be reached (or answers too late): the request was fine, so a 503
# that says when to try again, not a 500.
STORE_UNAVAILABLE = (
    mongo_errors.ConnectionFailure, redis_errors.ConnectionError, redis_errors.TimeoutError,
    clickhouse_errors.NetworkError, clickhouse_errors.SocketTimeoutError,
    psycopg.OperationalError, ConnectionError, TimeoutError,
)
RETRY_AFTER_SECONDS = 5


class ProblemError(Exception):
    """Raise from an endpoint to answer with a problem of a stable type."""

    def __init__(
        self, status: int, type_: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.type = type_
        self.detail = detail
        self.headers = headers


def problem_type(slug: str) -> str:
    return f"urn:problem:tanqory:{slug}"


def problem_response(
    request: Request,
    status: int,
    slug: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        type=problem_type(slug),
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=errors,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=MEDIA_TYPE,
        headers=headers,
    )


# Where pydantic/FastAPI say an error is: ("body", ...), ("query", ...), ("path", ...),
# ("header", ...), ("cookie", ...). The part of the request is left out of `field`: a field
# is named as the client wrote it, dotted ("attributes.colour", "images.0", "limit"); an
# error about the body as a whole is "body".
_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})
JSON_MEDIA_TYPE = "application/json"
UNSUPPORTED_MEDIA_TYPE = f"Content-Type must be {JSON_MEDIA_TYPE}"


def field_name(location: tuple[Any, ...]) -> str:
    """The dotted path of an error's location, without the part of the request it is in."""
    if not location:
        return "body"
    parts = location[1:] if location[0] in _LOCATIONS else location
    return ".".join(str(p) for p in parts) or str(location[0])


def _json_error(error: Mapping[str, Any], document: Any) -> FieldError:
    """The JSON decode error of a body, with its line and column."""
    reason = str((error.get("ctx") or {}).get("error") or "Invalid JSON")
    location = tuple(error.get("loc") or ())
    position = location[1] if len(location) > 1 and isinstance(location[1], int) else None
    if isinstance(document, bytes | bytearray):
        document = document.decode("utf-8", "replace")
    if position is not None and isinstance(document, str):
        decoded = json.JSONDecodeError(reason, document, min(position, len(document)))
        message = f"{reason} at line {decoded.lineno}, column {decoded.colno}"
    else:
        message = reason
    return FieldError(field="body", message=f"The body is not valid JSON: {message}",
                      type="json_invalid")


def _is_json(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == JSON_MEDIA_TYPE or (
        media_type.startswith("application/") and media_type.endswith("+json"))


def _body_not_json(request: Request, errors: list[Any]) -> bool:
    """FastAPI leaves a body it does not read as JSON (no or another Content-Type) as bytes:
    an error on such a body means the client did not say it sends JSON."""
    return not _is_json(request.headers.get("content-type")) and any(
        tuple(e.get("loc") or ())[:1] == ("body",) and isinstance(e.get("input"), bytes | bytearray)
        for e in errors
    )


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    raw = list(exc.errors())
    if _body_not_json(request, raw):
        return problem_response(request, 415, "unsupported-media-type", UNSUPPORTED_MEDIA_TYPE)
    invalid_json = [e for e in raw if e.get("type") == "json_invalid"]
    if invalid_json:
        error = _json_error(invalid_json[0], exc.body)
        return problem_response(request, 422, "validation-error", error.message, [error])
    errors = [
        FieldError(field=field_name(tuple(e["loc"])), message=e["msg"], type=e["type"])
        for e in raw
    ]
    return problem_response(request, 422, "validation-error", "The request is not valid", errors)


_SLUGS = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found", 405: "method-not-allowed",
          413: "payload-too-large", 415: "unsupported-media-type", 429: "too-many-requests"}


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug = _SLUGS.get(exc.status_code, "http-error")
    return problem_response(
        request, exc.status_code, slug, str(exc.detail), headers=getattr(exc, "headers", None)
    )


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(request, exc.status, exc.type, exc.detail, headers=exc.headers)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, STORE_UNAVAILABLE):
        log.warning("a store is unavailable on %s %s: %r", request.method, request.url.path,
                    exc)
        return problem_response(request, 503, "store-unavailable",
                                "A store this request needs cannot be reached; try again",
                                headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(request, 500, "internal-error", "An unexpected error occurred")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(Exception, _on_unexpected)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": HTTPStatus(status).phrase}
    for status in (400, 401, 403, 404, 409, 413, 415, 422, 429, 503)
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented problem responses for these statuses."""
    return {k: v for k, v in PROBLEM_RESPONSES.items() if k in statuses}


# What the HTTP layer itself may answer on any /api/ route: bodies too large, rate limit;
# commands also: Idempotency-Key refusals (400, 409, 422), its store being away (503) and a
# body sent without Content-Type: application/json (415).
QUERY_PROBLEMS = problems(413, 429)
COMMAND_PROBLEMS = problems(400, 409, 413, 415, 422, 429, 503)
