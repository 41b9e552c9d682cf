"""HTTP plumbing both APIs share: request ids, hardening, health, readiness, metrics, docs."""

import time
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter, FastAPI, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.body_limit import BodyLimitMiddleware
from runtime.cache import Cache
from runtime.idempotency import IdempotencyMiddleware
from runtime.problems import install_problem_handlers
from runtime.rate_limit import RateLimitMiddleware
from runtime.secure_headers import SecureHeadersMiddleware
from runtime.settings import Settings

REQUEST_ID_HEADER = "x-request-id"
request_id_var: ContextVar[str] = ContextVar("request_id", default="")
# A check raises when not ready; it may return details to show (with a "status" key).
ReadinessCheck = Callable[[], Awaitable[dict[str, object] | None]]
_STARTED = time.monotonic()

try:
    VERSION = version("tanqory")
except PackageNotFoundError:  # running from a source tree that is not installed
    VERSION = "0.0.0"


class RequestIdMiddleware:
    """Takes X-Request-ID from the request (or makes one) and echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= 200 else str(uuid.uuid4())
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_HEADER.encode(), request_id.encode("latin-1")),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


def health_router(checks: dict[str, ReadinessCheck]) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health", summary="Liveness, uptime and version")
    async def health() -> dict[str, object]:
        return {
            "status": "OK",
            "timestamp": datetime.now(UTC).isoformat(),
            "uptime": round(time.monotonic() - _STARTED, 3),
            "version": VERSION,
        }

    @router.get("/ready", summary="Readiness of every dependency, and projection lag")
    async def ready() -> JSONResponse:
        results: dict[str, object] = {}
        ok = True
        for name, check in checks.items():
            try:
                results[name] = await check() or "ok"
            except Exception as error:  # noqa: BLE001 - any failure means not ready
                results[name] = f"error: {type(error).__name__}: {error}"[:300]
                ok = False
        return JSONResponse(
            {"status": "ready" if ok else "not ready", "checks": results},
            status_code=200 if ok else 503,
        )

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def create_api(
    title: str,
    settings: Settings,
    checks: dict[str, ReadinessCheck],
    *,
    rate_limit_storage_uri: str,
    idempotency_cache: Cache | None = None,
    **kwargs: object,
) -> FastAPI:
    """A FastAPI app with the conventions every Tanqory API follows.

    `rate_limit_storage_uri` is where the per-client request counts live: a `limits`
    async storage URI, `async+redis://...` when several processes share the budget,
    `async+memory://` in a single process. `idempotency_cache` keeps the responses of
    commands sent with an `Idempotency-Key` (an API without commands needs none).
    """
    app = FastAPI(
        title=title,
        version=VERSION,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        **kwargs,  # type: ignore[arg-type]
    )
    install_problem_handlers(app)
    # Added innermost first: a request passes request id, secure headers, CORS, body
    # limit, rate limit and gzip, in that order, so even a 413 or a 429 carries an
    # X-Request-ID, the security headers and the CORS headers.
    if idempotency_cache is not None:  # innermost: it keeps the body the endpoint wrote
        app.add_middleware(IdempotencyMiddleware, settings=settings, cache=idempotency_cache)
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    if settings.rate_limit_per_minute > 0:
        app.add_middleware(
            RateLimitMiddleware, settings=settings, storage_uri=rate_limit_storage_uri,
            per_minute=settings.rate_limit_per_minute,
        )
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-Request-ID", "If-Match",
                       "Idempotency-Key", "X-Consistency-Token"],
        expose_headers=["X-Request-ID", "X-Consistency-Token", "ETag", "Location",
                        "Retry-After", "RateLimit-Limit", "RateLimit-Remaining",
                        "RateLimit-Reset", "RateLimit-Policy"],
        allow_credentials=True,
        max_age=86400,
    )
    app.add_middleware(SecureHeadersMiddleware, hsts=settings.hsts_enabled)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(health_router(checks))
    return app
