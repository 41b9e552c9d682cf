"""The customers context's command handlers: accounts, sign-in, profiles, roles, erasure.

Events hold personal values sealed with the customer's key (`runtime.personal_data`);
secrets (password hashes, refresh tokens, the digests of emailed links' tokens) live in
the credentials store beside the event store, never in an event (ADR 0010).
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from commands.customers.credentials import Credentials, TokenRefused, TokenReused
from commands.customers.customer import Customer, EmailIndex
from commands.customers.errors import (
    CustomerErased,
    EmailTaken,
    InvalidCredentials,
    InvalidLinkToken,
    InvalidRefreshToken,
    WeakPassword,
)
from commands.customers.links import LinkPurpose, email_key, link_token
from commands.customers.passwords import Passwords
from commands.customers.tokens import digest, new_token
from commands.errors import NotFound
from commands.event_sourced import CommandResult, EventSourcedContext, meta_of, retry_on_conflict
from commands.keys import release, reserve
from commands.publishing import event_id_for
from runtime.personal_data import PersonalData
from schemas.customers import (
    ChangeProfile,
    CustomerProfileChanged,
    Register,
    password_problems,
)
from schemas.envelope import EventMetadata
from schemas.ordering import Address

CUSTOMER = "Customer"
CUSTOMER_ROLE = "customer"


@dataclass(frozen=True)
class AccountParts:
    """What the customers context needs beside its event store."""

    personal: PersonalData
    credentials: Credentials
    passwords: Passwords
    secret: bytes  # the account secret: the email index and the links' tokens
    refresh_ttl: timedelta = timedelta(days=30)
    verify_ttl: timedelta = timedelta(hours=24)
    reset_ttl: timedelta = timedelta(hours=1)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)


@dataclass(frozen=True)
class SignedIn:
    """Who signed in (or refreshed), and their new refresh token (shown once)."""

    customer_id: UUID
    roles: tuple[str, ...]
    refresh_token: str


class CustomersApplication(EventSourcedContext):
    name = "customers"
    _parts: AccountParts

    def use(self, parts: AccountParts) -> None:
        self._parts = parts

    # --- accounts ------------------------------------------------------------------------

    def register(self, command: Register, meta: EventMetadata) -> CommandResult:
        """Records the account with its email index (one save: a second registration of
        the email loses it, 409), then the password hash and the verification link's
        token digest. A crash in between leaves an account without a password, which a
        password reset completes."""
        if problems := password_problems(command.password, command.email):
            raise WeakPassword(problems)
        parts = self._parts
        customer_id = uuid4()
        key = email_key(parts.secret, command.email)
        index = reserve(self.repository, EmailIndex, key, customer_id, EmailTaken)
        customer = Customer(
            id=customer_id, email=parts.personal.seal(customer_id, "email", command.email),
            email_key=key,
            name=parts.personal.seal(customer_id, "name", command.name),
            roles=(CUSTOMER_ROLE,), meta=meta_of(meta))
        result = self._save(CUSTOMER, customer, index, conflict=EmailTaken)
        parts.credentials.set_password(customer_id, parts.passwords.hash(command.password))
        self._expect_link(LinkPurpose.VERIFY_EMAIL, customer, parts.verify_ttl)
        return result

    def verify_email(self, token: str, meta: EventMetadata) -> CommandResult:
        customer = self._by_link(LinkPurpose.VERIFY_EMAIL, token)
        customer.verify_email(meta_of(meta))
        return self._save_changes(CUSTOMER, customer)

    def request_password_reset(self, email: str, meta: EventMetadata) -> None:
        """Records the request if the email has an account, else nothing; either way the
        caller answers the same."""
        customer = self._by_email(email)
        if customer is None or customer.erased:
            return
        customer.request_password_reset(meta_of(meta))
        self._save(CUSTOMER, customer)
        self._expect_link(LinkPurpose.RESET_PASSWORD, customer, self._parts.reset_ttl)

    def reset_password(self, token: str, password: str, meta: EventMetadata) -> CommandResult:
        """Sets the new password and signs out every session of the account."""
        customer = self._by_link(LinkPurpose.RESET_PASSWORD, token, consume=False)
        email = self._parts.personal.unseal(customer.id, "email", customer.email) or ""
        if problems := password_problems(password, email):
            raise WeakPassword(problems)
        self._by_link(LinkPurpose.RESET_PASSWORD, token)  # now spent
        parts = self._parts
        parts.credentials.set_password(customer.id, parts.passwords.hash(password))
        parts.credentials.revoke_all(customer.id, parts.clock())
        customer.password_changed(meta_of(meta))
        return self._save_changes(CUSTOMER, customer)

    # --- sessions ------------------------------------------------------------------------

    def sign_in(self, email: str, password: str) -> SignedIn:
        """Checks the password (as slowly for an unknown email) and starts a session."""
        parts = self._parts
        customer = self._by_email(email)
        stored = None if customer is None else parts.credentials.password_hash(customer.id)
        if not parts.passwords.verify(stored, password) or customer is None or customer.erased:
            raise InvalidCredentials()
        if stored is not None and parts.passwords.needs_rehash(stored):
            parts.credentials.set_password(customer.id, parts.passwords.hash(password))
        token = new_token()
        parts.credentials.start_family(customer.id, digest(token),
                                       parts.clock() + parts.refresh_ttl)
        return SignedIn(customer.id, customer.roles, token)

    def refresh(self, refresh_token: str) -> SignedIn:
        """Rotates the refresh token; a used one presented again ends its whole family."""
        parts = self._parts
        token = new_token()
        now = parts.clock()
        try:
            rotation = parts.credentials.rotate(digest(refresh_token), digest(token), now,
                                                now + parts.refresh_ttl)
        except (TokenRefused, TokenReused):
            raise InvalidRefreshToken() from None
        customer = self.customer(rotation.customer_id)
        if customer.erased:
            raise InvalidRefreshToken()
        return SignedIn(customer.id, customer.roles, token)

    def sign_out(self, refresh_token: str) -> None:
        self._parts.credentials.revoke_family_of(digest(refresh_token), self._parts.clock())

    # --- profiles, roles, erasure --------------------------------------------------------

    @retry_on_conflict
    def change_profile(self, customer_id: UUID, command: ChangeProfile,
                       meta: EventMetadata) -> CommandResult:
        customer = self._live(customer_id)
        seal = self._parts.personal.seal
        sent = command.model_fields_set
        changes = CustomerProfileChanged(
            name=seal(customer_id, "name", command.name) if command.name else None,
            phone=seal(customer_id, "phone", command.phone) if command.phone else None,
            phone_cleared="phone" in sent and command.phone is None,
            addresses=seal(customer_id, "addresses", json.dumps(
                [a.model_dump() for a in command.addresses])) if command.addresses is not None
            else None,
        )
        customer.change_profile(changes, meta_of(meta))
        return self._save_changes(CUSTOMER, customer)

    @retry_on_conflict
    def change_roles(self, customer_id: UUID, roles: tuple[str, ...],
                     meta: EventMetadata) -> CommandResult:
        """Sets the roles; the customer's sessions end, so new tokens carry them."""
        customer = self._live(customer_id)
        customer.change_roles(roles, meta_of(meta))
        result = self._save_changes(CUSTOMER, customer)
        if result.position is not None:
            self._parts.credentials.revoke_all(customer_id, self._parts.clock())
        return result

    @retry_on_conflict
    def erase(self, customer_id: UUID, meta: EventMetadata) -> CommandResult:
        """Frees the email, records the erasure, then destroys the key (after which no
        copy of any of the customer's events can be read) and forgets the secrets. Each
        step may be repeated: a crash in between is completed by erasing again."""
        parts = self._parts
        customer = self.customer(customer_id)
        if not customer.erased:
            released = release(self.repository, EmailIndex, customer.email_key, customer_id)
            customer.erase(meta_of(meta))
            result = self._save(CUSTOMER, customer, released)
        else:
            result = self._save_changes(CUSTOMER, customer)
        parts.personal.erase(customer_id)
        parts.credentials.forget(customer_id)
        return result

    # --- reads of the write side ---------------------------------------------------------

    def by_email(self, email: str) -> Customer | None:
        """The account of a normalized email, if it has one (erased ones have none)."""
        customer = self._by_email(email)
        return None if customer is None or customer.erased else customer

    def saved_addresses(self, subject: str) -> list[Address]:
        """The addresses the customer of a token's subject saved, oldest first; none for a
        subject without an account (another issuer's) or an erased one."""
        try:
            customer = self.customer(UUID(subject))
        except (ValueError, NotFound):
            return []
        if customer.erased or customer.addresses is None:
            return []
        text = self._parts.personal.unseal(customer.id, "addresses", customer.addresses)
        return [Address.model_validate(a) for a in json.loads(text)] if text else []

    def customer(self, customer_id: UUID) -> Customer:
        return self._load(Customer, customer_id)

    def _live(self, customer_id: UUID) -> Customer:
        customer = self.customer(customer_id)
        if customer.erased:
            raise CustomerErased()
        return customer

    def _by_email(self, email: str) -> Customer | None:
        index_id = EmailIndex.create_id(email_key(self._parts.secret, email))
        try:
            index = self._load(EmailIndex, index_id)
        except NotFound:  # no account ever had this email
            return None
        return None if index.owner_id is None else self.customer(index.owner_id)

    def _expect_link(self, purpose: LinkPurpose, customer: Customer, ttl: timedelta) -> None:
        """Stores the digest of the token the notifier will derive from the customer's
        last event (the one asking for the email)."""
        parts = self._parts
        token = link_token(parts.secret, purpose, event_id_for(customer.id, customer.version))
        parts.credentials.issue_once(str(purpose), customer.id, digest(token),
                                     parts.clock() + ttl)

    def _by_link(self, purpose: LinkPurpose, token: str, consume: bool = True) -> Customer:
        parts = self._parts
        spend = parts.credentials.consume_once if consume else parts.credentials.peek_once
        customer_id = spend(str(purpose), digest(token), parts.clock())
        if customer_id is None:
            raise InvalidLinkToken()
        customer = self.customer(customer_id)
        if customer.erased:
            raise InvalidLinkToken()
        return customer
