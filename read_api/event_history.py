"""GET /api/v1/analytics/events: the event history for analysts, one JSON envelope a line.

Pages follow `X-Next-Cursor` (sent while more may follow), so a client streams any
amount of history a page at a time. `tanqory history` reads it this way when embedded:
the serving process holds the chDB directory, which no other process can open. Personal
values stay sealed here: only an operator's `tanqory history --unseal` opens them.
"""

import json
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from projections.stores.history_query import Cursor, HistoryFilter, HistorySource, envelope
from projections.stores.history_query import moment as parse_moment
from projections.stores.history_query import page as read_page
from runtime.auth import Principal
from runtime.deps import require_roles
from runtime.problems import ProblemError, problems
from schemas.roles import Role

router = APIRouter(prefix="/api/v1/analytics/events", tags=["event history (queries)"])
Analyst = Annotated[Principal, Depends(require_roles(Role.ANALYST, Role.ADMIN))]
MEDIA_TYPE = "application/x-ndjson"
NEXT = "X-Next-Cursor"
MAX_LIMIT = 5000


async def get_event_history(request: Request) -> HistorySource:
    return request.app.state.event_history  # type: ignore[no-any-return]


HistoryDep = Annotated[HistorySource, Depends(get_event_history)]


def _filter(context: list[str], aggregate_id: UUID | None, aggregate_type: str | None,
            type_: list[str], since: str | None, until: str | None,
            correlation_id: str | None) -> HistoryFilter:
    moments = {}
    for name, text in (("since", since), ("until", until)):
        try:
            moments[name] = None if text is None else parse_moment(text)
        except ValueError:
            raise ProblemError(400, "bad-request", f"{name} is not an ISO 8601 date or "
                               f"date-time: {text!r}") from None
    return HistoryFilter(tuple(context), None if aggregate_id is None else str(aggregate_id),
                         aggregate_type, tuple(type_), moments["since"], moments["until"],
                         correlation_id)


@router.get("", response_class=Response, responses={
    200: {"content": {MEDIA_TYPE: {}}, "description": "One event envelope (docs/events.md) "
          f"a line; `{NEXT}` names the next page while more may follow"},
    **problems(400, 401, 403, 422)},
    summary="Events of every context in time order, filtered, a page at a time (analysts)")
async def list_events(
    history: HistoryDep, _: Analyst,
    context: Annotated[list[str], Query(description="Repeat for several")] = [],  # noqa: B006
    aggregate_id: UUID | None = None,
    aggregate_type: str | None = None,
    type_: Annotated[list[str], Query(alias="type", description="An event type; repeat for "
                                      "several")] = [],  # noqa: B006
    since: Annotated[str | None, Query(description="ISO 8601, inclusive (UTC if no offset)")
                     ] = None,
    until: Annotated[str | None, Query(description="ISO 8601, exclusive (UTC if no offset)")
                     ] = None,
    correlation_id: str | None = None,
    after: Annotated[str | None, Query(description=f"The previous page's {NEXT}")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 1000,
) -> Response:
    try:
        cursor = None if after is None else Cursor.decode(after)
    except ValueError as error:
        raise ProblemError(400, "bad-request", f"after: {error}") from None
    wanted = _filter(context, aggregate_id, aggregate_type, type_, since, until, correlation_id)
    rows = await read_page(history, wanted, cursor, limit)
    body = "".join(json.dumps(envelope(r), ensure_ascii=False, separators=(",", ":")) + "\n"
                   for r in rows)
    headers = {"Cache-Control": "private, no-store"}
    if len(rows) == limit:
        headers[NEXT] = Cursor.after(rows[-1]).encode()
    return Response(body, media_type=MEDIA_TYPE, headers=headers)
