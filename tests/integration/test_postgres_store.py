"""The server event store saves in one statement (commands.postgres_store): positions
come back in order, a refused save records nothing, and a save still waits for the
table's EXCLUSIVE lock, so positions commit in the order they were given."""

import threading
from collections.abc import Sequence
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, Notification

from commands.event_sourced import meta_of
from commands.inventory.application import InventoryApplication
from commands.inventory.stock_item import StockItem
from commands.postgres_store import OneStatementApplicationRecorder
from runtime.settings import Settings
from tests.integration.reserve_worker import META
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server
DEADLINE = 10.0  # seconds; each step takes milliseconds


def _as_the_library(notifications: Sequence[Notification]) -> list[Notification]:
    return [Notification(id=n.id, originator_id=n.originator_id,
                         originator_version=n.originator_version, topic=n.topic, state=n.state)
            for n in notifications]


def _positions(app: InventoryApplication) -> list[int]:
    return [n.id for n in app.notifications(0, 1000)]


def test_saves_come_back_with_their_positions_in_order(
        inventory: InventoryApplication) -> None:
    assert isinstance(inventory.recorder, OneStatementApplicationRecorder)
    results = [inventory.create_stock_item(uuid4(), 3, META) for _ in range(3)]
    positions = [r.position for r in results if r.position is not None]
    assert len(positions) == 3 and positions == sorted(set(positions))
    assert _positions(inventory) == positions
    assert inventory.last_position() == positions[-1]


def test_a_refused_save_records_nothing(inventory: InventoryApplication) -> None:
    product = uuid4()
    inventory.create_stock_item(product, 3, META)
    before = _positions(inventory)
    with pytest.raises(IntegrityError):  # a new item saved with one whose id is taken
        inventory.save(StockItem(product_id=uuid4(), on_hand=1, meta=meta_of(META)),
                       StockItem(product_id=product, on_hand=5, meta=meta_of(META)))
    assert _positions(inventory) == before
    later = inventory.create_stock_item(uuid4(), 1, META)  # the store still works
    assert later.position is not None and later.position > before[-1]


def test_a_save_waits_for_the_tables_lock(inventory: InventoryApplication,
                                          postgres_settings: Settings) -> None:
    inventory.create_stock_item(uuid4(), 1, META)  # the table and its function exist
    table = f"{inventory.name.lower()}_events"
    saved = threading.Event()
    with psycopg.connect(postgres_settings.postgres_dsn) as holder, \
            psycopg.connect(postgres_settings.postgres_dsn, autocommit=True) as watcher:
        holder.execute(f'LOCK TABLE "{table}" IN EXCLUSIVE MODE')

        def save() -> None:
            inventory.create_stock_item(uuid4(), 2, META)
            saved.set()

        saver = threading.Thread(target=save)
        saver.start()
        try:
            wait_until(lambda: watcher.execute(
                "SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE c.relname = %s AND l.mode = 'ExclusiveLock' AND NOT l.granted",
                (table,)).fetchone(), DEADLINE, "the save waiting for the table's lock")
            assert not saved.is_set()
        finally:
            holder.rollback()
            saver.join(DEADLINE)
    assert saved.is_set()
    assert len(_positions(inventory)) == 2


def test_notifications_read_as_the_library_reads_them(inventory: InventoryApplication) -> None:
    """The relay's read (from a position on, every topic) has a query of its own: it
    gives what the library's general one gives, for any start and limit (and each
    notification's outbox column, `tests/integration/test_outbox.py`)."""
    for quantity in range(1, 6):
        inventory.create_stock_item(uuid4(), quantity, META)
    recorder = inventory.recorder
    assert isinstance(recorder, OneStatementApplicationRecorder)
    general = super(OneStatementApplicationRecorder, recorder).select_notifications
    everything = general(1, 100)
    assert len(everything) == 5
    for start in (1, everything[2].id, everything[-1].id + 1):
        for limit in (1, 2, 100):
            assert _as_the_library(recorder.select_notifications(start, limit)) == general(
                start, limit)
    assert recorder.select_notifications(1, 100, stop=everything[1].id) == everything[:2]
    assert recorder.select_notifications(everything[0].id, 100,
                                         inclusive_of_start=False) == everything[1:]
