"""The Customer aggregate and the index that keeps emails unique."""

from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from commands.aggregate import Aggregate
from commands.keys import KeyIndex
from commands.publishing import Published
from schemas.catalog import NoPayload
from schemas.customers import CustomerProfileChanged, CustomerRegistered, CustomerRolesChanged

Meta = dict[str, Any]


class Customer(Aggregate):
    """A customer's account. Its personal values are held sealed, as its events carry
    them; once erased it refuses every further change."""

    published: ClassVar[Published] = Published(
        context="customers",
        aggregate_type="Customer",
        events={
            "Registered": (CustomerRegistered, 1),
            "EmailVerified": (NoPayload, 1),
            "ProfileChanged": (CustomerProfileChanged, 1),
            "RolesChanged": (CustomerRolesChanged, 1),
            "PasswordResetRequested": (NoPayload, 1),
            "PasswordChanged": (NoPayload, 1),
            "Erased": (NoPayload, 1),
        },
    )

    @event("Registered")
    def __init__(self, *, id: UUID, email: str, email_key: str, name: str,
                 roles: tuple[str, ...], meta: Meta) -> None:
        """`id` is chosen by the caller: the personal values are sealed with its key
        before the customer exists."""
        self.email = email  # sealed
        self.email_key = email_key
        self.name = name  # sealed
        self.phone: str | None = None  # sealed
        self.addresses: str | None = None  # sealed JSON
        self.roles = tuple(roles)  # (events read back from JSON hold a list)
        self.verified = False
        self.erased = False

    def verify_email(self, meta: Meta) -> None:
        if not self.verified and not self.erased:
            self._email_verified(meta=meta)

    def change_profile(self, changes: CustomerProfileChanged, meta: Meta) -> None:
        if changes != CustomerProfileChanged() and not self.erased:
            self._profile_changed(**changes.model_dump(), meta=meta)

    def change_roles(self, roles: tuple[str, ...], meta: Meta) -> None:
        if tuple(sorted(roles)) != tuple(sorted(self.roles)) and not self.erased:
            self._roles_changed(roles=tuple(sorted(roles)), meta=meta)

    def request_password_reset(self, meta: Meta) -> None:
        """Recorded so that the notifications context emails the link (derived from this
        event's id: the token itself is never in an event)."""
        if not self.erased:
            self._password_reset_requested(meta=meta)

    def password_changed(self, meta: Meta) -> None:
        if not self.erased:
            self._password_changed(meta=meta)

    def erase(self, meta: Meta) -> None:
        if not self.erased:
            self._erased(meta=meta)

    @event("EmailVerified")
    def _email_verified(self, meta: Meta) -> None:
        self.verified = True

    @event("ProfileChanged")
    def _profile_changed(self, name: str | None, phone: str | None, phone_cleared: bool,
                         addresses: str | None, meta: Meta) -> None:
        if name is not None:
            self.name = name
        if phone is not None or phone_cleared:
            self.phone = phone
        if addresses is not None:
            self.addresses = addresses

    @event("RolesChanged")
    def _roles_changed(self, roles: tuple[str, ...], meta: Meta) -> None:
        self.roles = tuple(roles)

    @event("PasswordResetRequested")
    def _password_reset_requested(self, meta: Meta) -> None:
        pass

    @event("PasswordChanged")
    def _password_changed(self, meta: Meta) -> None:
        pass

    @event("Erased")
    def _erased(self, meta: Meta) -> None:
        self.erased = True
        self.email = self.name = ""
        self.phone = self.addresses = None


class EmailIndex(KeyIndex):
    """One account per email. Its key is a keyed digest of the normalized email (never
    the email itself: index events stay in the store after an erasure)."""

    namespace = uuid5(NAMESPACE_URL, "tanqory:customers:email")
