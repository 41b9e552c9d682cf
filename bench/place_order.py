"""Order placement through the ordering Application, against a bare eventsourcing
`Application.save` of the same Order, in SQLite and in PostgreSQL.

Ours: `OrderingApplication.place_order` as the command API calls it, for an order of two
lines over `PRODUCTS` real products: each line's price is quoted from a real
`CatalogApplication` in the same store (the product is loaded from its events), the lines
are priced to the cent and totalled, and the Order is saved, with the metadata the command
API makes (a fresh request id for correlation and causation, the customer as the actor).
The command is built before timing (the HTTP layer validates it before the call).
Ours also seals the shipping address with the customer's key (cached after the first
order). Baseline: a plain `Application` saves an `Order` with the same lines and totals
built directly from prices known in advance (no quoting) and the address sealed in
advance, in a fresh store of the same kind.
One after another, no concurrency; both stores fresh. In SQLite, catalog and ordering
share one file (each its own tables), as `tanqory serve` runs them; in PostgreSQL one
database, as the server processes do.
"""

import tempfile
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from eventsourcing.application import Application

from bench.reserve import postgres_database
from bench.timing import Figure, Scale, compare
from commands.api.deps import event_metadata
from commands.catalog.application import CatalogApplication
from commands.event_sourced import meta_of
from commands.ordering.application import OrderingApplication
from commands.ordering.order import Order
from runtime.auth import Principal, Role
from runtime.personal_data import PersonalData
from runtime.settings import Settings
from schemas.catalog import CreateProduct
from schemas.envelope import Actor, EventMetadata
from schemas.ordering import SHIPPING_ADDRESS, Address, PlaceOrder
from schemas.personal import personal_subject
from tanqory.wiring import personal_data
from tests.support.ordering import ADDRESS
from tests.support.platform import server_namespace

PRODUCTS = 5
CUSTOMER = Principal(subject="bench-customer", roles=frozenset({Role.CUSTOMER}))
CURRENCY = "usd"
EDITOR = EventMetadata(correlation_id="bench", causation_id="bench",
                       actor=Actor(subject="bench", roles=("product_manager",)))


class BareOrdering(Application[uuid.UUID]):
    name = "bare_ordering"


def _lines_of(i: int) -> tuple[int, int]:
    """Order i's two products (indexes), and so both sides' lines: 2 units, then 1."""
    return i % PRODUCTS, (i + 1) % PRODUCTS


def _catalog_products(catalog: CatalogApplication) -> list[uuid.UUID]:
    products = []
    for n in range(PRODUCTS):
        created = catalog.create_product(CreateProduct.model_validate({
            "name": f"Bench product {n}", "sku": f"O-{uuid.uuid4().hex[:16]}",
            "price": f"{10 + n}.50", "stock_quantity": 0}), EDITOR)
        products.append(created.aggregate_id)
    return products


def ours(ordering: OrderingApplication, catalog: CatalogApplication) -> Callable[[int], None]:
    products = _catalog_products(catalog)
    commands = [PlaceOrder.model_validate({
        "lines": [{"product_id": str(products[a]), "quantity": 2},
                  {"product_id": str(products[b]), "quantity": 1}],
        "shipping_address": ADDRESS}) for a, b in map(_lines_of, range(PRODUCTS))]

    def run(count: int) -> None:
        for i in range(count):
            meta = event_metadata(CUSTOMER, str(uuid.uuid4()))  # a request id per request
            ordering.place_order(CUSTOMER.subject, commands[i % PRODUCTS], catalog, CURRENCY,
                                 meta)

    return run


def baseline(app: BareOrdering, personal: PersonalData) -> Callable[[int], None]:
    products = [(uuid.uuid4(), f"O-{uuid.uuid4().hex[:16]}", f"Bench product {n}",
                 Decimal(f"{10 + n}.50")) for n in range(PRODUCTS)]
    address = Address.model_validate(ADDRESS)
    sealed = personal.seal_json(personal_subject(CUSTOMER.subject), SHIPPING_ADDRESS,
                                address.model_dump())  # in advance: the baseline only saves

    def line(index: int, quantity: int) -> dict[str, Any]:
        product_id, sku, name, price = products[index]
        return {"product_id": product_id, "sku": sku, "name": name, "unit_price": price,
                "quantity": quantity, "line_total": price * quantity}

    orders = [[line(a, 2), line(b, 1)] for a, b in map(_lines_of, range(PRODUCTS))]

    def run(count: int) -> None:
        for i in range(count):
            meta = event_metadata(CUSTOMER, str(uuid.uuid4()))
            lines = orders[i % PRODUCTS]
            total = lines[0]["line_total"] + lines[1]["line_total"]
            app.save(Order(customer_id=CUSTOMER.subject, lines=lines, currency=CURRENCY,
                           subtotal=total, total=total, shipping_address=sealed,
                           meta=meta_of(meta)))

    return run


def _figure(name: str, settings: Settings, base_env: dict[str, str], scale: Scale) -> Figure:
    env = settings.event_store_env
    catalog, ordering = CatalogApplication(env=env), OrderingApplication(env=env)
    personal = personal_data(settings)  # the mode's key store, as `build_applications` has
    ordering.use(personal)
    bare = BareOrdering(env=base_env)
    try:
        return compare(name, ours(ordering, catalog), baseline(bare, personal), scale.n,
                       scale.rounds)
    finally:
        for app in (ordering, catalog, bare):
            app.close()


def sqlite_figure(scale: Scale) -> Figure:
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        base_env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                    "SQLITE_DBNAME": str(Path(tmp) / "baseline.sqlite3")}
        return _figure("place order (sqlite)", Settings(data_dir=Path(tmp)), base_env, scale)


def postgres_figure(scale: Scale) -> Figure:
    name = server_namespace()["TANQORY_POSTGRES_DB"]
    with postgres_database(name) as own, postgres_database(f"{name}_baseline") as bare:
        return _figure("place order (postgres)", own, bare.event_store_env, scale)


def run(scale: Scale) -> list[Figure]:
    return [sqlite_figure(scale), postgres_figure(scale)]
