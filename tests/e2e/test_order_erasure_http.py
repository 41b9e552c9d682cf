"""An order's shipping address is the customer's personal data, in both modes: sealed with
their key in every event and read model, shown to the order's readers while the customer
exists, and never again once they are erased; the order and its shipment keep their lines
and amounts. In server mode, the address is nowhere in clear: not in the read models' orders
or shipments, not in the stored events, not in ClickHouse's history.
"""

import json
import uuid
from typing import Any

import httpx

from runtime.auth import Role
from runtime.settings import Mode
from schemas.payments import Outcome
from tests.e2e.test_inventory_http import stocked_product
from tests.support.ordering import (
    ORDERS,
    SHIPMENTS,
    awaiting_payment,
    pay,
    read_order,
    staff,
    wait_for_status,
    webhook,
)
from tests.support.platform import Platform, store_events
from tests.support.waiting import wait_until

AUTH = "/api/v1/auth"
AMOUNTS = ("lines", "currency", "subtotal", "total", "status", "customer_id")


def signed_up(platform: Platform) -> tuple[str, str]:
    """A new customer (not verified: ordering does not need it) and their access token."""
    tag = uuid.uuid4().hex[:12]
    email, password = f"orderer-{tag}@example.com", f"correct horse {tag}"
    registered = httpx.post(f"{platform.command_url}{AUTH}/register", timeout=30, json={
        "email": email, "password": password, "name": f"Orderer {tag}"})
    assert registered.status_code == 201, registered.text
    signed_in = httpx.post(f"{platform.command_url}{AUTH}/login", timeout=30,
                           json={"email": email, "password": password})
    assert signed_in.status_code == 200, signed_in.text
    return registered.json()["id"], signed_in.json()["access_token"]


def read_shipment(platform: Platform, shipment_id: str) -> httpx.Response:
    return httpx.get(f"{platform.read_url}{SHIPMENTS}/{shipment_id}", headers=staff(platform),
                     timeout=30)


def the_shipment(platform: Platform, order_id: str) -> dict[str, Any]:
    def created() -> dict[str, Any]:
        shipment = read_order(platform, order_id, staff(platform)).json()["shipment"]
        if shipment is None:
            return {}
        found = read_shipment(platform, shipment["id"])
        return found.json() if found.status_code == 200 else {}  # type: ignore[no-any-return]

    return wait_until(created, 60, f"order {order_id}'s shipment")


def erased_address(platform: Platform, url: str) -> dict[str, Any]:
    """The order or shipment at `url` (read by staff) once its address reads null: each
    process forgets an erased customer's key within its key cache's time."""
    def gone() -> dict[str, Any]:
        found = httpx.get(url, headers=staff(platform), timeout=30)
        assert found.status_code == 200, found.text
        view: dict[str, Any] = found.json()
        return view if view["shipping_address"] is None else {}

    return wait_until(gone, 60, f"the address of {url} to be erased")


def clear_in_server_stores(platform: Platform, value: str) -> list[str]:
    """Where `value` is in clear in the read models' orders and shipments, and ClickHouse."""
    from clickhouse_driver import Client

    from projections.analytics import TABLE
    from tests.support import read_store

    settings = platform.settings
    texts: dict[str, str] = {}
    for name in ("orders", "shipments"):
        documents = read_store.documents(settings, name)
        assert documents, f"no documents in {name}"
        texts[f"read model {name}"] = json.dumps(list(documents.values()), default=str)
    clickhouse = Client(host=settings.clickhouse_host, port=settings.clickhouse_port,
                        database=settings.clickhouse_db)
    try:
        rows = clickhouse.execute(f"SELECT * FROM `{TABLE}`")
        assert rows, "the history is empty"
        texts["clickhouse history"] = repr(rows)
    finally:
        clickhouse.disconnect()
    return [where for where, text in texts.items() if value in text]


def test_an_erased_customers_orders_keep_their_lines_but_lose_their_address(
        platform: Platform) -> None:
    product, _ = stocked_product(platform, 5)
    customer_id, access = signed_up(platform)
    owner = {"Authorization": f"Bearer {access}"}
    line1 = f"{uuid.uuid4().hex[:10]} Erasure Lane"
    address = {"name": "Orla Orderer", "line1": line1, "line2": None, "city": "Leeds",
               "postal_code": "LS1 4AP", "country": "GB"}
    placed = httpx.post(f"{platform.command_url}{ORDERS}", headers=owner, timeout=30, json={
        "lines": [{"product_id": product, "quantity": 2}], "shipping_address": address})
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    seen = read_order(platform, order_id, owner, placed.headers["X-Consistency-Token"])
    assert seen.status_code == 200, seen.text
    assert (seen.json()["customer_id"], seen.json()["shipping_address"]) == (customer_id,
                                                                             address)

    order = awaiting_payment(platform, order_id)
    assert order["shipping_address"] == address  # staff read it too
    assert pay(platform, order_id, customer_id).status_code == 202
    assert webhook(platform, order, Outcome.SUCCEEDED).status_code == 200
    before = wait_for_status(platform, order_id, "paid")
    shipment = the_shipment(platform, order_id)
    assert shipment["shipping_address"] == address

    erased = httpx.delete(f"{platform.command_url}/api/v1/customers/{customer_id}",
                          headers=platform.auth(Role.ADMIN), timeout=30)
    assert erased.status_code == 200, erased.text

    after = erased_address(platform, f"{platform.read_url}{ORDERS}/{order_id}")
    assert {k: after[k] for k in AMOUNTS} == {k: before[k] for k in AMOUNTS}
    assert after["payment"]["amount"] == before["payment"]["amount"]
    shipped = erased_address(platform, f"{platform.read_url}{SHIPMENTS}/{shipment['id']}")
    assert (shipped["lines"], shipped["status"]) == (shipment["lines"], shipment["status"])
    listed = httpx.get(f"{platform.read_url}{SHIPMENTS}", headers=staff(platform),
                       params={"limit": 100}, timeout=30)
    assert listed.status_code == 200, listed.text
    assert line1 not in listed.text

    mine = [e for e in store_events(platform) if str(e.aggregate_id) in (order_id,
                                                                        shipment["id"])]
    assert {(e.event_type, e.schema_version) for e in mine} >= {("OrderPlaced", 2),
                                                                 ("ShipmentCreated", 2)}
    assert line1 not in json.dumps([e.model_dump(mode="json") for e in store_events(platform)])
    if platform.mode is Mode.SERVER:
        assert clear_in_server_stores(platform, line1) == []

    def verified() -> bool:  # the sealed values in the documents are the events' own
        result = platform.cli("verify")
        assert result.returncode in (0, 1), result.stderr
        return result.returncode == 0 and "equals a rebuild" in result.stdout

    wait_until(verified, 60, "the read models to equal a replay")
