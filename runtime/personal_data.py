"""Personal fields (email, name, phone, addresses) sealed with their subject's key, so that
erasing a customer (destroying the key) leaves the events in place but their personal
fields unreadable for good: crypto-shredding.

A sealed value is `pd1.` followed by the unpadded base64url of a random 96-bit nonce and the
AES-256-GCM ciphertext with its 128-bit tag. The associated data binds the format version,
the subject and the field's name, so a sealed value copied to another customer or another
field does not open.

Keys are cached in the process for `cache_seconds` (TANQORY_PERSONAL_KEY_CACHE_SECONDS):
after an erasure in another process, this one may still read the subject's fields for that
long, and no longer. An erasure is final, so that is remembered without a time limit; a key
not found is not remembered at all, since another process may create it a moment later.
"""

import asyncio
import base64
import binascii
import json
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from typing import Literal, NamedTuple
from uuid import UUID

from cachetools import LRUCache, TTLCache
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from runtime.key_store import Erased, KeyStore

PREFIX = "pd1."
NONCE_BYTES = 12
TAG_BYTES = 16
CACHE_SIZE = 10_000  # subjects per cache (live keys, and erased subjects)

_SEALED = re.compile(re.escape(PREFIX) + r"[A-Za-z0-9_-]+")


class _Cache(Enum):
    MISS = "miss"


class SealedValueError(ValueError):
    """Not a value sealed for this subject and field: malformed, altered, or moved from
    another subject or field. A bug or tampering, never an erasure (that reads as None)."""


class SealedField(NamedTuple):
    subject: UUID
    field: str
    sealed: str


class PersonalData:
    """Seals and unseals personal fields; thread-safe (command handlers run in threads)."""

    def __init__(self, keys: KeyStore, cache_seconds: float) -> None:
        self._keys = keys
        self._lock = threading.Lock()
        self._live: TTLCache[UUID, bytes] = TTLCache(CACHE_SIZE, ttl=cache_seconds)
        self._erased: LRUCache[UUID, bool] = LRUCache(CACHE_SIZE)

    @staticmethod
    def is_sealed(value: str) -> bool:
        """Whether `value` has the shape of a sealed value (whether it opens needs the key)."""
        return _payload(value) is not None

    def seal(self, subject: UUID, field: str, value: str) -> str:
        """Raises Erased for an erased subject: nothing personal is recorded after that."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self._key_for(subject)).encrypt(
            nonce, value.encode(), _associated(subject, field))
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")

    def unseal(self, subject: UUID, field: str, sealed: str) -> str | None:
        """The clear value, or None when the subject was erased (or never had a key)."""
        payload = _decode(sealed)
        key = self._find(subject)
        return None if key is None else _open(key, subject, field, payload)

    async def unseal_many(self, items: Sequence[SealedField]) -> list[str | None]:
        """`unseal` for a batch, from the event loop: the keys not cached are looked up in
        one worker thread, once per distinct subject."""
        payloads = [_decode(item.sealed) for item in items]
        keys = await self._keys_of({item.subject for item in items})
        return [_open_or_none(keys[item.subject], item.subject, item.field, payload)
                for item, payload in zip(items, payloads, strict=True)]

    def seal_json(self, subject: UUID, field: str, value: Mapping[str, object]) -> str:
        """A JSON object of personal fields (e.g. an address) sealed as one value."""
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        return self.seal(subject, field, text)

    def unseal_json(self, subject: UUID, field: str, sealed: str) -> dict[str, object] | None:
        text = self.unseal(subject, field, sealed)
        return None if text is None else json_object(text)

    def erase(self, subject: UUID) -> bool:
        """Destroys the subject's key (True if there was one) and forgets it in this
        process at once; other processes stop reading within their `cache_seconds`."""
        destroyed = self._keys.destroy(subject)
        self._remember_erased(subject)
        return destroyed

    def _key_for(self, subject: UUID) -> bytes:
        key = self._cached(subject)
        if key is None:
            raise Erased(subject)
        if key is not _Cache.MISS:
            return key
        try:
            return self._remember(subject, self._keys.key_for(subject))
        except Erased:
            self._remember_erased(subject)
            raise

    def _find(self, subject: UUID) -> bytes | None:
        key = self._cached(subject)
        return self._look_up(subject) if key is _Cache.MISS else key

    async def _keys_of(self, subjects: Iterable[UUID]) -> dict[UUID, bytes | None]:
        """The cached keys, and the others looked up in one worker thread."""
        cached = {subject: self._cached(subject) for subject in subjects}
        missing = [subject for subject, key in cached.items() if key is _Cache.MISS]
        found = await asyncio.to_thread(self._find_all, missing) if missing else {}
        return {subject: key for subject, key in cached.items() if key is not _Cache.MISS} | found

    def _find_all(self, subjects: Iterable[UUID]) -> dict[UUID, bytes | None]:
        """From the key store, one subject at a time (blocking: call it in a thread)."""
        return {subject: self._look_up(subject) for subject in subjects}

    def _look_up(self, subject: UUID) -> bytes | None:
        key = self._keys.find(subject)
        if key is not None:
            return self._remember(subject, key)
        if self._keys.is_erased(subject):
            self._remember_erased(subject)
        return None

    def _cached(self, subject: UUID) -> bytes | None | Literal[_Cache.MISS]:
        """The cached key, None if the subject is known to be erased, else MISS."""
        with self._lock:
            if subject in self._erased:
                return None
            key: bytes | None = self._live.get(subject)
            return _Cache.MISS if key is None else key

    def _remember(self, subject: UUID, key: bytes) -> bytes:
        """Caches `key`, unless an erasure in this process overtook the lookup."""
        with self._lock:
            if subject not in self._erased:
                self._live[subject] = key
        return key

    def _remember_erased(self, subject: UUID) -> None:
        with self._lock:
            self._erased[subject] = True
            self._live.pop(subject, None)


def json_object(text: str) -> dict[str, object]:
    """The JSON object `seal_json` sealed, e.g. from a text `unseal_many` returned."""
    value = json.loads(text)
    if not isinstance(value, dict):
        raise SealedValueError("the sealed value is not a JSON object")
    return value


def _associated(subject: UUID, field: str) -> bytes:
    """The version, the subject (fixed length) and the field: bound to the ciphertext."""
    return PREFIX.encode("ascii") + subject.bytes + field.encode()


def _payload(value: str) -> bytes | None:
    """The nonce and ciphertext of a well-formed sealed value, else None."""
    if not _SEALED.fullmatch(value):
        return None
    encoded = value[len(PREFIX):]
    try:
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        return None
    return payload if len(payload) >= NONCE_BYTES + TAG_BYTES else None


def _decode(sealed: str) -> bytes:
    payload = _payload(sealed)
    if payload is None:
        raise SealedValueError(f"not a sealed value (expected {PREFIX}<base64url>)")
    return payload


def _open(key: bytes, subject: UUID, field: str, payload: bytes) -> str:
    try:
        clear = AESGCM(key).decrypt(payload[:NONCE_BYTES], payload[NONCE_BYTES:],
                                    _associated(subject, field))
    except InvalidTag:
        raise SealedValueError(f"the sealed {field!r} of {subject} does not open: altered, "
                               "or sealed for another subject or field") from None
    return clear.decode()


def _open_or_none(key: bytes | None, subject: UUID, field: str, payload: bytes) -> str | None:
    return None if key is None else _open(key, subject, field, payload)
