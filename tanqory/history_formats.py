"""How `tanqory history` writes events: a table for people, JSON lines, CSV or Parquet.

Each writer takes the events a page at a time (envelopes, as docs/events.md shapes them)
and holds none of them after: a Parquet file gets one row group per page.
"""

import csv
import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    import pyarrow as pa


class Format(StrEnum):
    TABLE = "table"
    JSONL = "jsonl"
    CSV = "csv"
    PARQUET = "parquet"


# CSV and Parquet: the envelope's fields, the actor's two as columns of their own.
COLUMNS = ("event_id", "event_type", "schema_version", "context", "aggregate_type",
           "aggregate_id", "aggregate_version", "position", "occurred_at", "correlation_id",
           "causation_id", "actor_subject", "actor_roles", "payload")


@cache
def parquet_schema() -> "pa.Schema":
    """The Parquet file's columns (docs/operations.md). pyarrow is imported only here and
    by the writer: every other command starts without it."""
    import pyarrow as pa

    return pa.schema([
        ("event_id", pa.string()), ("event_type", pa.string()),
        ("schema_version", pa.int32()), ("context", pa.string()),
        ("aggregate_type", pa.string()), ("aggregate_id", pa.string()),
        ("aggregate_version", pa.int64()), ("position", pa.int64()),
        ("occurred_at", pa.timestamp("ms", tz="UTC")), ("correlation_id", pa.string()),
        ("causation_id", pa.string()), ("actor_subject", pa.string()),
        ("actor_roles", pa.list_(pa.string())),
        ("payload", pa.string()),  # the payload object as JSON text
    ])


class Writer(Protocol):
    def write(self, events: list[dict[str, Any]]) -> None: ...
    def close(self) -> None: ...


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def flat(event: dict[str, Any]) -> dict[str, Any]:
    """An envelope as COLUMNS: the actor split in two, the payload left to the writer."""
    fields = {k: v for k, v in event.items() if k != "actor"}
    return {**fields, "actor_subject": event["actor"]["subject"],
            "actor_roles": event["actor"]["roles"]}


class JsonLines:
    def __init__(self, out: TextIO) -> None:
        self._out = out

    def write(self, events: list[dict[str, Any]]) -> None:
        self._out.writelines(_json(e) + "\n" for e in events)

    def close(self) -> None:
        self._out.flush()


class Csv:
    """Payload and roles as JSON text."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._rows = csv.DictWriter(out, COLUMNS)
        self._rows.writeheader()

    def write(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            row = flat(event)
            self._rows.writerow({**row, "actor_roles": _json(row["actor_roles"]),
                                 "payload": _json(row["payload"])})

    def close(self) -> None:
        self._out.flush()


class Parquet:
    """One row group a page."""

    def __init__(self, path: Path) -> None:
        import pyarrow.parquet as pq

        self._file = pq.ParquetWriter(path, parquet_schema())

    def write(self, events: list[dict[str, Any]]) -> None:
        rows = [flat(e) for e in events]
        columns = {name: [r[name] for r in rows] for name in COLUMNS}
        columns["occurred_at"] = [_instant(t) for t in columns["occurred_at"]]
        columns["payload"] = [_json(p) for p in columns["payload"]]
        import pyarrow as pa

        self._file.write_table(pa.table(columns, schema=parquet_schema()))

    def close(self) -> None:
        self._file.close()


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# The table's columns and their widths, the same on every page so that pages line up;
# the payload takes what is left of the line.
TABLE_COLUMNS = (("occurred_at", 20), ("context", 13), ("event_type", 28),
                 ("aggregate_id", 36), ("ver", 4), ("actor", 16))


# What a terminal would act on rather than show: control characters (a line feed, an
# escape sequence, U+0085) and the line and paragraph separators.
_UNSHOWN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _shown(value: object) -> Text:
    """A cell's text with what a terminal would act on spelled as an escape (`\\u2028`)."""
    return Text(_UNSHOWN.sub(lambda m: m.group().encode("unicode_escape").decode(), str(value)))


class Readable:
    """A fixed-width table, a page at a time, the header once; one line an event, whatever
    its text holds."""

    def __init__(self, out: TextIO) -> None:
        self._console = Console(file=out, width=None if out.isatty() else 200,
                                highlight=False, soft_wrap=False)
        self._header = True

    def write(self, events: list[dict[str, Any]]) -> None:
        table = Table(box=None, show_header=self._header, pad_edge=False, expand=True)
        for name, width in TABLE_COLUMNS:
            table.add_column(name, width=width, no_wrap=True, overflow="ellipsis")
        table.add_column("payload", ratio=1, no_wrap=True, overflow="ellipsis")
        for e in events:
            table.add_row(*(_shown(v) for v in (
                e["occurred_at"], e["context"], e["event_type"], e["aggregate_id"],
                e["aggregate_version"], e["actor"]["subject"], _json(e["payload"]))))
        self._console.print(table)
        self._header = False

    def close(self) -> None:
        self._console.file.flush()


@contextmanager
def open_writer(format_: Format, path: Path | None) -> Iterator[Writer]:
    """`format_`'s writer to the file at `path`, or to stdout; closed (flushed) after."""
    if format_ is Format.PARQUET:
        if path is None:
            raise ValueError("Parquet is written to a file: give --output PATH")
        out: Writer = Parquet(path)
    else:
        stream = sys.stdout if path is None else path.open("w", encoding="utf-8", newline="")
        kinds: dict[Format, type[Readable | JsonLines | Csv]] = {
            Format.TABLE: Readable, Format.JSONL: JsonLines, Format.CSV: Csv}
        out = kinds[format_](stream)
    try:
        yield out
    finally:
        out.close()
        if path is not None and format_ is not Format.PARQUET:
            stream.close()


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:,.0f} events/s" if task.speed else "")


@contextmanager
def progress(total: int | None, shown: bool) -> Iterator[Callable[[int], None]]:
    """A progress line on stderr (events done, rate, time left when `total` is known);
    yields the function that counts events done."""
    with Progress(SpinnerColumn(), TextColumn("{task.completed:,} events"), _Rate(),
                  *([BarColumn(), TimeRemainingColumn()] if total else []),
                  console=Console(stderr=True), disable=not shown, transient=True) as bar:
        task = bar.add_task("history", total=total)
        yield lambda n: bar.advance(task, n)
