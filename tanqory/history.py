"""`tanqory history`: the analysts' event history of every context, filtered and streamed.

Where it reads, by mode: server mode queries ClickHouse (the TANQORY_CLICKHOUSE_*
settings). Embedded mode opens the chDB directory under TANQORY_DATA_DIR when no process
holds it; while `tanqory serve` runs, it holds that directory (chDB refuses any second
process, even read-only: its `status` file stays locked), so the pages come from the
running platform's GET /api/v1/analytics/events instead, with an analyst's token this
command signs itself with TANQORY_JWT_SECRET.

Personal values stay sealed unless `unseal` is asked: then the mode's key store opens
them (null for an erased customer's, which nothing can open again).
"""

import asyncio
import fcntl
import json
import logging
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from projections.stores.history_query import HistoryFilter, envelope, moment, pages
from read_api.event_history import NEXT
from runtime.auth import issue_token
from runtime.settings import Mode, Settings
from schemas.roles import Role
from tanqory.history_formats import Writer
from tanqory.history_unseal import Unsealer

PAGE_SIZE = 2000
CLI_SUBJECT = "tanqory-cli:history"

Pages = AsyncIterator[list[dict[str, Any]]]
Params = list[tuple[str, str | int | float | bool | None]]  # httpx's query parameters


class HistoryUnavailable(Exception):
    """The store holding the history cannot be read (a message for the operator)."""


async def events(settings: Settings, history: HistoryFilter, limit: int | None) -> Pages:
    """Pages of the history's events (envelopes), from wherever the mode keeps them."""
    if settings.mode is Mode.SERVER:
        source = _from_clickhouse(settings, history, limit)
    elif _held_by_another_process(_chdb_path(settings)):
        source = _from_platform(settings, history, limit)
    else:
        source = _from_chdb(settings, history, limit)
    async for page in source:
        yield page


def _chdb_path(settings: Settings) -> Path:
    from tanqory.embedded import EVENT_HISTORY

    return settings.data_dir / EVENT_HISTORY


def _held_by_another_process(path: Path) -> bool:
    """Whether a chDB engine (a running `tanqory serve`) has the directory open: it holds
    an exclusive lock on its `status` file for as long as it runs."""
    try:
        fd = os.open(path / "status", os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # releases the lock taken, if any
    return False


async def _from_clickhouse(settings: Settings, history: HistoryFilter,
                           limit: int | None) -> Pages:
    from clickhouse_driver.errors import Error as ClickHouseError

    from tanqory.wiring import clickhouse_archive

    # The driver logs every failed connection with its traceback: the error says it once.
    logging.getLogger("clickhouse_driver").setLevel(logging.ERROR)
    archive = clickhouse_archive(settings)
    try:
        async for page in pages(archive, history, PAGE_SIZE, limit):
            yield [envelope(row) for row in page]
    except (ClickHouseError, OSError, EOFError) as error:
        raise HistoryUnavailable(f"ClickHouse at {settings.clickhouse_host}:"
                                 f"{settings.clickhouse_port} (database "
                                 f"{settings.clickhouse_db}): {error}") from None
    finally:
        await archive.close()


async def _from_chdb(settings: Settings, history: HistoryFilter, limit: int | None) -> Pages:
    from projections.stores.chdb import ChdbEventArchive

    path = _chdb_path(settings)
    if not path.exists():
        raise HistoryUnavailable(f"no event history at {path}: tanqory serve has not run "
                                 "with this TANQORY_DATA_DIR")
    archive = ChdbEventArchive(path)
    try:
        await archive.setup()  # a history older than a table its projector adds since
        async for page in pages(archive, history, PAGE_SIZE, limit):
            yield [envelope(row) for row in page]
    finally:
        await archive.close()


async def _from_platform(settings: Settings, history: HistoryFilter,
                         limit: int | None) -> Pages:
    """Pages from the running platform's read route, a cursor at a time."""
    url = f"http://{settings.host}:{settings.port}/api/v1/analytics/events"
    after, left = None, limit
    async with httpx.AsyncClient(timeout=60) as client:
        while left is None or left > 0:
            size = PAGE_SIZE if left is None else min(PAGE_SIZE, left)
            params: Params = [*_params(history), ("limit", size)]
            if after is not None:
                params.append(("after", after))
            response = await _get(client, settings, url, params)
            # JSON Lines end at "\n" alone (text may hold U+2028 and the like raw).
            page = [json.loads(line) for line in response.text.split("\n") if line]
            if page:
                yield page
            after = response.headers.get(NEXT)
            if after is None:
                return
            left = None if left is None else left - len(page)


async def _get(client: httpx.AsyncClient, settings: Settings, url: str,
               params: Params) -> httpx.Response:
    """One page; past the platform's rate limit, again once it says (`Retry-After`)."""
    while True:
        # A fresh token a page: an export may outlast one.
        token = issue_token(settings, CLI_SUBJECT, [Role.ANALYST])
        try:
            response = await client.get(url, params=params,
                                        headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as error:
            raise HistoryUnavailable(
                f"tanqory serve holds the history under {settings.data_dir}, but it does "
                f"not answer at {url} (TANQORY_HOST, TANQORY_PORT): {error}") from None
        if response.status_code == 429:
            await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
            continue
        if response.status_code != 200:
            raise HistoryUnavailable(f"{url} answered {response.status_code}: "
                                     f"{response.text[:500]}")
        return response


def _params(history: HistoryFilter) -> Params:
    params: Params = [("context", c) for c in history.contexts]
    params += [("type", t) for t in history.event_types]
    for name, value in (("aggregate_id", history.aggregate_id),
                        ("aggregate_type", history.aggregate_type),
                        ("correlation_id", history.correlation_id)):
        if value is not None:
            params.append((name, value))
    for name, at in (("since", history.since), ("until", history.until)):
        if at is not None:
            params.append((name, at.isoformat()))
    return params


def history_filter(contexts: list[str], aggregate_id: UUID | None, aggregate_type: str | None,
                   event_types: list[str], since: str | None, until: str | None,
                   correlation_id: str | None) -> HistoryFilter:
    """The filter the options ask for; ValueError (the operator's mistake) if it names a
    context or event type the platform does not have, or a time that is not ISO 8601."""
    from tanqory.contexts import REGISTRY
    from tanqory.wiring import event_contexts

    unknown = sorted(set(contexts) - set(event_contexts()))
    if unknown:
        raise ValueError(f"unknown context(s) {', '.join(unknown)}; the contexts are "
                         f"{', '.join(event_contexts())}")
    unknown = sorted(set(event_types) - {name for name, _ in REGISTRY.known_events})
    if unknown:
        raise ValueError(f"unknown event type(s) {', '.join(unknown)} (docs/events.md "
                         "lists them)")
    moments = {}
    for option, text in (("--since", since), ("--until", until)):
        try:
            moments[option] = None if text is None else moment(text)
        except ValueError:
            raise ValueError(f"{option} {text!r} is not an ISO 8601 date or date-time"
                             ) from None
    first, last = moments["--since"], moments["--until"]
    if first is not None and last is not None and first >= last:
        raise ValueError("--since must be before --until")
    return HistoryFilter(tuple(contexts), None if aggregate_id is None else str(aggregate_id),
                         aggregate_type, tuple(event_types), first, last, correlation_id)


async def export(settings: Settings, history: HistoryFilter, limit: int | None,
                 out: Writer, unseal: bool, done: Callable[[int], None]) -> int:
    """Writes the history's events to `out` a page at a time, calling `done` with the
    size of each page; returns how many there were."""
    from tanqory.wiring import personal_data

    unsealer = Unsealer(personal_data(settings)) if unseal else None
    count = 0
    async for page in events(settings, history, limit):
        out.write(page if unsealer is None else await unsealer.open(page))
        count += len(page)
        done(len(page))
    return count
