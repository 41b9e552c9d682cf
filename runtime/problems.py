"""RFC 9457 problem+json responses and the exception handlers that produce them."""

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from schemas.api import FieldError, Problem

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger(__name__)


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


def _field_name(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p != "body"]
    return ".".join(parts) or "body"


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldError(field=_field_name(tuple(e["loc"])), message=e["msg"], type=e["type"])
        for e in exc.errors()
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
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(request, 500, "internal-error", "An unexpected error occurred")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(Exception, _on_unexpected)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": HTTPStatus(status).phrase}
    for status in (400, 401, 403, 404, 409, 413, 422, 429, 503)
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented problem responses for these statuses."""
    return {k: v for k, v in PROBLEM_RESPONSES.items() if k in statuses}


# What the HTTP layer itself may answer on any /api/ route: bodies too large, rate limit;
# commands also: Idempotency-Key refusals (400, 409, 422) and its store being away (503).
QUERY_PROBLEMS = problems(413, 429)
COMMAND_PROBLEMS = problems(400, 409, 413, 422, 429, 503)
