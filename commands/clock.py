"""When the events recorded now say they happened.

Always the current time, except inside `events_at(moment)`: there, in that context only
(a context variable, so a request served meanwhile by the same process is not affected),
every event an aggregate records says it happened at `moment`. Only the demo seeding
uses it, to record an order history spread over past weeks through the real commands.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from eventsourcing.domain import datetime_now_with_tzinfo

_pinned: ContextVar[datetime | None] = ContextVar("tanqory_events_at", default=None)


def now() -> datetime:
    """The pinned moment inside `events_at`, else the current time (timezone-aware)."""
    pinned = _pinned.get()
    return pinned if pinned is not None else datetime_now_with_tzinfo()


@contextmanager
def events_at(moment: datetime) -> Iterator[None]:
    """Events recorded in this context (and in tasks and threads started from it, which
    copy the context) say they happened at `moment`, which must be timezone-aware."""
    if moment.tzinfo is None:
        raise ValueError("events_at needs a timezone-aware moment")
    token = _pinned.set(moment)
    try:
        yield
    finally:
        _pinned.reset(token)
