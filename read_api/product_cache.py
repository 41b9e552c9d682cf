"""The by-id product cache, in front of the routes (ADR 0019).

A read of one product, `GET /api/v1/products/{id}`, is answered from the cache before
FastAPI routes it when the cache holds the product's body at its current generation: the
routing, the dependencies and the validation of a FastAPI request cost more than the lookup.
Otherwise the endpoint answers and its 200 is cached at the generation read before it ran
(`runtime.cache`: a body cached from an older read model is never served).

Only a canonical id (lower case, with hyphens), no query string (`as_of` reads are folded
from the event store) and no consistency token (those read the read model itself) go
through the cache; any other request, and every request while the cache cannot be reached,
is the endpoint's alone.
"""

import logging
from uuid import UUID

from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from read_api.products import JSON, etag
from runtime.cache import Cache, product_generation, product_key, tagged, untag
from runtime.settings import Settings
from schemas import consistency

log = logging.getLogger(__name__)

PREFIX = "/api/v1/products/"
_ID_LENGTH = 36


def cacheable_id(scope: Scope) -> UUID | None:
    """The product a cacheable read is of, or None for any other request."""
    path: str = scope["path"]
    if (scope["method"] != "GET" or not path.startswith(PREFIX) or scope["query_string"]
            or len(path) != len(PREFIX) + _ID_LENGTH):
        return None
    text = path[len(PREFIX):]
    try:
        product_id = UUID(text)
    except ValueError:
        return None
    if str(product_id) != text or consistency.HEADER in Headers(scope=scope):
        return None
    return product_id


class ProductCacheMiddleware:
    def __init__(self, app: ASGIApp, *, cache: Cache, ttl_seconds: int) -> None:
        self.app = app
        self.cache = cache
        self.ttl_seconds = ttl_seconds
        self._failing = False  # one warning an outage, not one a request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        product_id = cacheable_id(scope) if scope["type"] == "http" else None
        if product_id is None:
            await self.app(scope, receive, send)
            return
        key = product_key(product_id)
        try:
            cached, generation_text = await self.cache.get_many(
                key, product_generation(product_id))
        except Exception as error:  # noqa: BLE001 - the endpoint answers without it
            if not self._failing:
                self._failing = True
                log.warning("the product cache cannot be read (%s: %s); reading the read "
                            "model until it can", type(error).__name__, error)
            await self.app(scope, receive, send)
            return
        if self._failing:
            self._failing = False
            log.info("the product cache answers again")
        generation = int(generation_text or 0)
        if (hit := untag(cached, generation)) is not None:
            response = Response(hit, media_type=JSON,
                                headers={"X-Cache": "HIT", "ETag": etag(hit)})
            await response(scope, receive, send)
            return

        status = 0
        body: list[bytes] = []

        async def send_as_miss(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-cache", b"MISS")]
            elif message["type"] == "http.response.body" and status == 200:
                body.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, send_as_miss)
        if status != 200:
            return
        try:
            await self.cache.set(key, tagged(generation, b"".join(body)), self.ttl_seconds)
        except Exception as error:  # noqa: BLE001 - answered already; the next read tries again
            log.warning("the product cache cannot be written (%s: %s)", type(error).__name__,
                        error)


def product_cache(settings: Settings, cache: Cache) -> Middleware:
    """The middleware for an app that serves the product queries, caching in `cache`."""
    return Middleware(ProductCacheMiddleware, cache=cache,
                      ttl_seconds=settings.cache_ttl_product_seconds)
