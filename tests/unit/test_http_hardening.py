"""HTTP hardening every API gets from `create_api`: security headers, body size limit,
gzip and the per-client rate limit on /api/, on tiny apps driven in process."""

import logging
import re
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from starlette.types import Message, Receive, Scope, Send

from runtime.auth import Role, issue_token
from runtime.body_limit import BodyLimitMiddleware
from runtime.http import create_api
from runtime.rate_limit import MEMORY_STORAGE_URI, redis_storage_uri
from runtime.settings import Settings
from tests.support.platform import settings_for_tests

PROBLEM = "application/problem+json"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "x-dns-prefetch-control": "off",
    "x-permitted-cross-domain-policies": "none",
    "strict-transport-security": "max-age=31536000; includeSubDomains; preload",
    "content-security-policy": "default-src 'self'; script-src 'self'; "
                               "style-src 'self' 'unsafe-inline'; img-src 'self' data: https:",
}
RATE_LIMIT_HEADERS = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")


class Api:
    """A tiny API built by `create_api`, counting the calls that reach its endpoints."""

    def __init__(self, storage_uri: str = MEMORY_STORAGE_URI, **overrides: Any) -> None:
        self.settings = settings_for_tests(**{"rate_limit_per_minute": 3, **overrides})
        self.app = create_api("Hardening test", self.settings, {},
                              rate_limit_storage_uri=storage_uri)
        self.calls = 0
        self._routes(self.app)

    def _routes(self, app: FastAPI) -> None:
        @app.get("/api/v1/ping")
        async def ping() -> dict[str, bool]:
            self.calls += 1
            return {"ok": True}

        @app.post("/api/v1/echo")
        async def echo(request: Request) -> dict[str, int]:
            self.calls += 1
            return {"received": len(await request.body())}

        @app.post("/api/v1/stream")
        async def stream(request: Request) -> dict[str, int]:
            received = 0
            async for chunk in request.stream():
                received += len(chunk)
            return {"received": received}

        @app.get("/api/v1/big")
        async def big() -> dict[str, str]:
            return {"text": "tanqory " * 1000}

        @app.get("/api/v1/framed")
        async def framed() -> Response:
            return Response("{}", media_type="application/json",
                            headers={"X-Frame-Options": "SAMEORIGIN"})

    def client(self, ip: str = "127.0.0.1") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(self.app, client=(ip, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    def bearer(self, subject: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(self.settings, subject, [Role.ADMIN])}"}


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["status"] == status and problem["type"] == f"urn:problem:tanqory:{slug}"
    assert problem["detail"]
    return problem  # type: ignore[no-any-return]


def assert_secure(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get_list(name) == [value], name
    assert response.headers["x-request-id"]


def csp_sources(policy: str, directive: str) -> list[str]:
    for part in policy.split(";"):
        name, *sources = part.split()
        if name == directive:
            return sources
    return []


async def chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    while total > 0:
        yield b"x" * min(size, total)
        total -= size


# --- security headers -----------------------------------------------------------------


async def test_every_response_carries_the_security_headers() -> None:
    api = Api()
    async with api.client() as http:
        for response in (await http.get("/health"), await http.get("/api/v1/ping"),
                         await http.get("/api/v1/nothing-here"), await http.get("/metrics")):
            assert_secure(response)


async def test_a_security_header_the_app_set_itself_is_kept_and_not_duplicated() -> None:
    async with Api().client() as http:
        response = await http.get("/api/v1/framed")
    assert response.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_hsts_can_be_switched_off() -> None:
    async with Api(hsts_enabled=False).client() as http:
        response = await http.get("/health")
    assert "strict-transport-security" not in response.headers
    assert response.headers["x-frame-options"] == "DENY"


async def test_the_docs_page_may_load_the_swagger_ui_assets_it_refers_to() -> None:
    async with Api().client() as http:
        docs = await http.get("/api/docs")
        schema = await http.get("/api/openapi.json")
    assert docs.status_code == 200 and schema.status_code == 200
    policy = docs.headers["content-security-policy"]
    scripts = re.findall(r'<script src="([^"]+)"', docs.text)
    styles = re.findall(r'<link type="text/css" rel="stylesheet" href="([^"]+)"', docs.text)
    assert scripts and styles and "<script>" in docs.text  # assets and one inline script
    for url, directive in [*((s, "script-src") for s in scripts),
                           *((s, "style-src") for s in styles)]:
        parts = urlsplit(url)
        allowed = csp_sources(policy, directive)
        assert f"{parts.scheme}://{parts.netloc}" in allowed or not parts.netloc, (url, policy)
    assert "'unsafe-inline'" in csp_sources(policy, "script-src")
    assert csp_sources(policy, "default-src") == ["'self'"]
    # Only the docs page is relaxed.
    assert schema.headers["content-security-policy"] == SECURITY_HEADERS["content-security-policy"]


# --- body size limit ------------------------------------------------------------------


async def test_a_declared_content_length_over_the_limit_is_refused_unread() -> None:
    api = Api(max_body_bytes=1000)
    async with api.client() as http:
        response = await http.post("/api/v1/echo", content=b"x" * 1001)
    problem = assert_problem(response, 413, "payload-too-large")
    assert "1000 bytes" in problem["detail"]
    assert api.calls == 0
    assert_secure(response)


async def test_the_content_length_check_does_not_read_the_body() -> None:
    reached: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append("app")

    async def receive() -> Message:
        reached.append("receive")
        return {"type": "http.request", "body": b"", "more_body": False}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": "/api/v1/echo", "query_string": b"",
             "headers": [(b"content-length", b"5000")], "root_path": "", "scheme": "http",
             "server": ("testserver", 80)}
    await BodyLimitMiddleware(app, max_body_bytes=100)(scope, receive, send)
    assert reached == []
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 413


async def test_a_streamed_body_growing_past_the_limit_is_refused() -> None:
    api = Api(max_body_bytes=100_000)
    async with api.client() as http:
        for path in ("/api/v1/echo", "/api/v1/stream"):
            response = await http.post(path, content=chunks(300_000))
            assert "content-length" not in response.request.headers
            assert_problem(response, 413, "payload-too-large")
            assert_secure(response)


async def test_bodies_up_to_the_limit_pass() -> None:
    api = Api(max_body_bytes=100_000)
    async with api.client() as http:
        declared = await http.post("/api/v1/echo", content=b"x" * 100_000)
        streamed = await http.post("/api/v1/stream", content=chunks(100_000, 7_000))
    assert declared.status_code == 200 and declared.json() == {"received": 100_000}
    assert streamed.status_code == 200 and streamed.json() == {"received": 100_000}


# --- compression ----------------------------------------------------------------------


async def test_large_responses_are_gzipped_for_clients_that_accept_it() -> None:
    async with Api().client() as http:
        big = await http.get("/api/v1/big", headers={"Accept-Encoding": "gzip"})
        small = await http.get("/api/v1/ping", headers={"Accept-Encoding": "gzip"})
        plain = await http.get("/api/v1/big", headers={"Accept-Encoding": "identity"})
    assert big.headers["content-encoding"] == "gzip"
    assert int(big.headers["content-length"]) < len(plain.content)
    assert big.json() == plain.json()  # httpx decodes the gzip body
    assert "content-encoding" not in small.headers
    assert "content-encoding" not in plain.headers
    assert_secure(big)


# --- rate limit -----------------------------------------------------------------------


async def test_the_fourth_request_in_a_minute_is_refused_with_retry_after() -> None:
    api = Api()
    async with api.client() as http:
        allowed = [await http.get("/api/v1/ping") for _ in range(3)]
        refused = await http.get("/api/v1/ping")
        refused_post = await http.post("/api/v1/echo", content=b"{}")
    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert [r.headers["ratelimit-limit"] for r in allowed] == ["3", "3", "3"]
    assert [r.headers["ratelimit-remaining"] for r in allowed] == ["2", "1", "0"]
    for response in allowed:
        assert 0 < int(response.headers["ratelimit-reset"]) <= 60
    problem = assert_problem(refused, 429, "too-many-requests")
    assert "retry" in problem["detail"].lower()
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-remaining"] == "0"
    assert_secure(refused)
    assert_problem(refused_post, 429, "too-many-requests")
    assert api.calls == 3  # the refused requests never reached an endpoint


async def test_each_client_address_and_each_token_subject_has_its_own_budget() -> None:
    api = Api()
    async with api.client("10.0.0.1") as first, api.client("10.0.0.2") as second:
        for _ in range(3):
            assert (await first.get("/api/v1/ping")).status_code == 200
        assert (await first.get("/api/v1/ping")).status_code == 429
        assert (await second.get("/api/v1/ping")).headers["ratelimit-remaining"] == "2"

        # From the exhausted address, a verified token counts against its subject.
        alice, bob = api.bearer("alice"), api.bearer("bob")
        for remaining in ("2", "1", "0"):
            response = await first.get("/api/v1/ping", headers=alice)
            assert response.headers["ratelimit-remaining"] == remaining
        assert (await first.get("/api/v1/ping", headers=alice)).status_code == 429
        # The same subject from another address: the same budget.
        assert (await second.get("/api/v1/ping", headers=alice)).status_code == 429
        assert (await first.get("/api/v1/ping", headers=bob)).status_code == 200

        # A token that does not verify counts against the address (and is not refused here).
        forged = {"Authorization": "Bearer not.a.token"}
        assert (await first.get("/api/v1/ping", headers=forged)).status_code == 429
        response = await second.get("/api/v1/ping", headers=forged)
        assert response.status_code == 200 and response.headers["ratelimit-remaining"] == "1"


async def test_health_metrics_and_docs_are_never_limited() -> None:
    api = Api()
    async with api.client() as http:
        for _ in range(4):
            await http.get("/api/v1/ping")
        assert (await http.get("/api/v1/ping")).status_code == 429
        for path in ("/health", "/metrics", "/api/docs", "/api/openapi.json") * 3:
            response = await http.get(path)
            assert response.status_code == 200, path
            assert not any(h in response.headers for h in RATE_LIMIT_HEADERS), path


async def test_cors_preflight_is_answered_and_a_429_is_readable_cross_origin() -> None:
    api = Api()
    origin = {"Origin": "http://localhost:3000"}
    async with api.client() as http:
        preflight = await http.options("/api/v1/echo", headers={
            **origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type"})
        for _ in range(3):
            await http.get("/api/v1/ping", headers=origin)
        refused = await http.get("/api/v1/ping", headers=origin)
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "ratelimit-limit" not in preflight.headers  # preflights do not spend the budget
    assert refused.status_code == 429
    assert refused.headers["access-control-allow-origin"] == "http://localhost:3000"
    exposed = refused.headers["access-control-expose-headers"].lower()
    assert "ratelimit-remaining" in exposed and "retry-after" in exposed


async def test_a_limit_of_zero_switches_the_limiter_off() -> None:
    api = Api(rate_limit_per_minute=0)
    async with api.client() as http:
        responses = [await http.get("/api/v1/ping") for _ in range(10)]
    assert {r.status_code for r in responses} == {200}
    assert not any(h in responses[-1].headers for h in RATE_LIMIT_HEADERS)


async def test_requests_go_through_when_the_limiter_storage_is_unreachable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Nothing listens on port 1 of the loopback interface: every Redis call fails. Every
    # request is counted there first (no sync interval), so none can be counted at all.
    api = Api(storage_uri="async+redis://127.0.0.1:1/0", rate_limit_sync_seconds=0)
    caplog.set_level(logging.WARNING, logger="runtime.rate_limit")
    started = time.monotonic()
    async with api.client() as http:
        responses = [await http.get("/api/v1/ping") for _ in range(5)]
        posted = await http.post("/api/v1/echo", content=b"{}")
    assert [r.status_code for r in responses] == [200] * 5 and posted.status_code == 200
    assert api.calls == 6
    assert not any(h in responses[0].headers for h in RATE_LIMIT_HEADERS)
    assert time.monotonic() - started < 10
    warnings = [r for r in caplog.records if r.name == "runtime.rate_limit"]
    assert warnings and warnings[0].levelno == logging.WARNING
    assert "letting requests through" in warnings[0].getMessage()
    assert len(warnings) == 1  # one warning per pause, not one per request


async def test_with_a_sync_interval_a_process_limits_on_its_own_counts_while_redis_is_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = Api(storage_uri="async+redis://127.0.0.1:1/0", rate_limit_sync_seconds=0.01)
    caplog.set_level(logging.WARNING, logger="runtime.rate_limit")
    async with api.client() as http:
        responses = [await http.get("/api/v1/ping") for _ in range(4)]
        bob = await http.get("/api/v1/ping", headers=api.bearer("bob"))
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r.headers["ratelimit-remaining"] for r in responses] == ["2", "1", "0", "0"]
    assert bob.status_code == 200 and bob.headers["ratelimit-remaining"] == "2"
    assert api.calls == 4
    warnings = [r for r in caplog.records if r.name == "runtime.rate_limit"]
    assert len(warnings) == 1 and "own counts" in warnings[0].getMessage()


# --- settings and wiring helpers ------------------------------------------------------


def test_the_hardening_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("RATE_LIMIT_PER_MINUTE", "MAX_BODY_BYTES", "HSTS_ENABLED"):
        monkeypatch.delenv(f"TANQORY_{name}", raising=False)
    defaults = Settings()
    assert (defaults.rate_limit_per_minute, defaults.max_body_bytes) == (100, 1_048_576)
    assert defaults.hsts_enabled is True
    monkeypatch.setenv("TANQORY_RATE_LIMIT_PER_MINUTE", "0")
    monkeypatch.setenv("TANQORY_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("TANQORY_HSTS_ENABLED", "false")
    configured = Settings()
    assert (configured.rate_limit_per_minute, configured.max_body_bytes) == (0, 2048)
    assert configured.hsts_enabled is False


@pytest.mark.parametrize(("redis_url", "uri"), [
    ("redis://127.0.0.1:16379/0", "async+redis://127.0.0.1:16379/0"),
    ("rediss://:secret@cache:6380/1", "async+rediss://:secret@cache:6380/1"),
    ("unix:///run/redis.sock?db=0", "async+redis+unix:///run/redis.sock?db=0"),
])
def test_the_redis_storage_uri_follows_the_redis_url(redis_url: str, uri: str) -> None:
    assert redis_storage_uri(redis_url) == uri
