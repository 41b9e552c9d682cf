"""Tokens of an external OpenID Connect issuer beside ours, against a real provider: a
discovery document and a JWK Set served over HTTP on 127.0.0.1, counting its requests."""

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import Depends
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from runtime.auth import (
    InvalidToken,
    Principal,
    Role,
    TokenVerifier,
    app_token_verifier,
    issue_token,
)
from runtime.deps import PrincipalDep, require_roles
from runtime.http import create_api
from runtime.oidc import DISCOVERY_PATH, MIN_FETCH_INTERVAL_SECONDS
from runtime.rate_limit import MEMORY_STORAGE_URI, client_identity
from runtime.settings import Settings
from tests.support.platform import TEST_SECRET, settings_for_tests
from tests.support.processes import free_port

AUDIENCE = "tanqory-external"
JWKS_PATH = "/keys"
NOT_JSON_PATH = "/broken"
CACHE_SECONDS = 300


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    def jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        if self.algorithm == "RS256":  # with its `alg`; the EC key's is inferred from its curve
            return {**RSAAlgorithm.to_jwk(public, as_dict=True), "kid": self.kid,
                    "alg": "RS256", "use": "sig"}
        return {**ECAlgorithm.to_jwk(public, as_dict=True), "kid": self.kid}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, claims: dict[str, Any], kid: str | None = None,
             algorithm: str | None = None) -> str:
        return jwt.encode(claims, self.private, algorithm=algorithm or self.algorithm,
                          headers={"kid": kid or self.kid})


def rsa_key(kid: str) -> SigningKey:
    return SigningKey(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))


RSA = rsa_key("rsa-1")
EC = SigningKey("ec-1", "ES256", ec.generate_private_key(ec.SECP256R1()))
ROTATED = rsa_key("rsa-2")
ATTACKER = rsa_key("attacker")


class Provider:
    """A tiny OpenID Connect provider: what it publishes can change while it runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.reset()

    def reset(self) -> None:
        self.keys = [RSA, EC]
        self.failing = False  # answers 503 to everything
        self.requests: Counter[str] = Counter()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with provider._lock:
                    provider.requests[self.path] += 1
                body = provider.answer(self.path)
                if body is None:
                    self.send_error(503 if provider.failing else 404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        return Handler

    def answer(self, path: str) -> bytes | None:
        if self.failing:
            return None
        if path == DISCOVERY_PATH:
            return json.dumps({"issuer": self.issuer,
                               "jwks_uri": self.issuer + JWKS_PATH}).encode()
        if path == JWKS_PATH:
            return json.dumps({"keys": [key.jwk() for key in self.keys]}).encode()
        if path == NOT_JSON_PATH:
            return b"<html>down for maintenance</html>"
        return None

    @property
    def fetches(self) -> int:
        return self.requests[JWKS_PATH]

    def settings(self, **overrides: object) -> Settings:
        return settings_for_tests(**{
            "oidc_issuer": self.issuer, "oidc_audience": AUDIENCE,
            "oidc_roles_claim": "realm_access.roles",
            "oidc_jwks_cache_seconds": CACHE_SECONDS, **overrides,
        })

    def claims(self, **overrides: object) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer, "aud": AUDIENCE, "sub": "alice", "iat": now, "exp": now + 300,
            "realm_access": {"roles": ["analyst", "customer", "offline_access"]},
        }
        return {**claims, **overrides}


@pytest.fixture(scope="module")
def serving() -> Iterator[Provider]:
    provider = Provider()
    thread = threading.Thread(target=provider.server.serve_forever, daemon=True)
    thread.start()
    yield provider
    provider.server.shutdown()
    provider.server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def provider(serving: Provider) -> Provider:
    """The module's provider, publishing its first keys, its request count at zero."""
    serving.reset()
    return serving


class FakeClock:
    """The monotonic clock of the key cache, moved by the test instead of waited on."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def without(claims: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in claims.items() if k != name}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with_public_key(provider: Provider) -> str:
    """The algorithm confusion attack: HMAC with the provider's public key as the secret
    (PyJWT refuses to make one, so it is made by hand)."""
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": RSA.kid}).encode())
    payload = b64(json.dumps(provider.claims()).encode())
    signature = hmac.new(RSA.public_pem(), f"{header}.{payload}".encode(), hashlib.sha256)
    return f"{header}.{payload}.{b64(signature.digest())}"


async def refused(verifier: TokenVerifier, token: str) -> InvalidToken:
    with pytest.raises(InvalidToken) as caught:
        await verifier.verify(token)
    return caught.value


# --- accepted tokens ------------------------------------------------------------------


async def test_rs256_and_es256_tokens_pass_with_the_roles_of_a_nested_claim(
    provider: Provider,
) -> None:
    verifier = TokenVerifier(provider.settings())  # keys found through discovery
    for key in (RSA, EC):
        principal = await verifier.verify(key.sign(provider.claims(sub=f"user-{key.kid}")))
        assert principal == Principal(subject=f"user-{key.kid}",
                                      roles=frozenset({Role.ANALYST, Role.CUSTOMER}))
    assert provider.requests == {DISCOVERY_PATH: 1, JWKS_PATH: 1}


async def test_a_token_without_the_roles_claim_has_no_roles(provider: Provider) -> None:
    verifier = TokenVerifier(provider.settings(oidc_jwks_url=provider.issuer + JWKS_PATH))
    principal = await verifier.verify(RSA.sign(without(provider.claims(), "realm_access")))
    assert principal.roles == frozenset()
    assert provider.requests == {JWKS_PATH: 1}  # no discovery when the JWKS URL is set


async def test_keys_are_fetched_once_for_many_tokens_even_concurrent_ones(
    provider: Provider,
) -> None:
    verifier = TokenVerifier(provider.settings())
    tokens = [key.sign(provider.claims(sub=f"user-{i}")) for i in range(20) for key in (RSA, EC)]
    first = await asyncio.gather(*(verifier.verify(token) for token in tokens))
    again = [await verifier.verify(token) for token in tokens * 5]
    assert {p.subject for p in first} == {p.subject for p in again} == {
        f"user-{i}" for i in range(20)}
    assert provider.fetches == 1


async def test_stale_keys_are_fetched_again(provider: Provider) -> None:
    clock = FakeClock()
    verifier = TokenVerifier(provider.settings(), clock=clock)
    token = RSA.sign(provider.claims())
    await verifier.verify(token)
    clock.advance(CACHE_SECONDS - 1)
    await verifier.verify(token)
    assert provider.fetches == 1
    clock.advance(1)
    await verifier.verify(token)
    assert provider.fetches == 2


async def test_a_rotated_key_is_fetched_when_its_first_token_arrives(provider: Provider) -> None:
    clock = FakeClock()
    verifier = TokenVerifier(provider.settings(), clock=clock)
    await verifier.verify(RSA.sign(provider.claims()))
    provider.keys = [ROTATED, EC]
    clock.advance(MIN_FETCH_INTERVAL_SECONDS)

    principal = await verifier.verify(ROTATED.sign(provider.claims(sub="after-rotation")))

    assert principal.subject == "after-rotation" and provider.fetches == 2
    await refused(verifier, RSA.sign(provider.claims()))  # the retired key is gone
    assert provider.fetches == 2


# --- refused tokens -------------------------------------------------------------------


async def test_an_unknown_kid_is_refused_and_refetches_at_most_once_an_interval(
    provider: Provider,
) -> None:
    clock = FakeClock()
    verifier = TokenVerifier(provider.settings(), clock=clock)
    await verifier.verify(RSA.sign(provider.claims()))
    bogus = [ATTACKER.sign(provider.claims(), kid=f"made-up-{i}") for i in range(50)]

    await refused(verifier, bogus[0])  # keys fetched moments ago: no refetch yet
    assert provider.fetches == 1
    clock.advance(MIN_FETCH_INTERVAL_SECONDS)
    results = await asyncio.gather(*(verifier.verify(t) for t in bogus), return_exceptions=True)
    assert all(isinstance(r, InvalidToken) for r in results)
    assert provider.fetches == 2  # one refetch for the whole flood
    clock.advance(MIN_FETCH_INTERVAL_SECONDS - 1)
    await refused(verifier, bogus[1])
    assert provider.fetches == 2
    clock.advance(1)
    await refused(verifier, bogus[2])
    assert provider.fetches == 3
    assert (await verifier.verify(EC.sign(provider.claims()))).subject == "alice"


REFUSED: dict[str, Callable[[Provider], str]] = {
    "wrong issuer": lambda p: RSA.sign(p.claims(iss="https://elsewhere.example")),
    "wrong audience": lambda p: EC.sign(p.claims(aud="someone-else")),
    "no subject": lambda p: RSA.sign(without(p.claims(), "sub")),
    "no expiry": lambda p: RSA.sign(without(p.claims(), "exp")),
    "alg none": lambda p: jwt.encode(p.claims(), None, algorithm="none",
                                     headers={"kid": RSA.kid}),
    "HS256 with the public key": hs256_with_public_key,
    "another key under a published kid": lambda p: ATTACKER.sign(p.claims(), kid=RSA.kid),
    "ES256 over the RSA key's kid": lambda p: EC.sign(p.claims(), kid=RSA.kid),
    "no kid": lambda p: jwt.encode(p.claims(), RSA.private, algorithm="RS256"),
    "not a JWT": lambda _: "not.a.jwt",
}


@pytest.mark.parametrize("make", REFUSED.values(), ids=REFUSED.keys())
async def test_a_bad_token_of_the_issuer_is_refused(
    provider: Provider, make: Callable[[Provider], str],
) -> None:
    verifier = TokenVerifier(provider.settings())
    await verifier.verify(RSA.sign(provider.claims()))  # keys at hand: a refusal is the token's
    error = await refused(verifier, make(provider))
    assert not isinstance(error.__context__, jwt.ExpiredSignatureError)


async def test_an_expired_token_of_the_issuer_is_refused_as_expired(provider: Provider) -> None:
    now = int(time.time())
    verifier = TokenVerifier(provider.settings())
    error = await refused(verifier, RSA.sign(provider.claims(iat=now - 600, exp=now - 120)))
    assert isinstance(error.__context__, jwt.ExpiredSignatureError)


async def test_our_tokens_pass_without_asking_the_provider_and_hs256_cannot_claim_it(
    provider: Provider,
) -> None:
    settings = provider.settings()
    verifier = TokenVerifier(settings)
    principal = await verifier.verify(issue_token(settings, "bob", [Role.ADMIN]))
    assert principal == Principal(subject="bob", roles=frozenset({Role.ADMIN}))
    assert verifier.verify_known(issue_token(settings, "bob", [Role.ADMIN])).subject == "bob"
    assert sum(provider.requests.values()) == 0

    claiming = {**provider.claims(), "roles": ["admin"]}
    for token in (jwt.encode(claiming, TEST_SECRET, algorithm="HS256", headers={"kid": RSA.kid}),
                  jwt.encode({**claiming, "aud": settings.jwt_audience}, TEST_SECRET)):
        await refused(verifier, token)


async def test_issue_token_takes_a_lifetime(provider: Provider) -> None:
    settings = provider.settings()
    token = issue_token(settings, "bob", [Role.ADMIN], ttl_seconds=60)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 60
    expired = issue_token(settings, "bob", [Role.ADMIN], ttl_seconds=-1)
    error = await refused(TokenVerifier(settings), expired)
    assert isinstance(error.__context__, jwt.ExpiredSignatureError)


async def test_without_an_issuer_its_tokens_are_refused_and_never_fetched(
    provider: Provider,
) -> None:
    verifier = TokenVerifier(settings_for_tests())
    await refused(verifier, RSA.sign(provider.claims()))
    assert sum(provider.requests.values()) == 0


# --- a provider that does not answer --------------------------------------------------


def answering_503(provider: Provider) -> dict[str, object]:
    provider.failing = True
    return {}


BROKEN: dict[str, Callable[[Provider], dict[str, object]]] = {
    "nothing listening": lambda _: {"oidc_jwks_url": f"http://127.0.0.1:{free_port()}/keys"},
    "discovery unreachable": lambda _: {"oidc_issuer": f"http://127.0.0.1:{free_port()}"},
    "answers 503": answering_503,
    "JWKS not JSON": lambda p: {"oidc_jwks_url": p.issuer + NOT_JSON_PATH},
    "JWKS without usable keys": lambda p: {"oidc_jwks_url": p.issuer + DISCOVERY_PATH},
    "discovery of another issuer": lambda p: {"oidc_issuer": p.issuer + "/"},
}


@pytest.mark.parametrize("broken", BROKEN.values(), ids=BROKEN.keys())
async def test_keys_that_cannot_be_fetched_make_the_token_invalid(
    provider: Provider, broken: Callable[[Provider], dict[str, object]],
) -> None:
    settings = provider.settings(**broken(provider))
    verifier = TokenVerifier(settings)
    await refused(verifier, RSA.sign(provider.claims(iss=settings.oidc_issuer)))


async def test_verify_known_never_fetches(provider: Provider) -> None:
    clock = FakeClock()
    verifier = TokenVerifier(provider.settings(), clock=clock)
    token = RSA.sign(provider.claims())
    with pytest.raises(InvalidToken):
        verifier.verify_known(token)
    assert sum(provider.requests.values()) == 0
    await verifier.verify(token)
    clock.advance(CACHE_SECONDS * 10)  # long stale: still used to tell clients apart
    assert verifier.verify_known(token).subject == "alice"
    with pytest.raises(InvalidToken):
        verifier.verify_known(ATTACKER.sign(provider.claims(), kid="made-up"))
    assert provider.fetches == 1


# --- through an API -------------------------------------------------------------------


def api(settings: Settings) -> httpx.AsyncClient:
    app = create_api("OIDC test", settings, {}, rate_limit_storage_uri=MEMORY_STORAGE_URI)
    app.state.settings = settings

    @app.get("/api/v1/report", dependencies=[Depends(require_roles(Role.ANALYST))])
    async def report(principal: PrincipalDep) -> dict[str, str]:
        return {"subject": principal.subject}

    transport = httpx.ASGITransport(app, client=("10.0.0.7", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_an_api_accepts_the_issuers_tokens_and_refuses_bad_ones_with_401(
    provider: Provider,
) -> None:
    now = int(time.time())
    async with api(provider.settings()) as http:
        ok = await http.get("/api/v1/report", headers=bearer(RSA.sign(provider.claims())))
        assert ok.status_code == 200 and ok.json() == {"subject": "alice"}
        no_role = await http.get("/api/v1/report", headers=bearer(
            EC.sign(without(provider.claims(), "realm_access"))))
        assert no_role.status_code == 403
        for token, detail in [
            (RSA.sign(provider.claims(aud="someone-else")), "Invalid token"),
            (ATTACKER.sign(provider.claims(), kid="made-up"), "Invalid token"),
            (hs256_with_public_key(provider), "Invalid token"),
            (RSA.sign(provider.claims(iat=now - 600, exp=now - 120)), "Token expired"),
        ]:
            response = await http.get("/api/v1/report", headers=bearer(token))
            assert response.status_code == 401 and response.json()["detail"] == detail
            assert response.headers["WWW-Authenticate"] == "Bearer"
    assert provider.fetches == 1


async def test_an_api_whose_provider_is_down_answers_401(provider: Provider) -> None:
    settings = provider.settings(oidc_jwks_url=f"http://127.0.0.1:{free_port()}/keys")
    async with api(settings) as http:
        response = await http.get("/api/v1/report", headers=bearer(RSA.sign(provider.claims())))
    assert response.status_code == 401 and response.json()["detail"] == "Invalid token"


async def test_the_rate_limit_counts_the_issuers_tokens_by_subject_once_keys_are_at_hand(
    provider: Provider,
) -> None:
    token = bearer(RSA.sign(provider.claims()))
    async with api(provider.settings(rate_limit_per_minute=100)) as http:
        remaining = [(await http.get("/api/v1/report", headers=token)).headers[
            "RateLimit-Remaining"] for _ in range(3)]
    # The first counted by address (no keys fetched yet), then by subject.
    assert remaining == ["99", "99", "98"]


async def test_client_identity_uses_the_apps_verifier_with_only_keys_at_hand(
    provider: Provider,
) -> None:
    settings = provider.settings()
    app = create_api("OIDC test", settings, {}, rate_limit_storage_uri=MEMORY_STORAGE_URI)
    token = RSA.sign(provider.claims())

    def identity(token: str) -> str:
        scope = {"type": "http", "app": app, "client": ("10.0.0.7", 40000),
                 "headers": [(b"authorization", f"Bearer {token}".encode())]}
        return client_identity(scope, settings)

    assert identity(issue_token(settings, "bob", [])) == "sub:bob"
    assert identity(token) == "ip:10.0.0.7"
    assert sum(provider.requests.values()) == 0
    await app_token_verifier(app.state, settings).verify(token)  # as an endpoint would
    assert identity(token) == "sub:alice"
    assert identity(ATTACKER.sign(provider.claims(), kid="made-up")) == "ip:10.0.0.7"
    assert provider.fetches == 1


async def test_without_an_audience_configured_no_token_of_the_issuer_passes(
    provider: Provider,
) -> None:
    verifier = TokenVerifier(provider.settings(oidc_audience=None))
    await refused(verifier, RSA.sign(provider.claims()))
    await refused(verifier, RSA.sign(without(provider.claims(), "aud")))
