"""The tokens of emailed links (verify an email, reset a password), derived from the event
that asks for the email.

The notifications context sends the email when it sees the event, yet a token must never
be in an event. So the token is a keyed digest of the event's id: the command side stores
its digest when it records the event, and the notifier computes the same token from the
event it receives. Without the account secret, an event says nothing of its token.
"""

import base64
import hashlib
import hmac
from enum import StrEnum
from uuid import UUID


class LinkPurpose(StrEnum):
    VERIFY_EMAIL = "verify-email"
    RESET_PASSWORD = "reset-password"


def link_token(secret: bytes, purpose: LinkPurpose, event_id: UUID) -> str:
    mac = hmac.new(secret, f"{purpose}:{event_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def email_key(secret: bytes, email: str) -> str:
    """The email index's key for a normalized email: a keyed digest, so the index's events,
    which outlive an erasure, never hold the address."""
    return hmac.new(secret, b"email:" + email.encode(), hashlib.sha256).hexdigest()
