"""`Idempotency-Key` on commands: a repeat gets the first response and changes nothing.

For a mutating `/api/` request that carries the header, the first response is kept
(24 hours, per client and key) with a fingerprint of the request. A repeat with the same
request replays it (`Idempotent-Replayed: true`); the same key with another request is a
422; a repeat while the first is still running is a 409. Responses that say nothing about
the command (5xx, 401, 403, 413, 429) are not kept, so the client may retry them; nor are
those marked `Cache-Control: no-store` (sign-in's tokens), which must never be stored: a
repeat of those runs again.
The record lives in the cache: Redis in server mode, process memory when embedded.
"""

import base64
import hashlib
import json
import logging
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.cache import Cache
from runtime.problems import problem_response
from runtime.rate_limit import client_identity
from runtime.settings import Settings

log = logging.getLogger(__name__)
HEADER = "idempotency-key"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KEPT_HEADERS = frozenset({"content-type", "etag", "location", "x-consistency-token"})
NOT_KEPT_STATUSES = frozenset({401, 403, 408, 413, 429})
PENDING_SECONDS = 60
KEPT_SECONDS = 24 * 3600


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings, cache: Cache) -> None:
        self.app = app
        self.settings = settings
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not scope["path"].startswith("/api/") or HEADER not in headers:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        key = headers[HEADER]
        if not 1 <= len(key) <= 255 or not key.isprintable():
            await problem_response(request, 400, "invalid-idempotency-key",
                                   "Idempotency-Key must be 1 to 255 printable characters",
                                   )(scope, receive, send)
            return
        body = await _read_body(receive)
        fingerprint = hashlib.sha256(
            b"\n".join([scope["method"].encode(), scope["path"].encode(),
                        scope.get("query_string", b""), body])
        ).hexdigest()
        identity = client_identity(scope, self.settings)
        record_key = "idempotency:" + hashlib.sha256(f"{identity}\n{key}".encode()).hexdigest()
        pending = json.dumps({"fingerprint": fingerprint, "pending": True}).encode()
        try:
            first = await self.cache.add(record_key, pending, PENDING_SECONDS)
            record = None if first else await self.cache.get(record_key)
        except Exception:
            log.warning("idempotency store unavailable", exc_info=True)
            await problem_response(request, 503, "idempotency-unavailable",
                                   "Idempotency keys cannot be checked right now; retry later",
                                   headers={"Retry-After": "1"})(scope, receive, send)
            return
        if not first:
            await self._answer_repeat(request, record, fingerprint, scope, receive, send)
            return
        await self._run_first(record_key, fingerprint, body, scope, send)

    async def _answer_repeat(self, request: Request, record: bytes | None, fingerprint: str,
                             scope: Scope, receive: Receive, send: Send) -> None:
        data: dict[str, Any] = json.loads(record) if record else {"pending": True,
                                                                 "fingerprint": fingerprint}
        if data["fingerprint"] != fingerprint:
            response = problem_response(request, 422, "idempotency-key-reused",
                                        "This Idempotency-Key was used for another request")
        elif data.get("pending"):
            response = problem_response(request, 409, "request-in-progress",
                                        "A request with this Idempotency-Key is still running",
                                        headers={"Retry-After": "1"})
        else:
            await send({"type": "http.response.start", "status": data["status"],
                        "headers": [(k.encode(), v.encode()) for k, v in data["headers"]]
                        + [(b"idempotent-replayed", b"true")]})
            await send({"type": "http.response.body", "body": base64.b64decode(data["body"])})
            return
        await response(scope, receive, send)

    async def _run_first(self, record_key: str, fingerprint: str, body: bytes, scope: Scope,
                         send: Send) -> None:
        status = 500
        kept_headers: list[tuple[str, str]] = []
        chunks: list[bytes] = []
        no_store = False

        async def replay_body() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            nonlocal status, no_store
            if message["type"] == "http.response.start":
                status = message["status"]
                no_store = "no-store" in Headers(raw=message.get("headers", [])).get(
                    "cache-control", "")
                kept_headers.extend(
                    (k.decode("latin-1"), v.decode("latin-1"))
                    for k, v in message.get("headers", []) if k.decode("latin-1").lower()
                    in KEPT_HEADERS)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        finally:
            if status >= 500 or status in NOT_KEPT_STATUSES or no_store:
                await self.cache.delete(record_key)
            else:
                record = {"fingerprint": fingerprint, "status": status, "headers": kept_headers,
                          "body": base64.b64encode(b"".join(chunks)).decode()}
                await self.cache.set(record_key, json.dumps(record).encode(), KEPT_SECONDS)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
