"""The analytics facts as pure functions of events (projections/facts/rows.py)."""

from datetime import UTC, datetime, timedelta
from typing import Any

from projections.facts.projector import wanted
from projections.facts.rows import Known, fact_rows
from projections.facts.tables import FACT_TABLES, ddl
from projections.stores.analytics_sql import unions
from schemas.inventory import stock_item_id
from tests.support.analytics import History

AT = datetime(2026, 3, 1, 9, 15, 30, 123456, tzinfo=UTC)


def rows_of(history: History, known: Known | None = None) -> dict[str, list[dict[str, Any]]]:
    rows, missing = fact_rows(history.events, known or Known(), FACT_TABLES)
    assert missing == []
    return {name: found for name, found in rows.items() if found}


def test_a_placed_order_is_one_fact_with_its_lines_and_no_personal_value() -> None:
    history = History()
    cup = history.product(AT, "2.50")
    order = history.order(AT, [(cup, 3, "2.50")], customer="ada")
    [fact] = rows_of(History(events=history.events[2:]))["order_facts"]
    assert fact == {
        "event_id": str(history.events[2].event_id), "at": datetime(2026, 3, 1, 9, 15, 30),
        "order_id": str(order), "stage": "placed", "placed_at": datetime(2026, 3, 1, 9, 15, 30),
        "total": 750, "currency": "usd", "line_count": 1, "customer_id": "ada", "refunded": 0,
        "line_products": [str(cup)], "line_quantities": [3], "line_revenues": [750]}


def test_payment_sells_each_line_and_a_paid_cancellation_refunds_it() -> None:
    history = History()
    cup, pot = history.product(AT, "2.50"), history.product(AT, "10.00")
    order = history.order(AT, [(cup, 2, "2.50"), (pot, 1, "10.00")])
    paid_at = AT + timedelta(hours=2)
    history.order_step(order, "OrderPaid", paid_at, {"amount": "15.00", "payment_reference": "p"})
    history.order_step(order, "OrderCancelled", paid_at + timedelta(hours=1),
                       {"reason": "r", "cancelled_by": "ada", "was_paid": True})
    rows = rows_of(history)
    assert [(f["stage"], f["refunded"], f["placed_at"]) for f in rows["order_facts"]] == [
        ("placed", 0, AT.replace(tzinfo=None, microsecond=0)),
        ("paid", 0, AT.replace(tzinfo=None, microsecond=0)),
        ("cancelled", 1, AT.replace(tzinfo=None, microsecond=0))]
    assert [(line["product_id"], line["quantity"], line["revenue"], line["orders"],
             line["at"].hour) for line in rows["sale_lines"]] == [
        (str(cup), 2, 500, 1, 11), (str(pot), 1, 1000, 1, 11),
        (str(cup), -2, -500, -1, 12), (str(pot), -1, -1000, -1, 12)]


def test_an_unpaid_cancellation_refunds_nothing() -> None:
    history = History()
    cup = history.product(AT, "2.50")
    order = history.order(AT, [(cup, 1, "2.50")])
    history.order_step(order, "OrderCancelled", AT,
                       {"reason": "r", "cancelled_by": "ada", "was_paid": False})
    assert "sale_lines" not in rows_of(history)


def test_a_later_event_takes_its_first_fact_from_what_is_known() -> None:
    history = History()
    cup = history.product(AT, "2.50")
    order = history.order(AT, [(cup, 1, "2.50")])
    earlier = rows_of(history)
    history.order_step(order, "OrderPaid", AT, {"amount": "2.50", "payment_reference": "p"})
    later = History(events=history.events[-1:])
    assert wanted(later.events)["orders"] == {str(order)}
    known = Known(orders={str(order): earlier["order_facts"][0]})
    assert rows_of(later, known)["sale_lines"][0]["revenue"] == 250
    rows, missing = fact_rows(later.events, Known(), FACT_TABLES)
    assert missing == later.events and not any(rows.values())


def test_stock_movements_carry_the_product_and_their_deltas() -> None:
    history = History()
    cup = history.product(AT, "2.50", on_hand=5)
    for event_type, payload in (("StockItemReceived", {"quantity": 4, "note": None}),
                                ("StockItemAdjusted", {"delta": -1, "reason": "broken"}),
                                ("StockItemReserved", {"order_id": "o", "quantity": 2}),
                                ("StockItemReleased", {"order_id": "o", "quantity": 2}),
                                ("StockItemCommitted", {"order_id": "o", "quantity": 3})):
        history.stock(cup, event_type, payload, AT)
    moves = rows_of(history)["stock_movements"]
    assert {m["product_id"] for m in moves} == {str(cup)}
    assert {m["stock_item_id"] for m in moves} == {str(stock_item_id(cup))}
    assert [(m["kind"], m["on_hand_delta"], m["reserved_delta"], m["units_committed"],
             m["units_received"]) for m in moves] == [
        ("created", 5, 0, 0, 5), ("received", 4, 0, 0, 4), ("adjusted", -1, 0, 0, 0),
        ("reserved", 0, 2, 0, 0), ("released", 0, -2, 0, 0), ("committed", -3, -3, 3, 0)]


def test_a_product_dimension_row_is_whole_at_each_version() -> None:
    history = History()
    cup = history.product(AT, "2.50")
    history.record("Product", cup, "ProductUpdated", {"changes": {"name": "Mug"}}, AT)
    history.record("Product", cup, "ProductPriceChanged", {"price": "3.00", "sale_price": "2.00"},
                   AT)
    history.record("Product", cup, "ProductDeleted", {}, AT)
    rows = rows_of(history)
    assert [(d["version"], d["name"], d["deleted"]) for d in rows["product_dim"]] == [
        (1, f"P-{cup.hex[:6]}", 0), (2, "Mug", 0), (4, "Mug", 1)]
    assert [(p["price"], p["sale_price"], p["has_sale_price"]) for p in rows["price_changes"]] == [
        (250, 0, 0), (300, 200, 1)]
    # Delivered again after the store moved on: the stale update makes no row.
    known = Known(products={str(cup): rows["product_dim"][-1]})
    assert "product_dim" not in rows_of(History(events=history.events[2:3]), known)


def test_customer_facts_keep_only_the_opaque_id_stage_and_roles() -> None:
    history = History()
    ada = history.new_id()
    history.record("Customer", ada, "CustomerRegistered",
                   {"email": "sealed:x", "email_key": "hmac", "name": "sealed:y",
                    "roles": ["customer"]}, AT)
    history.record("Customer", ada, "CustomerProfileChanged", {"name": "sealed:z"}, AT)
    history.record("Customer", ada, "CustomerRolesChanged", {"roles": ["analyst"]}, AT)
    facts = rows_of(history)["customer_facts"]
    assert [(f["customer_id"], f["stage"], f["roles"]) for f in facts] == [
        (str(ada), "registered", ["customer"]), (str(ada), "roles_changed", ["analyst"])]
    assert set(facts[0]) == {"event_id", "at", "customer_id", "stage", "roles"}


def test_fact_tables_are_not_partitioned_and_rollups_fill_by_views() -> None:
    statements = ddl("db")
    tables = [s for s in statements if "MergeTree" in s and "Summing" not in s]
    assert len(tables) == len(FACT_TABLES)
    assert not any("PARTITION BY" in s for s in tables)
    assert sum("MATERIALIZED VIEW" in s for s in statements) == 5


def test_unions_keep_each_statement_within_the_limit() -> None:
    selects = ["SELECT 1" * 10, "SELECT 2" * 10, "SELECT 3" * 30, "SELECT 4"]
    statements = unions(selects, limit=200)
    assert statements == [f"{selects[0]} UNION ALL {selects[1]}", selects[2], selects[3]]
    assert unions(selects, limit=10_000) == [" UNION ALL ".join(selects)]
    assert unions([]) == []
