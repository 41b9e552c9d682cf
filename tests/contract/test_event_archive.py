"""The analysts' event archive contract, on chDB (embedded) and ClickHouse (server)."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from uuid import uuid4

from projections.analytics import to_row
from projections.stores.base import EventArchive
from schemas.catalog import CreateProduct
from schemas.envelope import EventEnvelope
from tests.unit.test_products_projector import created


def events(n: int) -> list[EventEnvelope]:
    return [
        created(CreateProduct(name=f"P{i}", sku=f"S-{i}", price=Decimal("1.00")),
                aggregate_id=uuid4(), position=i + 1)
        for i in range(n)
    ]


async def test_each_event_is_held_once_however_often_it_is_appended(
    event_archive: EventArchive,
) -> None:
    first, second = events(5), events(3)
    assert await event_archive.append(first) == 5
    assert await event_archive.append(first) == 0
    assert await event_archive.append(first[2:] + second + second) == 3
    counts = await event_archive.event_counts()
    assert counts == {str(e.event_id): 1 for e in first + second}


async def test_an_event_appended_again_is_found_among_events_years_apart(
    event_archive: EventArchive,
) -> None:
    """The check looks only where the batch's times lie: from its earliest to its latest."""
    def at(event: EventEnvelope, moment: datetime) -> EventEnvelope:
        return event.model_copy(update={"occurred_at": moment})

    old, recent, new = events(3)
    old = at(old, datetime(2023, 1, 31, 23, 59, 59, 999_999, tzinfo=UTC))
    recent = at(recent, datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC))
    new = at(new, datetime(2026, 11, 29, 0, 0, tzinfo=timezone(timedelta(hours=7))))
    assert await event_archive.append([old, recent]) == 2
    assert await event_archive.append([new, old]) == 1
    assert await event_archive.append([recent]) == 0
    assert await event_archive.append([recent, new, old]) == 0
    counts = await event_archive.event_counts()
    assert counts == {str(e.event_id): 1 for e in (old, recent, new)}


async def test_rows_keep_the_envelope(event_archive: EventArchive) -> None:
    event = events(1)[0].model_copy(update={"occurred_at": datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)})
    await event_archive.append([event])
    assert await event_archive.history(event.aggregate_id) == [to_row(event)]
    assert await event_archive.history(uuid4()) == []


async def test_text_keeps_every_character_that_some_reader_takes_for_a_line_break(
    event_archive: EventArchive,
) -> None:
    breaks = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # all of str.splitlines'
    event = events(1)[0]
    event = event.model_copy(update={"correlation_id": f"c{breaks}d",
                                     "payload": {**event.payload, "name": f"a{breaks}b"}})
    await event_archive.append([event])
    assert await event_archive.history(event.aggregate_id) == [to_row(event)]


async def test_rows_are_every_event_by_aggregate_and_version(event_archive: EventArchive) -> None:
    appended = events(4)
    await event_archive.append(appended)
    by_aggregate = sorted(appended, key=lambda e: (str(e.aggregate_id), e.aggregate_version))
    assert await event_archive.rows() == [to_row(e) for e in by_aggregate]


async def test_drop_empties_the_archive(event_archive: EventArchive) -> None:
    await event_archive.append(events(2))
    await event_archive.drop()
    assert await event_archive.event_counts() == {}
    assert await event_archive.append(events(1)) == 1
