"""The signing keys of an external OpenID Connect provider: fetched, cached, refetched.

The keys (a JWK Set) come from `TANQORY_OIDC_JWKS_URL`, else from the `jwks_uri` of the
issuer's discovery document, and are used for `TANQORY_OIDC_JWKS_CACHE_SECONDS`. A token
naming a key id the cached set lacks (the provider rotated its keys) fetches them again.
Whatever prompts it, at most one fetch starts every `MIN_FETCH_INTERVAL_SECONDS`, so a
flood of tokens naming made-up keys costs the provider one request per interval;
requests that need keys while a fetch runs wait for that one. A fetch that fails leaves
the keys as they were (and is logged): a token whose key is not at hand is then refused.
"""

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
from jwt import PyJWK, PyJWKSet

log = logging.getLogger(__name__)

ALGORITHMS = ("RS256", "ES256")  # the only ones accepted from the provider
DISCOVERY_PATH = "/.well-known/openid-configuration"
FETCH_TIMEOUT_SECONDS = 5.0
MIN_FETCH_INTERVAL_SECONDS = 10.0

Clock = Callable[[], float]


class UnknownSigningKey(jwt.InvalidTokenError):
    """The token names a key the provider does not publish, or whose keys are not at hand."""


class ProviderAnswerError(Exception):
    """The provider answered with something other than a discovery document or a JWK Set."""


class JwksCache:
    """The provider's signing keys by key id, for one process (one per app).

    Keys stay fresh for `cache_seconds`, but never less than the fetch interval: a fetch
    could not replace them sooner anyway.
    """

    def __init__(
        self, issuer: str, jwks_url: str | None, cache_seconds: float, *,
        clock: Clock = time.monotonic,
    ) -> None:
        self._issuer = issuer
        self._jwks_url = jwks_url  # None until discovered, when not configured
        self._lifetime = max(cache_seconds, MIN_FETCH_INTERVAL_SECONDS)
        self._clock = clock
        self._keys: dict[str, PyJWK] = {}
        self._fresh_until = -math.inf
        self._next_fetch_at = -math.inf
        self._fetching = asyncio.Lock()

    def known(self, kid: str) -> PyJWK | None:
        """The key `kid` among those last fetched, however long ago; never any I/O."""
        return self._keys.get(kid)

    async def key(self, kid: str) -> PyJWK:
        """The key `kid` among fresh keys, fetching them first if they are stale or lack it
        (and the fetch interval allows). Raises UnknownSigningKey."""
        key = self._fresh(kid)
        if key is None:
            async with self._fetching:
                key = self._fresh(kid)  # the fetch this request waited for may have brought it
                if key is None and self._clock() >= self._next_fetch_at:
                    await self._fetch()
                    key = self._fresh(kid)
        if key is None:
            raise UnknownSigningKey(f"no signing key {kid!r} from the OpenID Connect issuer")
        return key

    def _fresh(self, kid: str) -> PyJWK | None:
        return self._keys.get(kid) if self._clock() < self._fresh_until else None

    async def _fetch(self) -> None:
        """Replaces the keys with the provider's current ones; on failure keeps them."""
        try:
            keys = await self._download()
        except Exception as error:  # noqa: BLE001 - whatever broke, the keys are not at hand
            log.warning("fetching the OpenID Connect issuer's signing keys failed (%s: %s); "
                        "trying again in %ss at the earliest", type(error).__name__, error,
                        MIN_FETCH_INTERVAL_SECONDS)
            keys = None
        now = self._clock()
        self._next_fetch_at = now + MIN_FETCH_INTERVAL_SECONDS
        if keys is not None:
            self._keys, self._fresh_until = keys, now + self._lifetime

    async def _download(self) -> dict[str, PyJWK]:
        async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS) as client:
            if self._jwks_url is None:
                self._jwks_url = _jwks_uri(await _get_json(client, self._discovery_url()),
                                           self._issuer)
            return _signing_keys(await _get_json(client, self._jwks_url))

    def _discovery_url(self) -> str:
        return self._issuer.rstrip("/") + DISCOVERY_PATH


async def _get_json(client: httpx.AsyncClient, url: str) -> Any:
    response = await client.get(url, headers={"Accept": "application/json"})
    response.raise_for_status()
    return response.json()


def _jwks_uri(discovery: Any, issuer: str) -> str:
    """The `jwks_uri` of a discovery document, which must be the issuer's own (OpenID
    Connect Discovery 1.0, section 4.3)."""
    if not isinstance(discovery, dict) or discovery.get("issuer") != issuer:
        raise ProviderAnswerError(f"the discovery document is not issuer {issuer!r}'s")
    jwks_uri = discovery.get("jwks_uri")
    if not isinstance(jwks_uri, str):
        raise ProviderAnswerError("the discovery document has no jwks_uri")
    return jwks_uri


def _signing_keys(jwk_set: Any) -> dict[str, PyJWK]:
    """The keys of a JWK Set that can check the provider's tokens, by key id: RS256 and
    ES256 keys for signatures; keys of other kinds, or without an id, are left out."""
    if not isinstance(jwk_set, dict):
        raise ProviderAnswerError("not a JWK Set")
    return {
        key.key_id: key for key in PyJWKSet.from_dict(jwk_set)
        if key.key_id and key.algorithm_name in ALGORITHMS and key.public_key_use in (None, "sig")
    }
