"""The customers' credentials store (passwords, refresh token families, one-time tokens),
on SQLite (embedded) and PostgreSQL (server).

PostgreSQL's tables have fixed names, shared by every run: each test works with fresh
customers and tokens, and looks only at those."""

import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID, uuid4

import psycopg
import pytest

from commands.customers.credentials import (
    TABLES,
    Credentials,
    PostgresCredentials,
    Rotation,
    SqliteCredentials,
    TokenRefused,
    TokenReused,
)
from commands.customers.tokens import digest, new_token
from tests.support.platform import settings_for_tests

T = TypeVar("T")
NOW = datetime(2026, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
THREADS = 8


@dataclass
class Backend:
    """Handles on one set of credential tables, and a look at their raw rows."""

    opener: Callable[[], Credentials]
    raw_rows: Callable[[UUID], list[tuple[Any, ...]]]
    opened: list[Credentials] = field(default_factory=list)

    def open(self) -> Credentials:
        handle = self.opener()
        self.opened.append(handle)
        return handle


def _sqlite_rows(path: Path) -> Callable[[UUID], list[tuple[Any, ...]]]:
    def rows(customer_id: UUID) -> list[tuple[Any, ...]]:
        with sqlite3.connect(path) as conn:
            return [row for table in TABLES for row in conn.execute(
                f"SELECT * FROM {table} WHERE customer_id = ?", (str(customer_id),))]
    return rows


def _postgres_rows(dsn: str) -> Callable[[UUID], list[tuple[Any, ...]]]:
    def rows(customer_id: UUID) -> list[tuple[Any, ...]]:
        with psycopg.connect(dsn) as conn:
            return [row for table in TABLES for row in conn.execute(
                f"SELECT * FROM {table} WHERE customer_id = %s", (customer_id,))]
    return rows


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.server)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path / "credentials.sqlite3"
        backend = Backend(lambda: SqliteCredentials(path), _sqlite_rows(path))
    else:
        dsn = settings_for_tests().postgres_dsn
        backend = Backend(lambda: PostgresCredentials(dsn), _postgres_rows(dsn))
    yield backend
    for handle in backend.opened:
        handle.close()


@pytest.fixture
def store(backend: Backend) -> Credentials:
    return backend.open()


def login(store: Credentials, customer: UUID, expires_at: datetime = NOW + HOUR) -> str:
    token = new_token()
    store.start_family(customer, digest(token), expires_at)
    return token


def refresh(store: Credentials, token: str, now: datetime = NOW) -> str:
    successor = new_token()
    store.rotate(digest(token), digest(successor), now, now + HOUR)
    return successor


def at_once(calls: list[Callable[[], T]]) -> list[T | TokenRefused]:
    """Runs the calls in threads released together; each one's result or refusal."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T | TokenRefused:
        barrier.wait()
        try:
            return call()
        except TokenRefused as error:
            return error

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def handles(backend: Backend, store: Credentials, which: str) -> list[Credentials]:
    """The store itself for every thread (its lock serializes them), or a handle each (own
    connections: the database's locks must)."""
    if which == "shared":
        return [store] * THREADS
    opened = [backend.open() for _ in range(THREADS)]
    for handle in opened:
        handle.password_hash(uuid4())  # connected and set up before the race
    return opened


def test_passwords_are_set_replaced_and_read(store: Credentials) -> None:
    customer, other = uuid4(), uuid4()
    assert store.password_hash(customer) is None
    store.set_password(customer, "$argon2id$first")
    store.set_password(other, "$argon2id$other")
    store.set_password(customer, "$argon2id$second")
    assert store.password_hash(customer) == "$argon2id$second"
    assert store.password_hash(other) == "$argon2id$other"


def test_a_family_rotates_many_times(store: Credentials) -> None:
    customer = uuid4()
    token = new_token()
    family = store.start_family(customer, digest(token), NOW + HOUR)
    for minute in range(20):
        now = NOW + timedelta(minutes=minute)
        successor = new_token()
        rotation = store.rotate(digest(token), digest(successor), now, now + HOUR)
        assert rotation == Rotation(customer, family)
        token = successor


def test_a_rotated_token_presented_again_revokes_the_family(store: Credentials) -> None:
    customer = uuid4()
    first = new_token()
    family = store.start_family(customer, digest(first), NOW + HOUR)
    newest = refresh(store, refresh(store, first))
    with pytest.raises(TokenReused) as reused:
        refresh(store, first)
    assert (reused.value.customer_id, reused.value.family) == (customer, family)
    with pytest.raises(TokenRefused) as refused:
        refresh(store, newest)  # the thief's or the customer's: both log in again
    assert type(refused.value) is TokenRefused
    with pytest.raises(TokenReused):
        refresh(store, first)  # still reuse, once the family is revoked


def test_expired_and_unknown_tokens_are_refused(store: Credentials) -> None:
    token = login(store, uuid4(), expires_at=NOW + HOUR)
    for presented in (token, new_token()):
        with pytest.raises(TokenRefused) as refused:
            refresh(store, presented, now=NOW + HOUR)
        assert type(refused.value) is TokenRefused
    refresh(store, token, now=NOW + HOUR - timedelta(microseconds=1))  # the refusal spent nothing


def test_logout_revokes_the_family_only(store: Credentials) -> None:
    customer = uuid4()
    token = refresh(store, login(store, customer))
    other_device = login(store, customer)
    assert store.revoke_family_of(digest(token), NOW)
    assert not store.revoke_family_of(digest(token), NOW)
    assert not store.revoke_family_of(digest(new_token()), NOW)
    with pytest.raises(TokenRefused):
        refresh(store, token)
    refresh(store, other_device)


def test_revoke_all_revokes_every_family_of_the_customer_only(store: Credentials) -> None:
    customer, other = uuid4(), uuid4()
    phone, laptop = login(store, customer), refresh(store, login(store, customer))
    others = login(store, other)
    store.revoke_all(customer, NOW)
    for token in (phone, laptop):
        with pytest.raises(TokenRefused):
            refresh(store, token)
    refresh(store, others)
    later = login(store, customer)  # a login after the reset starts a live family
    refresh(store, later)


@pytest.mark.parametrize("which", ["shared", "own"])
def test_one_of_concurrent_rotations_wins_and_the_family_is_revoked(
        backend: Backend, store: Credentials, which: str) -> None:
    token = login(store, uuid4())
    successors = [new_token() for _ in range(THREADS)]
    results = at_once([
        partial(handle.rotate, digest(token), digest(successor), NOW, NOW + HOUR)
        for handle, successor in zip(handles(backend, store, which), successors, strict=True)])
    won = [i for i, result in enumerate(results) if isinstance(result, Rotation)]
    assert len(won) == 1
    assert sum(isinstance(result, TokenReused) for result in results) == THREADS - 1
    with pytest.raises(TokenRefused):
        refresh(store, successors[won[0]])


def test_one_time_tokens_are_single_use_and_expire(store: Credentials) -> None:
    customer = uuid4()
    token = new_token()
    store.issue_once("verify-email", customer, digest(token), NOW + HOUR)
    assert store.consume_once("reset-password", digest(token), NOW) is None
    assert store.peek_once("verify-email", digest(token), NOW) == customer  # spends nothing
    assert store.consume_once("verify-email", digest(token), NOW) == customer
    assert store.peek_once("verify-email", digest(token), NOW) is None
    assert store.consume_once("verify-email", digest(token), NOW) is None
    late = new_token()
    store.issue_once("verify-email", customer, digest(late), NOW + HOUR)
    assert store.peek_once("verify-email", digest(late), NOW + HOUR) is None
    assert store.consume_once("verify-email", digest(late), NOW + HOUR) is None
    assert store.consume_once("verify-email", digest(new_token()), NOW) is None


def test_a_newer_one_time_token_voids_the_older(store: Credentials) -> None:
    customer = uuid4()
    older, newer, reset = new_token(), new_token(), new_token()
    store.issue_once("verify-email", customer, digest(older), NOW + HOUR)
    store.issue_once("reset-password", customer, digest(reset), NOW + HOUR)
    store.issue_once("verify-email", customer, digest(newer), NOW + HOUR)
    assert store.peek_once("verify-email", digest(older), NOW) is None
    assert store.consume_once("verify-email", digest(older), NOW) is None
    assert store.consume_once("verify-email", digest(newer), NOW) == customer
    assert store.consume_once("reset-password", digest(reset), NOW) == customer  # another purpose


@pytest.mark.parametrize("which", ["shared", "own"])
def test_one_of_concurrent_consumers_gets_a_one_time_token(
        backend: Backend, store: Credentials, which: str) -> None:
    customer = uuid4()
    token = new_token()
    store.issue_once("reset-password", customer, digest(token), NOW + HOUR)
    results = at_once([partial(handle.consume_once, "reset-password", digest(token), NOW)
                       for handle in handles(backend, store, which)])
    assert [result for result in results if result is not None] == [customer]


def test_forget_removes_every_row_of_the_customer(backend: Backend, store: Credentials) -> None:
    customer, other = uuid4(), uuid4()
    for someone in (customer, other):
        store.set_password(someone, "$argon2id$hash")
        refresh(store, login(store, someone))
        store.issue_once("verify-email", someone, digest(new_token()), NOW + HOUR)
    store.forget(customer)
    assert backend.raw_rows(customer) == []
    assert store.password_hash(customer) is None
    assert len(backend.raw_rows(other)) == 5  # password, family, two tokens, one-time token


def test_no_table_holds_a_clear_token(backend: Backend, store: Credentials) -> None:
    customer = uuid4()
    first = login(store, customer)
    tokens = [first, refresh(store, first), new_token()]
    store.issue_once("verify-email", customer, digest(tokens[2]), NOW + HOUR)
    values = [str(value) for row in backend.raw_rows(customer) for value in row]
    assert {digest(token) for token in tokens} <= set(values)  # the rows read are the right ones
    assert not [value for value in values for token in tokens if token in value]


def test_naive_datetimes_are_refused(store: Credentials) -> None:
    with pytest.raises(ValueError, match="naive"):
        store.start_family(uuid4(), digest(new_token()), datetime(2026, 1, 1))
