"""What `tanqory serve` does once the embedded platform is up: seed, then say where to look."""

import asyncio
import json
import logging
import os
import shlex
import shutil
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import TypeVar
from uuid import UUID

import typer

from commands.catalog.application import CatalogApplication
from commands.customers.application import CustomersApplication
from commands.event_sourced import EventSourcedContext
from commands.fulfilment.application import FulfilmentApplication
from commands.inventory.application import InventoryApplication
from commands.ordering.application import OrderingApplication
from commands.payments.application import PaymentsApplication
from projections.catalog.read_models import PRODUCTS
from projections.inventory.read_models import STOCK
from read_api.consistency import wait_until_visible
from runtime.auth import Role, issue_token
from runtime.settings import Settings
from schemas.catalog import ProductListQuery
from schemas.inventory import stock_item_id
from tanqory.demo import (
    DEMO_ACCOUNT,
    DEMO_ANALYST,
    DEMO_ORDER,
    DEMO_SHOPPERS,
    demo_account,
    demo_analyst,
    place_demo_order,
    seed_demo,
)
from tanqory.demo_history import History, PlannedOrder, plan_history
from tanqory.embedded import Embedded
from tanqory.registry import Applications

A = TypeVar("A", bound=EventSourcedContext)
log = logging.getLogger(__name__)
BANNER_PRODUCT_SKU = "DEMO-KETTLE-1L"  # the demo product the banner's curl line reads
TOKEN_SUBJECT = "dev-user"  # as `tanqory token` issues by default
STOCK_WAIT_ROUNDS = 200  # of 50 ms: how long the demo order waits for its products' stock
PAYMENT_WAIT_SECONDS = 30.0  # for the test provider's webhooks of one day of the history
FOREGROUND_DAYS = 2  # of the demo's history, recorded before the banner (a few seconds)
LISTEN_WAIT_ROUNDS = 200  # of 50 ms: how long the rest of the history waits for the server


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
           order: tuple[UUID, UUID] | None = None, analyst: bool = False) -> str:
    """What to open and try; `order` is the demo order's id and its customer's; `analyst`:
    whether the demo analyst account exists."""
    base = f"http://{settings.host}:{settings.port}"
    lines = [
        "Tanqory Commerce Platform (embedded mode) is running:",
        f"  Start here    {base}/",
        f"  Dashboard     {base}/dashboard",
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
    if analyst:
        lines += [
            "Sign in to the dashboard as the demo analyst:",
            f"  email {DEMO_ANALYST.email}, password {DEMO_ANALYST.password!r}",
            f"  (or paste the token of: {tanqory_command()} token --role analyst)",
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
        analyst = False
        if demo:
            catalog = parts.applications[CatalogApplication.name]
            assert isinstance(catalog, CatalogApplication)
            seeded = await asyncio.to_thread(seed_demo, catalog)
            if seeded.last is not None:
                await wait_until_visible(parts.read, seeded.last.token, timeout=10)
            product_id = seeded.products.get(BANNER_PRODUCT_SKU)
            if seeded.created_products and set(DEMO_ORDER) <= set(seeded.products):
                order = await _demo_order(parts, catalog, seeded.products, settings.currency)
                await _demo_history(parts, catalog, seeded.products, settings)
            await asyncio.to_thread(demo_analyst, _of(parts.applications, CustomersApplication))
            analyst = True
        if product_id is None:
            sample, _ = await parts.read.models.get(PRODUCTS).page(ProductListQuery(limit=1))
            product_id = sample[0].id if sample else None
        token = issue_token(settings, TOKEN_SUBJECT, [Role.PRODUCT_MANAGER])
        typer.echo(banner(settings, product_id, token, order, analyst))

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


async def _demo_history(parts: Embedded, catalog: CatalogApplication,
                        products: dict[str, UUID], settings: Settings) -> None:
    """Records the demo shoppers' orders of the past weeks, newest day first: the last
    FOREGROUND_DAYS before this returns (and the banner shows), the older ones in the
    background (the dashboard shows them as they arrive, through its live stream)."""
    customers = _of(parts.applications, CustomersApplication)
    shoppers = await asyncio.gather(*(asyncio.to_thread(demo_account, customers, account)
                                      for account, _ in DEMO_SHOPPERS))
    applications = parts.applications
    history = History(
        catalog, _of(applications, OrderingApplication), _of(applications, InventoryApplication),
        _of(applications, PaymentsApplication), _of(applications, FulfilmentApplication),
        products, [(shopper, address) for shopper, (_, address) in zip(
            shoppers, DEMO_SHOPPERS, strict=True)],
        settings.currency, settings.payment_deadline_seconds)
    plan = plan_history(datetime.now(UTC), len(shoppers), list(products))
    if not plan:
        return
    await asyncio.to_thread(history.stock_up, plan, plan[0].placed_at - timedelta(hours=2))
    days = [list(day) for _, day in groupby(plan, key=lambda order: order.placed_at.date())]
    days.reverse()
    for day in days[:FOREGROUND_DAYS]:
        await _record_day(parts, history, day)
    await _caught_up(parts)
    task = asyncio.create_task(_record_days(parts, history, days[FOREGROUND_DAYS:], settings))
    parts.background.add(task)
    task.add_done_callback(parts.background.discard)


async def _record_days(parts: Embedded, history: History, days: list[list[PlannedOrder]],
                       settings: Settings) -> None:
    """The rest of the history, once the server listens (the banner shows before it does,
    and the seeding's thread would slow its start)."""
    try:
        await _listening(settings.host, settings.port)
        for day in days:
            await _record_day(parts, history, day)
    except Exception:
        log.exception("the demo's order history stopped short")
        raise


async def _listening(host: str, port: int) -> None:
    """Waits (bounded) until something accepts connections on host:port."""
    for _ in range(LISTEN_WAIT_ROUNDS):
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return


async def _record_day(parts: Embedded, history: History, orders: list[PlannedOrder]) -> None:
    """One day of the history, the sagas kept still meanwhile: they find every step done
    when they see its events."""
    loop = asyncio.get_running_loop()
    async with parts.saga_turn:
        started = await asyncio.to_thread(history.start_all, orders)
        deadline = loop.time() + PAYMENT_WAIT_SECONDS
        while not await asyncio.to_thread(history.all_paid, started, orders):
            if loop.time() > deadline:
                raise TimeoutError("the test provider's payment webhooks did not arrive")
            await asyncio.sleep(0.01)
        await asyncio.to_thread(history.finish_all, started, orders)


async def _caught_up(parts: Embedded) -> None:
    """Waits (bounded) until the read models reflect every event recorded so far."""
    for _ in range(int(PAYMENT_WAIT_SECONDS / 0.05)):
        if (await parts.lag())["lag_events"] == 0:
            return
        await asyncio.sleep(0.05)


def _of(applications: Applications, kind: type[A]) -> A:
    application = applications[kind.name]
    assert isinstance(application, kind)
    return application
