"""40 orders race for 10 units, each asking for one, all at once: exactly 10 win.

Every reservation loads the stock item, decides and saves its next version; the store
refuses all but one save of each version and the losers retry on the new state. So no
unit is reserved twice, and each order gets exactly one answer: Reserved or Rejected.
"""

import multiprocessing
import time
from collections import Counter
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from commands.inventory.application import InventoryApplication
from commands.inventory.stock_item import StockItem
from runtime.settings import Settings
from schemas.inventory import stock_item_id
from tests.integration.reserve_worker import META, reserve_together, run_process

STOCK, ORDERS, PROCESSES = 10, 40, 2
TIMEOUT = 60.0  # seconds, for the whole race; it takes well under one


def start_race(app: InventoryApplication) -> tuple[UUID, list[UUID]]:
    """A stock item of STOCK units and the ids of the ORDERS orders that race for it."""
    product_id = uuid4()
    app.create_stock_item(product_id, STOCK, META)
    return product_id, [uuid4() for _ in range(ORDERS)]


def assert_ten_won_and_thirty_lost(app: InventoryApplication, product_id: UUID,
                                   order_ids: list[UUID]) -> None:
    envelopes = [e for n in app.notifications(0, 10_000) if (e := app.envelope(n))]
    answers = [e for e in envelopes if e.event_type != "StockItemCreated"]
    assert Counter(e.event_type for e in answers) == {
        "StockItemReserved": STOCK, "StockItemReservationRejected": ORDERS - STOCK}
    answered = Counter(UUID(e.payload["order_id"]) for e in answers)
    assert answered == Counter(order_ids)  # each order exactly once
    assert all(e.payload["available"] == 0 and e.payload["reason"] == "only 0 available"
               for e in answers if e.event_type == "StockItemReservationRejected")
    assert [e.aggregate_version for e in envelopes] == list(range(1, ORDERS + 2))
    item: object = app.repository.get(stock_item_id(product_id))
    assert isinstance(item, StockItem)
    assert (item.available, item.on_hand, item.reserved) == (0, STOCK, STOCK)


def test_forty_threads_race_for_ten_units_in_sqlite(tmp_path: Path) -> None:
    """One Application shared by all threads, as in the embedded platform. Its SQLite
    recorder copes without settings: connections come from a pool (check_same_thread off)
    and the pool lets one writer at a time in this process, so no two threads ever wait
    on SQLite's own file lock (SQLITE_LOCK_TIMEOUT only matters across processes), and
    WAL mode lets them read while another writes. A thread that loses the race for a
    version gets IntegrityError (ConcurrentModification), reloads and retries."""
    app = InventoryApplication(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                                    "SQLITE_DBNAME": str(tmp_path / "events.sqlite3")})
    try:
        product_id, order_ids = start_race(app)
        assert reserve_together(app, product_id, order_ids, TIMEOUT) == []
        assert_ten_won_and_thirty_lost(app, product_id, order_ids)
    finally:
        app.close()


@pytest.mark.server
def test_two_processes_race_for_ten_units_in_postgres(postgres_settings: Settings) -> None:
    """Two OS processes of 20 threads each, all released together: the store alone keeps
    them from reserving the same unit twice."""
    env = postgres_settings.event_store_env
    app = InventoryApplication(env=env)  # creates the tables before the processes start
    contender_env = {**env, "CREATE_TABLE": "n"}  # see run_process
    try:
        product_id, order_ids = start_race(app)
        spawn = multiprocessing.get_context("spawn")
        ready = spawn.Barrier(PROCESSES)
        processes = [
            spawn.Process(target=run_process, name=f"reserver-{i}",
                          args=(contender_env, product_id, order_ids[i::PROCESSES], ready,
                                TIMEOUT))
            for i in range(PROCESSES)
        ]
        for process in processes:
            process.start()
        deadline = time.monotonic() + TIMEOUT
        try:
            for process in processes:
                process.join(max(0.0, deadline - time.monotonic()))
            assert [p.exitcode for p in processes] == [0] * PROCESSES
        finally:
            for process in processes:
                if process.is_alive():
                    process.kill()
        assert_ten_won_and_thirty_lost(app, product_id, order_ids)
    finally:
        app.close()
