"""What `tanqory serve` does once the embedded platform is up: seed, then say where to look."""

import asyncio
import json
import os
import shlex
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from uuid import UUID

import typer

from commands.catalog.application import CatalogApplication
from commands.customers.application import CustomersApplication
from commands.ordering.application import OrderingApplication
from projections.catalog.read_models import PRODUCTS
from projections.inventory.read_models import STOCK
from read_api.consistency import wait_until_visible
from runtime.auth import Role, issue_token
from runtime.settings import Settings
from schemas.catalog import ProductListQuery
from schemas.inventory import stock_item_id
from tanqory.demo import DEMO_ACCOUNT, DEMO_ORDER, demo_account, place_demo_order, seed_demo
from tanqory.embedded import Embedded

BANNER_PRODUCT_SKU = "DEMO-KETTLE-1L"  # the demo product the banner's curl line reads
TOKEN_SUBJECT = "dev-user"  # as `tanqory token` issues by default
STOCK_WAIT_ROUNDS = 200  # of 50 ms: how long the demo order waits for its products' stock


def tanqory_command() -> str:
    """How to run the `tanqory` CLI from the current directory, in a shell.

    `tanqory` when it is on PATH (an activated or global install); else the script next
    to this interpreter (`.venv/bin/tanqory` from a checkout's root), else `python -m`.
    """
    script = Path(sys.executable).parent / "tanqory"
    on_path = shutil.which("tanqory")
    if on_path is not None and (not script.exists() or Path(on_path).resolve() == script.resolve()):
        return "tanqory"
    if script.exists():
        relative = os.path.relpath(script, Path.cwd())
        shown = relative if not relative.startswith("..") else str(script)
        return shlex.quote(shown)
    return f"{shlex.quote(sys.executable)} -m tanqory.cli"


def banner(settings: Settings, product_id: UUID | None, token: str,
           order: tuple[UUID, UUID] | None = None) -> str:
    """What to open and try; `order` is the demo order's id and its customer's."""
    base = f"http://{settings.host}:{settings.port}"
    lines = [
        "Tanqory Commerce Platform (embedded mode) is running:",
        f"  Start here    {base}/",
        f"  API docs      {base}/api/docs",
        f"  Products      {base}/api/v1/products",
        f"  Categories    {base}/api/v1/categories",
    ]
    if product_id is not None:
        lines.append(f"  A product     {base}/api/v1/products/{product_id}")
    lines += [
        f"  Health        {base}/health",
        f"  Data          {settings.data_dir.resolve()}",
        "",
        "A token to write with (role product_manager), from the repository's root:",
        f"  {tanqory_command()} token --role product_manager",
    ]
    if product_id is not None:
        minutes = settings.token_ttl_seconds // 60
        authorization = shlex.quote(f"Authorization: Bearer {token}")
        lines += [
            f"Try one (this token is valid for {minutes} minutes):",
            f"  curl -s {base}/api/v1/products/{product_id} -H {authorization}",
        ]
    if order is not None:
        order_id, customer_id = order
        customer = shlex.quote("Authorization: Bearer " + issue_token(
            settings, str(customer_id), [Role.CUSTOMER]))
        login = shlex.quote(json.dumps({"email": DEMO_ACCOUNT.email,
                                        "password": DEMO_ACCOUNT.password}))
        lines += [
            f"Sign in as the demo customer ({DEMO_ACCOUNT.email}; emails in {settings.data_dir / 'mail'}):",
            (f"  curl -s -X POST {base}/api/v1/auth/login "
             f"-H 'Content-Type: application/json' -d {login}"),
            "The demo customer's order (this token is theirs, like the one signing in gives):",
            f"  curl -s {base}/api/v1/orders/{order_id} -H {customer}",
            "Pay it (the built-in test provider answers as Stripe's test cards do):",
            (f"  curl -s -X POST {base}/api/v1/orders/{order_id}/pay -H {customer} "
             "-H 'Content-Type: application/json' -d '{\"payment_method\": \"pm_card_visa\"}'"),
        ]
    return "\n".join(lines)


def announce_and_seed(settings: Settings, demo: bool) -> Callable[[Embedded], Awaitable[None]]:
    async def on_ready(parts: Embedded) -> None:
        product_id: UUID | None = None
        order: tuple[UUID, UUID] | None = None
        if demo:
            catalog = parts.applications[CatalogApplication.name]
            assert isinstance(catalog, CatalogApplication)
            seeded = await asyncio.to_thread(seed_demo, catalog)
            if seeded.last is not None:
                await wait_until_visible(parts.read, seeded.last.token, timeout=10)
            product_id = seeded.products.get(BANNER_PRODUCT_SKU)
            if seeded.created_products and set(DEMO_ORDER) <= set(seeded.products):
                order = await _demo_order(parts, catalog, seeded.products, settings.currency)
        if product_id is None:
            sample, _ = await parts.read.models.get(PRODUCTS).page(ProductListQuery(limit=1))
            product_id = sample[0].id if sample else None
        token = issue_token(settings, TOKEN_SUBJECT, [Role.PRODUCT_MANAGER])
        typer.echo(banner(settings, product_id, token, order))

    return on_ready


async def _demo_order(parts: Embedded, catalog: CatalogApplication, products: dict[str, UUID],
                      currency: str) -> tuple[UUID, UUID]:
    """Places the demo account's order once the initial-stock saga has started its products'
    stock (an order for a product without stock is rejected), and waits until it is
    visible; returns its id and the customer's."""
    ordering = parts.applications[OrderingApplication.name]
    assert isinstance(ordering, OrderingApplication)
    customers = parts.applications[CustomersApplication.name]
    assert isinstance(customers, CustomersApplication)
    customer = await asyncio.to_thread(demo_account, customers)
    stock = parts.read.models.get(STOCK)
    for sku in DEMO_ORDER:
        item = stock_item_id(products[sku])
        for _ in range(STOCK_WAIT_ROUNDS):
            if await stock.get(item) is not None:
                break
            await asyncio.sleep(0.05)
    placed = await asyncio.to_thread(place_demo_order, ordering, catalog, products, currency,
                                     customer)
    await wait_until_visible(parts.read, placed.token, timeout=10)
    return placed.aggregate_id, customer
