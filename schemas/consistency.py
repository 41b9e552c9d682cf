"""Consistency tokens: 'this write is at version N of aggregate A'.

A read that presents a token waits until its read model reflects at least
that version of that aggregate. The token is opaque to clients.
"""

from typing import NamedTuple
from uuid import UUID

HEADER = "X-Consistency-Token"
PREFIX = "v1"


class ConsistencyToken(NamedTuple):
    aggregate_type: str
    aggregate_id: UUID
    version: int

    def encode(self) -> str:
        return f"{PREFIX}.{self.aggregate_type}.{self.aggregate_id.hex}.{self.version}"

    @classmethod
    def parse(cls, text: str) -> "ConsistencyToken":
        """Raises ValueError for anything that is not a token we issued."""
        prefix, aggregate_type, aggregate_hex, version = text.strip().split(".")
        if prefix != PREFIX or not aggregate_type.isidentifier():
            raise ValueError("not a consistency token")
        if not version.isascii() or not version.isdigit() or int(version) < 1:
            raise ValueError("not a consistency token")
        return cls(aggregate_type, UUID(hex=aggregate_hex), int(version))
