"""Accounts over HTTP: register, verify the email, sign in and out, refresh, reset the
password; and a customer's own profile and erasure, and staff's role changes.

Sign-in answers in the OAuth 2 token response shape (RFC 6749 5.1): a short-lived access
token (a JWT with `sub` and `roles`) and an opaque refresh token, replaced on every use.
"""

import asyncio
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request, Response, status

from commands.api.deps import Admin, RequestIdDep, event_metadata
from commands.api.login_throttle import LoginThrottle
from commands.api.responses import accepted
from commands.api.routing import command_router, pooled
from commands.customers.application import CustomersApplication, SignedIn
from commands.customers.errors import InvalidCredentials
from commands.customers.links import email_key
from runtime.auth import Principal, Role, issue_token
from runtime.deps import PrincipalDep, SettingsDep
from runtime.problems import ProblemError, problems
from runtime.settings import Settings
from schemas.api import CommandAccepted
from schemas.customers import (
    ChangeProfile,
    Login,
    PasswordResetConfirm,
    PasswordResetRequest,
    RefreshRequest,
    Register,
    RoleChange,
    TokenResponse,
    VerifyEmail,
)
from schemas.envelope import Actor, EventMetadata

router = command_router(tags=["accounts (commands)"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 5.1


async def get_customers(request: Request) -> CustomersApplication:
    return request.app.state.applications[CustomersApplication.name]  # type: ignore[no-any-return]


async def get_throttle(request: Request) -> LoginThrottle:
    return request.app.state.login_throttle  # type: ignore[no-any-return]


CustomersDep = Annotated[CustomersApplication, Depends(get_customers)]
ThrottleDep = Annotated[LoginThrottle, Depends(get_throttle)]


def anonymous(request_id: str) -> EventMetadata:
    """The metadata of a command sent before any sign-in."""
    return EventMetadata(correlation_id=request_id, causation_id=request_id,
                         actor=Actor(subject="anonymous"))


def own_id(principal: Principal) -> UUID:
    """The customer id of a signed-in customer (tokens of other issuers have none)."""
    try:
        return UUID(principal.subject)
    except ValueError:
        raise ProblemError(404, "not-found", "No customer account for this token") from None


def token_response(settings: Settings, signed_in: SignedIn, response: Response) -> TokenResponse:
    response.headers.update(NO_STORE)
    roles = [Role(r) for r in signed_in.roles if r in set(Role)]
    ttl = settings.access_token_ttl_seconds
    return TokenResponse(access_token=issue_token(settings, str(signed_in.customer_id), roles,
                                                  ttl_seconds=ttl),
                         expires_in=ttl, refresh_token=signed_in.refresh_token)


@router.post("/api/v1/auth/register", status_code=status.HTTP_201_CREATED,
             response_model=CommandAccepted, responses=problems(409, 422),
             summary="Open an account; an email with a verification link follows")
@pooled  # hashes the password
def register(command: Register, customers: CustomersDep, request_id: RequestIdDep,
             response: Response) -> CommandAccepted:
    return accepted(customers.register(command, anonymous(request_id)), response)


@router.post("/api/v1/auth/verify", response_model=CommandAccepted, responses=problems(400, 422),
             summary="Verify the email with the token of the emailed link (single use)")
def verify(command: VerifyEmail, customers: CustomersDep, request_id: RequestIdDep,
           response: Response) -> CommandAccepted:
    return accepted(customers.verify_email(command.token, anonymous(request_id)), response)


@router.post("/api/v1/auth/login", response_model=TokenResponse,
             responses=problems(401, 422, 429),
             summary="Sign in: an access token (15 minutes) and a refresh token")
async def login(command: Login, request: Request, customers: CustomersDep, throttle: ThrottleDep,
                settings: SettingsDep, response: Response) -> TokenResponse:
    account = email_key(settings.account_secret.get_secret_value().encode(), command.email)
    client = request.client.host if request.client else "unknown"
    if (wait := await throttle.retry_after(account, client)) is not None:
        raise ProblemError(429, "too-many-sign-ins", "Too many failed sign-ins; try again "
                           f"in {wait} seconds", {"Retry-After": str(wait)})
    try:
        signed_in = await asyncio.to_thread(customers.sign_in, command.email, command.password)
    except InvalidCredentials:
        await throttle.failed(account, client)
        raise
    return token_response(settings, signed_in, response)


@router.post("/api/v1/auth/refresh", response_model=TokenResponse, responses=problems(401, 422),
             summary="Trade a refresh token for new tokens (the old one stops working)")
def refresh(command: RefreshRequest, customers: CustomersDep, settings: SettingsDep,
            response: Response) -> TokenResponse:
    return token_response(settings, customers.refresh(command.refresh_token), response)


@router.post("/api/v1/auth/logout", status_code=status.HTTP_204_NO_CONTENT,
             responses=problems(422), summary="Sign out: the refresh token's session ends")
def logout(command: RefreshRequest, customers: CustomersDep) -> Response:
    customers.sign_out(command.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/api/v1/auth/password-reset", status_code=status.HTTP_202_ACCEPTED,
             responses=problems(422),
             summary="Ask for a password reset link (the same answer whether or not the "
                     "email has an account)")
def request_reset(command: PasswordResetRequest, customers: CustomersDep,
                  request_id: RequestIdDep) -> Response:
    customers.request_password_reset(command.email, anonymous(request_id))
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post("/api/v1/auth/password-reset/confirm", response_model=CommandAccepted,
             responses=problems(400, 422),
             summary="Set a new password with the token of the emailed link; every session "
                     "of the account ends")
@pooled  # hashes the password
def confirm_reset(command: PasswordResetConfirm, customers: CustomersDep,
                  request_id: RequestIdDep, response: Response) -> CommandAccepted:
    result = customers.reset_password(command.token, command.password, anonymous(request_id))
    return accepted(result, response)


@router.patch("/api/v1/me", response_model=CommandAccepted,
              responses=problems(401, 404, 410, 422),
              summary="Change your name, phone or addresses (only the fields sent)")
def change_profile(command: ChangeProfile, customers: CustomersDep, principal: PrincipalDep,
                   request_id: RequestIdDep, response: Response) -> CommandAccepted:
    result = customers.change_profile(own_id(principal), command,
                                      event_metadata(principal, request_id))
    return accepted(result, response)


@router.put("/api/v1/customers/{customer_id}/roles", response_model=CommandAccepted,
            responses=problems(401, 403, 404, 410, 422),
            summary="Set a customer's roles (their sessions end, so new tokens carry them)")
def change_roles(customer_id: UUID, command: RoleChange, customers: CustomersDep,
                 principal: Admin, request_id: RequestIdDep,
                 response: Response) -> CommandAccepted:
    result = customers.change_roles(customer_id, tuple(str(r) for r in command.roles),
                                    event_metadata(principal, request_id))
    return accepted(result, response)


@router.delete("/api/v1/customers/{customer_id}", response_model=CommandAccepted,
               responses=problems(401, 403, 404, 422),
               summary="Erase a customer's personal data everywhere (admin, or the customer)")
def erase(customer_id: UUID, customers: CustomersDep, principal: PrincipalDep,
          request_id: RequestIdDep, response: Response) -> CommandAccepted:
    if Role.ADMIN not in principal.roles and principal.subject != str(customer_id):
        raise ProblemError(403, "forbidden", "Only an admin or the customer may erase this "
                           "customer")
    return accepted(customers.erase(customer_id, event_metadata(principal, request_id)),
                    response)
