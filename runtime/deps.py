"""FastAPI dependencies every API shares, as Annotated aliases.

Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` one in its thread
pool, a hop that costs more than the dependency itself on every request.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from runtime.auth import InvalidToken, Principal, Role, app_token_verifier
from runtime.http import request_id_var
from runtime.problems import ProblemError
from runtime.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="JWT from `tanqory token --role ROLE`")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_principal(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The bearer token's principal, checked by the app's TokenVerifier (one per app, made
    on the first request: it keeps the OpenID Connect issuer's keys between requests)."""
    if credentials is None:
        raise ProblemError(401, "unauthorized", "A bearer token is required", _CHALLENGE)
    verifier = app_token_verifier(request.app.state, settings)
    try:
        return await verifier.verify(credentials.credentials)
    except InvalidToken as error:
        # Never the JWT library's own words: they describe its internals, not the client's fix.
        expired = isinstance(error.__context__, jwt.ExpiredSignatureError)
        detail = "Token expired" if expired else "Invalid token"
        raise ProblemError(401, "unauthorized", detail, _CHALLENGE) from None


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_roles(*allowed: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets through only principals holding one of `allowed`."""

    async def check(principal: PrincipalDep) -> Principal:
        if principal.roles.isdisjoint(allowed):
            names = ", ".join(sorted(allowed))
            raise ProblemError(403, "forbidden", f"This needs one of the roles: {names}")
        return principal

    return check


async def get_request_id() -> str:
    return request_id_var.get()


RequestIdDep = Annotated[str, Depends(get_request_id)]
