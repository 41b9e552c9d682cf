"""The change feed: which documents each projected batch changed, per read model, for live
readers (`GET /api/v1/stream`).

The projection handler publishes once a batch is written and its cache generations moved;
each reader follows the feed from its own last id, at its own pace, so a slow reader
never slows the projector and holds nothing another needs. Server mode keeps the feed in a
Redis Stream (`XADD ... MAXLEN ~ stream_retention`, one per topic prefix), embedded mode in
a bounded ring in memory. Ids look alike in both ("<milliseconds>-<sequence>") and only
grow; a reader whose last id is older than what is kept, or is not of this feed, is told to
start again (`Read.reset`).
"""

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections import deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import ResponseError

KEY = "tanqory:changes"
MAX_IDS = 100  # per change; beyond, the change says it is truncated
PAGE = 100  # changes handed to a reader at a time
PUBLISH_TIMEOUT_SECONDS = 2.0  # a batch never waits longer on the feed
log = logging.getLogger(__name__)
PUBLISH_FAILURES = Counter("tanqory_change_feed_publish_failures_total",
                           "Batches whose changes could not be published to live readers")


@dataclass(frozen=True)
class Change:
    """What one batch changed in one read model."""

    id: str  # the feed's id of this change
    model: str  # the projector's name: the read model it keeps
    ids: tuple[str, ...]  # the documents changed, at most MAX_IDS
    truncated: bool  # more documents changed than `ids` names
    at: str  # when it was published (ISO 8601, UTC)

    def data(self) -> str:
        """The change as its stream message's data: one line of JSON."""
        body: dict[str, Any] = {"model": self.model, "ids": list(self.ids)}
        if self.truncated:
            body["truncated"] = True
        body["at"] = self.at
        return json.dumps(body, separators=(",", ":"))


@dataclass(frozen=True)
class Read:
    """What a reader gets: the changes after its id or, when some of those are no longer
    kept (or its id is not of this feed), `reset` and the id to carry on after."""

    changes: list[Change]
    reset: bool = False
    resume_after: str = ""  # with `reset`: the newest id when it was found


class ChangeFeed(Protocol):
    async def publish(self, changed: Mapping[str, Collection[UUID]]) -> None:
        """One change per read model with changed documents. Never raises and never
        waits on readers: a failure is logged and counted, the batch goes on."""

    async def newest(self) -> str:
        """The id a reader starting now carries on after."""

    async def read(self, after: str, timeout: float) -> Read:
        """The changes after `after` (a page at most), waiting up to `timeout` seconds
        for the first; none if nothing came."""

    async def close(self) -> None: ...


def position(feed_id: str) -> tuple[int, int]:
    """The order of a feed id ("<milliseconds>-<sequence>"); ValueError if it is none."""
    first, _, second = feed_id.partition("-")
    return int(first), int(second)


def changes_of(changed: Mapping[str, Collection[UUID]]) -> list[tuple[str, tuple[str, ...], bool]]:
    """(model, ids, truncated) of each read model with changes, ids sorted."""
    found = []
    for model, ids in changed.items():
        if ids:
            named = sorted(str(i) for i in ids)
            found.append((model, tuple(named[:MAX_IDS]), len(named) > MAX_IDS))
    return found


def now() -> str:
    return datetime.now(UTC).isoformat()


class MemoryChangeFeed:
    """Embedded mode: the last `retention` changes, in this process only. Its ids start
    from the time it was made, so an id from an earlier run of the process is refused."""

    def __init__(self, retention: int) -> None:
        self._epoch = int(time.time() * 1000)
        self._ring: deque[Change] = deque(maxlen=retention)
        self._last = 0  # the sequence of the newest change
        self._woken = asyncio.Event()

    async def publish(self, changed: Mapping[str, Collection[UUID]]) -> None:
        at = now()
        for model, ids, truncated in changes_of(changed):
            self._last += 1
            self._ring.append(Change(f"{self._epoch}-{self._last}", model, ids, truncated, at))
        woken, self._woken = self._woken, asyncio.Event()
        woken.set()

    async def newest(self) -> str:
        return f"{self._epoch}-{self._last}"

    async def read(self, after: str, timeout: float) -> Read:
        woken = self._woken  # taken before looking: a publish in between still wakes it
        found = self._after(after)
        if found.reset or found.changes:
            return found
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(woken.wait(), timeout)
        return self._after(after)

    def _after(self, after: str) -> Read:
        dropped_through = self._last - len(self._ring)  # what came before is gone
        cursor = position(after)
        if not (self._epoch, dropped_through) <= cursor <= (self._epoch, self._last):
            return Read([], reset=True, resume_after=f"{self._epoch}-{self._last}")
        start = cursor[1] - dropped_through
        return Read(list(itertools.islice(self._ring, start, start + PAGE)))

    async def close(self) -> None:
        self._ring.clear()


class RedisChangeFeed:
    """Server mode: a Redis Stream shared by the worker (which publishes) and every read
    API process. A reader blocks on its own XREAD, on a connection of `client`'s pool that
    goes back when it stops: give readers a client of their own."""

    def __init__(self, client: Redis, prefix: str, retention: int) -> None:
        self._redis = client
        self._key = f"{KEY}:{prefix}"
        self._retention = retention

    async def publish(self, changed: Mapping[str, Collection[UUID]]) -> None:
        found = changes_of(changed)
        if not found:
            return
        at = now()
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
                async with self._redis.pipeline(transaction=False) as pipe:
                    for model, ids, truncated in found:
                        entry = {"model": model, "ids": json.dumps(ids), "at": at,
                                 "truncated": "1" if truncated else ""}
                        pipe.xadd(self._key, entry,  # type: ignore[arg-type]
                                  maxlen=self._retention, approximate=True)
                    await pipe.execute()
        except Exception:  # live readers miss these changes; the batch goes on
            PUBLISH_FAILURES.inc()
            log.warning("could not publish %d changes to the live stream", len(found),
                        exc_info=True)

    async def newest(self) -> str:
        return (await self._info())[2]

    async def read(self, after: str, timeout: float) -> Read:
        length, added, last, first = await self._info()
        cursor = position(after)
        trimmed = added > length and first is not None and cursor < position(first)
        if trimmed or cursor > position(last):
            return Read([], reset=True, resume_after=last)
        found: list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]] = (
            await self._redis.xread({self._key: after}, count=PAGE,  # type: ignore[assignment]
                                    block=max(1, int(timeout * 1000))))
        return Read([_change(entry_id, fields) for _, entries in found
                     for entry_id, fields in entries])

    async def _info(self) -> tuple[int, int, str, str | None]:
        """(length, entries ever added, newest id, oldest id kept) of the stream."""
        try:
            info = await self._redis.xinfo_stream(self._key)
        except ResponseError:  # no such key: nothing published yet (or it was removed)
            return 0, 0, "0-0", None
        first = info.get("first-entry")
        return (int(info["length"]), int(info["entries-added"]),
                _text(info["last-generated-id"]), _text(first[0]) if first else None)

    async def close(self) -> None:
        await self._redis.aclose()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _change(entry_id: bytes, fields: Mapping[bytes, bytes]) -> Change:
    values = {_text(k): _text(v) for k, v in fields.items()}
    return Change(_text(entry_id), values["model"], tuple(json.loads(values["ids"])),
                  bool(values["truncated"]), values["at"])
