"""Customers' keys in memory, for unit tests of what seals and unseals personal values."""

import os
import threading
from uuid import UUID

from runtime.key_store import KEY_BYTES, Erased
from runtime.personal_data import PersonalData


class MemoryKeyStore:
    """A KeyStore in a dict: keys created on first use, tombstones after `destroy`."""

    def __init__(self) -> None:
        self._keys: dict[UUID, bytes | None] = {}  # None: destroyed
        self._lock = threading.Lock()

    def key_for(self, subject: UUID) -> bytes:
        with self._lock:
            key = self._keys.setdefault(subject, os.urandom(KEY_BYTES))
        if key is None:
            raise Erased(subject)
        return key

    def find(self, subject: UUID) -> bytes | None:
        return self._keys.get(subject)

    def is_erased(self, subject: UUID) -> bool:
        return subject in self._keys and self._keys[subject] is None

    def destroy(self, subject: UUID) -> bool:
        with self._lock:
            destroyed = self._keys.get(subject) is not None
            self._keys[subject] = None
        return destroyed

    def close(self) -> None:
        pass


def memory_personal() -> PersonalData:
    """PersonalData over a fresh MemoryKeyStore, with no key cache (an erasure shows at once)."""
    return PersonalData(MemoryKeyStore(), 0)
