"""The analysts' history queries on chDB (embedded) and ClickHouse (server): filters select
exactly, pages cover everything once in order, and no argument is ever SQL."""

from datetime import UTC, datetime, timedelta
from typing import Any, cast
from uuid import uuid4

import pytest

from projections.analytics import to_row
from projections.stores.base import EventArchive
from projections.stores.history_query import HistoryFilter, HistorySource, pages
from schemas.envelope import EventEnvelope
from tests.contract.test_event_archive import events
from tests.unit.test_history_query import HOSTILE

START = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


def spread(n: int) -> list[EventEnvelope]:
    """`n` events, three a second (so several share a time), in two contexts."""
    return [e.model_copy(update={"occurred_at": START + timedelta(seconds=i // 3),
                                 "context": "catalog" if i % 2 else "inventory",
                                 "correlation_id": f"request-{i % 4}"})
            for i, e in enumerate(events(n))]


async def read(archive: EventArchive, history: HistoryFilter, size: int = 4,
               limit: int | None = None) -> list[dict[str, object]]:
    source = cast(HistorySource, archive)
    return [row async for page in pages(source, history, size, limit) for row in page]


def order(event: EventEnvelope) -> tuple[object, ...]:
    return (event.occurred_at, event.context, str(event.aggregate_id), event.aggregate_version)


async def test_pages_hold_every_event_once_in_time_order(event_archive: EventArchive) -> None:
    appended = spread(23)
    await event_archive.append(appended)
    expected = [to_row(e) for e in sorted(appended, key=order)]
    assert await read(event_archive, HistoryFilter()) == expected
    assert await read(event_archive, HistoryFilter(), size=5, limit=7) == expected[:7]


async def test_filters_select_exactly_and_combine(event_archive: EventArchive) -> None:
    appended = spread(12)
    await event_archive.append(appended)

    async def ids(**given: Any) -> set[str]:
        return {str(r["event_id"]) for r in await read(event_archive, HistoryFilter(**given))}

    def expected(keep: object) -> set[str]:
        return {str(e.event_id) for e in appended if keep(e)}  # type: ignore[operator]

    assert await ids(contexts=("catalog",)) == expected(lambda e: e.context == "catalog")
    assert await ids(aggregate_id=str(appended[3].aggregate_id)) == {str(appended[3].event_id)}
    assert await ids(aggregate_type="Product", event_types=("ProductCreated",)) == expected(
        lambda e: True)
    assert await ids(event_types=("OrderPlaced",)) == set()
    assert await ids(correlation_id="request-1", contexts=("catalog", "inventory")) == expected(
        lambda e: e.correlation_id == "request-1")
    since, until = START + timedelta(seconds=1), START + timedelta(seconds=3)
    assert await ids(since=since, until=until) == expected(
        lambda e: since <= e.occurred_at < until)


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_no_argument_is_sql(event_archive: EventArchive, hostile: str) -> None:
    """A value with quotes and backslashes matches only itself, wherever it is given."""
    appended = spread(3)
    marked = appended[0].model_copy(update={"correlation_id": hostile,
                                            "aggregate_id": uuid4()})
    await event_archive.append([*appended, marked])
    for given in ({"contexts": (hostile,)}, {"aggregate_id": hostile},
                  {"aggregate_type": hostile}, {"event_types": (hostile,)}):
        assert await read(event_archive, HistoryFilter(**given)) == []  # type: ignore[arg-type]
    assert await read(event_archive, HistoryFilter(correlation_id=hostile)) == [to_row(marked)]
    assert len(await event_archive.rows()) == 4
