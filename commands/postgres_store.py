"""The PostgreSQL event store, with each save one statement that PostgreSQL runs alone.

eventsourcing's PostgreSQL recorder takes an EXCLUSIVE lock on a context's events table
in every transaction that records events, so that positions are committed in the order
they were given (the relay never passes one that commits later). It sends BEGIN, the
lock, a NOTIFY and the insert, then COMMIT once it has read the insert's result: the
lock is held while the client sends and reads. In a busy process each of those steps
waits for the GIL, often for several switch intervals, and every other save of the
context queues behind the lock (sampled under the sustained load: most of the command
API's saves were waiting for the catalog table's lock, held by a transaction that sat
idle in PostgreSQL, waiting for its client).

Here a save calls a function of the table's own (`<table>_insert`, created with the
table) that takes the same lock, notifies and inserts, in an autocommitted statement: the
lock is taken, used and released inside PostgreSQL, whatever the client does meanwhile.
A refused insert (a version taken, a key claimed) rolls the statement back and raises as
before (IntegrityError).

A save's parameters go in binary (`%b`): psycopg's text format escapes each event's
state and record byte by byte in Python, which cost more than the rest of the statement.

The relay's read of the notifications after a position takes its rows as tuples: the
library's dictionary rows (psycopg's `dict_row`, in Python, one dict a row) were the
largest single cost of a relay's read under `bench.relay`.

Each table also has an `outbox` column: the Kafka record of a public event, made by
`commands.outbox.OutboxMapper` (`MAPPER_TOPIC` in `Settings.event_store_env`) when the
event is recorded and saved with it; the relay's read returns it with each notification
(ADR 0033).
"""

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, Notification, OperationalError, StoredEvent
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from eventsourcing.utils import retry
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier, Literal

from commands.outbox import OutboxEvent, OutboxNotification


class OneStatementApplicationRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *,
                 events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        schema = Identifier(datastore.schema)
        function = Identifier(f"{events_table_name}_insert")
        table = Identifier(events_table_name)
        # Added to a table made before the column was (without the lock ALTER TABLE takes
        # when the column is there already).
        self.sql_create_statements.append(SQL(
            "DO $BODY$ BEGIN IF NOT EXISTS (SELECT FROM information_schema.columns "
            "WHERE table_schema = {schema_name} AND table_name = {table_name} "
            "AND column_name = 'outbox') THEN "
            "ALTER TABLE {schema}.{table} ADD COLUMN IF NOT EXISTS outbox bytea; "
            "END IF; END $BODY$"
        ).format(schema=schema, table=table, schema_name=Literal(datastore.schema),
                 table_name=Literal(events_table_name)))
        self.sql_create_statements.append(SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{function}"
            "(events {schema}.{event}[], outboxes bytea[]) "
            "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ BEGIN "
            "SET LOCAL lock_timeout = '{lock_timeout}s'; "
            "LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
            "NOTIFY {channel}; "
            "RETURN QUERY INSERT INTO {schema}.{table} "
            "(originator_id, originator_version, topic, state, outbox) "
            "SELECT e.originator_id, e.originator_version, e.topic, e.state, outboxes[e.n] "
            "FROM unnest(events) WITH ORDINALITY "
            "AS e(originator_id, originator_version, topic, state, n) "
            "RETURNING notification_id; "
            "END; $BODY$"
        ).format(schema=schema, function=function, table=table,
                 event=Identifier(self.stored_event_type_name),
                 channel=Identifier(self.channel_name), lock_timeout=datastore.lock_timeout))
        self._insert_statement = SQL(
            "SELECT position FROM {schema}.{function}(%b, %b::bytea[]) AS position"
        ).format(schema=schema, function=function)
        self._notifications_statement = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state, outbox "
            "FROM {schema}.{table} WHERE notification_id>=%s ORDER BY notification_id LIMIT %s"
        ).format(schema=schema, table=table)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        if not stored_events:
            return super().insert_events(stored_events, **kwargs)
        rows = [self.construct_pg_stored_event(e.originator_id, e.originator_version,
                                               e.topic, e.state) for e in stored_events]
        outboxes = [e.outbox if isinstance(e, OutboxEvent) else None for e in stored_events]
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._insert_statement, (rows, outboxes), prepare=True)
            return [row["position"] for row in curs.fetchall()]

    def select_notifications(self, start: int | None, limit: int, stop: int | None = None,
                             topics: Sequence[str] = (), *,
                             inclusive_of_start: bool = True) -> Sequence[Notification]:
        """The library's query and result; the relay's case (from `start` on, every
        topic) with tuple rows."""
        if start is None or stop is not None or topics or not inclusive_of_start:
            return super().select_notifications(start, limit, stop, topics,
                                                inclusive_of_start=inclusive_of_start)
        return self._notifications_from(start, limit)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _notifications_from(self, start: int, limit: int) -> list[Notification]:
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(self._notifications_statement, (start, limit), prepare=True)
            return [OutboxNotification(id=position, originator_id=originator_id,
                                       originator_version=version, topic=topic,
                                       state=bytes(state), outbox=outbox)
                    for position, originator_id, version, topic, state, outbox
                    in curs.fetchall()]


class OneStatementPostgresFactory(PostgresFactory):
    application_recorder_class = OneStatementApplicationRecorder
