"""Opaque tokens handed to customers (refresh, email verification, password reset), and the
digests they are stored as.

Only the digest is stored, so a copy of the tables lets no one act as a customer. A fast
hash (SHA-256, unsalted) is right for these tokens and wrong for passwords: a token carries
256 random bits, so there is nothing to guess and no dictionary to try, and a lookup by
digest must be a plain index lookup. Passwords, chosen by people, are hashed with argon2
elsewhere.
"""

import hashlib
import secrets

TOKEN_BYTES = 32


def new_token() -> str:
    """A fresh token: 32 random bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(token: str) -> str:
    """The SHA-256 of the token, in hex: what the credentials store keeps and looks up."""
    return hashlib.sha256(token.encode()).hexdigest()
