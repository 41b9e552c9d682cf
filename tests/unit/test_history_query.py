"""The event history's filters as SQL: every value a quoted literal, pages by keyset."""

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.stores.analytics_sql import quote
from projections.stores.history_query import (
    ORDER_BY,
    Cursor,
    HistoryFilter,
    envelope,
    moment,
    pages,
    where,
)
from tanqory.history import history_filter

HOSTILE = ["x' OR 1=1 --", "\\' OR 1 --", "a\\", "'; DROP TABLE events; --", "\\\\'",
           "é\n\t\x00'"]
# A ClickHouse string literal: quotes around anything but an unescaped quote or backslash.
LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'", re.DOTALL)


def unquoted(sql: str) -> str:
    """`sql` with every string literal taken out: what is left is all SQL we wrote."""
    return LITERAL.sub("?", sql)


def unescape(quoted: str) -> str:
    return re.sub(r"\\(.)", r"\1", quoted[1:-1], flags=re.DOTALL)


@given(st.text())
def test_a_literal_is_one_string_literal_holding_the_text(text: str) -> None:
    quoted = quote(text)
    assert LITERAL.fullmatch(quoted)
    assert unescape(quoted) == text


@pytest.mark.parametrize("hostile", HOSTILE)
def test_no_argument_reaches_the_sql_outside_a_literal(hostile: str) -> None:
    sql = where(HistoryFilter(contexts=(hostile, "catalog"), aggregate_id=hostile,
                              aggregate_type=hostile, event_types=(hostile,),
                              correlation_id=hostile),
                Cursor(datetime(2026, 1, 2, 3, 4, 5), hostile, hostile, 7))
    assert unquoted(sql) == (
        "context IN (?, ?) AND aggregate_id = ? AND aggregate_type = ? AND event_type IN (?) "
        "AND correlation_id = ? AND (occurred_at > toDateTime(?, ?) OR (occurred_at = "
        "toDateTime(?, ?) AND (context > ? OR (context = ? AND (aggregate_id > ? OR "
        "(aggregate_id = ? AND aggregate_version > 7))))))")
    assert [unescape(q) for q in LITERAL.findall(sql)].count(hostile) == 9


def test_no_filter_matches_every_event() -> None:
    assert where(HistoryFilter()) == "1"


def test_times_are_utc_seconds_since_inclusive_until_exclusive() -> None:
    paris = timezone(timedelta(hours=1))
    sql = where(HistoryFilter(since=datetime(2026, 3, 1, 1, 0, 0, 999, tzinfo=paris),
                              until=datetime(2026, 3, 2, tzinfo=UTC)))
    assert sql == ("occurred_at >= toDateTime('2026-03-01 00:00:00', 'UTC') AND "
                   "occurred_at < toDateTime('2026-03-02 00:00:00', 'UTC')")


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
    ("2026-03-01T10:20:30", datetime(2026, 3, 1, 10, 20, 30, tzinfo=UTC)),
    ("2026-03-01T10:20:30Z", datetime(2026, 3, 1, 10, 20, 30, tzinfo=UTC)),
    ("2026-03-01T12:20:30+02:00", datetime(2026, 3, 1, 10, 20, 30, tzinfo=UTC)),
])
def test_moments_are_iso_8601_in_utc_unless_they_say(text: str, expected: datetime) -> None:
    assert moment(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01", "1 OR 1=1"])
def test_other_moments_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        moment(text)


def test_a_cursor_comes_back_as_it_went() -> None:
    cursor = Cursor(datetime(2026, 1, 2, 3, 4, 5), "catalog", "a'b", 12)
    assert Cursor.decode(cursor.encode()) == cursor


@pytest.mark.parametrize("token", ["", "nope", "W10", "WzEsMiwzLDRd", "é",
                                   Cursor(datetime(2026, 1, 1), "c", "a", 1).encode()[:-2]])
def test_anything_else_is_not_a_cursor(token: str) -> None:
    with pytest.raises(ValueError, match="not a cursor"):
        Cursor.decode(token)


class Archive:
    """A fake HistorySource over rows sorted by the export's order; `where` is ignored
    but for the cursor, which it honours by the rows' own keys."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.asked: list[int] = []

    async def select(self, where: str, order_by: str, limit: int) -> list[dict[str, Any]]:
        assert order_by == ORDER_BY
        self.asked.append(limit)
        done = sum(self.asked[:-1])
        return self.rows[done:done + limit]


def row(n: int) -> dict[str, Any]:
    return {"occurred_at": datetime(2026, 1, 1) + timedelta(seconds=n), "context": "catalog",
            "aggregate_id": f"id-{n:03}", "aggregate_version": 1}


@pytest.mark.parametrize(("total", "size", "limit", "asked"), [
    (10, 4, None, [4, 4, 4]), (8, 4, None, [4, 4, 4]), (10, 4, 6, [4, 2]),
    (3, 4, 10, [4]), (0, 4, None, [4]),
])
async def test_pages_read_every_event_once_and_no_more_than_asked(
        total: int, size: int, limit: int | None, asked: list[int]) -> None:
    archive = Archive([row(n) for n in range(total)])
    read = [r async for page in pages(archive, HistoryFilter(), size, limit) for r in page]
    assert read == archive.rows[:limit]
    assert archive.asked == asked


def test_an_archived_row_is_an_envelope() -> None:
    archived = {"event_id": "e", "event_type": "OrderPlaced", "schema_version": 2,
                "context": "ordering", "aggregate_type": "Order", "aggregate_id": "a",
                "aggregate_version": 1, "position": 9,
                "occurred_at": datetime(2026, 1, 2, 3, 4, 5), "correlation_id": "r",
                "causation_id": "c", "actor_subject": "s", "actor_roles": ["customer"],
                "payload": '{"x":[1]}'}
    assert envelope(archived) == {
        "event_id": "e", "event_type": "OrderPlaced", "schema_version": 2,
        "context": "ordering", "aggregate_type": "Order", "aggregate_id": "a",
        "aggregate_version": 1, "position": 9, "occurred_at": "2026-01-02T03:04:05Z",
        "correlation_id": "r", "causation_id": "c",
        "actor": {"subject": "s", "roles": ["customer"]}, "payload": {"x": [1]}}


@pytest.mark.parametrize(("arguments", "message"), [
    ({"contexts": ["catalog", "nope"]}, "unknown context"),
    ({"event_types": ["ProductCreated", "Nope"]}, "unknown event type"),
    ({"since": "soon"}, "--since 'soon' is not an ISO 8601"),
    ({"until": "2026-02-30"}, "--until"),
    ({"since": "2026-02-02", "until": "2026-02-01"}, "--since must be before --until"),
])
def test_the_cli_refuses_a_filter_naming_what_is_not(arguments: dict[str, Any],
                                                     message: str) -> None:
    given_ = {"contexts": [], "aggregate_id": None, "aggregate_type": None,
              "event_types": [], "since": None, "until": None, "correlation_id": None,
              **arguments}
    with pytest.raises(ValueError, match=re.escape(message)):
        history_filter(**given_)
