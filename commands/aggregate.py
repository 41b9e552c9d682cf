"""The base of every aggregate here: eventsourcing's, with events that take their
timestamp from `commands.clock` (the current time unless a caller pinned one)."""

from datetime import datetime

from eventsourcing.domain import Aggregate as EventsourcingAggregate

from commands import clock


class Aggregate(EventsourcingAggregate):
    class Event(EventsourcingAggregate.Event):
        @staticmethod
        def create_timestamp() -> datetime:
            return clock.now()

    class Created(Event, EventsourcingAggregate.Created):
        pass
