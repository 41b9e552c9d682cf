"""SIGKILL the relay, the worker, the sagas and the Kafka broker mid-stream, twice each,
restarting them: afterwards every event the stores hold is in the read models and in
ClickHouse, exactly once, each aggregate's in order; every product has exactly one stock
item, holding the quantity it was created with; and no process died but those killed."""

import asyncio
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from clickhouse_driver import Client

from projections.stores.clickhouse import ClickHouseEventArchive
from schemas.envelope import EventEnvelope
from tests.support import services
from tests.support.platform import Platform, server_platform, store_events
from tests.support.seeding import PRICES, Seeder, flowing, read_model
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server


def restart(platform: Platform, name: str) -> None:
    if name == "kafka":
        services.kill("kafka")
        services.start("kafka")
        return
    process = platform.processes[name]
    process.kill()
    assert not process.alive
    process.start()


def test_every_event_lands_exactly_once_and_in_order_after_sigkills(tmp_path: Path) -> None:
    with server_platform(tmp_path) as platform:
        seeder = Seeder(platform)
        seeder.start()
        for victim in ("relay", "kafka", "sagas", "worker", "relay", "sagas", "worker", "kafka"):
            seeder.created_at_least(10)
            restart(platform, victim)
            flowing(platform, seeder)  # so the next fault does not hit a process starting up
        seeder.created_at_least(10)
        seeded = seeder.finish()
        # Only the victims were killed, and each was restarted: the broker's restarts
        # stopped no process (aiokafka on uvloop once let one die, streams/kafka_connections).
        dead = [name for name, process in platform.processes.items() if not process.alive]
        assert not dead, "\n".join(f"--- {name} died ---\n{platform.processes[name].log_tail(60)}"
                                    for name in dead)

        try:
            events = wait_until(lambda: stock_items_started(platform, seeded), 180,
                                "the sagas to start a stock item for every product")
        except AssertionError as error:  # what the sagas said, for whoever reads the failure
            logs = "\n".join(f"--- {name} log ---\n{platform.processes[name].log_tail(60)}"
                             for name in ("sagas", "relay"))
            raise AssertionError(f"{error}\n{logs}") from None
        products = {str(e.aggregate_id): e.payload["stock_quantity"] for e in events
                    if e.event_type == "ProductCreated"}  # the seeded ones and the warm-up
        stock_items = [e for e in events if e.event_type == "StockItemCreated"]
        assert sorted(e.payload["product_id"] for e in stock_items) == sorted(products)
        assert {e.payload["product_id"]: e.payload["on_hand"] for e in stock_items} == products
        assert {i: products[i] for i in seeded} == seeder.stock
        last_version = {str(e.aggregate_id): e.aggregate_version for e in events
                        if e.aggregate_type == "Product"}
        assert {i: last_version.get(i) for i in seeded} == {i: len(PRICES) for i in seeded}
        documents = read_model(platform, last_version)
        assert {documents[i]["price"] for i in seeded} == {PRICES[-1]}

        rows = archive_rows(platform, len(events))
        assert sorted(r["event_id"] for r in rows) == sorted(str(e.event_id) for e in events)
        by_aggregate: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_aggregate[row["aggregate_id"]].append(row)
        for history in by_aggregate.values():
            versions = [r["aggregate_version"] for r in history]
            positions = [r["position"] for r in history]
            assert versions == list(range(1, len(versions) + 1))
            assert positions == sorted(positions)

        letters = platform.cli("dlq", "list")
        assert letters.returncode == 0, letters.stderr
        assert "0 dead letter(s)" in letters.stdout, letters.stdout  # no gap: order was kept
        verified = platform.cli("verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr


def stock_items_started(platform: Platform, products: list[str]) -> list[EventEnvelope] | None:
    """Every stored event, once each product's stock item is among them."""
    events = store_events(platform)
    started = {e.payload["product_id"] for e in events if e.event_type == "StockItemCreated"}
    return events if started >= set(products) else None


def archive_rows(platform: Platform, events: int) -> list[dict[str, Any]]:
    settings = platform.settings
    archive = ClickHouseEventArchive(
        Client(host=settings.clickhouse_host, port=settings.clickhouse_port),
        settings.clickhouse_db,
    )

    def all_archived() -> list[dict[str, Any]] | None:
        rows = asyncio.run(archive.rows())
        return rows if len(rows) >= events else None

    try:
        return wait_until(all_archived, 180, "every event in ClickHouse")
    finally:
        asyncio.run(archive.close())
