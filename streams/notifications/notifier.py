"""The notifier: emails a customer when an event calls for it, once per (event, template).

It runs like a saga (a `SagaRunner` in a consumer group of its own, `tanqory notifier`;
relays of its own when embedded), never in the projection handler, so a rebuild or a
replay of the projections sends nothing, and a failing mail server holds up no projector
and no saga.

Exactly once, as far as SMTP allows (ADR 0010): before sending, the ledger
(`NotificationsApplication`) is asked whether the message was sent; after the server has
accepted it, the sending is recorded. A redelivery, a rebalance or a crash before the
sending finds no record and sends; one after the record finds it and sends nothing. Only
a crash between the server's acceptance and the record sends the message again, with
the same `Message-ID`, by which mail clients show it once.
"""

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from commands.customers.application import CustomersApplication
from commands.customers.customer import Customer
from commands.customers.links import LinkPurpose, link_token
from commands.errors import NotFound
from commands.notifications.application import NotificationsApplication
from commands.ordering.application import OrderingApplication
from commands.ordering.order import Order
from runtime.key_store import Erased
from runtime.personal_data import PersonalData, SealedField
from runtime.settings import Settings
from schemas.envelope import EventEnvelope
from schemas.notifications import NotificationSent
from streams.notifications.mailer import Mailer, compose
from streams.notifications.templates import render
from streams.sagas.saga import caused_by

log = logging.getLogger(__name__)
NAME = "notifier"
VERIFY_MINUTES = 24 * 60
RESET_MINUTES = 60


@dataclass(frozen=True)
class Recipient:
    customer_id: UUID
    email: str
    name: str


Context = dict[str, Any]
ContextOf = Callable[["Notifier", EventEnvelope, Recipient, Order | None], Context]


class Notifier:
    """A saga whose only command is to the ledger; its side effect is the email."""

    name = NAME

    def __init__(self, settings: Settings, customers: CustomersApplication,
                 ordering: OrderingApplication, ledger: NotificationsApplication,
                 personal: PersonalData, mailer: Mailer) -> None:
        self._settings = settings
        self._secret = settings.account_secret.get_secret_value().encode()
        self._customers = customers
        self._ordering = ordering
        self._ledger = ledger
        self._personal = personal
        self._mailer = mailer
        self.consumes = frozenset(MESSAGES)

    async def react(self, event: EventEnvelope) -> None:
        template, context_of = MESSAGES[event.event_type]
        if await asyncio.to_thread(self._ledger.was_sent, event.event_id, template):
            return
        order = (None if event.aggregate_type == "Customer"
                 else await asyncio.to_thread(self._ordering.order, event.aggregate_id))
        recipient = await self._recipient(
            str(event.aggregate_id) if order is None else str(order.customer_id), event)
        if recipient is None:
            return
        rendered = render(template, context_of(self, event, recipient, order))
        message = compose(self._settings, recipient.email, rendered,
                          key=f"{event.event_id}:{template}")
        await self._mailer.send(message)
        await asyncio.to_thread(self._record, event, template, recipient, rendered.subject,
                                str(message["Message-ID"]))

    def _record(self, event: EventEnvelope, template: str, recipient: Recipient,
                subject: str, message_id: str) -> None:
        """Records the sending in the ledger, the address and subject sealed. A customer
        erased since the sending has nothing left to seal with: nothing is recorded, and a
        redelivery finds no one to email."""
        seal = self._personal.seal
        try:
            sent = NotificationSent(
                template=template, customer_id=recipient.customer_id,
                recipient=seal(recipient.customer_id, "email", recipient.email),
                subject=seal(recipient.customer_id, "subject", subject), message_id=message_id,
                source_event_id=event.event_id, source_event_type=event.event_type)
        except Erased:
            log.info("not recording %s for %s: erased meanwhile", template, event.event_id)
            return
        self._ledger.record_sent(sent, caused_by(event, NAME))

    async def _recipient(self, subject: str, event: EventEnvelope) -> Recipient | None:
        """The customer of a token's subject, with their address and name; None when there
        is no local account (a token from elsewhere) or it has been erased."""
        try:
            customer: Customer = await asyncio.to_thread(self._customers.customer,
                                                         UUID(subject))
        except (ValueError, NotFound):
            log.info("no account to email for %s %s", event.event_type, event.event_id)
            return None
        if customer.erased:
            return None
        email, name = await self._personal.unseal_many([
            SealedField(customer.id, "email", customer.email),
            SealedField(customer.id, "name", customer.name)])
        if email is None or name is None:  # erased meanwhile
            return None
        return Recipient(customer.id, email, name)

    # --- the contexts of each message ----------------------------------------------------

    def _verify_context(self, event: EventEnvelope, to: Recipient, _: Order | None) -> Context:
        return self._link_context(LinkPurpose.VERIFY_EMAIL, "verify-email", event, to,
                                  VERIFY_MINUTES)

    def _reset_context(self, event: EventEnvelope, to: Recipient, _: Order | None) -> Context:
        return self._link_context(LinkPurpose.RESET_PASSWORD, "reset-password", event, to,
                                  RESET_MINUTES)

    def _link_context(self, purpose: LinkPurpose, page: str, event: EventEnvelope,
                      to: Recipient, minutes: int) -> Context:
        token = link_token(self._secret, purpose, event.event_id)
        base = self._settings.account_links_url.rstrip("/")
        return {"name": to.name, "link": f"{base}/{page}?token={token}",
                "expires_in_minutes": minutes}

    def _order_context(self, event: EventEnvelope, to: Recipient,
                       order: Order | None) -> Context:
        assert order is not None  # an order's event: react loaded it
        context: Context = {
            "name": to.name, "order_id": str(order.id), "total": _amount(order.total),
            "currency": order.currency.upper(),
            "lines": [{"name": line["name"], "quantity": line["quantity"],
                       "unit_price": _amount(line["unit_price"]),
                       "line_total": _amount(line["line_total"])} for line in order.lines],
        }
        if event.event_type == "OrderShipped":
            context |= {"carrier": event.payload["carrier"],
                        "tracking_number": event.payload["tracking_number"]}
        if event.event_type == "OrderCancelled":
            context["reason"] = event.payload.get("reason")
        return context


def _amount(value: Decimal | str) -> str:
    return f"{Decimal(str(value)):.2f}"


MESSAGES: Mapping[str, tuple[str, ContextOf]] = {
    "CustomerRegistered": ("verify_email", Notifier._verify_context),
    "CustomerPasswordResetRequested": ("password_reset", Notifier._reset_context),
    "OrderPlaced": ("order_placed", Notifier._order_context),
    "OrderPaid": ("order_paid", Notifier._order_context),
    "OrderShipped": ("order_shipped", Notifier._order_context),
    "OrderCancelled": ("order_cancelled", Notifier._order_context),
}
