"""Every other path of an order over HTTP, in both modes: the payment deadline, cancelling,
who may see and do what, short stock, bad input (refused, and nothing recorded), the
provider's webhook (forged, stale, repeated, unknown, ignored), the CLI's webhook, and
reading an order with a payment's or a shipment's consistency token.

"Nothing recorded" is proven on the event stores themselves: every refused request carries
an `X-Request-ID` of its own (the correlation id of whatever it would record), and no
event recorded meanwhile carries it or touches the aggregates the request named.
"""

import json
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from commands.payments import webhooks
from runtime.auth import Role
from runtime.settings import Mode
from schemas.fulfilment import shipment_id
from schemas.money import to_minor_units
from schemas.payments import Outcome, payment_id
from tests.e2e.test_inventory_http import stock_read, stocked_product
from tests.e2e.test_products_http import assert_problem, create, new_product
from tests.support.ordering import (
    ADDRESS,
    ORDERS,
    SHIPMENTS,
    awaiting_payment,
    customer,
    pay,
    place,
    read_order,
    shipment_step,
    staff,
    wait_for_status,
    webhook,
)
from tests.support.platform import Platform, embedded_platform, server_platform, store_events
from tests.support.processes import run_cli
from tests.support.waiting import wait_until

WEBHOOK = "/api/v1/payments/webhooks/stripe"
SHIP = {"carrier": "DHL", "tracking_number": "JD0146000034"}


def subject(name: str) -> str:
    """A customer of this test only, so listings and counts are not shared."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


def post(platform: Platform, path: str, headers: dict[str, str], **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{platform.command_url}{path}", headers=headers, timeout=30, **kwargs)


def get(platform: Platform, path: str, headers: dict[str, str],
        **params: Any) -> httpx.Response:
    return httpx.get(f"{platform.read_url}{path}", headers=headers, params=params, timeout=30)


def cancel(platform: Platform, order_id: str, headers: dict[str, str],
           reason: str | None = None, **extra: str) -> httpx.Response:
    body = {"reason": reason} if reason else None
    return post(platform, f"{ORDERS}/{order_id}/cancel", {**headers, **extra}, json=body)


def payment_status(platform: Platform, order_id: str, status: str,
                   timeout: float = 60) -> dict[str, Any]:
    """The order (as staff read it) once its payment has `status`."""
    def reached() -> Any:
        order: dict[str, Any] = read_order(platform, order_id, staff(platform)).json()
        payment = order.get("payment")
        return order if payment and payment["status"] == status else None

    found: dict[str, Any] = wait_until(reached, timeout,
                                       f"order {order_id}'s payment to be {status}")
    return found


def shipment_status(platform: Platform, order_id: str, status: str) -> dict[str, Any]:
    """The order's shipment (from the shipments read API) once it has `status`."""
    path = f"{SHIPMENTS}/{shipment_id(uuid.UUID(order_id))}"

    def reached() -> Any:
        found = get(platform, path, staff(platform))
        return found.json() if found.status_code == 200 and \
            found.json()["status"] == status else None

    shipment: dict[str, Any] = wait_until(reached, 60,
                                          f"order {order_id}'s shipment to be {status}")
    return shipment


def released(platform: Platform, product_id: str) -> dict[str, Any]:
    """The product's stock level once nothing of it is reserved."""
    def free() -> Any:
        level: dict[str, Any] = stock_read(platform, f"/{product_id}").json()
        return level if level["reserved"] == 0 else None

    level: dict[str, Any] = wait_until(free, 60,
                                       f"product {product_id}'s reservations to be released")
    return level


def reserved(platform: Platform, product_id: str, quantity: int) -> None:
    wait_until(lambda: stock_read(platform, f"/{product_id}").json()["reserved"] == quantity,
               60, f"{quantity} of product {product_id} to be reserved")


def ready_order(platform: Platform, who: str, lines: list[tuple[str, int]]) -> dict[str, Any]:
    placed = place(platform, who, lines)
    assert placed.status_code == 201, placed.text
    return awaiting_payment(platform, placed.json()["id"])


def paid_order(platform: Platform, who: str,
               lines: list[tuple[str, int]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """An order paid for, and its shipment (ready to pack)."""
    order = ready_order(platform, who, lines)
    paid = pay(platform, order["id"], who)
    assert paid.status_code == 202, paid.text
    assert webhook(platform, order, Outcome.SUCCEEDED).status_code == 200
    wait_for_status(platform, order["id"], "paid")
    return order, shipment_status(platform, order["id"], "ready")


# --- nothing recorded ---------------------------------------------------------------------


class Tracked:
    """Request ids for refused requests, and the aggregates they named."""

    def __init__(self) -> None:
        self.request_ids: list[str] = []
        self.aggregates: set[str] = set()

    def headers(self, headers: dict[str, str] | None = None) -> dict[str, str]:
        request_id = f"refused-{uuid.uuid4().hex}"
        self.request_ids.append(request_id)
        return {**(headers or {}), "X-Request-ID": request_id}


@contextmanager
def nothing_recorded(platform: Platform, *aggregates: str) -> Iterator[Tracked]:
    """Fails unless no event recorded inside the block carries one of the tracked request
    ids or belongs to one of `aggregates` (or those the block adds)."""
    before = {event.event_id for event in store_events(platform)}
    tracked = Tracked()
    tracked.aggregates.update(aggregates)
    yield tracked
    new = [e for e in store_events(platform) if e.event_id not in before]
    wrong = [(e.event_type, str(e.aggregate_id), e.correlation_id) for e in new
             if e.correlation_id in tracked.request_ids
             or e.causation_id in tracked.request_ids
             or str(e.aggregate_id) in tracked.aggregates]
    assert not wrong, f"refused requests recorded events: {wrong}"


# --- the payment deadline -------------------------------------------------------------------


@pytest.fixture(scope="module", params=[
    "embedded", pytest.param("server", marks=pytest.mark.server)])
def hurried(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A platform of its own whose orders must be paid within 3 seconds."""
    make = embedded_platform if request.param == "embedded" else server_platform
    with make(tmp_path_factory.mktemp(f"hurried-{request.param}"),
              TANQORY_PAYMENT_DEADLINE_SECONDS="3") as platform:
        yield platform


def test_an_unpaid_order_expires_and_a_late_payment_is_refunded(hurried: Platform) -> None:
    platform = hurried
    product, _ = stocked_product(platform, 6)
    who = subject("late")
    placed = place(platform, who, [(product, 2)])
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]

    expired = wait_for_status(platform, order_id, "expired")
    assert expired["payment_deadline"]
    assert "expired" in [item["event"] for item in expired["timeline"]]
    level = released(platform, product)
    assert (level["on_hand"], level["available"]) == (6, 6)
    order = payment_status(platform, order_id, "cancelled")
    assert order["status"] == "expired"

    too_late = pay(platform, order_id, who)
    assert_problem(too_late, 409, "order-not-payable")

    # The money arrives anyway (the customer paid just as the deadline passed): it goes back.
    late = webhook(platform, order, Outcome.SUCCEEDED)
    assert late.status_code == 200, late.text
    assert late.json()["result"] == "recorded"
    if platform.mode is Mode.SERVER:  # stripe-mock refunds whatever it is asked to
        refunded = payment_status(platform, order_id, "refunded", timeout=30)
        assert refunded["status"] == "expired"
        assert Decimal(refunded["payment"]["refunded_amount"]) == Decimal(order["total"])
    # Embedded, the test provider knows it cancelled that intent, so it has no charge to
    # refund and refuses: that is logged for a person, and must hold up nothing after it.
    assert stock_read(platform, f"/{product}").json()["reserved"] == 0
    after = place(platform, who, [(product, 1)]).json()["id"]
    due = awaiting_payment(platform, after)
    assert pay(platform, after, who).status_code == 202
    assert webhook(platform, due, Outcome.SUCCEEDED).status_code == 200
    wait_for_status(platform, after, "paid")


# --- cancelling -------------------------------------------------------------------------------


def test_the_owner_cancels_before_paying(platform: Platform) -> None:
    product, _ = stocked_product(platform, 5)
    who = subject("owner")
    order = ready_order(platform, who, [(product, 3)])
    reserved(platform, product, 3)

    done = cancel(platform, order["id"], customer(platform, who), "changed my mind")
    assert done.status_code == 200, done.text
    seen = read_order(platform, order["id"], customer(platform, who),
                      done.headers["X-Consistency-Token"])
    assert seen.status_code == 200, seen.text
    assert seen.json()["status"] == "cancelled"
    assert seen.json()["reason"] == "changed my mind"
    level = released(platform, product)
    assert (level["on_hand"], level["available"]) == (5, 5)
    cancelled = payment_status(platform, order["id"], "cancelled")
    assert cancelled["shipment"] is None
    assert cancelled["payment"]["client_secret"] is None


def test_staff_cancel_a_paid_order_refunding_it(platform: Platform) -> None:
    product, _ = stocked_product(platform, 5)
    who = subject("paid")
    order, shipment = paid_order(platform, who, [(product, 2)])
    reserved(platform, product, 2)

    done = cancel(platform, order["id"], platform.auth(Role.ORDER_MANAGER), "out of stock")
    assert done.status_code == 200, done.text
    cancelled = wait_for_status(platform, order["id"], "cancelled")
    assert cancelled["reason"] == "out of stock"
    level = released(platform, product)
    assert (level["on_hand"], level["available"]) == (5, 5)
    refunded = payment_status(platform, order["id"], "refunded")
    assert Decimal(refunded["payment"]["refunded_amount"]) == Decimal(order["total"])
    assert shipment_status(platform, order["id"], "cancelled")["id"] == shipment["id"]
    # A cancelled order's parcel never leaves.
    refused = shipment_step(platform, shipment["id"], "pack")
    assert_problem(refused, 409, "shipment-transition-refused")


def test_a_shipped_or_delivered_order_cannot_be_cancelled(platform: Platform) -> None:
    product, _ = stocked_product(platform, 5)
    who = subject("shipped")
    order, shipment = paid_order(platform, who, [(product, 1)])
    assert shipment_step(platform, shipment["id"], "pack").status_code == 200
    assert shipment_step(platform, shipment["id"], "ship", SHIP).status_code == 200
    wait_for_status(platform, order["id"], "shipped")
    with nothing_recorded(platform, order["id"]) as tracked:
        for headers in (customer(platform, who), staff(platform)):
            assert_problem(cancel(platform, order["id"], tracked.headers(headers)), 409,
                           "order-not-cancellable")

    assert shipment_step(platform, shipment["id"], "deliver").status_code == 200
    wait_for_status(platform, order["id"], "delivered")
    with nothing_recorded(platform, order["id"]) as tracked:
        assert_problem(cancel(platform, order["id"], tracked.headers(staff(platform))), 409,
                       "order-not-cancellable")
    assert payment_status(platform, order["id"], "succeeded")["status"] == "delivered"


def test_cancelling_twice_is_a_conflict(platform: Platform) -> None:
    product, _ = stocked_product(platform, 5)
    who = subject("twice")
    order = ready_order(platform, who, [(product, 1)])
    assert cancel(platform, order["id"], customer(platform, who)).status_code == 200
    with nothing_recorded(platform) as tracked:
        again = cancel(platform, order["id"], tracked.headers(customer(platform, who)))
        assert_problem(again, 409, "order-not-cancellable")
    assert wait_for_status(platform, order["id"], "cancelled")["reason"] == f"cancelled by {who}"


def test_a_bad_cancel_is_refused_and_records_nothing(platform: Platform) -> None:
    product, _ = stocked_product(platform, 5)
    who = subject("canceller")
    order = ready_order(platform, who, [(product, 1)])
    owner = customer(platform, who)
    path = f"{ORDERS}/{order['id']}/cancel"
    with nothing_recorded(platform, order["id"]) as tracked:
        for body in ({"reason": ""}, {"reason": "x" * 501}, {"reason": "a\nb"},
                     {"reason": "ok", "refund": False}, {"reason": 7}, [1]):
            assert_problem(post(platform, path, tracked.headers(owner), json=body), 422,
                           "validation-error")
        raw = tracked.headers({**owner, "Content-Type": "application/json"})
        assert_problem(post(platform, path, raw, content=b"{reason"), 422, "validation-error")
        stale = tracked.headers({**owner, "If-Match": f'"{order["version"] + 5}"'})
        assert_problem(post(platform, path, stale), 409, "version-conflict")
        assert_problem(cancel(platform, str(uuid.uuid4()), tracked.headers(owner)), 404,
                       "not-found")
    current = read_order(platform, order["id"], owner)
    assert current.json()["status"] == "awaiting_payment"
    fresh = post(platform, path, {**owner, "If-Match": current.headers["ETag"]})
    assert fresh.status_code == 200, fresh.text


# --- who sees and does what -------------------------------------------------------------------


def test_a_customer_cannot_see_cancel_or_pay_another_customers_order(platform: Platform) -> None:
    product, _ = stocked_product(platform, 5)
    owner, other = subject("owner"), subject("other")
    order = ready_order(platform, owner, [(product, 1)])
    intruder = customer(platform, other)

    assert_problem(read_order(platform, order["id"], intruder), 404, "not-found")
    with nothing_recorded(platform, order["id"],
                          str(payment_id(uuid.UUID(order["id"])))) as tracked:
        assert_problem(cancel(platform, order["id"], tracked.headers(intruder)), 404,
                       "not-found")
        paid = post(platform, f"{ORDERS}/{order['id']}/pay", tracked.headers(intruder),
                    json={"payment_method": "pm_card_visa"})
        assert_problem(paid, 404, "not-found")
    assert read_order(platform, order["id"], customer(platform, owner)).json()["status"] \
        == "awaiting_payment"


def test_a_customer_lists_only_their_own_orders(platform: Platform) -> None:
    product, _ = stocked_product(platform, 20)
    mine, theirs = subject("mine"), subject("theirs")
    my_orders = {place(platform, mine, [(product, 1)]).json()["id"] for _ in range(2)}
    their_order = place(platform, theirs, [(product, 1)]).json()["id"]
    wait_for_status(platform, their_order, "awaiting_payment")

    def listed() -> Any:
        found = get(platform, ORDERS, customer(platform, mine), limit=100)
        assert found.status_code == 200, found.text
        data: list[dict[str, Any]] = found.json()["data"]
        return data if {o["id"] for o in data} >= my_orders else None

    data: list[dict[str, Any]] = wait_until(listed, 60, "the customer's orders to be listed")
    assert {o["id"] for o in data} == my_orders
    assert {o["customer_id"] for o in data} == {mine}
    assert get(platform, ORDERS, customer(platform, mine), customer=mine).status_code == 200
    assert_problem(get(platform, ORDERS, customer(platform, mine), customer=theirs), 403,
                   "forbidden")


def test_staff_list_orders_by_status_customer_and_placing_time(platform: Platform) -> None:
    product, _ = stocked_product(platform, 20)
    who = subject("filtered")
    waiting = ready_order(platform, who, [(product, 1)])
    dropped = ready_order(platform, who, [(product, 1)])
    assert cancel(platform, dropped["id"], customer(platform, who)).status_code == 200
    wait_for_status(platform, dropped["id"], "cancelled")

    def ids(**params: Any) -> list[str]:
        found = get(platform, ORDERS, staff(platform), customer=who, limit=100, **params)
        assert found.status_code == 200, found.text
        return [o["id"] for o in found.json()["data"]]

    assert ids() == [dropped["id"], waiting["id"]], "newest placed first"
    assert ids(status="awaiting_payment") == [waiting["id"]]
    assert ids(status="cancelled") == [dropped["id"]]
    assert ids(status="paid") == []
    first = datetime.fromisoformat(waiting["placed_at"])
    second = datetime.fromisoformat(dropped["placed_at"])
    assert ids(placed_from=first.isoformat(), placed_to=second.isoformat()) == \
        [dropped["id"], waiting["id"]]
    assert ids(placed_from=second.isoformat()) == [dropped["id"]]
    assert ids(placed_to=(second - timedelta(milliseconds=1)).isoformat()) == [waiting["id"]]
    assert ids(placed_to=(first - timedelta(seconds=1)).isoformat()) == []
    for bad in ({"status": "lost"}, {"placed_from": "yesterday"}, {"limit": 101}, {"page": 0},
                {"placed_from": second.isoformat(), "placed_to": first.isoformat()}):
        assert_problem(get(platform, ORDERS, staff(platform), **bad), 422, "validation-error")
    admin = get(platform, ORDERS, platform.auth(Role.ADMIN), customer=who)
    assert [o["id"] for o in admin.json()["data"]] == [dropped["id"], waiting["id"]]
    everyone = get(platform, ORDERS, staff(platform), limit=100)
    assert everyone.json()["pagination"]["total_items"] >= 2


def test_roles_on_orders_and_shipments(platform: Platform) -> None:
    product, _ = stocked_product(platform, 5)
    who = subject("roles")
    order, shipment = paid_order(platform, who, [(product, 1)])
    analyst, buyer = platform.auth(Role.ANALYST), customer(platform, who)
    body = {"lines": [{"product_id": product, "quantity": 1}], "shipping_address": ADDRESS}

    with nothing_recorded(platform, order["id"], shipment["id"]) as tracked:
        for response in (
            get(platform, ORDERS, analyst),
            get(platform, f"{ORDERS}/{order['id']}", analyst),
            post(platform, ORDERS, tracked.headers(analyst), json=body),
            post(platform, ORDERS, tracked.headers(staff(platform)), json=body),
            cancel(platform, order["id"], tracked.headers(analyst)),
            get(platform, SHIPMENTS, buyer),
            get(platform, f"{SHIPMENTS}/{shipment['id']}", buyer),
            post(platform, f"{SHIPMENTS}/{shipment['id']}/pack", tracked.headers(buyer)),
            post(platform, f"{SHIPMENTS}/{shipment['id']}/pack", tracked.headers(analyst)),
        ):
            assert_problem(response, 403, "forbidden")
        for response in (
            get(platform, ORDERS, {}),
            get(platform, f"{ORDERS}/{order['id']}", {}),
            get(platform, SHIPMENTS, {}),
            get(platform, f"{SHIPMENTS}/{shipment['id']}", {}),
            post(platform, ORDERS, tracked.headers(), json=body),
            cancel(platform, order["id"], tracked.headers()),
            post(platform, f"{ORDERS}/{order['id']}/pay", tracked.headers(),
                 json={"payment_method": "pm_card_visa"}),
            post(platform, f"{SHIPMENTS}/{shipment['id']}/pack", tracked.headers()),
        ):
            assert_problem(response, 401, "unauthorized")
    listed = get(platform, SHIPMENTS, staff(platform), status="ready", limit=100)
    assert listed.status_code == 200, listed.text
    assert shipment["id"] in [s["id"] for s in listed.json()["data"]] or \
        listed.json()["pagination"]["total_items"] > 100


# --- short stock -------------------------------------------------------------------------------


def test_an_order_for_more_than_is_in_stock_is_rejected(platform: Platform) -> None:
    product, _ = stocked_product(platform, 3)
    placed = place(platform, subject("short"), [(product, 5)])
    assert placed.status_code == 201, placed.text
    rejected = wait_for_status(platform, placed.json()["id"], "rejected")
    assert "3" in rejected["reason"] and "available" in rejected["reason"], rejected["reason"]
    assert rejected["payment"] is None
    level = stock_read(platform, f"/{product}").json()
    assert (level["on_hand"], level["reserved"], level["available"]) == (3, 0, 3)


def test_one_short_line_rejects_the_order_and_releases_the_others(platform: Platform) -> None:
    plenty, _ = stocked_product(platform, 10)
    scarce, _ = stocked_product(platform, 1)
    placed = place(platform, subject("mixed"), [(plenty, 2), (scarce, 5)])
    assert placed.status_code == 201, placed.text
    rejected = wait_for_status(platform, placed.json()["id"], "rejected")
    assert "1 available" in rejected["reason"], rejected["reason"]
    level = released(platform, plenty)
    assert (level["on_hand"], level["available"]) == (10, 10)
    assert stock_read(platform, f"/{scarce}").json()["available"] == 1


# --- bad input: refused, and nothing recorded ------------------------------------------------

_catalogs: dict[int, dict[str, str]] = {}


def catalog(platform: Platform) -> dict[str, str]:
    """A product of each kind an order may or may not name, made once per platform."""
    if id(platform) in _catalogs:
        return _catalogs[id(platform)]
    good, _ = stocked_product(platform, 50)
    other, _ = stocked_product(platform, 50)
    inactive = create(platform, new_product(is_active=False, stock_quantity=5))
    deleted = create(platform, new_product(stock_quantity=5))
    assert inactive.status_code == deleted.status_code == 201
    gone = httpx.delete(f"{platform.command_url}/api/v1/products/{deleted.json()['id']}",
                        headers=platform.auth(Role.ADMIN), timeout=30)
    assert gone.status_code == 200, gone.text
    made = {"good": good, "other": other, "inactive": inactive.json()["id"],
            "deleted": deleted.json()["id"], "unknown": str(uuid.uuid4())}
    _catalogs[id(platform)] = made
    return made


def line(product: str, quantity: int = 1) -> dict[str, Any]:
    return {"product_id": product, "quantity": quantity}


def order_body(*lines: dict[str, Any], **address: Any) -> dict[str, Any]:
    shipping = {k: v for k, v in {**ADDRESS, **address}.items() if v is not None}
    return {"lines": list(lines), "shipping_address": shipping}


BAD_ORDERS: dict[str, tuple[Callable[[dict[str, str]], Any], str, str | None]] = {
    # case: (body from the catalog, problem type, a field named in errors[])
    "unknown-product": (lambda c: order_body(line(c["unknown"])), "unorderable-products", None),
    "deleted-product": (lambda c: order_body(line(c["deleted"])), "unorderable-products", None),
    "inactive-product": (lambda c: order_body(line(c["good"]), line(c["inactive"])),
                         "unorderable-products", None),
    "quantity-0": (lambda c: order_body(line(c["good"], 0)), "validation-error",
                   "lines.0.quantity"),
    "quantity-negative": (lambda c: order_body(line(c["good"], -2)), "validation-error",
                          "lines.0.quantity"),
    "quantity-1001": (lambda c: order_body(line(c["good"], 1001)), "validation-error",
                      "lines.0.quantity"),
    "quantity-text": (lambda c: order_body(line(c["good"], "two")), "validation-error",  # type: ignore[arg-type]
                      "lines.0.quantity"),
    "duplicate-lines": (lambda c: order_body(line(c["good"]), line(c["other"]), line(c["good"], 2)),
                        "validation-error", "lines"),
    "101-lines": (lambda c: order_body(*(line(str(uuid.uuid4())) for _ in range(101))),
                  "validation-error", "lines"),
    "no-lines": (lambda c: order_body(), "validation-error", "lines"),
    "bad-product-id": (lambda c: order_body(line("not-a-uuid")), "validation-error",
                       "lines.0.product_id"),
    "missing-city": (lambda c: order_body(line(c["good"]), city=None), "validation-error",
                     "shipping_address.city"),
    "missing-name": (lambda c: order_body(line(c["good"]), name=None), "validation-error",
                     "shipping_address.name"),
    "missing-postal-code": (lambda c: order_body(line(c["good"]), postal_code=None),
                            "validation-error", "shipping_address.postal_code"),
    "blank-line1": (lambda c: order_body(line(c["good"]), line1=""), "validation-error",
                    "shipping_address.line1"),
    # none sent and none saved on an account (this token's subject has no account)
    "no-address": (lambda c: {"lines": [line(c["good"])]}, "no-shipping-address", None),
    "country-GBR": (lambda c: order_body(line(c["good"]), country="GBR"), "validation-error",
                    "shipping_address.country"),
    "country-digits": (lambda c: order_body(line(c["good"]), country="12"), "validation-error",
                       "shipping_address.country"),
    "extra-field": (lambda c: {**order_body(line(c["good"])), "coupon": "FREE"},
                    "validation-error", "coupon"),
    "extra-address-field": (lambda c: order_body(line(c["good"]), state="CA"),
                            "validation-error", "shipping_address.state"),
    "extra-line-field": (lambda c: order_body({**line(c["good"]), "unit_price": "0.01"}),
                         "validation-error", "lines.0.unit_price"),
    "a-list": (lambda c: [order_body(line(c["good"]))], "validation-error", None),
}


@pytest.mark.parametrize("case", list(BAD_ORDERS))
def test_a_bad_order_is_refused_and_records_nothing(platform: Platform, case: str) -> None:
    build, problem_type, field = BAD_ORDERS[case]
    body = build(catalog(platform))
    who = subject("bad")
    with nothing_recorded(platform) as tracked:
        refused = post(platform, ORDERS, tracked.headers(customer(platform, who)), json=body)
        problem = assert_problem(refused, 422, problem_type)
    if field is not None:
        assert field in [e["field"] for e in problem["errors"]], problem
    if problem_type == "unorderable-products":
        named = [p for p in (catalog(platform)[k] for k in ("unknown", "deleted", "inactive"))
                 if p in json.dumps(body)]
        assert all(p in problem["detail"] for p in named), problem["detail"]
    listed = get(platform, ORDERS, customer(platform, who))
    assert listed.json()["data"] == []


@pytest.mark.parametrize(("content", "content_type", "status"), [
    (b'{"lines": [', "application/json", 422),
    (b"lines=1", "application/json", 422),
    (b"", "application/json", 422),
    (b"null", "application/json", 422),
    (b'{"lines": []}', "text/plain", 415),
], ids=["truncated-json", "not-json", "empty", "null", "not-declared-json"])
def test_a_body_that_is_not_an_order_is_refused_and_records_nothing(
        platform: Platform, content: bytes, content_type: str, status: int) -> None:
    who = subject("raw")
    with nothing_recorded(platform) as tracked:
        headers = tracked.headers({**customer(platform, who), "Content-Type": content_type})
        refused = post(platform, ORDERS, headers, content=content)
        assert refused.status_code == status, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")


def test_bad_payments_are_refused_and_record_nothing(platform: Platform) -> None:
    product, _ = stocked_product(platform, 5)
    who = subject("payer")
    order = ready_order(platform, who, [(product, 1)])
    ended = ready_order(platform, who, [(product, 1)])
    assert cancel(platform, ended["id"], customer(platform, who)).status_code == 200
    wait_for_status(platform, ended["id"], "cancelled")
    payments = [str(payment_id(uuid.UUID(o["id"]))) for o in (order, ended)]

    def pay_as(headers: dict[str, str], order_id: str, body: Any) -> httpx.Response:
        return post(platform, f"{ORDERS}/{order_id}/pay", headers, json=body)

    with nothing_recorded(platform, order["id"], ended["id"], *payments) as tracked:
        owner = customer(platform, who)
        for method in ("visa", "pm_", "pm_card visa", "pm_" + "x" * 101, "", None, 4242):
            problem = assert_problem(pay_as(tracked.headers(owner), order["id"],
                                            {"payment_method": method}),
                                     422, "validation-error")
            assert "payment_method" in [e["field"] for e in problem["errors"]], problem
        assert_problem(pay_as(tracked.headers(owner), order["id"], {}), 422, "validation-error")
        assert_problem(pay_as(tracked.headers(owner), order["id"],
                              {"payment_method": "pm_card_visa", "amount": "0.01"}),
                       422, "validation-error")
        assert_problem(pay_as(tracked.headers(owner), ended["id"],
                              {"payment_method": "pm_card_visa"}), 409, "order-not-payable")
        assert_problem(pay_as(tracked.headers(owner), str(uuid.uuid4()),
                              {"payment_method": "pm_card_visa"}), 404, "not-found")
        for role in (Role.ORDER_MANAGER, Role.ADMIN):
            assert_problem(pay_as(tracked.headers(platform.auth(role)), order["id"],
                                  {"payment_method": "pm_card_visa"}), 403, "forbidden")
    assert read_order(platform, order["id"], staff(platform)).json()["payment"]["status"] \
        == "requested"


def test_bad_shipment_steps_are_refused_and_record_nothing(platform: Platform) -> None:
    product, _ = stocked_product(platform, 5)
    order, shipment = paid_order(platform, subject("parcel"), [(product, 1)])
    path = f"{SHIPMENTS}/{shipment['id']}"

    with nothing_recorded(platform, shipment["id"], order["id"]) as tracked:
        for step, body in (("ship", SHIP), ("deliver", None)):
            assert_problem(post(platform, f"{path}/{step}", tracked.headers(staff(platform)),
                                json=body), 409, "shipment-transition-refused")
        unknown = str(uuid.uuid4())
        for step, body in (("pack", None), ("ship", SHIP), ("deliver", None)):
            assert_problem(post(platform, f"{SHIPMENTS}/{unknown}/{step}",
                                tracked.headers(staff(platform)), json=body), 404, "not-found")
    assert_problem(get(platform, f"{SHIPMENTS}/{uuid.uuid4()}", staff(platform)), 404,
                   "not-found")

    packed = shipment_step(platform, shipment["id"], "pack")
    assert packed.status_code == 200, packed.text
    with nothing_recorded(platform, shipment["id"], order["id"]) as tracked:
        again = post(platform, f"{path}/pack", tracked.headers(staff(platform)))
        assert again.status_code in (200, 409), again.text
        if again.status_code == 409:
            assert_problem(again, 409, "shipment-transition-refused")
        else:
            assert again.json()["version"] == packed.json()["version"]
        bodies: list[dict[str, Any] | None] = [
            None, {}, {"carrier": "DHL"}, {"tracking_number": "JD01"},
            {"carrier": "", "tracking_number": "JD01"}, {**SHIP, "weight": 3}]
        for body in bodies:
            problem = assert_problem(post(platform, f"{path}/ship",
                                          tracked.headers(staff(platform)), json=body),
                                     422, "validation-error")
            assert problem["errors"], problem
        stale = tracked.headers({**staff(platform), "If-Match": f'"{shipment["version"]}"'})
        assert_problem(post(platform, f"{path}/ship", stale, json=SHIP), 409, "version-conflict")
    current = get(platform, path, staff(platform))
    assert current.json()["status"] == "packed"
    fresh = {**staff(platform), "If-Match": current.headers["ETag"]}
    shipped = post(platform, f"{path}/ship", fresh, json=SHIP)
    assert shipped.status_code == 200, shipped.text


# --- the provider's webhook ----------------------------------------------------------------


def signed(platform: Platform, payload: bytes, secret: str | None = None,
           timestamp: int | None = None) -> str:
    return webhooks.sign(
        payload, secret or platform.settings.stripe_webhook_secret.get_secret_value(), timestamp)


def deliver(platform: Platform, payload: bytes, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return httpx.post(f"{platform.command_url}{WEBHOOK}", content=payload, headers=headers,
                      timeout=30)


def intent_payload(order: dict[str, Any], event_id: str, intent: str | None = None,
                   order_id: str | None = None) -> bytes:
    payment = order["payment"]
    return webhooks.intent_event(
        Outcome.SUCCEEDED, intent or payment["reference"], uuid.UUID(order_id or order["id"]),
        to_minor_units(Decimal(payment["amount"])), payment["currency"], None, event_id)


def test_a_webhook_without_a_genuine_recent_signature_is_refused(platform: Platform) -> None:
    product, _ = stocked_product(platform, 5)
    order = ready_order(platform, subject("forged"), [(product, 1)])
    event_id = f"evt_forged_{uuid.uuid4().hex}"
    payload = intent_payload(order, event_id)
    tampered = payload.replace(b'"amount":', b'"amount":1', 1)
    assert tampered != payload
    deliveries = {
        "no signature": (payload, None),
        "empty signature": (payload, ""),
        "garbage signature": (payload, "not-a-signature"),
        "wrong mac": (payload, f"t={int(time.time())},v1={'0' * 64}"),
        "wrong secret": (payload, signed(platform, payload, "whsec_someone_else")),
        "tampered body": (tampered, signed(platform, payload)),
        "stale timestamp": (payload, signed(platform, payload, timestamp=int(time.time()) - 3600)),
        "future timestamp": (payload, signed(platform, payload,
                                             timestamp=int(time.time()) + 3600)),
        "not utf-8": (b"\xff\xfe" + payload, signed(platform, b"\xff\xfe" + payload)),
    }
    with nothing_recorded(platform, order["id"],
                          str(payment_id(uuid.UUID(order["id"])))) as tracked:
        for name, (body, signature) in deliveries.items():
            refused = deliver(platform, body, signature)
            problem = assert_problem(refused, 400, "invalid-webhook")
            assert event_id not in problem["detail"], name
        tracked.request_ids.append(f"webhook:{event_id}")
    assert read_order(platform, order["id"], staff(platform)).json()["status"] \
        == "awaiting_payment"


def test_a_repeated_unknown_or_ignored_webhook_records_nothing(platform: Platform) -> None:
    product, _ = stocked_product(platform, 5)
    order = ready_order(platform, subject("hooked"), [(product, 1)])
    event_id = f"evt_once_{uuid.uuid4().hex}"
    first = webhook(platform, order, Outcome.SUCCEEDED, event_id=event_id)
    assert first.status_code == 200, first.text
    assert first.json() == {"received": True, "result": "recorded"}
    wait_for_status(platform, order["id"], "paid")

    payment = str(payment_id(uuid.UUID(order["id"])))
    with nothing_recorded(platform, order["id"], payment) as tracked:
        again = webhook(platform, order, Outcome.SUCCEEDED, event_id=event_id)
        assert again.status_code == 200, again.text
        assert again.json()["result"] == "already"
        tracked.request_ids.append(f"webhook:{event_id}")

    unknowns = {
        "unknown intent": intent_payload(order, f"evt_u1_{uuid.uuid4().hex}",
                                         intent=f"pi_unknown_{uuid.uuid4().hex[:12]}"),
        "unknown order": intent_payload(order, f"evt_u2_{uuid.uuid4().hex}",
                                        order_id=str(uuid.uuid4())),
    }
    with nothing_recorded(platform, order["id"], payment) as tracked:
        for name, payload in unknowns.items():
            answered = deliver(platform, payload, signed(platform, payload))
            assert answered.status_code == 200, (name, answered.text)
            assert answered.json()["result"] == "unknown", name
            tracked.request_ids.append(f"webhook:{json.loads(payload)['id']}")

    charge = json.loads(intent_payload(order, f"evt_c_{uuid.uuid4().hex}"))
    charge["type"] = "charge.succeeded"
    charge["data"]["object"]["object"] = "charge"
    ignored_payload = json.dumps(charge).encode()
    created = json.loads(intent_payload(order, f"evt_p_{uuid.uuid4().hex}"))
    created["type"] = "payment_intent.created"
    created_payload = json.dumps(created).encode()
    with nothing_recorded(platform, order["id"], payment) as tracked:
        for payload in (ignored_payload, created_payload):
            answered = deliver(platform, payload, signed(platform, payload))
            assert answered.status_code == 200, answered.text
            assert answered.json()["result"] == "ignored"
            tracked.request_ids.append(f"webhook:{json.loads(payload)['id']}")
    assert read_order(platform, order["id"], staff(platform)).json()["payment"]["status"] \
        == "succeeded"


def test_a_failure_after_the_payment_succeeded_changes_nothing(platform: Platform) -> None:
    product, _ = stocked_product(platform, 5)
    order = ready_order(platform, subject("late-fail"), [(product, 1)])
    assert webhook(platform, order, Outcome.SUCCEEDED).status_code == 200
    wait_for_status(platform, order["id"], "paid")
    with nothing_recorded(platform, order["id"], str(payment_id(uuid.UUID(order["id"])))):
        late = webhook(platform, order, Outcome.FAILED)
        assert late.status_code == 200, late.text
        assert late.json()["result"] == "already"
    assert wait_for_status(platform, order["id"], "paid")["payment"]["status"] == "succeeded"


# --- the CLI's webhook ---------------------------------------------------------------------------


def cli(platform: Platform, *args: str) -> subprocess.CompletedProcess[str]:
    """`tanqory *args` with the platform's settings; embedded, `tanqory serve` was given its
    port as `--port`, so the CLI is told it as TANQORY_PORT (as an operator's shell would)."""
    if platform.mode is Mode.EMBEDDED:
        return run_cli(*args, **{**platform.env, "TANQORY_PORT": str(platform.settings.port)})
    return platform.cli(*args)


def test_the_cli_sends_a_payment_webhook(platform: Platform) -> None:
    product, _ = stocked_product(platform, 5)
    order = ready_order(platform, subject("cli"), [(product, 1)])
    sent = cli(platform, "payments", "webhook", order["id"], "--outcome", "succeeded")
    assert sent.returncode == 0, (sent.stdout, sent.stderr)
    assert '"result":"recorded"' in sent.stdout.replace(" ", ""), sent.stdout
    paid = wait_for_status(platform, order["id"], "paid")
    assert paid["payment"]["status"] == "succeeded"

    nowhere = str(uuid.uuid4())
    refused = cli(platform, "payments", "webhook", nowhere, "--outcome", "succeeded")
    assert refused.returncode == 1, (refused.stdout, refused.stderr)
    assert "has no payment" in refused.stderr and nowhere in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr


# --- read your writes ---------------------------------------------------------------------------


def test_an_order_read_waits_for_a_payments_or_a_shipments_token(platform: Platform) -> None:
    product, _ = stocked_product(platform, 5)
    who = subject("ryw")
    order = ready_order(platform, who, [(product, 1)])
    paid = pay(platform, order["id"], who)
    assert paid.status_code == 202, paid.text
    seen = read_order(platform, order["id"], customer(platform, who),
                      paid.headers["X-Consistency-Token"])
    assert seen.status_code == 200, seen.text
    assert seen.json()["payment"]["status"] in ("submitted", "succeeded")

    assert webhook(platform, order, Outcome.SUCCEEDED).status_code == 200
    shipment = shipment_status(platform, order["id"], "ready")
    for step, body, status in (("pack", None, "packed"), ("ship", SHIP, "shipped")):
        done = shipment_step(platform, shipment["id"], step, body)
        assert done.status_code == 200, done.text
        token = done.headers["X-Consistency-Token"]
        seen = read_order(platform, order["id"], customer(platform, who), token)
        assert seen.status_code == 200, seen.text
        assert seen.json()["shipment"]["status"] == status
        one = httpx.get(f"{platform.read_url}{SHIPMENTS}/{shipment['id']}", timeout=30,
                        headers={**staff(platform), "X-Consistency-Token": token})
        assert one.status_code == 200, one.text
        assert one.json()["status"] == status
        assert one.headers["ETag"] == done.headers["ETag"]

    # A token of another kind is refused, never waited for.
    product_token = create(platform, new_product()).headers["X-Consistency-Token"]
    assert_problem(read_order(platform, order["id"], customer(platform, who), product_token),
                   400, "invalid-consistency-token")
    wrong = httpx.get(f"{platform.read_url}{SHIPMENTS}/{shipment['id']}", timeout=30,
                      headers={**staff(platform),
                               "X-Consistency-Token": paid.headers["X-Consistency-Token"]})
    assert_problem(wrong, 400, "invalid-consistency-token")
