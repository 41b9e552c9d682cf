"""The customers context's secret state, kept beside its event store, never in an event.

Password hashes, refresh tokens and one-time tokens (email verification, password reset)
live in tables of their own: an event is published to Kafka and folded into read models and
the event history, and none of these may ever leave the write side. Tokens are stored only
as digests (`commands.customers.tokens.digest`), so reading the tables gives no one a
working token.

Refresh tokens rotate, as the OAuth 2.0 Security Best Current Practice (RFC 9700, 4.14)
describes: each login starts a family; each refresh spends the presented token and stores
its successor in the same family. A spent token presented again means two parties hold the
family's tokens (one of them stole it), and the store cannot tell which is the customer, so
the whole family is revoked and both must log in again. Two concurrent refreshes with one
token are that same case: exactly one wins, the other is reuse and revokes the family, the
winner's new token included. A client must therefore refresh once at a time.

Every moment (`now`, `expires_at`) is a timezone-aware datetime given by the caller.
Methods are synchronous, for the synchronous command handlers; each is one transaction.
"""

import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID, uuid4

import psycopg

PASSWORDS = "tanqory_customer_passwords"
FAMILIES = "tanqory_customer_refresh_families"
REFRESH_TOKENS = "tanqory_customer_refresh_tokens"
ONCE_TOKENS = "tanqory_customer_once_tokens"
# Every table, each with a customer_id column; families before their tokens (see forget).
TABLES = (PASSWORDS, FAMILIES, REFRESH_TOKENS, ONCE_TOKENS)

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Rotation:
    """A refresh token was spent and its successor stored in the same family."""

    customer_id: UUID
    family: UUID


class TokenRefused(Exception):
    """The refresh token is unknown, expired or of a revoked family: log in again."""


class TokenReused(TokenRefused):
    """A spent refresh token was presented again; its whole family is now revoked.

    A kind of TokenRefused, so a caller that answers both alike catches one; the ids let it
    record the incident (they are not secrets)."""

    def __init__(self, customer_id: UUID, family: UUID) -> None:
        super().__init__(f"a spent refresh token of family {family} was presented again")
        self.customer_id = customer_id
        self.family = family


class Credentials(Protocol):
    def set_password(self, customer_id: UUID, password_hash: str) -> None:
        """Records (or replaces) the customer's password hash."""

    def password_hash(self, customer_id: UUID) -> str | None: ...

    def start_family(self, customer_id: UUID, token_digest: str, expires_at: datetime) -> UUID:
        """Stores a login's first refresh token in a new family, whose id is returned."""

    def rotate(self, token_digest: str, new_digest: str, now: datetime,
               expires_at: datetime) -> Rotation:
        """Spends a current token and stores `new_digest` as its successor. Raises
        TokenReused for a spent token (having revoked its family), else TokenRefused for
        an unknown or expired token or one of a revoked family."""

    def revoke_family_of(self, token_digest: str, now: datetime) -> bool:
        """Logout: revokes the token's family; False if unknown or already revoked."""

    def revoke_all(self, customer_id: UUID, now: datetime) -> None:
        """Revokes every family of the customer (password reset, role change, erasure)."""

    def issue_once(self, purpose: str, customer_id: UUID, token_digest: str,
                   expires_at: datetime) -> None:
        """Stores a one-time token for `purpose`; any earlier one of the customer for the
        same purpose, used or not, stops working."""

    def consume_once(self, purpose: str, token_digest: str, now: datetime) -> UUID | None:
        """The customer of a valid, unused, unexpired token, which is then used: of many
        concurrent callers with one token, one only gets the id. None otherwise."""

    def peek_once(self, purpose: str, token_digest: str, now: datetime) -> UUID | None:
        """The customer consume_once would give now, leaving the token unused (to check a
        link before a request that may still be refused, such as a weak new password)."""

    def forget(self, customer_id: UUID) -> None:
        """Erasure: deletes every row of the customer."""

    def close(self) -> None: ...


class _Transaction(Protocol):
    def rows(self, sql: str, *params: object) -> list[Row]:
        """Runs one statement (placeholders `%s`); its rows, if it returns any."""


class _SqlCredentials(ABC):
    """The rules, in SQL both databases run; the subclasses supply the transactions."""

    # Locks the token and family rows read by a rotation until it commits, so a concurrent
    # rotation or revocation waits and then sees their new state. SQLite needs none: its
    # write transactions (BEGIN IMMEDIATE) already run one at a time.
    _FOR_UPDATE = ""

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[_Transaction]: ...

    def set_password(self, customer_id: UUID, password_hash: str) -> None:
        with self._transaction() as tx:
            tx.rows(f"INSERT INTO {PASSWORDS} (customer_id, password_hash) VALUES (%s, %s) "
                    "ON CONFLICT (customer_id) DO UPDATE SET password_hash = "
                    "excluded.password_hash", customer_id, password_hash)

    def password_hash(self, customer_id: UUID) -> str | None:
        with self._transaction() as tx:
            rows = tx.rows(f"SELECT password_hash FROM {PASSWORDS} WHERE customer_id = %s",
                           customer_id)
        return str(rows[0][0]) if rows else None

    def start_family(self, customer_id: UUID, token_digest: str, expires_at: datetime) -> UUID:
        family = uuid4()
        with self._transaction() as tx:
            tx.rows(f"INSERT INTO {FAMILIES} (family, customer_id) VALUES (%s, %s)",
                    family, customer_id)
            _store_refresh(tx, token_digest, family, customer_id, expires_at)
        return family

    def rotate(self, token_digest: str, new_digest: str, now: datetime,
               expires_at: datetime) -> Rotation:
        with self._transaction() as tx:
            outcome = self._rotate(tx, token_digest, new_digest, now, expires_at)
        if isinstance(outcome, TokenRefused):
            raise outcome  # after the commit: a reuse's revocation must stay
        return outcome

    def _rotate(self, tx: _Transaction, token_digest: str, new_digest: str, now: datetime,
                expires_at: datetime) -> Rotation | TokenRefused:
        rows = tx.rows(
            f"SELECT t.customer_id, t.family, t.used_at IS NOT NULL, "
            f"f.revoked_at IS NOT NULL, t.expires_at <= %s FROM {REFRESH_TOKENS} t "
            f"JOIN {FAMILIES} f ON f.family = t.family WHERE t.digest = %s{self._FOR_UPDATE}",
            now, token_digest)
        if not rows:
            return TokenRefused("unknown refresh token")
        customer, family, used, revoked, expired = rows[0]
        rotation = Rotation(_uuid(customer), _uuid(family))
        if used:
            _revoke(tx, rotation.family, now)
            return TokenReused(rotation.customer_id, rotation.family)
        if revoked or expired:
            return TokenRefused("refresh token expired or revoked")
        tx.rows(f"UPDATE {REFRESH_TOKENS} SET used_at = %s WHERE digest = %s", now, token_digest)
        _store_refresh(tx, new_digest, rotation.family, rotation.customer_id, expires_at)
        return rotation

    def revoke_family_of(self, token_digest: str, now: datetime) -> bool:
        with self._transaction() as tx:
            rows = tx.rows(f"UPDATE {FAMILIES} SET revoked_at = %s WHERE revoked_at IS NULL "
                           f"AND family = (SELECT family FROM {REFRESH_TOKENS} WHERE digest = %s) "
                           "RETURNING family", now, token_digest)
        return bool(rows)

    def revoke_all(self, customer_id: UUID, now: datetime) -> None:
        with self._transaction() as tx:
            tx.rows(f"UPDATE {FAMILIES} SET revoked_at = %s WHERE customer_id = %s "
                    "AND revoked_at IS NULL", now, customer_id)

    def issue_once(self, purpose: str, customer_id: UUID, token_digest: str,
                   expires_at: datetime) -> None:
        """One row per customer and purpose, so a newer token replaces the older in the
        same statement, however many are issued at once."""
        with self._transaction() as tx:
            tx.rows(f"INSERT INTO {ONCE_TOKENS} (purpose, customer_id, digest, expires_at) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (purpose, customer_id) DO UPDATE SET "
                    "digest = excluded.digest, expires_at = excluded.expires_at, used_at = NULL",
                    purpose, customer_id, token_digest, expires_at)

    def consume_once(self, purpose: str, token_digest: str, now: datetime) -> UUID | None:
        """A conditional update: of concurrent ones, only the first finds the token
        unused (the others wait for its row, then see it used)."""
        with self._transaction() as tx:
            rows = tx.rows(f"UPDATE {ONCE_TOKENS} SET used_at = %s WHERE purpose = %s "
                           "AND digest = %s AND used_at IS NULL AND expires_at > %s "
                           "RETURNING customer_id", now, purpose, token_digest, now)
        return _uuid(rows[0][0]) if rows else None

    def peek_once(self, purpose: str, token_digest: str, now: datetime) -> UUID | None:
        with self._transaction() as tx:
            rows = tx.rows(f"SELECT customer_id FROM {ONCE_TOKENS} WHERE purpose = %s "
                           "AND digest = %s AND used_at IS NULL AND expires_at > %s",
                           purpose, token_digest, now)
        return _uuid(rows[0][0]) if rows else None

    def forget(self, customer_id: UUID) -> None:
        """Families go first: deleting one waits for a rotation holding it, so the token
        that rotation adds is there to delete next."""
        with self._transaction() as tx:
            for table in TABLES:
                tx.rows(f"DELETE FROM {table} WHERE customer_id = %s", customer_id)


def _store_refresh(tx: _Transaction, token_digest: str, family: UUID, customer_id: UUID,
                   expires_at: datetime) -> None:
    tx.rows(f"INSERT INTO {REFRESH_TOKENS} (digest, family, customer_id, expires_at) "
            "VALUES (%s, %s, %s, %s)", token_digest, family, customer_id, expires_at)


def _revoke(tx: _Transaction, family: UUID, now: datetime) -> None:
    tx.rows(f"UPDATE {FAMILIES} SET revoked_at = %s WHERE family = %s AND revoked_at IS NULL",
            now, family)


def _uuid(value: object) -> UUID:
    """PostgreSQL returns UUIDs; SQLite their text."""
    return value if isinstance(value, UUID) else UUID(str(value))


def _checked(params: tuple[object, ...]) -> tuple[object, ...]:
    """Refuses naive datetimes: each database would read one in a zone of its own choice."""
    for param in params:
        if isinstance(param, datetime) and param.utcoffset() is None:
            raise ValueError(f"a naive datetime: {param!r}; pass a timezone-aware one")
    return params


def _schema(uuid: str, moment: str) -> tuple[str, ...]:
    """The tables, with the column types of a database for ids and moments."""
    return (
        (f"CREATE TABLE IF NOT EXISTS {PASSWORDS} (customer_id {uuid} PRIMARY KEY, "
         "password_hash TEXT NOT NULL)"),
        (f"CREATE TABLE IF NOT EXISTS {FAMILIES} (family {uuid} PRIMARY KEY, "
         f"customer_id {uuid} NOT NULL, revoked_at {moment})"),
        f"CREATE INDEX IF NOT EXISTS {FAMILIES}_customer ON {FAMILIES} (customer_id)",
        (f"CREATE TABLE IF NOT EXISTS {REFRESH_TOKENS} (digest TEXT PRIMARY KEY, "
         f"family {uuid} NOT NULL, customer_id {uuid} NOT NULL, "
         f"expires_at {moment} NOT NULL, used_at {moment})"),
        f"CREATE INDEX IF NOT EXISTS {REFRESH_TOKENS}_customer ON {REFRESH_TOKENS} (customer_id)",
        (f"CREATE TABLE IF NOT EXISTS {ONCE_TOKENS} (purpose TEXT NOT NULL, "
         f"customer_id {uuid} NOT NULL, digest TEXT NOT NULL UNIQUE, "
         f"expires_at {moment} NOT NULL, used_at {moment}, PRIMARY KEY (purpose, customer_id))"),
    )


class _PostgresTransaction:
    def __init__(self, cursor: psycopg.Cursor[Row]) -> None:
        self._cursor = cursor

    def rows(self, sql: str, *params: object) -> list[Row]:
        self._cursor.execute(sql, _checked(params))
        return self._cursor.fetchall() if self._cursor.description else []


class PostgresCredentials(_SqlCredentials):
    """Server mode: tables `tanqory_customer_*` beside the event store, created on first use.

    One connection, taken in turn under a lock (calls are short; the command handlers'
    threads share it), reopened on the next call after a failed one."""

    _FOR_UPDATE = " FOR UPDATE"

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Row] | None = None

    @contextmanager
    def _transaction(self) -> Iterator[_Transaction]:
        with self._lock:
            conn = self._connection()
            try:
                with conn.transaction(), conn.cursor() as cursor:
                    yield _PostgresTransaction(cursor)
            except psycopg.OperationalError:
                conn.close()  # reconnect on the next call
                raise

    def _connection(self) -> psycopg.Connection[Row]:
        if self._conn is None or self._conn.closed:
            conn = psycopg.connect(self._dsn, autocommit=True)
            try:
                for statement in _schema("UUID", "TIMESTAMPTZ"):
                    _create(conn, statement)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()


def _create(conn: psycopg.Connection[Row], statement: str) -> None:
    try:
        conn.execute(statement)
    except psycopg.errors.UniqueViolation:
        pass  # another process created it at the same moment (IF NOT EXISTS races)


class _SqliteTransaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def rows(self, sql: str, *params: object) -> list[Row]:
        """`%s` becomes SQLite's `?`; UUIDs and moments are stored as text (see _utc)."""
        values = tuple(_sqlite_value(param) for param in _checked(params))
        return self._conn.execute(sql.replace("%s", "?"), values).fetchall()


class SqliteCredentials(_SqlCredentials):
    """Embedded mode: the same tables in a SQLite file of the caller's choosing (WAL).

    One connection shared by the calling threads under a lock; each call is one
    BEGIN IMMEDIATE transaction, so it holds the file's write lock from its first read and
    other processes on the file wait for it (up to the busy timeout)."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, timeout=30, isolation_level=None,
                                     check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        with self._transaction() as tx:
            for statement in _schema("TEXT", "TEXT"):
                tx.rows(statement)

    @contextmanager
    def _transaction(self) -> Iterator[_Transaction]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTransaction(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _sqlite_value(param: object) -> object:
    if isinstance(param, UUID):
        return str(param)
    if isinstance(param, datetime):
        return _utc(param)
    return param


def _utc(moment: datetime) -> str:
    """ISO text in UTC with a fixed width, so that text order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
