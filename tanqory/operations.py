"""Operators' commands: dead letters, the convergence check and payment webhooks, in
either mode."""

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from commands.customers.application import CustomersApplication
from commands.errors import NotFound
from commands.payments import webhooks
from commands.payments.application import PaymentsApplication
from projections.handler import ProjectionHandler
from projections.stores.base import EventArchive, FactStore, ProjectionStores, ReadModels
from projections.verify import Verdict, verify
from runtime.cache import MemoryCache
from runtime.settings import Mode, Settings
from runtime.signals import LocalSignals
from schemas.customers import normalized_email
from schemas.envelope import Actor, EventEnvelope, EventMetadata
from schemas.money import to_minor_units
from schemas.payments import Outcome
from streams.dead_letters import DeadLetter
from tanqory.contexts import REGISTRY
from tanqory.embedded import READ_MODELS, embedded_dead_letters
from tanqory.wiring import (
    build_applications,
    clickhouse_client,
    clickhouse_stores,
    close_applications,
    drop_scratch,
    event_contexts,
    projection_handler,
    scratch_name,
    server_read_models,
)


async def list_dead_letters(settings: Settings) -> list[DeadLetter]:
    """Every dead letter of every context, oldest first per context."""
    if settings.mode is Mode.EMBEDDED:
        return await asyncio.to_thread(embedded_dead_letters(settings).read)
    from streams import dead_letters
    from streams.topics import Topics

    topics, group = Topics(settings.kafka_topic_prefix), dead_letters.retry_group(settings.worker_id)
    found: list[DeadLetter] = []
    for context in event_contexts():
        found += await dead_letters.read(settings.kafka_bootstrap, topics.dead_letters(context),
                                         group)
    return found


async def retry_dead_letters(settings: Settings) -> list[DeadLetter]:
    """Re-drives every dead letter not yet retried, of every context. Embedded mode asks
    the running platform to do it (it holds the stores)."""
    if settings.mode is Mode.EMBEDDED:
        return await asyncio.to_thread(embedded_dead_letters(settings).request_retry)
    from streams import dead_letters
    from streams.topics import Topics

    topics, group = Topics(settings.kafka_topic_prefix), dead_letters.retry_group(settings.worker_id)
    retried: list[DeadLetter] = []
    for context in event_contexts():
        retried += await dead_letters.retry(settings.kafka_bootstrap, topics, context, group)
    return retried


async def verify_projections(settings: Settings) -> Verdict:
    """Rebuilds every projection from the event stores into fresh stores (dropped after) and
    compares them with the mode's live ones. Embedded mode compares the read models only:
    its chDB archive and analytics facts are held by the serving process."""
    events = await asyncio.to_thread(history, settings)
    live: ReadModels
    archive: EventArchive | None
    facts: FactStore | None
    if settings.mode is Mode.EMBEDDED:
        from projections.stores.sqlite import sqlite_read_models

        live, archive, facts = sqlite_read_models(settings.data_dir / READ_MODELS,
                                                  REGISTRY.read_models), None, None
    else:
        stores = clickhouse_stores(settings, server_read_models(settings))
        live, archive, facts = stores.read_models, stores.archive, stores.facts
    try:
        await live.refresh()  # each read model's live build (`tanqory rebuild`)
        async with _fresh_projection(settings) as fresh:
            return await verify(live, archive, fresh, events, facts)
    finally:
        await live.close()
        if archive is not None:
            await archive.close()
        if facts is not None:
            await facts.close()


def history(settings: Settings) -> list[EventEnvelope]:
    """Every public event of every context's store, each context's in store order."""
    applications = build_applications(settings)
    try:
        events: list[EventEnvelope] = []
        for application in applications.values():
            after = 0
            while batch := application.notifications(after, 10_000):
                events += [e for n in batch if (e := application.envelope(n)) is not None]
                after = batch[-1].id
        return events
    finally:
        close_applications(applications)


@asynccontextmanager
async def _fresh_projection(settings: Settings) -> AsyncIterator[ProjectionHandler]:
    """A projection handler over new, empty stores of the mode's kind, removed afterwards.
    Its cache, signals and change feed (`projection_handler`'s default) are its own, so
    nothing it does reaches live readers or live streams."""
    if settings.mode is Mode.EMBEDDED:
        from projections.stores.chdb import ChdbEventArchive, chdb_facts
        from projections.stores.sqlite import sqlite_read_models

        with tempfile.TemporaryDirectory(prefix="tanqory-verify-") as tmp:
            chdb = Path(tmp) / "analytics.chdb"
            stores = ProjectionStores(
                sqlite_read_models(Path(tmp) / READ_MODELS, REGISTRY.read_models),
                ChdbEventArchive(chdb), chdb_facts(chdb))
            handler = projection_handler(stores, MemoryCache(), LocalSignals())
            await handler.setup()
            try:
                yield handler
            finally:
                await handler.close()
        return
    scratch = scratch_name(settings, "verify")
    analytics = f"{settings.clickhouse_db}_verify_{uuid.uuid4().hex[:8]}"
    clickhouse = clickhouse_client(settings)
    stores = clickhouse_stores(settings, server_read_models(settings, scratch=scratch),
                               clickhouse, analytics)
    handler = projection_handler(stores, MemoryCache(), LocalSignals())
    try:
        await handler.setup()
        yield handler
    finally:
        await asyncio.to_thread(clickhouse.execute, f"DROP DATABASE IF EXISTS {analytics}")
        await handler.close()
        await drop_scratch(settings, scratch)  # its connections closed first


def payment_webhook(settings: Settings, order_id: uuid.UUID, outcome: Outcome,
                    url: str | None) -> httpx.Response:
    """Sends the command API a signed `payment_intent.*` webhook for the order's payment,
    as Stripe (or `stripe trigger`) would; LookupError if the order has no payment yet."""
    applications = build_applications(settings)
    try:
        payments = applications[PaymentsApplication.name]
        assert isinstance(payments, PaymentsApplication)
        try:
            payment = payments.payment(order_id)
        except NotFound:
            raise LookupError(f"order {order_id} has no payment (yet): it must be "
                              "awaiting payment first") from None
    finally:
        close_applications(applications)
    reason = "Your card was declined." if outcome is Outcome.FAILED else None
    payload = webhooks.intent_event(outcome, payment.intent_id, order_id,
                                    to_minor_units(payment.amount), payment.currency, reason)
    signature = webhooks.sign(payload, settings.stripe_webhook_secret.get_secret_value())
    return httpx.post(url or webhook_url(settings), content=payload, timeout=10,
                      headers={"Stripe-Signature": signature,
                               "Content-Type": "application/json"})


def webhook_url(settings: Settings) -> str:
    port = settings.port if settings.mode is Mode.EMBEDDED else settings.command_api_port
    return f"http://{settings.host}:{port}/api/v1/payments/webhooks/stripe"


def set_roles(settings: Settings, email: str, roles: list[str]) -> tuple[uuid.UUID, bool]:
    """Sets the roles of the account of `email`, as an operator (the first admin of a
    deployment gets the role this way); returns its id and whether anything changed.
    LookupError if no account has that email."""
    applications = build_applications(settings)
    try:
        customers = applications[CustomersApplication.name]
        assert isinstance(customers, CustomersApplication)
        customer = customers.by_email(normalized_email(email))
        if customer is None:
            raise LookupError(f"no account has the email {email}")
        meta = EventMetadata(correlation_id=f"cli-{uuid.uuid4()}", causation_id="cli",
                             actor=Actor(subject="operator:tanqory-cli"))
        result = customers.change_roles(customer.id, tuple(sorted(set(roles))), meta)
        return customer.id, result.position is not None
    finally:
        close_applications(applications)
