"""HTTP plumbing both APIs share: request ids, hardening, health, readiness, metrics,
docs, landing page."""

import time
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.telemetry import TelemetryConfig
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from swagger_ui_bundle import swagger_ui_path

from runtime.body_limit import BodyLimitMiddleware
from runtime.cache import Cache
from runtime.idempotency import IdempotencyMiddleware
from runtime.landing import landing_router
from runtime.problems import install_problem_handlers
from runtime.rate_limit import RateLimitMiddleware
from runtime.secure_headers import SecureHeadersMiddleware
from runtime.settings import Settings

REQUEST_ID_HEADER = "x-request-id"
request_id_var: ContextVar[str] = ContextVar("request_id", default="")
# A check raises when not ready; it may return details to show (with a "status" key).
ReadinessCheck = Callable[[], Awaitable[dict[str, object] | None]]
_STARTED = time.monotonic()
DOCS_URL = "/api/docs"
OAUTH2_REDIRECT_URL = "/api/docs/oauth2-redirect"
# Swagger UI's files, from the installed swagger-ui-bundle-v2 package. Outside /api/ so
# that, like the docs page, they stay reachable whatever a client's rate limit budget.
SWAGGER_UI_ASSETS = "/static/swagger-ui"

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


def install_docs(app: FastAPI) -> None:
    """Swagger UI at /api/docs, its script, stylesheet and icon served by the app itself:
    the page works offline and its Content-Security-Policy names no other host."""
    app.mount(SWAGGER_UI_ASSETS, StaticFiles(directory=str(swagger_ui_path)),
              name="swagger-ui-assets")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        assets = root + SWAGGER_UI_ASSETS
        return get_swagger_ui_html(
            openapi_url=root + str(app.openapi_url), title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon-32x32.png",
            oauth2_redirect_url=root + OAUTH2_REDIRECT_URL,
            # No badge fetched from the public validator: nothing leaves the machine.
            swagger_ui_parameters={"validatorUrl": None},
        )

    async def oauth2_redirect(_: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    app.add_route(DOCS_URL, swagger_ui, include_in_schema=False)
    app.add_route(OAUTH2_REDIRECT_URL, oauth2_redirect, include_in_schema=False)


NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


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
    commands sent with an `Idempotency-Key` (an API without commands needs none). Any
    `middleware=[...]` (FastAPI's own argument) wraps the routes inside all of these.
    """
    app = FastAPI(
        title=title,
        version=VERSION,
        docs_url=None,  # install_docs serves it, with assets of its own
        redoc_url=None,
        openapi_url="/api/openapi.json",
        # No OpenTelemetry here (metrics are Prometheus'): FastAPI's own would otherwise
        # look for configured providers on every request, about 8 % of a cached read.
        telemetry=NO_TELEMETRY,
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
    app.include_router(landing_router(title, VERSION))
    install_docs(app)
    return app
