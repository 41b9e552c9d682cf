"""Time travel: parsing `as_of`, choosing an aggregate's events for a version or a moment
(read a page at a time, no further than needed), and folding them with the projectors'
own folds."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from commands.publishing import event_id_for
from projections.catalog.products import fold_products
from read_api.as_of import (
    PAGE,
    cache_control,
    events_as_of,
    folded,
    folded_at,
    parse_as_of,
    until,
    up_to,
)
from runtime.problems import ProblemError
from schemas.envelope import Actor, EventEnvelope

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def at(version: int) -> datetime:
    """When version `version` of the test aggregates was recorded: a minute apart."""
    return T0 + timedelta(minutes=version, microseconds=version)


def product_events(product_id: UUID, count: int) -> list[EventEnvelope]:
    """A product created at version 1 (named "v1") and renamed at each later version."""
    def envelope(version: int, event_type: str, payload: dict[str, Any]) -> EventEnvelope:
        return EventEnvelope(
            event_id=event_id_for(product_id, version), event_type=event_type,
            schema_version=1, context="catalog", aggregate_type="Product",
            aggregate_id=product_id, aggregate_version=version, position=version,
            occurred_at=at(version), correlation_id="c", causation_id="c",
            actor=Actor(subject="s"), payload=payload)

    created = envelope(1, "ProductCreated", {"name": "v1", "sku": "SKU-1", "price": "1.00"})
    return [created, *(envelope(v, "ProductUpdated", {"changes": {"name": f"v{v}"}})
                       for v in range(2, count + 1))]


class ListedStreams:
    """Streams over lists of events, counting the events each read hands out."""

    def __init__(self, *events: EventEnvelope) -> None:
        self.events = list(events)
        self.handed_out = 0

    async def read(self, aggregate_type: str, aggregate_id: UUID, after: int,
                   upto: int | None = None, limit: int | None = None) -> list[EventEnvelope]:
        found = [e for e in self.events if e.aggregate_type == aggregate_type
                 and e.aggregate_id == aggregate_id and e.aggregate_version > after
                 and (upto is None or e.aggregate_version <= upto)][:limit]
        self.handed_out += len(found)
        return found

    def close(self) -> None:
        pass


@pytest.mark.parametrize(("text", "expected"), [
    ("1", 1), ("42", 42), ("007", 7),
    ("2026-11-25T10:00:00Z", T0), ("2026-11-25T10:00:00", T0),
    ("2026-11-25T12:00:00+02:00", T0), ("2026-11-25T10:00:00.000000+00:00", T0),
    ("2026-11-25", datetime(2026, 11, 25, tzinfo=UTC)),
])
def test_as_of_is_a_version_or_a_time_in_utc(text: str, expected: int | datetime) -> None:
    parsed = parse_as_of(text)
    assert parsed == expected
    if isinstance(parsed, datetime):
        assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", [
    "0", "000", "-1", "+3", "1.5", "", " ", "yesterday", "2026-13-01", "2026-11-25T25:00",
    "٣", "1" * 19, "9" * 5000, "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
])
def test_anything_else_is_422_naming_as_of(text: str) -> None:
    with pytest.raises(ProblemError) as refused:
        parse_as_of(text)
    assert refused.value.status == 422
    assert "as_of" in refused.value.detail


def test_up_to_a_version_or_a_moment_takes_the_first_events() -> None:
    events = product_events(uuid4(), 5)
    assert up_to(events, 3) == events[:3]
    assert up_to(events, at(3)) == events[:3], "an event at the moment is in"
    assert up_to(events, at(3) - timedelta(microseconds=1)) == events[:2]
    assert up_to(events, at(1) - timedelta(seconds=1)) == []
    assert up_to(events, 99) == events


def test_a_moment_reads_no_further_than_the_first_page_past_it() -> None:
    product_id = uuid4()
    streams = ListedStreams(*product_events(product_id, 3 * PAGE))
    events, later = asyncio.run(until(streams, "Product", product_id, at(10)))
    assert [e.aggregate_version for e in events] == list(range(1, 11))
    assert later is not None and later.aggregate_version == 11
    assert streams.handed_out == PAGE, "one page, not the whole stream"

    streams.handed_out = 0
    events, later = asyncio.run(until(streams, "Product", product_id, at(PAGE + 5)))
    assert len(events) == PAGE + 5 and streams.handed_out == 2 * PAGE
    events, later = asyncio.run(until(streams, "Product", product_id, at(10 * PAGE)))
    assert len(events) == 3 * PAGE and later is None


def test_a_version_is_read_up_to_that_version_only() -> None:
    product_id = uuid4()
    streams = ListedStreams(*product_events(product_id, 5))
    then = asyncio.run(events_as_of(streams, "Product", product_id, 3, "Product x"))
    assert [e.aggregate_version for e in then.events] == [1, 2, 3]
    assert then.moment == at(3), "a version stands for when it was recorded"
    assert streams.handed_out == 3
    document = folded(fold_products, product_id, then.events)
    assert document is not None and (document.name, document.version) == ("v3", 3)


def test_a_moment_stands_for_itself() -> None:
    product_id = uuid4()
    streams = ListedStreams(*product_events(product_id, 5))
    moment = at(4) + timedelta(seconds=30)
    then = asyncio.run(events_as_of(streams, "Product", product_id, moment, "Product x"))
    assert then.version == 4 and then.moment == moment


@pytest.mark.parametrize(("bound", "status", "words"), [
    (6, 422, "beyond the current version of Product x (5)"),
    (at(1) - timedelta(seconds=1), 404, "did not exist yet"),
])
def test_out_of_the_aggregates_life(bound: int | datetime, status: int, words: str) -> None:
    product_id = uuid4()
    streams = ListedStreams(*product_events(product_id, 5))
    with pytest.raises(ProblemError) as refused:
        asyncio.run(events_as_of(streams, "Product", product_id, bound, "Product x"))
    assert refused.value.status == status
    assert words in refused.value.detail


@pytest.mark.parametrize("bound", [1, T0])
def test_an_unknown_aggregate_is_not_found(bound: int | datetime) -> None:
    streams = ListedStreams(*product_events(uuid4(), 2))
    with pytest.raises(ProblemError) as refused:
        asyncio.run(events_as_of(streams, "Product", uuid4(), bound, "Product x"))
    assert refused.value.status == 404 and refused.value.detail == "Product x not found"


def test_another_aggregate_as_of_a_moment() -> None:
    product_id = uuid4()
    streams = ListedStreams(*product_events(product_id, 3))
    shown = asyncio.run(folded_at(streams, fold_products, "Product", product_id, at(2)))
    assert shown is not None and shown.name == "v2"
    before = asyncio.run(folded_at(streams, fold_products, "Product", product_id, T0))
    assert before is None
    assert asyncio.run(folded_at(streams, fold_products, "Product", None, at(2))) is None


def test_only_a_version_is_cached_downstream() -> None:
    assert cache_control(3).startswith("public")
    assert cache_control(T0) == "no-cache"
