"""GET /api/v1/stream: the live change stream, as Server-Sent Events.

Each message names a read model and the documents a projected batch changed in it; a
client (the dashboard) refetches what it shows of them. Every client reads the change
feed (`runtime.changes`) from its own last id, in its own task, at its own pace: a slow
or stalled client holds up neither the projector nor other clients, and a client that
goes away ends its task at once (Starlette cancels the response when the connection
reports its disconnection).
"""

import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from prometheus_client import Gauge
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from projections.catalog.read_models import CATEGORIES, PRODUCTS
from projections.inventory.read_models import STOCK
from runtime.auth import Principal, Role
from runtime.changes import ChangeFeed
from runtime.deps import PrincipalDep
from runtime.problems import ProblemError, problems

router = APIRouter(prefix="/api/v1/stream", tags=["live stream"])
MEDIA_TYPE = "text/event-stream"
PUBLIC_MODELS = frozenset({PRODUCTS.name, CATEGORIES.name, STOCK.name})  # customers see these
KEEP_ALIVE_SECONDS = 15.0
RETRY_MILLISECONDS = 2000
RETRY_AFTER_SECONDS = 5  # when every slot is taken
FEED_ID = r"^[0-9]{1,19}-[0-9]{1,19}$"  # Redis Stream ids: two 64-bit numbers
MODELS = r"^[a-z0-9_.-]{1,50}(,[a-z0-9_.-]{1,50}){0,49}$"
log = logging.getLogger(__name__)
OPEN = Gauge("tanqory_live_streams_open", "Live change streams open in this process")


@dataclass
class LiveStreams:
    """This process's change feed and its bound on open streams."""

    feed: ChangeFeed
    max_clients: int
    open: int = 0

    def take(self) -> Callable[[], None]:
        """Takes a slot (503 when none is left); returns what gives it back."""
        if self.open >= self.max_clients:
            raise ProblemError(503, "too-many-streams",
                               f"This server already serves {self.max_clients} live streams; "
                               "retry later", {"Retry-After": str(RETRY_AFTER_SECONDS)})
        self.open += 1
        OPEN.inc()

        def give_back() -> None:
            self.open -= 1
            OPEN.dec()

        return give_back


async def get_live_streams(request: Request) -> LiveStreams:
    return request.app.state.live_streams  # type: ignore[no-any-return]


LiveStreamsDep = Annotated[LiveStreams, Depends(get_live_streams)]


class EventStream(StreamingResponse):
    """A stream of events that gives its slot back however it ends (finished, failed,
    cancelled because the client left)."""

    media_type = MEDIA_TYPE

    def __init__(self, content: AsyncIterator[str], on_close: Callable[[], None]) -> None:
        super().__init__(content, headers={"Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._on_close()


def visible_models(principal: Principal, requested: str | None) -> frozenset[str] | None:
    """The models this principal's stream shows (None: every one). Staff (any role but
    customer) see every model, others the public catalog only; `requested` narrows it."""
    staff = bool(principal.roles - {Role.CUSTOMER})
    wanted = frozenset(requested.split(",")) if requested else None
    if staff:
        return wanted
    return PUBLIC_MODELS & wanted if wanted is not None else PUBLIC_MODELS


def message(event: str, feed_id: str, data: str) -> str:
    """One SSE message; `data` is one line (JSON, whose strings escape line breaks)."""
    return f"id: {feed_id}\nevent: {event}\ndata: {data}\n\n"


async def events(feed: ChangeFeed, after: str, models: frozenset[str] | None
                 ) -> AsyncGenerator[str]:
    """The stream's messages: the reconnection delay, then every change after `after`
    (those of `models` only, when given) as it comes, a reset when some are no longer
    kept, and a keep-alive comment after KEEP_ALIVE_SECONDS of silence."""
    yield f"retry: {RETRY_MILLISECONDS}\nid: {after}\n\n"
    quiet_since = time.monotonic()
    while True:
        waited = time.monotonic() - quiet_since
        try:
            read = await feed.read(after, max(KEEP_ALIVE_SECONDS - waited, 0.001))
        except Exception:  # end the stream: the client reconnects after `retry`
            log.warning("the change feed cannot be read; ending a live stream", exc_info=True)
            return
        if read.reset:
            after = read.resume_after
            quiet_since = time.monotonic()
            yield message("reset", after, "{}")
            continue
        for change in read.changes:
            after = change.id
            if models is None or change.model in models:
                quiet_since = time.monotonic()
                yield message("change", change.id, change.data())
        if time.monotonic() - quiet_since >= KEEP_ALIVE_SECONDS:
            quiet_since = time.monotonic()
            yield ": keep-alive\n\n"


STREAM_DESCRIPTION = f"""\
A `text/event-stream` (Server-Sent Events) of what the projections change, for pages that
update without reloading. It never ends. It needs a bearer token, which a browser's
`EventSource` cannot send: read it with `fetch` and the body's reader (or any SSE client
that sends headers), and send `Last-Event-ID` yourself when you reconnect.

Each message: `id: <feed id>`, `event: change`, `data: {{"model": "orders", "ids":
["<uuid>", ...], "at": "<ISO time>"}}` (one per read model a batch changed; at most 100
ids, with `"truncated": true` when more changed). It starts with `retry:
{RETRY_MILLISECONDS}` and the id it starts after; a `: keep-alive` comment comes after
{KEEP_ALIVE_SECONDS:.0f} s of silence.

Reconnecting with `Last-Event-ID` or `?last_event_id=` (the header wins) sends every
change after that id first. When some of those are no longer kept (the feed
keeps the last `TANQORY_STREAM_RETENTION`), or the id is not this feed's, an `event:
reset` (data `{{}}`) comes instead: refetch everything, then follow on.

Staff (any role but `customer`) receive every read model; customers only the public
catalog ({", ".join(sorted(PUBLIC_MODELS))}). `models` narrows to some read models.
At most `TANQORY_STREAM_MAX_CLIENTS` streams per process: beyond, 503 with Retry-After.
"""


@router.get(
    "",
    status_code=200,  # EventStream takes none: FastAPI cannot find it there
    response_class=EventStream,
    responses={200: {"content": {MEDIA_TYPE: {"schema": {"type": "string"}}},
                     "description": "The stream of changes (never ends)"},
               **problems(401, 422, 503)},
    summary="Live changes of the read models (Server-Sent Events)",
    description=STREAM_DESCRIPTION,
)
async def stream(
    principal: PrincipalDep,
    live: LiveStreamsDep,
    models: Annotated[str | None, Query(
        pattern=MODELS, description="Only these read models, comma-separated "
        "(e.g. `orders,analytics`)")] = None,
    last_event_id: Annotated[str | None, Query(
        pattern=FEED_ID, description="Resume after this id (as `Last-Event-ID`)")] = None,
    last_event_id_header: Annotated[str | None, Header(
        alias="Last-Event-ID", pattern=FEED_ID,
        description="Resume after this id; it wins over the query parameter (a client "
        "that reconnects to the URL it first opened sends its newer id here)")] = None,
) -> EventStream:
    after = last_event_id_header or last_event_id
    if after is None:
        try:
            after = await live.feed.newest()
        except Exception:  # the feed's store is away: 503, for the client to retry
            log.warning("the change feed cannot be read", exc_info=True)
            raise ProblemError(503, "stream-unavailable", "The live stream cannot be read "
                               "right now; retry later",
                               {"Retry-After": str(RETRY_AFTER_SECONDS)}) from None
    give_back = live.take()
    return EventStream(events(live.feed, after, visible_models(principal, models)), give_back)
