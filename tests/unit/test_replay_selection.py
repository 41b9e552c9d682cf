"""Which events a replay refolds: whole streams of the aggregates it selects."""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from projections.replay import select
from schemas.envelope import Actor, EventEnvelope

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def event(aggregate: UUID, version: int, minutes: int) -> EventEnvelope:
    return EventEnvelope(
        event_id=uuid4(), event_type="ProductRenamed", schema_version=1, context="catalog",
        aggregate_type="Product", aggregate_id=aggregate, aggregate_version=version,
        position=minutes + 1, occurred_at=T0 + timedelta(minutes=minutes),
        correlation_id="c", causation_id="c", actor=Actor(subject="test"), payload={})


def test_a_window_selects_the_whole_streams_of_the_aggregates_with_an_event_in_it() -> None:
    early, late, both = uuid4(), uuid4(), uuid4()
    history = [event(early, 1, 0), event(both, 1, 1), event(early, 2, 2),
               event(late, 1, 10), event(both, 2, 11), event(late, 2, 20)]
    since, until = T0 + timedelta(minutes=10), T0 + timedelta(minutes=20)
    assert select(history, since=since, until=until) == [e for e in history
                                                          if e.aggregate_id in (late, both)]
    assert select(history, since=since) == select(history, since=since, until=None)
    assert select(history, until=T0 + timedelta(minutes=1)) == [
        e for e in history if e.aggregate_id == early]  # until is exclusive


def test_an_aggregate_selects_its_stream_and_nothing_selects_every_stream() -> None:
    one, other = uuid4(), uuid4()
    history = [event(one, 1, 0), event(other, 1, 1), event(one, 2, 2)]
    assert select(history, aggregate=one) == [history[0], history[2]]
    assert select(history) == history
    assert select(history, aggregate=uuid4()) == []
