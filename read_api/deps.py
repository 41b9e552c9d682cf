"""Dependencies of the read API, as Annotated aliases."""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request

from projections.stores.base import ReadModels
from projections.stores.facts_queries import FactQueries
from read_api.as_of import EventStreams
from runtime.cache import Cache
from runtime.personal_data import PersonalData
from runtime.signals import Signals
from schemas import consistency


@dataclass(frozen=True)
class ReadSide:
    """What the read API reads from: read models (read only), the cache, progress signals,
    the keys that unseal personal values for those who may see them, and the event stores
    (read only: time-travel reads fold an aggregate's events)."""

    models: ReadModels
    cache: Cache
    signals: Signals
    personal: PersonalData
    streams: EventStreams
    facts: FactQueries  # the analytics facts and rollups


async def get_read_side(request: Request) -> ReadSide:
    return request.app.state.read_side  # type: ignore[no-any-return]


ReadSideDep = Annotated[ReadSide, Depends(get_read_side)]
ConsistencyHeader = Annotated[
    str | None,
    Header(
        alias=consistency.HEADER,
        description="A token from a command response: wait until this read reflects it.",
    ),
]


def with_etag(responses: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """`responses` and a 200 that documents the ETag header a read by id sends."""
    header = {"description": 'The version shown, quoted ("3"): send it back as If-Match',
              "schema": {"type": "string"}}
    return {200: {"headers": {"ETag": header}}, **responses}
