"""An event archive and analytics facts that keep nothing: for measuring or testing the
read models alone."""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from projections.facts.rows import Known, Rows
from schemas.envelope import EventEnvelope


class NoArchive:
    """An event archive that keeps nothing: the read models alone are measured."""

    async def setup(self) -> None:
        return None

    async def append(self, events: Sequence[EventEnvelope]) -> int:
        return 0

    async def history(self, aggregate_id: UUID) -> list[dict[str, Any]]:
        return []

    async def rows(self) -> list[dict[str, Any]]:
        return []

    async def event_counts(self) -> dict[str, int]:
        return {}

    async def drop(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


class NoFacts:
    """Analytics facts that keep nothing: the read models alone are measured or tested."""

    async def setup(self) -> None:
        return None

    async def known(self, wanted: dict[str, set[str]]) -> Known:
        return Known()

    async def write(self, rows: Rows) -> int:
        return 0

    async def snapshot(self) -> dict[str, dict[str, dict[str, Any]]]:
        return {}

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
