"""The emails a platform under test sent, read back: from the SMTP sink (server mode) or
the mail folder (embedded mode), behind one interface."""

import re
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from tests.support.waiting import wait_until

Predicate = Callable[[list[EmailMessage]], bool]
_TOKEN = re.compile(r"[?&]token=([A-Za-z0-9_-]+)")


class Mailbox(Protocol):
    def wait_for(self, predicate: Predicate, timeout: float) -> list[EmailMessage]: ...


class FolderMailbox:
    """The `.eml` files embedded mode writes under its data directory."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def messages(self) -> list[EmailMessage]:
        if not self.folder.exists():
            return []
        return [message_from_bytes(path.read_bytes(), policy=policy.default)  # type: ignore[misc]
                for path in sorted(self.folder.glob("*.eml"))]

    def wait_for(self, predicate: Predicate, timeout: float) -> list[EmailMessage]:
        def arrived() -> list[EmailMessage]:
            found = self.messages()
            return found if predicate(found) else []

        return wait_until(arrived, timeout, "the emails expected")


def to(address: str, subject_part: str = "") -> Predicate:
    """Holds once a message to `address` (with `subject_part` in its subject) is there."""
    return lambda messages: any(_is(m, address, subject_part) for m in messages)


def _is(message: EmailMessage, address: str, subject_part: str) -> bool:
    return address in str(message["To"]) and subject_part in str(message["Subject"])


def sent_to(mailbox: Mailbox, address: str, subject_part: str = "",
            timeout: float = 30) -> list[EmailMessage]:
    """The messages to `address` (subject containing `subject_part`), once there is one."""
    return [m for m in mailbox.wait_for(to(address, subject_part), timeout)
            if _is(m, address, subject_part)]


def link_token(message: EmailMessage) -> str:
    """The token of the link in a message's plain-text part."""
    body = message.get_body(preferencelist=("plain",))
    assert body is not None, "no plain-text part"
    found = _TOKEN.search(body.get_content())
    assert found, "no link with a token"
    return found.group(1)


def messages(mailbox: Mailbox) -> list[EmailMessage]:
    """Every message the mailbox holds now (no waiting): the folder's or the sink's."""
    held = mailbox.messages  # type: ignore[attr-defined]  # a method of one, a property of the other
    return list(held() if callable(held) else held)


def sent_many(mailbox: Mailbox, address: str, subject_part: str, count: int,
              timeout: float = 30) -> list[EmailMessage]:
    """The messages to `address` (subject containing `subject_part`), once there are
    `count` of them."""
    return [m for m in mailbox.wait_for(
        lambda ms: sum(_is(m, address, subject_part) for m in ms) >= count, timeout)
        if _is(m, address, subject_part)]
