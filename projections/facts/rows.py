"""Events to fact rows: pure functions, no I/O (ADR 0011).

A later event of an aggregate needs facts of its first one (an order's lines and placed
time when it is paid, a stock item's product): `Known` holds those first rows, found
earlier in the batch or looked up in the fact tables before the batch is folded. An
event whose first fact is nowhere (history older than the fact tables, or no fact store
at all) makes no rows: it is counted, not refused, so it never holds up the read models'
projectors. No personal value of a customer reaches a fact: only the opaque ids.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from projections.facts.tables import (
    CATEGORY_DIM,
    CUSTOMER_FACTS,
    ORDER_FACTS,
    PAYMENT_FACTS,
    PRICE_CHANGES,
    PRODUCT_DIM,
    SALE_LINES,
    SHIPMENT_FACTS,
    STOCK_MOVEMENTS,
    FactTable,
)
from schemas.envelope import EventEnvelope
from schemas.money import to_minor_units

Row = dict[str, Any]
Rows = dict[str, list[Row]]  # fact table name → rows, in event order

ORDER_STAGES = {"OrderPlaced": "placed", "OrderPaid": "paid", "OrderShipped": "shipped",
                "OrderDelivered": "delivered", "OrderCancelled": "cancelled",
                "OrderRejected": "rejected", "OrderExpired": "expired"}
PAYMENT_STAGES = {"PaymentRequested": "requested", "PaymentSubmitted": "submitted",
                  "PaymentSucceeded": "succeeded", "PaymentFailed": "failed",
                  "PaymentCancelled": "cancelled", "PaymentRefunded": "refunded"}
SHIPMENT_STAGES = {"ShipmentCreated": "created", "ShipmentPacked": "packed",
                   "ShipmentShipped": "shipped", "ShipmentDelivered": "delivered",
                   "ShipmentCancelled": "cancelled"}
CUSTOMER_STAGES = {"CustomerRegistered": "registered", "CustomerEmailVerified": "verified",
                   "CustomerErased": "erased", "CustomerRolesChanged": "roles_changed"}
CONSUMES = frozenset({"Order", "Payment", "Shipment", "StockItem", "Product", "Category",
                      "Customer"})


@dataclass
class Known:
    """The first fact of each aggregate a batch continues (and the latest dimension rows),
    by aggregate id; filled as the batch goes, so a later event finds an earlier one."""

    orders: dict[str, Row] = field(default_factory=dict)  # the `placed` order fact
    payments: dict[str, Row] = field(default_factory=dict)  # the `requested` payment fact
    shipments: dict[str, Row] = field(default_factory=dict)  # the `created` shipment fact
    stock_items: dict[str, Row] = field(default_factory=dict)  # the `created` movement
    products: dict[str, Row] = field(default_factory=dict)  # the latest product_dim row


def minor(amount: str | Decimal | int) -> int:
    return to_minor_units(Decimal(str(amount)))


def moment(event: EventEnvelope) -> datetime:
    """When the event happened, to the second, as DateTime('UTC') keeps it (naive UTC)."""
    return event.occurred_at.astimezone(UTC).replace(tzinfo=None, microsecond=0)


class MissingFact(Exception):
    """The first fact of the event's aggregate is not known."""


def _first(known: dict[str, Row], event: EventEnvelope) -> Row:
    row = known.get(str(event.aggregate_id))
    if row is None:
        raise MissingFact
    return row


def _base(event: EventEnvelope) -> Row:
    return {"event_id": str(event.event_id), "at": moment(event)}


# --- orders -----------------------------------------------------------------------------


def order_placed(event: EventEnvelope) -> Row:
    p = event.payload
    lines = p["lines"]
    return {**_base(event), "order_id": str(event.aggregate_id), "stage": "placed",
            "placed_at": moment(event), "total": minor(p["total"]), "currency": p["currency"],
            "line_count": len(lines), "customer_id": str(p["customer_id"]), "refunded": 0,
            "line_products": [str(line["product_id"]) for line in lines],
            "line_quantities": [int(line["quantity"]) for line in lines],
            "line_revenues": [minor(line["line_total"]) for line in lines]}


def order_stage(event: EventEnvelope, placed: Row) -> Row:
    refunded = event.event_type == "OrderCancelled" and bool(event.payload["was_paid"])
    return {**placed, **_base(event), "stage": ORDER_STAGES[event.event_type],
            "refunded": int(refunded)}


def sale_lines(event: EventEnvelope, placed: Row, sign: int) -> list[Row]:
    """One row per line of the order: a sale (sign 1, when paid) or its refund (-1)."""
    return [{**_base(event), "order_id": placed["order_id"], "product_id": product,
             "currency": placed["currency"], "quantity": sign * quantity,
             "revenue": sign * revenue, "orders": sign}
            for product, quantity, revenue in zip(placed["line_products"],
                                                  placed["line_quantities"],
                                                  placed["line_revenues"], strict=True)]


def _order(event: EventEnvelope, known: Known, rows: Rows) -> None:
    if event.event_type not in ORDER_STAGES:
        return
    if event.event_type == "OrderPlaced":
        fact = known.orders[str(event.aggregate_id)] = order_placed(event)
    else:
        fact = order_stage(event, _first(known.orders, event))
    rows[ORDER_FACTS.name].append(fact)
    if event.event_type == "OrderPaid":
        rows[SALE_LINES.name] += sale_lines(event, fact, 1)
    elif fact["refunded"]:
        rows[SALE_LINES.name] += sale_lines(event, fact, -1)


# --- payments, shipments ----------------------------------------------------------------


def _payment(event: EventEnvelope, known: Known, rows: Rows) -> None:
    stage = PAYMENT_STAGES.get(event.event_type)
    if stage is None:
        return
    p = event.payload
    if stage == "requested":
        fact = known.payments[str(event.aggregate_id)] = {
            **_base(event), "payment_id": str(event.aggregate_id),
            "order_id": str(p["order_id"]), "stage": stage, "amount": minor(p["amount"]),
            "currency": p["currency"], "provider": p["provider"]}
    else:
        first = _first(known.payments, event)
        amount = minor(p["amount"]) if stage == "refunded" else first["amount"]
        fact = {**first, **_base(event), "stage": stage, "amount": amount}
    rows[PAYMENT_FACTS.name].append(fact)


def _shipment(event: EventEnvelope, known: Known, rows: Rows) -> None:
    stage = SHIPMENT_STAGES.get(event.event_type)
    if stage is None:
        return
    if stage == "created":
        fact = known.shipments[str(event.aggregate_id)] = {
            **_base(event), "shipment_id": str(event.aggregate_id),
            "order_id": str(event.payload["order_id"]), "stage": stage,
            "units": sum(int(line["quantity"]) for line in event.payload["lines"]),
            "carrier": ""}
    else:
        fact = {**_first(known.shipments, event), **_base(event), "stage": stage}
        if stage == "shipped":
            fact["carrier"] = event.payload["carrier"]
    rows[SHIPMENT_FACTS.name].append(fact)


# --- stock ------------------------------------------------------------------------------


def _movement(p: dict[str, Any], kind: str) -> dict[str, int | str]:
    """(on hand, reserved, committed, received) deltas of one stock item event."""
    quantity = int(p.get("quantity", 0))
    deltas = {"created": (int(p.get("on_hand", 0)), 0, 0, int(p.get("on_hand", 0))),
              "received": (quantity, 0, 0, quantity),
              "adjusted": (int(p.get("delta", 0)), 0, 0, 0),
              "reserved": (0, quantity, 0, 0),
              "reservation_rejected": (0, 0, 0, 0),
              "released": (0, -quantity, 0, 0),
              "committed": (-quantity, -quantity, quantity, 0)}[kind]
    return {"kind": kind, "order_id": str(p.get("order_id", "")),
            **dict(zip(("on_hand_delta", "reserved_delta", "units_committed", "units_received"),
                       deltas, strict=True))}


STOCK_KINDS = {"StockItemCreated": "created", "StockItemReceived": "received",
               "StockItemAdjusted": "adjusted", "StockItemReserved": "reserved",
               "StockItemReservationRejected": "reservation_rejected",
               "StockItemReleased": "released", "StockItemCommitted": "committed"}


def _stock(event: EventEnvelope, known: Known, rows: Rows) -> None:
    kind = STOCK_KINDS.get(event.event_type)
    if kind is None:
        return
    if kind == "created":
        product_id = str(event.payload["product_id"])
    else:
        product_id = _first(known.stock_items, event)["product_id"]
    fact = {**_base(event), "stock_item_id": str(event.aggregate_id),
            "product_id": product_id, **_movement(event.payload, kind)}
    if kind == "created":
        known.stock_items[str(event.aggregate_id)] = fact
    rows[STOCK_MOVEMENTS.name].append(fact)


# --- catalog ----------------------------------------------------------------------------


def _price(event: EventEnvelope) -> Row:
    sale = event.payload.get("sale_price")
    return {**_base(event), "product_id": str(event.aggregate_id),
            "price": minor(event.payload["price"]),
            "sale_price": minor(sale) if sale is not None else 0,
            "has_sale_price": int(sale is not None)}


def _product(event: EventEnvelope, known: Known, rows: Rows) -> None:
    key, p = str(event.aggregate_id), event.payload
    if event.event_type in ("ProductCreated", "ProductPriceChanged"):
        rows[PRICE_CHANGES.name].append(_price(event))
    if event.event_type == "ProductCreated":
        values = {"name": p["name"], "sku": p["sku"],
                  "category_id": str(p["category_id"] or ""), "deleted": 0}
    elif event.event_type == "ProductUpdated":
        changes = p["changes"]
        values = {k: changes[k] for k in ("name", "sku") if changes.get(k) is not None}
        if "category_id" in changes:
            values["category_id"] = str(changes["category_id"] or "")
    elif event.event_type in ("ProductDeleted", "ProductRestored"):
        values = {"deleted": int(event.event_type == "ProductDeleted")}
    else:
        return
    before = {} if event.event_type == "ProductCreated" else _first(known.products, event)
    if before and event.aggregate_version <= before["version"]:
        return  # a redelivery: the dimension holds this version already
    row = known.products[key] = {**before, **_base(event), "product_id": key,
                                 "version": event.aggregate_version, **values}
    rows[PRODUCT_DIM.name].append(row)


def _category(event: EventEnvelope, _: Known, rows: Rows) -> None:
    if event.event_type not in ("CategoryCreated", "CategoryRenamed"):
        return
    row = {
        **_base(event), "category_id": str(event.aggregate_id), "version": event.aggregate_version,
        "name": event.payload["name"], "slug": event.payload["slug"]}
    rows[CATEGORY_DIM.name].append(row)


# --- customers ---------------------------------------------------------------------------


def _customer(event: EventEnvelope, _: Known, rows: Rows) -> None:
    """Only the opaque id, the stage and (for a change of roles) the roles: never an
    email, name, phone, address or email key, sealed or not."""
    stage = CUSTOMER_STAGES.get(event.event_type)
    if stage is None:
        return
    roles = event.payload.get("roles", []) if stage in ("registered", "roles_changed") else []
    rows[CUSTOMER_FACTS.name].append({**_base(event), "customer_id": str(event.aggregate_id),
                                      "stage": stage, "roles": [str(r) for r in roles]})


FOLDS: dict[str, Callable[[EventEnvelope, Known, Rows], None]] = {
    "Order": _order, "Payment": _payment, "Shipment": _shipment, "StockItem": _stock,
    "Product": _product, "Category": _category, "Customer": _customer}


def fact_rows(events: Iterable[EventEnvelope], known: Known,
              tables: Iterable[FactTable]) -> tuple[Rows, list[EventEnvelope]]:
    """The fact rows of `events` (in order) by table, and the events that have none
    because the first fact of their aggregate is missing. `known` grows as they go."""
    rows: Rows = {table.name: [] for table in tables}
    missing: list[EventEnvelope] = []
    for event in events:
        fold = FOLDS.get(event.aggregate_type)
        if fold is None:
            continue
        mine: Rows = {name: [] for name in rows}
        try:
            fold(event, known, mine)
        except MissingFact:
            missing.append(event)
            continue
        for name, added in mine.items():
            rows[name] += added
    return rows, missing
