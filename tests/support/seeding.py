"""Commands sent continuously while faults are injected."""

import threading
import uuid
from typing import Any

import httpx

from runtime.auth import Role
from tests.support import read_store
from tests.support.platform import Platform
from tests.support.waiting import wait_until

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
        self.stock: dict[str, int] = {}  # product id -> the quantity it was created with
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
                quantity = len(self.ids) % 9
                body = {"name": "Fault test", "sku": f"FAULT-{uuid.uuid4().hex[:12]}",
                        "price": PRICES[0], "stock_quantity": quantity}
                created = http.post("/api/v1/products", json=body)
                if not self._expect(created, 201):
                    continue
                product_id = created.json()["id"]
                for version, price in enumerate(PRICES[1:], start=1):
                    self._expect(http.put(f"/api/v1/products/{product_id}/price",
                                          json={"price": price},
                                          headers={"If-Match": f'"{version}"'}), 200)
                self.stock[product_id] = quantity
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


def flowing(platform: Platform, seeder: Seeder) -> None:
    """Returns once a product seeded after now reaches the read model."""
    seeder.created_at_least(1)
    newest = seeder.ids[-1]
    wait_until(lambda: read_store.document(platform.settings, "products", newest) is not None,
               120, "the pipeline to flow again")


def read_model(platform: Platform, expected: dict[str, int]) -> dict[str, dict[str, Any]]:
    """The products read model, once it holds each product at the `expected` version."""
    def documents() -> dict[str, dict[str, Any]]:
        return read_store.documents(platform.settings, "products")

    try:
        wait_until(lambda: {i: d["version"] for i, d in documents().items()} == expected,
                   180, "every product at its last version in the read model")
    except AssertionError:
        found = {i: d["version"] for i, d in documents().items()}
        behind = {i: (found.get(i), v) for i, v in expected.items() if found.get(i) != v}
        extra = sorted(found.keys() - expected.keys())
        alive = {name: process.alive for name, process in platform.processes.items()}
        raise AssertionError(f"{len(behind)} product(s) not at their last version "
                             f"(found, expected): {dict(list(behind.items())[:10])}; "
                             f"not in the store: {extra[:10]}; processes alive: {alive}"
                             ) from None
    return documents()
