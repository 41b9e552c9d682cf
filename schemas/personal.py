"""Personal values sealed with their subject's key (runtime/personal_data.py), as the
contracts of every context spell them, and the key subject of a token's subject."""

from typing import Annotated
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import StringConstraints

# A personal value sealed with its customer's key: a version tag, then base64url.
Sealed = Annotated[str, StringConstraints(pattern=r"^pd[0-9]+\.[A-Za-z0-9_-]+={0,2}$",
                                          max_length=20_000)]

SUBJECTS = uuid5(NAMESPACE_URL, "tanqory:personal:subject")


def personal_subject(subject: str) -> UUID:
    """The key subject of a token's subject: a local account's subject is its customer
    id, so its own key (and its erasure) covers what it ordered; any other subject (a
    token of another issuer, or `tanqory token`'s) gets a key of its own, named by a
    uuid5 of the subject under a fixed namespace, so every order has one."""
    try:
        return UUID(subject)
    except ValueError:
        return uuid5(SUBJECTS, subject)
