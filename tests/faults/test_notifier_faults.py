"""The notifier sends each email once: killed (SIGKILL) after it has received the event
and while it is still trying to send, the email arrives once after its restart; and a
notifier that reads every event again (a consumer group starting from the beginning)
sends nothing twice."""

import uuid
from pathlib import Path

import httpx
import pytest

from runtime.auth import Role
from tests.support.mailbox import sent_to
from tests.support.platform import Platform, server_platform
from tests.support.processes import PlatformProcess
from tests.support.smtp_sink import SmtpSink
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server
LATER = "451 4.3.0 Try again later"


def register(platform: Platform, email: str) -> str:
    created = httpx.post(f"{platform.command_url}/api/v1/auth/register", timeout=30,
                         json={"email": email, "password": "correct horse battery",
                               "name": "Fault Tester"})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def notifications_of(platform: Platform, customer_id: str) -> list[dict[str, object]]:
    listed = httpx.get(f"{platform.read_url}/api/v1/notifications",
                       params={"customer": customer_id}, headers=platform.auth(Role.ADMIN),
                       timeout=30)
    assert listed.status_code == 200, listed.text
    return list(listed.json()["data"])


def restart_notifier(platform: Platform, tmp_path: Path, **env: str) -> PlatformProcess:
    old = platform.processes["notifier"]
    process = PlatformProcess("notifier", ["notifier"], {**old.env, **env}, tmp_path)
    platform.processes["notifier"] = process.start()
    return process


def test_an_email_interrupted_before_sending_arrives_once(tmp_path: Path) -> None:
    with server_platform(tmp_path) as platform:
        sink = platform.mailbox
        assert isinstance(sink, SmtpSink)
        first = f"first-{uuid.uuid4().hex[:8]}@example.com"
        sink.refuse(first, LATER)  # the notifier has the event, but cannot send it yet
        customer = register(platform, first)
        wait_until(lambda: sink.tried(first) >= 1, 60, "the notifier to try to send")
        platform.processes["notifier"].kill()
        sink.accept(first)
        restart_notifier(platform, tmp_path)

        [message] = sent_to(sink, first, "Confirm", timeout=90)
        wait_until(lambda: len(notifications_of(platform, customer)) == 1, 60,
                   "the sending to be recorded")
        [recorded] = notifications_of(platform, customer)
        assert recorded["message_id"] == message["Message-ID"]

        # Every event again, from the beginning, in a consumer group of its own: the
        # ledger stops the second sending. A newer registration proves it got that far.
        platform.processes["notifier"].kill()
        again = restart_notifier(platform, tmp_path,
                                 TANQORY_WORKER_ID=f"{platform.settings.worker_id}-again")
        second = f"second-{uuid.uuid4().hex[:8]}@example.com"
        register(platform, second)
        sent_to(sink, second, "Confirm", timeout=90)
        assert again.alive
        assert len([m for m in sink.messages if first in str(m["To"])]) == 1
        assert len(notifications_of(platform, customer)) == 1
