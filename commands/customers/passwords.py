"""Password hashing: argon2id, with the same cost for an unknown account.

Parameters: OWASP's Password Storage Cheat Sheet's first argon2id choice (19 MiB, 2
passes, 1 lane). RFC 9106's low-memory profile (64 MiB, 3 passes, 4 lanes) took about
300 ms a hash on this 2-core machine, which would let a handful of logins a second
saturate it; this one keeps offline guessing costly (memory-hard) at a fraction of that.
"""

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    def __init__(self) -> None:
        self._hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1,
                                      hash_len=32, salt_len=16, type=Type.ID)
        # Checked against when the account is unknown, so the answer takes as long.
        self._decoy = self._hasher.hash("an account that does not exist")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """True if `password` matches `stored`; with no stored hash, spends the same time
        and answers False."""
        try:
            return self._hasher.verify(stored or self._decoy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)
