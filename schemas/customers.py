"""Customers contracts: registration, sign-in, profiles, roles and erasure.

Personal fields (email, name, phone, addresses) travel in events only sealed with the
customer's own key (`Sealed`: see runtime/personal_data.py), so destroying that key
erases them from every copy of every event. Secrets (password hashes, refresh and
one-time tokens) are never in an event at all.
"""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from schemas.api import PageQuery
from schemas.ordering import Address
from schemas.personal import Sealed
from schemas.roles import Role
from schemas.text import one_line

MIN_PASSWORD = 12
MAX_PASSWORD = 128
MAX_ADDRESSES = 10

RoleName = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")]
PersonName = Annotated[str, one_line(200, min_length=1)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True,
                                         pattern=r"^\+?[0-9][0-9 ()-]{4,24}$")]


def normalized_email(value: str) -> str:
    """The address as it is stored and compared: syntax checked (no DNS lookup), the
    domain in its normal form, the whole lowercased (mailboxes that differ only in case
    are one account here, as almost every provider treats them)."""
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        raise ValueError(str(error)) from None
    return checked.normalized.lower()


Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254),
                  AfterValidator(normalized_email)]
Password = Annotated[str, Field(min_length=1, max_length=1_000)]  # the policy: password_problems


def password_problems(password: str, email: str) -> list[str]:
    """What is wrong with a new password, in words a person can act on (empty: nothing).

    Length over composition rules, as NIST SP 800-63B advises: 12 to 128 characters, not
    one repeated character, and not the email address or its name part."""
    problems = []
    if len(password) < MIN_PASSWORD:
        problems.append(f"must be at least {MIN_PASSWORD} characters long")
    if len(password) > MAX_PASSWORD:
        problems.append(f"must be at most {MAX_PASSWORD} characters long")
    if len(set(password)) < 4:
        problems.append("must use more than three different characters")
    local = email.split("@", 1)[0]
    if len(local) >= 4 and local in password.lower():
        problems.append("must not contain your email address")
    return problems


class Register(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [
        {"email": "ada@example.com", "password": "correct horse battery", "name": "Ada"}]})

    email: Email
    password: Password
    name: PersonName


class VerifyEmail(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    email: Email
    password: Password


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class PasswordResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    email: Email


class PasswordResetConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    password: Password


class ChangeProfile(BaseModel):
    """`PATCH /api/v1/me`: only the fields sent change; `null` clears phone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: PersonName | None = None
    phone: Phone | None = None
    addresses: list[Address] | None = Field(default=None, max_length=MAX_ADDRESSES)

    @field_validator("name", "addresses")
    @classmethod
    def _not_null(cls, value: object, info: ValidationInfo) -> object:
        """Only the phone may be removed; a name stays, and no addresses is `[]`."""
        if value is None:
            raise ValueError(f"{info.field_name} cannot be null"
                             + ("; send [] for none" if info.field_name == "addresses" else ""))
        return value


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True,
                              json_schema_extra={"examples": [{"roles": ["customer", "admin"]}]})

    roles: list[Role] = Field(max_length=len(Role))


class TokenResponse(BaseModel):
    """The OAuth 2 token response (RFC 6749, section 5.1)."""

    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    refresh_token: str


# Events. Personal values are sealed; the rest is in clear.


EmailKey = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class CustomerRegistered(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    email: Sealed
    # A keyed digest of the normalized email (as the email index's), for staff to find
    # the account by email: it cannot be turned back into the address (ADR 0010).
    email_key: EmailKey
    name: Sealed
    roles: tuple[RoleName, ...]


class CustomerProfileChanged(BaseModel):
    """Only the fields that changed; `phone_cleared` when the phone was removed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Sealed | None = None
    phone: Sealed | None = None
    phone_cleared: bool = False
    addresses: Sealed | None = None  # the whole list, sealed as one JSON value


class CustomerRolesChanged(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    roles: tuple[RoleName, ...]


class CustomerDocument(BaseModel):
    """The customers read model: personal values stay sealed here too; the read API
    unseals them for whoever may see them (an erased customer's never unseal again)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: UUID
    email: Sealed | None
    email_key: EmailKey | None  # None once erased: the address no longer finds the account
    name: Sealed | None
    phone: Sealed | None = None
    addresses: Sealed | None = None
    roles: tuple[RoleName, ...]
    verified: bool = False
    erased: bool = False
    created_at: datetime
    updated_at: datetime
    version: int = Field(ge=1)
    position: int = Field(ge=1)


class CustomerView(BaseModel):
    """A customer as `GET /api/v1/me` and staff's reads show them."""

    id: UUID
    email: str | None = Field(description="null once erased")
    name: str | None
    phone: str | None
    addresses: list[Address]
    roles: list[str]
    verified: bool
    erased: bool
    created_at: datetime
    updated_at: datetime
    version: int


class CustomerListQuery(PageQuery):
    email: Email | None = Field(default=None, description="Exactly this address (any case)")
