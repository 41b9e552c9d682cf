"""Analysts' queries of the event history: filters as ClickHouse SQL, read in keyset pages.

The SQL runs on ClickHouse 18.16, current ClickHouse and chDB alike. Every value an
analyst gives reaches it as a quoted string literal (`quote`), a timestamp formatted
here, or an int: nothing they type is ever SQL. Pages follow each other by the sort key
of the last row (keyset), so a long export never holds more than a page and never
reads an event twice, whatever is archived meanwhile (an event archived after the export
passed its time is in the next export, not this one).
"""

import base64
import binascii
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

from projections.stores.analytics_sql import quote

# The export's order: when, then the event's identity (unique: aggregate and version).
ORDER_BY = "occurred_at, context, aggregate_id, aggregate_version"


class HistorySource(Protocol):
    """What pages are read from: SqlEventArchive.select."""

    async def select(self, where: str, order_by: str, limit: int) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class HistoryFilter:
    """Events matching every given part (a tuple matches any of its values)."""

    contexts: tuple[str, ...] = ()
    aggregate_id: str | None = None
    aggregate_type: str | None = None
    event_types: tuple[str, ...] = ()
    since: datetime | None = None  # inclusive, aware
    until: datetime | None = None  # exclusive, aware
    correlation_id: str | None = None


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the sort key of its last event."""

    occurred_at: datetime  # naive UTC, as the archive returns it
    context: str
    aggregate_id: str
    aggregate_version: int

    @classmethod
    def after(cls, row: dict[str, Any]) -> "Cursor":
        return cls(row["occurred_at"], row["context"], row["aggregate_id"],
                   int(row["aggregate_version"]))

    def encode(self) -> str:
        """An opaque token for `?after=`."""
        key = [f"{self.occurred_at:%Y-%m-%dT%H:%M:%S}", self.context, self.aggregate_id,
               self.aggregate_version]
        return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> "Cursor":
        """ValueError unless `token` is one `encode` made."""
        try:
            key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            moment, context, aggregate_id, version = key
            if not (isinstance(context, str) and isinstance(aggregate_id, str)
                    and type(version) is int and 0 <= version < 2**63):
                raise TypeError("not a cursor")
            return cls(datetime.strptime(moment, "%Y-%m-%dT%H:%M:%S"), context,
                       aggregate_id, version)
        except (binascii.Error, UnicodeDecodeError, TypeError, ValueError):
            raise ValueError("not a cursor of this history") from None


def moment(text: str) -> datetime:
    """An ISO 8601 date (midnight) or date-time, UTC when it names no offset; ValueError
    otherwise."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = datetime.combine(date.fromisoformat(text), datetime.min.time())
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def timestamp(moment: datetime) -> str:
    """A DateTime literal in UTC, to the second (the history keeps whole seconds)."""
    utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment
    return f"toDateTime({quote(f'{utc:%Y-%m-%d %H:%M:%S}')}, 'UTC')"


def _any_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(quote(v) for v in values)})"


def _after(cursor: Cursor) -> str:
    """Strictly after `cursor` in ORDER_BY (spelt out: 18.16 compares no tuples)."""
    at, context = timestamp(cursor.occurred_at), quote(cursor.context)
    aggregate = quote(cursor.aggregate_id)
    return (f"(occurred_at > {at} OR (occurred_at = {at} AND (context > {context} OR "
            f"(context = {context} AND (aggregate_id > {aggregate} OR "
            f"(aggregate_id = {aggregate} AND aggregate_version > {int(cursor.aggregate_version)}"
            "))))))")


def where(history: HistoryFilter, after: Cursor | None = None) -> str:
    """The SQL condition of `history`, past `after`; `1` matches every event."""
    parts = []
    if history.contexts:
        parts.append(_any_of("context", history.contexts))
    if history.aggregate_id is not None:
        parts.append(f"aggregate_id = {quote(history.aggregate_id)}")
    if history.aggregate_type is not None:
        parts.append(f"aggregate_type = {quote(history.aggregate_type)}")
    if history.event_types:
        parts.append(_any_of("event_type", history.event_types))
    if history.since is not None:
        parts.append(f"occurred_at >= {timestamp(history.since)}")
    if history.until is not None:
        parts.append(f"occurred_at < {timestamp(history.until)}")
    if history.correlation_id is not None:
        parts.append(f"correlation_id = {quote(history.correlation_id)}")
    if after is not None:
        parts.append(_after(after))
    return " AND ".join(parts) or "1"


async def page(source: HistorySource, history: HistoryFilter, after: Cursor | None,
               size: int) -> list[dict[str, Any]]:
    """At most `size` events of `history` after `after`, as the archive holds them."""
    return await source.select(where(history, after), ORDER_BY, size)


async def pages(source: HistorySource, history: HistoryFilter, size: int,
                limit: int | None = None) -> AsyncIterator[list[dict[str, Any]]]:
    """Every event of `history` (at most `limit`), in pages of at most `size`."""
    after, left = None, limit
    while left is None or left > 0:
        wanted = size if left is None else min(size, left)
        rows = await page(source, history, after, wanted)
        if rows:
            yield rows
        if len(rows) < wanted:
            return
        after = Cursor.after(rows[-1])
        left = None if left is None else left - len(rows)


def envelope(row: dict[str, Any]) -> dict[str, Any]:
    """An archived event in the envelope's shape (docs/events.md), as JSON values."""
    return {
        "event_id": row["event_id"],
        "event_type": row["event_type"],
        "schema_version": row["schema_version"],
        "context": row["context"],
        "aggregate_type": row["aggregate_type"],
        "aggregate_id": row["aggregate_id"],
        "aggregate_version": row["aggregate_version"],
        "position": row["position"],
        "occurred_at": f"{row['occurred_at']:%Y-%m-%dT%H:%M:%S}Z",
        "correlation_id": row["correlation_id"],
        "causation_id": row["causation_id"],
        "actor": {"subject": row["actor_subject"], "roles": list(row["actor_roles"])},
        "payload": json.loads(row["payload"]),
    }
