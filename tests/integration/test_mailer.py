"""The mailers against a real SMTP server (an aiosmtpd sink in this process) and a real
folder: delivery with both parts and the key's Message-ID, refusals not retried, an
unavailable server waited out for the mailer's patience and no longer."""

import asyncio
import logging
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from runtime.settings import MailTransport, Settings
from streams.notifications.mailer import (
    FolderMailer,
    MailRefused,
    MailUnavailable,
    SmtpMailer,
    compose,
    mailer_for,
    message_id,
)
from streams.notifications.templates import render
from tests.support.platform import settings_for_tests
from tests.support.smtp_sink import SmtpSink, smtp_sink
from tests.support.waiting import wait_until

CUSTOMER = "ann@example.com"
PATIENCE = 10.0  # enough for a retry or two; a test that waits it all out has failed


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as sink:
        yield sink


@pytest.fixture
def settings(sink: SmtpSink, tmp_path: Path) -> Settings:
    return settings_for_tests(mail_transport=MailTransport.SMTP, smtp_port=sink.port,
                              smtp_timeout_seconds=2.0, data_dir=tmp_path / "data")


def welcome(settings: Settings, key: str = "event-1:verify_email",
            to: str = CUSTOMER) -> EmailMessage:
    rendered = render("verify_email", {"name": "Ann", "link": "https://shop.example/v?t=1",
                                       "expires_in_minutes": 30})
    return compose(settings, to, rendered, key)


def parts(message: EmailMessage) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in message.iter_parts()}


def test_the_message_id_is_the_keys() -> None:
    settings = settings_for_tests(mail_from="Tanqory Shop <shop@mail.tanqory.example>")
    first, again = welcome(settings), welcome(settings)
    assert first["Message-ID"] == again["Message-ID"] == message_id(
        "event-1:verify_email", "mail.tanqory.example")
    assert str(first["Message-ID"]).endswith("@mail.tanqory.example>")
    assert welcome(settings, key="event-2:verify_email")["Message-ID"] != first["Message-ID"]
    assert (first["From"], first["To"]) == ("Tanqory Shop <shop@mail.tanqory.example>", CUSTOMER)
    assert first["Date"] is not None


async def test_a_message_arrives_with_both_parts(settings: Settings, sink: SmtpSink) -> None:
    sent = welcome(settings)
    await SmtpMailer(settings, patience_seconds=PATIENCE).send(sent)
    [received] = sink.wait_for(lambda messages: len(messages) == 1, timeout=5)
    assert received["Message-ID"] == sent["Message-ID"]
    assert (received["From"], received["To"], received["Subject"]) == (
        settings.mail_from, CUSTOMER, "Confirm your email address for Tanqory")
    assert received.get_content_type() == "multipart/alternative"
    bodies = parts(received)
    assert set(bodies) == {"text/plain", "text/html"}
    assert "https://shop.example/v?t=1" in bodies["text/plain"]
    assert 'href="https://shop.example/v?t=1"' in bodies["text/html"]


async def test_a_refused_recipient_is_not_retried(settings: Settings, sink: SmtpSink) -> None:
    sink.refuse(CUSTOMER)
    with pytest.raises(MailRefused, match="550"):
        await SmtpMailer(settings, patience_seconds=PATIENCE).send(welcome(settings))
    assert sink.tried(CUSTOMER) == 1
    assert sink.messages == []


async def test_try_again_later_is_retried(settings: Settings, sink: SmtpSink) -> None:
    sink.refuse(CUSTOMER, "451 4.3.0 Try again later")
    sending = asyncio.create_task(
        SmtpMailer(settings, patience_seconds=PATIENCE).send(welcome(settings)))
    await asyncio.to_thread(wait_until, lambda: sink.tried(CUSTOMER) >= 1, 5, "a first try")
    sink.accept(CUSTOMER)
    await sending
    assert len(sink.wait_for(lambda messages: len(messages) == 1, timeout=5)) == 1
    assert sink.tried(CUSTOMER) >= 2


async def test_a_server_back_within_the_patience_gets_the_message_once(
    settings: Settings, sink: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    mailer = SmtpMailer(settings, patience_seconds=PATIENCE)
    with caplog.at_level(logging.WARNING, logger="streams.notifications.mailer"):
        with sink.down():
            sending = asyncio.create_task(mailer.send(welcome(settings)))
            await asyncio.to_thread(wait_until, lambda: "Retrying" in caplog.text, 5,
                                    "a failed attempt")
        await sending
    [received] = sink.wait_for(lambda messages: len(messages) == 1, timeout=5)
    assert received["Message-ID"] == welcome(settings)["Message-ID"]
    assert "unreachable" in caplog.text


async def test_a_server_down_for_longer_is_unavailable(settings: Settings,
                                                       sink: SmtpSink) -> None:
    mailer = SmtpMailer(settings, patience_seconds=2.0)
    started = time.monotonic()
    with sink.down(), pytest.raises(MailUnavailable, match="unreachable"):
        await mailer.send(welcome(settings))
    # No attempt starts after the patience, and each is refused at once.
    assert time.monotonic() - started < 2.0 + settings.smtp_timeout_seconds
    assert sink.messages == []


async def test_the_folder_keeps_one_file_per_message_id(tmp_path: Path) -> None:
    settings = settings_for_tests(mail_transport=MailTransport.FOLDER, data_dir=tmp_path)
    mailer = mailer_for(settings)
    assert isinstance(mailer, FolderMailer) and mailer.folder == tmp_path / "mail"
    first = welcome(settings)
    await mailer.send(first)
    again = welcome(settings)  # the same message composed anew, say by a redelivery
    again.replace_header("Subject", "composed again")
    await asyncio.gather(*(mailer.send(again) for _ in range(5)))
    await mailer.send(welcome(settings, key="event-2:verify_email"))
    files = sorted((tmp_path / "mail").iterdir())
    assert [f.suffix for f in files] == [".eml", ".eml"]  # no temporary file left behind
    read = [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
    assert [m["Message-ID"] for m in read] == [
        first["Message-ID"], welcome(settings, key="event-2:verify_email")["Message-ID"]]
    assert read[0]["Subject"] == first["Subject"]  # the first one written is kept
    assert isinstance(read[0], EmailMessage)
    assert parts(read[0]) == parts(first)


def test_the_transport_chooses_the_mailer(tmp_path: Path) -> None:
    smtp = settings_for_tests(mail_transport=MailTransport.SMTP, data_dir=tmp_path)
    assert isinstance(mailer_for(smtp), SmtpMailer)
    folder = settings_for_tests(mail_transport=MailTransport.FOLDER, data_dir=tmp_path)
    assert isinstance(mailer_for(folder), FolderMailer)
