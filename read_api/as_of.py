"""Time travel: a document as it was (`?as_of=` on a read by id), folded from its
aggregate's events in the event store with the projectors' own folds.

An aggregate's events are read from its own stream, oldest first, and only as far as the
bound asks: never a scan of the event log. The read models are not involved, so what a
time-travel read shows does not depend on how far the projectors have got.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import takewhile
from typing import Annotated, Any, Protocol, TypeVar
from uuid import UUID

from fastapi import Query

from projections.folding import Changes, Versioned
from runtime.problems import PROBLEM_RESPONSES, ProblemError
from schemas.envelope import EventEnvelope

Bound = int | datetime  # a version of the aggregate, or a moment (in UTC)
D = TypeVar("D", bound=Versioned)
Fold = Callable[[Mapping[UUID, D], Iterable[EventEnvelope]],
                tuple[Changes[D], list[tuple[EventEnvelope, str]]]]
PAGE = 500  # events read at a time when looking for the last one before a moment
MAX_DIGITS = 18  # a version with more digits is beyond every aggregate (and every store's int)
AS_OF_DESCRIPTION = (
    "Time travel: the document as it was, folded from the event store. A version (`3`: "
    "the state after that version, from 1 to the current one) or an ISO 8601 time "
    "(`2026-11-27T10:00:00Z`; UTC when it has no offset: the state after the last event "
    "at or before it). What the document shows of other aggregates is as of the same "
    "moment (the time asked, or when that version was recorded). Never served from the "
    "platform's cache (a version's answer may be kept by HTTP caches: it never changes); "
    "the `X-As-Of-Version` header names the version shown.")
AS_OF_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {**PROBLEM_RESPONSES[404], "description": "Not found; with `as_of`, also when it "
          "did not exist yet at that time (a product: or was deleted by then)"},
    422: {**PROBLEM_RESPONSES[422], "description": "Invalid parameters: an `as_of` that is "
          "neither a version nor an ISO 8601 time, or a version below 1 or beyond the "
          "current one"},
}
AsOfQuery = Annotated[str | None, Query(
    max_length=64, description=AS_OF_DESCRIPTION,
    examples=["3", "2026-11-27T10:00:00Z"])]
VERSION_HEADER = "X-As-Of-Version"


class EventStreams(Protocol):
    """One aggregate's events, read from the event store of its context."""

    async def read(self, aggregate_type: str, aggregate_id: UUID, after: int,
                   upto: int | None = None, limit: int | None = None) -> list[EventEnvelope]:
        """The public events of the `aggregate_type` with this id whose versions are above
        `after` and at most `upto`, oldest first, at most `limit` of them; none when no
        such aggregate is stored."""

    def close(self) -> None:
        """Lets go of what the reader opened."""


def invalid(detail: str) -> ProblemError:
    return ProblemError(422, "validation-error", detail)


def parse_as_of(text: str) -> Bound:
    """A version (ASCII digits, 1 or more) or an ISO 8601 time (UTC when without offset);
    422 for anything else."""
    if text.isascii() and text.isdigit():
        if len(text.lstrip("0")) > MAX_DIGITS:
            raise invalid(f"as_of={text} is beyond the current version")
        version = int(text)
        if version < 1:
            raise invalid("as_of must be a version from 1, or an ISO 8601 time")
        return version
    try:
        moment = datetime.fromisoformat(text)
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise invalid(f"as_of must be a version (1, 2, ...) or an ISO 8601 time, not "
                      f"{text!r}") from None


def up_to(events: Iterable[EventEnvelope], bound: Bound) -> list[EventEnvelope]:
    """The first of an aggregate's events (oldest first) that make its state as of `bound`:
    those up to that version, or those that occurred at or before that moment."""
    if isinstance(bound, int):
        return list(takewhile(lambda e: e.aggregate_version <= bound, events))
    return list(takewhile(lambda e: e.occurred_at <= bound, events))


async def until(streams: EventStreams, aggregate_type: str, aggregate_id: UUID,
                moment: datetime) -> tuple[list[EventEnvelope], EventEnvelope | None]:
    """The aggregate's events that occurred at or before `moment`, read a page at a time
    and no further than the first one after it, which comes second (None: there is none)."""
    events: list[EventEnvelope] = []
    while True:
        after = events[-1].aggregate_version if events else 0
        page = await streams.read(aggregate_type, aggregate_id, after=after, limit=PAGE)
        before = up_to(page, moment)
        events += before
        if len(before) < len(page):
            return events, page[len(before)]
        if len(page) < PAGE:
            return events, None


@dataclass(frozen=True)
class AsOf:
    """An aggregate's events that make its state as of a bound, and the moment that state
    stands for: the time asked, or when the version asked was recorded."""

    events: Sequence[EventEnvelope]
    moment: datetime

    @property
    def version(self) -> int:
        return self.events[-1].aggregate_version


async def events_as_of(streams: EventStreams, aggregate_type: str, aggregate_id: UUID,
                bound: Bound, what: str) -> AsOf:
    """The events of `what` (say "Product 42…") as of `bound`: 404 when it was never
    stored or did not exist yet then, 422 for a version beyond its current one."""
    if isinstance(bound, int):
        events = await streams.read(aggregate_type, aggregate_id, after=0, upto=bound)
        if not events:
            raise ProblemError(404, "not-found", f"{what} not found")
        if events[-1].aggregate_version < bound:
            raise invalid(f"as_of={bound} is beyond the current version of {what} "
                          f"({events[-1].aggregate_version})")
        return AsOf(events, events[-1].occurred_at)
    events, later = await until(streams, aggregate_type, aggregate_id, bound)
    if not events and later is None:
        raise ProblemError(404, "not-found", f"{what} not found")
    if not events:
        assert later is not None
        raise ProblemError(404, "not-found", f"{what} did not exist yet at "
                           f"{bound.isoformat()}: it was created at "
                           f"{later.occurred_at.isoformat()}")
    return AsOf(events, bound)


def folded(fold: Fold[D], aggregate_id: UUID, events: Iterable[EventEnvelope]) -> D | None:
    """The document the projector's `fold` makes of an aggregate's events from its first
    (None when they make none)."""
    changes, _ = fold({}, events)
    found = changes.get(aggregate_id)
    return found[0] if found else None


async def folded_at(streams: EventStreams, fold: Fold[D], aggregate_type: str,
                    aggregate_id: UUID | None, moment: datetime) -> D | None:
    """Another aggregate's document as of `moment` (None if it did not exist yet, or no
    id names one), for what a time-travel read shows of it."""
    if aggregate_id is None:
        return None
    events, _ = await until(streams, aggregate_type, aggregate_id, moment)
    return folded(fold, aggregate_id, events)


def cache_control(bound: Bound) -> str:
    """A version's state never changes; a moment's may still (one in the future, or an
    event being recorded right now), so it is checked again each time."""
    return "public, max-age=3600" if isinstance(bound, int) else "no-cache"
