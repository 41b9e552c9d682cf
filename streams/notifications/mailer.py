"""Sending an email: composed once, handed to an SMTP server or written to a folder.

A message's `Message-ID` is derived from the key of what it is sent for (the event and the
template), not drawn at random: when a redelivered event sends it again, the copies carry
one id, so the folder mailer keeps one and a mail client shows one.

The SMTP mailer waits out a server that is down or answers "try again later" (4xx) with
backoff, for a bounded time, then raises `MailUnavailable`; a server that refuses the
message for good (5xx, e.g. an unknown recipient) raises `MailRefused` at once, since
sending it again would be refused again.
"""

import asyncio
import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import NoReturn, Protocol

import aiosmtplib
from tenacity import (
    AsyncRetrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_before_delay,
    wait_exponential,
)

from runtime.settings import MailTransport, Settings
from streams.notifications.templates import Rendered

log = logging.getLogger(__name__)
PATIENCE_SECONDS = 60.0  # how long the SMTP mailer waits out an unavailable server


class MailRefused(Exception):
    """The server refused the message for good (a 5xx reply): sending it again changes
    nothing."""


class MailUnavailable(Exception):
    """The server could not be reached, or kept answering "try again later", for the
    mailer's whole patience: try again later."""


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Delivers `message` (to its server or its folder); raises MailRefused or
        MailUnavailable if it could not."""


def compose(settings: Settings, to: str, rendered: Rendered, key: str) -> EmailMessage:
    """The email of `rendered` to `to`, with a Message-ID derived from `key` (e.g.
    "<event id>:<template>"): the same key, the same id."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = message_id(key, _domain(settings.mail_from))
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


def message_id(key: str, domain: str) -> str:
    return f"<{_digest(key)}@{domain}>"


def _domain(address: str) -> str:
    _, email_address = parseaddr(address)
    local, at, domain = email_address.rpartition("@")
    if not (local and at and domain):
        raise ValueError(f"the sender address has no domain: {address!r}")
    return domain


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class SmtpMailer:
    """Sends through the SMTP server of the settings, one connection per message."""

    def __init__(self, settings: Settings, patience_seconds: float = PATIENCE_SECONDS) -> None:
        self._settings = settings
        self._patience_seconds = patience_seconds

    async def send(self, message: EmailMessage) -> None:
        async for attempt in self._patiently():
            with attempt:
                await self._send_once(message)

    def _patiently(self) -> AsyncRetrying:
        """Retries MailUnavailable with backoff up to 5 s; no attempt starts after the
        patience is spent (the last one's MailUnavailable is raised then)."""
        return AsyncRetrying(
            retry=retry_if_exception_type(MailUnavailable),
            wait=wait_exponential(multiplier=0.2, max=5),
            stop=stop_before_delay(self._patience_seconds),
            before_sleep=before_sleep_log(log, logging.WARNING),
            reraise=True,
        )

    async def _send_once(self, message: EmailMessage) -> None:
        settings = self._settings
        password = settings.smtp_password
        try:
            refused, _ = await aiosmtplib.send(
                message,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username,
                password=password.get_secret_value() if password is not None else None,
                start_tls=settings.smtp_starttls,
                timeout=settings.smtp_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            _raise_for_replies(error.recipients, error)
        except aiosmtplib.SMTPResponseException as error:
            _raise_for_replies([error], error)
        except aiosmtplib.SMTPNotSupported as error:  # e.g. no STARTTLS: a setting to fix
            raise MailRefused(f"the mail server does not support this: {error}") from error
        except OSError as error:  # refused, reset, timed out, disconnected (aiosmtplib's too)
            raise MailUnavailable(f"the mail server is unreachable: {error!r}") from error
        if refused:  # some recipients accepted: those refused are reported, not raised
            _raise_for_replies(list(refused.values()), None)


class _Reply(Protocol):
    """An SMTP reply: aiosmtplib's SMTPResponse, or one of its response exceptions."""

    @property
    def code(self) -> int: ...

    @property
    def message(self) -> str: ...


def _raise_for_replies(replies: Sequence[_Reply], cause: Exception | None) -> NoReturn:
    """MailUnavailable if any reply was a 4xx (worth another attempt), else MailRefused.

    The server's replies are quoted, not the recipients' addresses (personal data, kept
    out of errors and logs).
    """
    quoted = "; ".join(f"{reply.code} {reply.message}" for reply in replies)
    if any(400 <= reply.code < 500 for reply in replies):
        raise MailUnavailable(f"the mail server said to try again later: {quoted}") from cause
    raise MailRefused(f"the mail server refused the message: {quoted}") from cause


class FolderMailer:
    """Writes each message to `folder` as `<UTC timestamp>-<hash of its Message-ID>.eml`,
    the embedded mode's outbox: sorted by name, oldest first.

    A Message-ID already written is not written again. The check and the write happen
    under a lock, so two sends of one message at once write it once (embedded mode is one
    process).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._write, message)

    def _write(self, message: EmailMessage) -> None:
        if message["Message-ID"] is None:
            raise ValueError("a message to write has no Message-ID (see compose)")
        digest = _digest(str(message["Message-ID"]))
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if any(self.folder.glob(f"*-{digest}.eml")):
                return
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            _write_atomically(self.folder / f"{stamp}-{digest}.eml", bytes(message))


def _write_atomically(path: Path, content: bytes) -> None:
    """Readers of the folder see the whole file or none (the temporary file is hidden by
    its leading dot and has no .eml suffix)."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def mailer_for(settings: Settings) -> Mailer:
    """The mailer of the settings' transport: SMTP, or data_dir/mail."""
    if settings.mail_through is MailTransport.FOLDER:
        return FolderMailer(settings.data_dir / "mail")
    return SmtpMailer(settings)
