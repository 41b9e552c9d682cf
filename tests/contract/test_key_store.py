"""The per-customer key store's contract, on SQLite (embedded) and PostgreSQL (server).

PostgreSQL's table name is fixed, so the tests share it and keep apart by using fresh
subjects; each store a test opens is a connection of its own, as another process would be.
"""

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import uuid4

import pytest

from runtime.key_store import KEY_BYTES, Erased, KeyStore, PostgresKeyStore, SqliteKeyStore
from tests.support.platform import settings_for_tests

CONTENDERS = 8

OpenStore = Callable[[], KeyStore]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.server)])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenStore]:
    """Opens stores over one set of keys, each as another process would."""
    opened: list[KeyStore] = []
    dsn = settings_for_tests().postgres_dsn

    def open_one() -> KeyStore:
        store: KeyStore = (SqliteKeyStore(tmp_path / "keys.sqlite3") if request.param == "sqlite"
                           else PostgresKeyStore(dsn))
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: OpenStore) -> KeyStore:
    return open_store()


def race(stores: list[KeyStore], act: Callable[[KeyStore], object]) -> list[object]:
    """`act` on every store at once, each in a thread of its own."""
    start = threading.Barrier(len(stores))

    def contend(store: KeyStore) -> object:
        start.wait(timeout=30)
        try:
            return act(store)
        except Erased as erased:
            return erased

    with ThreadPoolExecutor(len(stores)) as pool:
        return list(pool.map(contend, stores))


def test_a_key_is_made_on_first_use_and_stays(open_store: OpenStore) -> None:
    first, later = open_store(), open_store()
    subject = uuid4()
    assert first.find(subject) is None
    key = first.key_for(subject)
    assert isinstance(key, bytes) and len(key) == KEY_BYTES
    assert first.key_for(subject) == key
    assert later.key_for(subject) == key and later.find(subject) == key
    assert first.key_for(uuid4()) != key
    assert not first.is_erased(subject)


def test_find_never_makes_a_key(store: KeyStore) -> None:
    subject = uuid4()
    assert store.find(subject) is None
    assert store.find(subject) is None
    assert not store.is_erased(subject)
    assert store.destroy(subject) is False  # nothing to destroy: never had a key


def test_concurrent_first_uses_agree_on_one_key(open_store: OpenStore) -> None:
    subject = uuid4()
    keys = race([open_store() for _ in range(CONTENDERS)], lambda s: s.key_for(subject))
    assert len(set(keys)) == 1
    assert open_store().find(subject) == keys[0]


def test_threads_sharing_one_store_agree_on_one_key(store: KeyStore) -> None:
    subject = uuid4()
    keys = race([store] * CONTENDERS, lambda s: s.key_for(subject))
    assert len(set(keys)) == 1


def test_destroy_is_final_and_idempotent(open_store: OpenStore) -> None:
    store, other = open_store(), open_store()
    subject, kept = uuid4(), uuid4()
    store.key_for(subject)
    kept_key = store.key_for(kept)
    assert store.destroy(subject) is True
    assert store.destroy(subject) is False
    assert other.destroy(subject) is False
    for reader in (store, other):
        assert reader.find(subject) is None
        assert reader.is_erased(subject)
        with pytest.raises(Erased) as erased:
            reader.key_for(subject)
        assert erased.value.subject == subject
    assert store.find(kept) == kept_key and not store.is_erased(kept)


def test_a_subject_erased_before_any_key_never_gets_one(store: KeyStore) -> None:
    subject = uuid4()
    assert store.destroy(subject) is False
    assert store.is_erased(subject)
    with pytest.raises(Erased):
        store.key_for(subject)
    assert store.find(subject) is None


def test_concurrent_destroys_destroy_once(open_store: OpenStore) -> None:
    subject = uuid4()
    open_store().key_for(subject)
    results = race([open_store() for _ in range(CONTENDERS)], lambda s: s.destroy(subject))
    assert sorted(results, key=bool) == [False] * (CONTENDERS - 1) + [True]


def test_a_destroy_racing_first_uses_is_final(open_store: OpenStore) -> None:
    """Whoever wins, the subject ends erased; a key handed out before was the only one,
    and destroyed."""
    subject = uuid4()
    stores = [open_store() for _ in range(CONTENDERS)]

    def act(store: KeyStore) -> object:
        return store.destroy(subject) if store is stores[0] else store.key_for(subject)

    results = race(stores, act)
    keys = {result for result in results[1:] if isinstance(result, bytes)}
    assert len(keys) <= 1
    assert results[0] is True or not keys  # one handed out existed when destroy ran
    with pytest.raises(Erased):
        open_store().key_for(subject)
    assert all(isinstance(result, bytes | Erased) for result in results[1:])
