"""Hands relayed envelopes straight to the projectors (embedded mode: no broker)."""

import logging
from collections.abc import Sequence

from projections.handler import ProjectionHandler
from schemas.envelope import EventEnvelope

log = logging.getLogger(__name__)


class ProjectionSink:
    def __init__(self, handler: ProjectionHandler) -> None:
        self._handler = handler

    def prepare(self, envelopes: Sequence[EventEnvelope]) -> Sequence[EventEnvelope]:
        return envelopes

    async def deliver(self, envelopes: Sequence[EventEnvelope]) -> None:
        # Rejected events are logged and counted by the handler; with no broker there
        # is no dead-letter topic to route them to.
        await self._handler.handle(envelopes)
