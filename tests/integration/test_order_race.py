"""30 customers order the last 10 units of a product at once, in server mode with two saga
processes sharing the work: exactly 10 orders await payment, 20 are rejected, and the stock
never goes below 0 at any step of its history."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.e2e.test_inventory_http import stock_read, stocked_product
from tests.support.ordering import order_process_violations, order_statuses, place
from tests.support.platform import server_platform, store_events
from tests.support.processes import PlatformProcess
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server
UNITS, CUSTOMERS = 10, 30


def test_thirty_customers_for_the_last_ten_units(tmp_path: Path) -> None:
    with server_platform(tmp_path) as platform:
        second = PlatformProcess("sagas-2", ["sagas"], platform.processes["sagas"].env,
                                 tmp_path).start()
        platform.processes["sagas-2"] = second
        product, _ = stocked_product(platform, UNITS)
        with ThreadPoolExecutor(CUSTOMERS) as pool:
            placed = list(pool.map(lambda n: place(platform, f"racer-{n}", [(product, 1)]),
                                   range(CUSTOMERS)))
        assert [r.status_code for r in placed] == [201] * CUSTOMERS, placed[0].text
        orders = {r.json()["id"] for r in placed}

        def settled() -> Counter[str] | None:
            status = order_statuses(store_events(platform))
            counted = Counter(status[o] for o in orders if o in status)
            return counted if counted.total() == CUSTOMERS and "pending" not in counted \
                else None

        assert wait_until(settled, 120, "every order to be settled") == {
            "awaiting_payment": UNITS, "rejected": CUSTOMERS - UNITS}
        events = store_events(platform)
        levels = [(e.payload, e.event_type) for e in events
                  if e.aggregate_type == "StockItem"]
        on_hand, reserved = 0, 0
        for payload, kind in levels:  # the stock item's history, step by step
            on_hand += payload.get("on_hand", 0)
            reserved += payload["quantity"] if kind == "StockItemReserved" else 0
            assert on_hand - reserved >= 0, "stock below 0"
        assert wait_until(lambda: not order_process_violations(store_events(platform)), 60,
                          "the order process to be consistent")
        level = stock_read(platform, f"/{product}").json()
        assert (level["on_hand"], level["reserved"], level["available"]) == (UNITS, UNITS, 0)
