"""JWT bearer tokens: issuing development tokens and checking roles."""

import time
from enum import StrEnum
from typing import Any

import jwt
from pydantic import BaseModel

from runtime.settings import Settings
from schemas.envelope import Actor


class Role(StrEnum):
    ADMIN = "admin"
    PRODUCT_MANAGER = "product_manager"
    INVENTORY_MANAGER = "inventory_manager"
    ORDER_MANAGER = "order_manager"
    CUSTOMER = "customer"
    ANALYST = "analyst"


class Principal(BaseModel):
    subject: str
    roles: frozenset[Role]

    def as_actor(self) -> Actor:
        return Actor(subject=self.subject, roles=tuple(sorted(self.roles)))


class InvalidToken(Exception):
    """The bearer token is missing, malformed, expired or not signed by us."""


def issue_token(settings: Settings, subject: str, roles: list[Role]) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "roles": [str(r) for r in roles],
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + settings.token_ttl_seconds,
    }
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")


def verify_token(settings: Settings, token: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=["HS256"],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["sub", "exp", "iat"]},
        )
    except jwt.PyJWTError as error:
        raise InvalidToken(str(error)) from None
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not isinstance(claims["sub"], str):
        raise InvalidToken("malformed claims")
    known = {r.value for r in Role}
    return Principal(subject=claims["sub"], roles=frozenset(Role(r) for r in roles if r in known))
