"""The notifier over the real applications (in memory) and a recording mailer: what it
sends for each event, once, and what it never sends."""

from email.message import EmailMessage
from pathlib import Path
from uuid import uuid4

import pytest

from commands.notifications.application import NotificationsApplication
from commands.ordering.application import OrderingApplication
from runtime.settings import Settings
from schemas.customers import Register
from schemas.envelope import EventEnvelope
from streams.notifications.mailer import MailUnavailable
from streams.notifications.notifier import Notifier
from tests.support.accounts import MEMORY, META, memory_customers
from tests.support.mailbox import link_token


class Outbox:
    """A mailer that keeps what it is given, or fails while `down`."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self.down = False

    async def send(self, message: EmailMessage) -> None:
        if self.down:
            raise MailUnavailable("the test's mail server is down")
        self.sent.append(message)


class Parts:
    def __init__(self, tmp_path: Path) -> None:
        settings = Settings()
        self.customers, self.personal = memory_customers(tmp_path, settings)
        self.ledger = NotificationsApplication(env=MEMORY)
        self.outbox = Outbox()
        self.notifier = Notifier(settings, self.customers, OrderingApplication(env=MEMORY),
                                 self.ledger, self.personal, self.outbox)

    def register(self, email: str = "ada@example.com") -> EventEnvelope:
        self.customers.register(Register(email=email, password="correct horse battery",
                                         name="Ada"), META)
        return self.last_event()

    def last_event(self) -> EventEnvelope:
        envelopes = [e for n in self.customers.notifications(0, 1000)
                     if (e := self.customers.envelope(n))]
        return envelopes[-1]


@pytest.fixture
def parts(tmp_path: Path) -> Parts:
    return Parts(tmp_path)


async def test_a_registration_is_emailed_once_however_often_it_is_delivered(parts: Parts) -> None:
    registered = parts.register()
    for _ in range(3):
        await parts.notifier.react(registered)
    [message] = parts.outbox.sent
    assert message["To"] == "ada@example.com" and link_token(message)
    assert parts.ledger.was_sent(registered.event_id, "verify_email")


async def test_nothing_is_recorded_when_the_mail_server_fails_so_a_redelivery_sends_it(
    parts: Parts,
) -> None:
    registered = parts.register()
    parts.outbox.down = True
    with pytest.raises(MailUnavailable):
        await parts.notifier.react(registered)
    assert not parts.ledger.was_sent(registered.event_id, "verify_email")
    parts.outbox.down = False
    await parts.notifier.react(registered)
    assert len(parts.outbox.sent) == 1


async def test_an_erased_customer_is_never_emailed(parts: Parts) -> None:
    registered = parts.register()
    parts.customers.erase(registered.aggregate_id, META)
    await parts.notifier.react(registered)
    assert parts.outbox.sent == []


async def test_the_link_in_a_reset_email_resets_the_password(parts: Parts) -> None:
    registered = parts.register()
    parts.customers.request_password_reset("ada@example.com", META)
    await parts.notifier.react(parts.last_event())
    [message] = parts.outbox.sent
    parts.customers.reset_password(link_token(message), "another good passphrase", META)
    signed_in = parts.customers.sign_in("ada@example.com", "another good passphrase")
    assert signed_in.customer_id == registered.aggregate_id


async def test_an_order_of_a_token_without_an_account_is_not_emailed(parts: Parts) -> None:
    event = parts.register()
    foreign = event.model_copy(update={"event_type": "OrderPaid", "aggregate_type": "Order",
                                       "aggregate_id": uuid4(), "event_id": uuid4()})
    with pytest.raises(Exception, match="not found"):
        await parts.notifier.react(foreign)  # no such order in this ordering context
    assert parts.outbox.sent == []
