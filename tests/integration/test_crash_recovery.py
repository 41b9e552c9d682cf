"""SIGKILL the relay and the worker mid-stream, restart them: every event lands exactly once."""

import asyncio
import threading
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from clickhouse_driver import Client
from pymongo import MongoClient

from commands.catalog.application import CatalogApplication
from commands.publishing import event_id_for
from projections.stores.clickhouse import ClickHouseEventArchive
from runtime.auth import Role
from tests.e2e.test_cli import run
from tests.support.platform import Platform, server_platform
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server


class Seeder(threading.Thread):
    """Creates products over HTTP until stopped (or a bound is reached)."""

    def __init__(self, platform: Platform, limit: int = 2_000) -> None:
        super().__init__(daemon=True)
        self.platform = platform
        self.limit = limit
        self.ids: list[str] = []
        self.stopping = threading.Event()
        self.errors: list[str] = []

    def run(self) -> None:
        headers = self.platform.auth(Role.PRODUCT_MANAGER)
        with httpx.Client(base_url=self.platform.command_url, headers=headers, timeout=30) as http:
            while not self.stopping.is_set() and len(self.ids) < self.limit:
                body = {"name": "Crash test", "sku": f"CRASH-{uuid.uuid4().hex[:12]}",
                        "price": "3.00"}
                response = http.post("/api/v1/products", json=body)
                if response.status_code == 201:
                    self.ids.append(response.json()["id"])
                else:
                    self.errors.append(response.text)

    def created_at_least(self, n: int, timeout: float = 60) -> None:
        start = len(self.ids)
        wait_until(lambda: len(self.ids) >= start + n, timeout, f"{n} more products created")

    def finish(self) -> list[str]:
        self.stopping.set()
        self.join(timeout=60)
        assert not self.errors, self.errors[:3]
        return list(self.ids)


def restart(platform: Platform, name: str) -> None:
    process = platform.processes[name]
    process.kill()
    assert not process.alive
    process.start()


def store_envelopes(platform: Platform) -> dict[str, Any]:
    catalog = CatalogApplication(env=platform.settings.event_store_env)
    try:
        notifications = catalog.notifications(0, 1_000_000)
        return {str(e.event_id): e for n in notifications if (e := catalog.envelope(n))}
    finally:
        catalog.close()


def test_every_event_lands_exactly_once_after_sigkills(tmp_path: Path) -> None:
    with server_platform(tmp_path) as platform:
        seeder = Seeder(platform)
        seeder.start()
        for victim in ("relay", "worker", "relay", "worker"):
            seeder.created_at_least(25)
            restart(platform, victim)
        seeder.created_at_least(25)
        created = seeder.finish()

        settings = platform.settings
        published = store_envelopes(platform)
        with MongoClient(settings.mongo_uri) as mongo:
            products = mongo[settings.mongo_db]["products"]

            def all_projected() -> bool:
                return products.count_documents({}) >= len(published)

            wait_until(all_projected, 120, "every product in the read model")
            documents = list(products.find({}, {"version": 1}))
        assert set(created) <= {d["_id"] for d in documents}
        assert {d["_id"] for d in documents} == {str(e.aggregate_id) for e in published.values()}
        assert all(d["version"] == 1 for d in documents)

        archive = ClickHouseEventArchive(
            Client(host=settings.clickhouse_host, port=settings.clickhouse_port),
            settings.clickhouse_db,
        )

        def all_archived() -> dict[str, int] | None:
            counts = asyncio.run(archive.event_counts())
            return counts if len(counts) >= len(published) else None

        counts = wait_until(all_archived, 120, "every event in ClickHouse")
        assert counts == {event_id: 1 for event_id in published}
        assert set(published) >= {str(event_id_for(uuid.UUID(i), 1)) for i in created}
        asyncio.run(archive.close())

        env = {k: v for k, v in platform.processes["relay"].env.items()
               if k.startswith("TANQORY_")}
        verified = run("verify", **env)
        assert verified.returncode == 0, verified.stdout + verified.stderr
