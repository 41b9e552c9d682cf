"""An SMTP server the tests send real mail to and read it back from.

aiosmtpd's `Controller` runs the server in a thread of its own, on 127.0.0.1 and a free
port. Every message it accepts is kept, parsed; what the tests wait on is guarded by one
condition, notified on every RCPT and message, so a wait ends as soon as it can.

For failure tests the sink can refuse a recipient (any reply, e.g. a 5xx or a 4xx) and
be down: stopped, then started again on the same port.
"""

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from threading import Condition
from time import monotonic

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.processes import free_port

REFUSED = "550 5.1.1 No such mailbox here"


class SmtpSink:
    def __init__(self, port: int) -> None:
        self.port = port
        self._changed = Condition()
        self._messages: list[EmailMessage] = []
        self._tries: Counter[str] = Counter()  # RCPT commands, by recipient
        self._refusals: dict[str, str] = {}  # recipient: the reply to its RCPT
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[EmailMessage]:
        with self._changed:
            return list(self._messages)

    def tried(self, recipient: str) -> int:
        """How many times a client named `recipient` (RCPT TO), accepted or not."""
        with self._changed:
            return self._tries[recipient]

    def wait_for(
        self, predicate: Callable[[list[EmailMessage]], bool], timeout: float
    ) -> list[EmailMessage]:
        """The messages, once `predicate` holds of them; fails after `timeout` seconds."""
        deadline = monotonic() + timeout
        with self._changed:
            while not predicate(self._messages):
                remaining = deadline - monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"timed out after {timeout}s waiting for messages; "
                        f"got {[m['Subject'] for m in self._messages]}"
                    )
                self._changed.wait(remaining)
            return list(self._messages)

    def refuse(self, recipient: str, reply: str = REFUSED) -> None:
        """Answers `reply` to every RCPT TO `recipient` from now on."""
        with self._changed:
            self._refusals[recipient] = reply

    def accept(self, recipient: str) -> None:
        with self._changed:
            self._refusals.pop(recipient, None)

    def start(self) -> None:
        # A stopped controller has closed its event loop: each start needs a new one.
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @contextmanager
    def down(self) -> Iterator[None]:
        """The server stopped (connections refused) inside the block, up again after it."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    # aiosmtpd's handler hooks, called on the server's thread

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str,
        rcpt_options: list[str],
    ) -> str:
        with self._changed:
            self._tries[address] += 1
            refusal = self._refusals.get(address)
            self._changed.notify_all()
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert envelope.original_content is not None  # set before DATA's hook is called
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._changed:
            self._messages.append(message)
            self._changed.notify_all()
        return "250 Message accepted for delivery"


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    """A running sink on a free port, stopped after the block."""
    sink = SmtpSink(free_port())
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()
