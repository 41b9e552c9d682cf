"""SIGKILL the saga process and the relay, twice each, while customers keep placing and
paying orders: afterwards every order rests in a state its events explain (none pending,
none paid without a shipment), the stock reserved is exactly the lines of the orders that
hold it, each order that awaited payment has exactly one payment, and every projection
equals a replay."""

import itertools
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from schemas.payments import Outcome
from tests.e2e.test_inventory_http import stocked_product
from tests.support.ordering import (
    ADDRESS,
    ORDERS,
    customer,
    order_process_violations,
    order_statuses,
    read_order,
    staff,
    webhook,
)
from tests.support.platform import Platform, server_platform, store_events
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server
ORDER_LIMIT = 400  # a bound, whatever the faults do to the pace


class Shoppers(threading.Thread):
    """Places orders of one or two products, ~8 a second, and has the provider answer for
    the payment of each order found awaiting it (3 in 4 succeed), until stopped. The
    command API is never killed here, so every command must be accepted."""

    def __init__(self, platform: Platform, products: list[str]) -> None:
        super().__init__(daemon=True)
        self.platform = platform
        self.products = products
        self.placed: list[str] = []
        self.paid: set[str] = set()
        self.errors: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            self._shop()
        except Exception as error:  # noqa: BLE001 - reported by at_least and finish
            self.errors.append(repr(error))

    def _shop(self) -> None:
        choices = itertools.cycle(range(len(self.products)))
        with httpx.Client(base_url=self.platform.command_url, timeout=30) as http:
            while not self.stopping.wait(0.12) and len(self.placed) < ORDER_LIMIT:
                first, second = next(choices), next(choices)
                lines = [{"product_id": self.products[first], "quantity": 1 + first % 3}]
                if len(self.placed) % 2:
                    lines.append({"product_id": self.products[second], "quantity": 1})
                subject = f"shopper-{len(self.placed) % 7}"
                placed = http.post(ORDERS, json={"lines": lines, "shipping_address": ADDRESS},
                                   headers=customer(self.platform, subject))
                if placed.status_code != 201:
                    self.errors.append(f"{placed.status_code} {placed.text}")
                    continue
                self.placed.append(placed.json()["id"])
                self._answer_a_payment()

    def _answer_a_payment(self) -> None:
        """The provider's webhook for the oldest order seen awaiting payment."""
        for order_id in self.placed[-20:]:
            if order_id in self.paid:
                continue
            found = read_order(self.platform, order_id, staff(self.platform))
            order: dict[str, Any] = found.json() if found.status_code == 200 else {}
            if order.get("status") == "awaiting_payment" and order.get("payment"):
                outcome = Outcome.FAILED if len(self.paid) % 4 == 3 else Outcome.SUCCEEDED
                sent = webhook(self.platform, order, outcome)
                if sent.status_code != 200:
                    self.errors.append(f"webhook {sent.status_code} {sent.text}")
                self.paid.add(order_id)
                return

    def at_least(self, n: int, timeout: float = 60) -> None:
        start = len(self.placed)

        def placed() -> bool:
            assert not self.errors, self.errors[:3]
            return len(self.placed) >= start + n

        wait_until(placed, timeout, f"{n} more orders placed")

    def finish(self) -> list[str]:
        self.stopping.set()
        self.join(timeout=60)
        assert not self.errors, self.errors[:3]
        return list(self.placed)


def test_orders_survive_sigkills_of_the_sagas_and_the_relay(tmp_path: Path) -> None:
    with server_platform(tmp_path) as platform:
        products = [stocked_product(platform, 60)[0] for _ in range(3)]
        shoppers = Shoppers(platform, products)
        shoppers.start()
        for victim in ("sagas", "relay", "sagas", "relay"):
            shoppers.at_least(15)
            process = platform.processes[victim]
            process.kill()
            assert not process.alive
            process.start()
        shoppers.at_least(15)
        placed = shoppers.finish()

        def at_rest() -> list[str] | None:
            events = store_events(platform)
            status = order_statuses(events)
            if any(o not in status for o in placed):
                return None
            violations = order_process_violations(events)
            return None if violations else list(status.values())

        try:
            statuses = wait_until(at_rest, 180, "every order to rest in a state its events "
                                  "explain")
        except AssertionError:
            raise AssertionError(order_process_violations(store_events(platform))[:10]) from None
        assert {"awaiting_payment", "paid"} <= set(statuses), statuses
        verified = platform.cli("verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
