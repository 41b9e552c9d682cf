"""JWT bearer tokens: issuing development tokens, checking tokens and roles.

Two kinds of token are accepted: ours (HS256 with `TANQORY_JWT_SECRET`, as `issue_token`
makes them) and, when `TANQORY_OIDC_ISSUER` is set, that OpenID Connect issuer's (RS256 or
ES256, checked with the keys it publishes: `runtime.oidc`).
"""

import logging
import time
from typing import Any

import jwt
from cachetools import TLRUCache
from jwt import PyJWK
from pydantic import BaseModel
from starlette.datastructures import State

from runtime.oidc import ALGORITHMS as ISSUER_ALGORITHMS
from runtime.oidc import Clock, JwksCache, UnknownSigningKey
from runtime.settings import Settings
from schemas.envelope import Actor
from schemas.roles import Role

log = logging.getLogger(__name__)


_KNOWN_ROLES = frozenset(Role)
CLOCK_SKEW_SECONDS = 30  # leeway on the times of the OpenID Connect issuer's tokens
VERIFIED_KEPT = 10_000  # our tokens whose principals a TokenVerifier remembers


class Principal(BaseModel):
    subject: str
    roles: frozenset[Role]

    def as_actor(self) -> Actor:
        return Actor(subject=self.subject, roles=tuple(sorted(self.roles)))


class InvalidToken(Exception):
    """The bearer token is missing, malformed, expired or not signed by a trusted key.

    When the JWT library refused the token, its error is the `__context__`.
    """


def issue_token(
    settings: Settings, subject: str, roles: list[Role], ttl_seconds: int | None = None
) -> str:
    """One of our tokens, valid for `ttl_seconds` (default `settings.token_ttl_seconds`)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "roles": [str(r) for r in roles],
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + (settings.token_ttl_seconds if ttl_seconds is None else ttl_seconds),
    }
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")


def verify_token(settings: Settings, token: str) -> Principal:
    """The principal of one of our tokens (HS256, our secret, issuer and audience); no I/O."""
    return _verify_ours(settings, token)[0]


def _verify_ours(settings: Settings, token: str) -> tuple[Principal, float]:
    """`verify_token`'s principal, and when the token expires (its `exp`)."""
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
    return _principal(claims["sub"], claims.get("roles", [])), float(claims["exp"])


def _principal(subject: object, roles: object) -> Principal:
    """Roles the platform does not know (or that are not names) are left out."""
    if not isinstance(subject, str) or not isinstance(roles, list):
        raise InvalidToken("malformed claims")
    return Principal(subject=subject, roles=frozenset(
        Role(r) for r in roles if isinstance(r, str) and r in _KNOWN_ROLES))


class _Issuer:
    """The OpenID Connect issuer's tokens: RS256 or ES256, signed with a key it publishes,
    with its issuer and the configured audience, an expiry and a subject.

    Their times (`exp`, `nbf`, `iat`) are checked with `CLOCK_SKEW_SECONDS` of leeway: the
    issuer's clock is not ours, and a token it has just made must not be "issued in the
    future" here.
    """

    def __init__(self, settings: Settings, issuer: str, clock: Clock) -> None:
        self.issuer = issuer
        self.audience = settings.oidc_audience
        if self.audience is None:
            log.warning("TANQORY_OIDC_ISSUER is set without TANQORY_OIDC_AUDIENCE: no token "
                        "of the issuer %s is accepted", issuer)
        self.roles_path = settings.oidc_roles_claim.split(".")
        self.keys = JwksCache(issuer, settings.oidc_jwks_url, settings.oidc_jwks_cache_seconds,
                              clock=clock)

    def key_id(self, token: str) -> str | None:
        """The key a token signed as the issuer signs (RS256, ES256) names; None for any
        other token, which is then checked as ours. Read from the unverified header: it
        only picks the check."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from None
        if header.get("alg") not in ISSUER_ALGORITHMS:
            return None
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("the token names no signing key")
        return kid

    async def verify(self, token: str, kid: str) -> Principal:
        try:
            key = await self.keys.key(kid)
        except UnknownSigningKey as error:
            raise InvalidToken(str(error)) from None
        return self.check(token, key)

    def verify_known(self, token: str, kid: str) -> Principal:
        key = self.keys.known(kid)
        if key is None:
            raise InvalidToken(f"signing key {kid!r} not fetched")
        return self.check(token, key)

    def check(self, token: str, key: PyJWK) -> Principal:
        try:
            claims = jwt.decode(
                token, key, algorithms=ISSUER_ALGORITHMS, audience=self.audience,
                issuer=self.issuer, leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["iss", "aud", "exp", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from None
        roles = _claim(claims, self.roles_path)
        return _principal(claims["sub"], [] if roles is None else roles)


def _claim(claims: dict[str, Any], path: list[str]) -> object:
    """The claim at a dotted path (`realm_access.roles`), None where there is none."""
    value: object = claims
    for name in path:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


class TokenVerifier:
    """Checks bearer tokens: ours, and the OpenID Connect issuer's when one is configured.

    The token's unverified header only picks the check: RS256 and ES256 tokens are checked
    as the issuer's, every other one as ours. Each check then trusts only its own keys and
    algorithms, so `alg: none`, an HS256 token signed with the issuer's public key, or one
    of ours claiming the issuer, are refused. Without an issuer this is `verify_token`,
    with no more work.

    One per app (`app_token_verifier`): it keeps the issuer's keys between requests, and
    the principals of our tokens it has verified until they expire: a request's token is
    checked by the rate limiter and by the endpoint, and a client sends the same one
    request after request (a token's claims never change, and nothing revokes it early).
    """

    def __init__(self, settings: Settings, *, clock: Clock = time.monotonic) -> None:
        self._settings = settings
        issuer = settings.oidc_issuer
        self._issuer = _Issuer(settings, issuer, clock) if issuer else None
        self._verified: TLRUCache[str, tuple[Principal, float]] = TLRUCache(
            maxsize=VERIFIED_KEPT, ttu=lambda _token, verified, _now: verified[1],
            timer=time.time)  # `exp` is seconds since the epoch, as jwt checks it

    async def verify(self, token: str) -> Principal:
        """The token's principal, fetching the issuer's keys if it needs them.

        Raises InvalidToken, also when the keys cannot be fetched.
        """
        issuer = self._issuer
        if issuer is None or (kid := issuer.key_id(token)) is None:
            return self._ours(token)
        return await issuer.verify(token, kid)

    def verify_known(self, token: str) -> Principal:
        """As `verify`, but with only the issuer's keys fetched already (however long ago),
        never any I/O: for keying counts and records by client, not for authorising."""
        issuer = self._issuer
        if issuer is None or (kid := issuer.key_id(token)) is None:
            return self._ours(token)
        return issuer.verify_known(token, kid)

    def _ours(self, token: str) -> Principal:
        verified = self._verified.get(token)
        if verified is None:
            verified = self._verified[token] = _verify_ours(self._settings, token)
        return verified[0]


def app_token_verifier(state: State, settings: Settings) -> TokenVerifier:
    """The app's TokenVerifier, kept on its `state`, made on first use.

    Shared by the app's endpoints (`runtime.deps.get_principal`) and middleware
    (`runtime.rate_limit.client_identity`), so the issuer's keys are fetched once for all.
    Made here rather than by the app factories, so any app, however it is built, gets one
    for the settings its requests use.
    """
    verifier: TokenVerifier | None = getattr(state, "token_verifier", None)
    if verifier is None:
        verifier = state.token_verifier = TokenVerifier(settings)
    return verifier
