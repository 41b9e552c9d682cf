"""SIGKILL the relay, the worker and the Kafka broker mid-stream, twice each, restarting
them: afterwards every event the store holds is in the read model and in ClickHouse,
exactly once, each aggregate's in order."""

import asyncio
import threading
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest
from clickhouse_driver import Client
from pymongo import MongoClient

from projections.stores.clickhouse import ClickHouseEventArchive
from runtime.auth import Role
from tests.support import services
from tests.support.platform import Platform, server_platform, store_events
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server
PRICES = ("3.00", "4.00", "5.00")  # each product: created, then repriced twice


class Seeder(threading.Thread):
    """Creates and reprices products over HTTP, `per_second` products a second, until
    stopped (or a bound is reached). No fault here touches the command side, so every
    command must succeed."""

    def __init__(self, platform: Platform, per_second: float = 10, limit: int = 5_000) -> None:
        super().__init__(daemon=True)
        self.platform = platform
        self.pause = 1 / per_second
        self.limit = limit
        self.ids: list[str] = []
        self.stopping = threading.Event()
        self.errors: list[str] = []

    def run(self) -> None:
        try:
            self._seed()
        except Exception as error:  # noqa: BLE001 - reported by created_at_least and finish
            self.errors.append(repr(error))

    def _seed(self) -> None:
        headers = self.platform.auth(Role.PRODUCT_MANAGER)
        with httpx.Client(base_url=self.platform.command_url, headers=headers, timeout=30) as http:
            while not self.stopping.wait(self.pause) and len(self.ids) < self.limit:
                body = {"name": "Fault test", "sku": f"FAULT-{uuid.uuid4().hex[:12]}",
                        "price": PRICES[0]}
                created = http.post("/api/v1/products", json=body)
                if not self._expect(created, 201):
                    continue
                product_id = created.json()["id"]
                for version, price in enumerate(PRICES[1:], start=1):
                    self._expect(http.put(f"/api/v1/products/{product_id}/price",
                                          json={"price": price},
                                          headers={"If-Match": f'"{version}"'}), 200)
                self.ids.append(product_id)

    def _expect(self, response: httpx.Response, status: int) -> bool:
        if response.status_code != status:
            self.errors.append(f"{response.status_code} {response.text}")
        return response.status_code == status

    def created_at_least(self, n: int, timeout: float = 60) -> None:
        start = len(self.ids)

        def seeded() -> bool:
            assert not self.errors, self.errors[:3]
            return len(self.ids) >= start + n

        wait_until(seeded, timeout, f"{n} more products seeded")

    def finish(self) -> list[str]:
        self.stopping.set()
        self.join(timeout=60)
        assert not self.errors, self.errors[:3]
        return list(self.ids)


def restart(platform: Platform, name: str) -> None:
    if name == "kafka":
        services.kill("kafka")
        services.start("kafka")
        return
    process = platform.processes[name]
    process.kill()
    assert not process.alive
    process.start()


def flowing(platform: Platform, seeder: Seeder) -> None:
    """Returns once a product seeded after now reaches the read model."""
    seeder.created_at_least(1)
    newest = seeder.ids[-1]
    settings = platform.settings
    with MongoClient(settings.mongo_uri) as mongo:
        products = mongo[settings.mongo_db]["products"]
        wait_until(lambda: products.count_documents({"_id": newest}) == 1, 120,
                   "the pipeline to flow again")


def test_every_event_lands_exactly_once_and_in_order_after_sigkills(tmp_path: Path) -> None:
    with server_platform(tmp_path) as platform:
        seeder = Seeder(platform)
        seeder.start()
        for victim in ("relay", "kafka", "worker", "relay", "worker", "kafka"):
            seeder.created_at_least(10)
            restart(platform, victim)
            flowing(platform, seeder)  # so the next fault does not hit a process starting up
        seeder.created_at_least(10)
        seeded = seeder.finish()

        events = store_events(platform)
        last_version = {str(e.aggregate_id): e.aggregate_version for e in events}
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


def read_model(platform: Platform, expected: dict[str, int]) -> dict[str, dict[str, Any]]:
    """The products read model, once it holds each product at the `expected` version."""
    settings = platform.settings
    with MongoClient(settings.mongo_uri) as mongo:
        collection = mongo[settings.mongo_db]["products"]

        def documents() -> dict[str, dict[str, Any]]:
            return {d["_id"]: d for d in collection.find({}, {"version": 1, "price": 1})}

        try:
            wait_until(lambda: {i: d["version"] for i, d in documents().items()} == expected,
                       180, "every product at its last version in MongoDB")
        except AssertionError:
            assert {i: d["version"] for i, d in documents().items()} == expected
        return documents()


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
