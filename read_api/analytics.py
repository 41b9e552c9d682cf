"""GET /api/v1/analytics/...: the analysts' figures, over the analytics facts and rollups
(ADR 0011). Analysts and admins only; cached briefly, under a generation the facts
projector moves on every write, so a new order shows at once.
"""

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from projections.facts.projector import GENERATION
from read_api import analytics_figures as figures
from read_api.deps import ReadSide, ReadSideDep
from runtime.auth import Principal, Role
from runtime.cache import tagged, untag
from runtime.deps import SettingsDep, require_roles
from runtime.problems import problems
from schemas.analytics import Funnel, GroupBy, Interval, Inventory, SalesReport, TopProducts
from schemas.envelope import RECORDABLE_FROM

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics (queries)"])
Analyst = Annotated[Principal, Depends(require_roles(Role.ANALYST, Role.ADMIN))]
JSON = "application/json"
HOUR = timedelta(hours=1)
DEFAULT_RANGE = timedelta(days=30)
MAX_RANGE = timedelta(days=366)
MAX_HOURLY_RANGE = timedelta(days=31)
# What ClickHouse's DateTime holds (as an event's time must), with room for a range's
# default start.
EARLIEST, LATEST = RECORDABLE_FROM, datetime(2105, 1, 1, tzinfo=UTC)
RANGE_HELP = ("`from` and `to`: ISO 8601 dates or date-times (UTC when no offset is given); "
              "`from` is floored and `to` ceiled to whole hours, and the response echoes "
              "them. Default: the last 30 days up to the next whole hour. At most 366 days "
              "(31 with `interval=hour`). Cached for `cache_ttl_analytics_seconds`, and "
              "fresh as soon as a new fact is written.")
From = Annotated[datetime | None, Query(alias="from", description="Range start (inclusive)")]
To = Annotated[datetime | None, Query(description="Range end (exclusive)")]
RESPONSES = problems(400, 401, 403, 422, 503)


def _invalid(parameter: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("query", parameter), "msg": message,
                                    "type": "value_error"}])


def _utc(moment: datetime, parameter: str) -> datetime:
    try:
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        raise _invalid(parameter, "must be between 1970 and 2105") from None
    if not EARLIEST <= moment < LATEST:
        raise _invalid(parameter, "must be between 1970 and 2105")
    return moment


def _floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _ceil(moment: datetime) -> datetime:
    floored = _floor(moment)
    return floored if floored == moment else floored + HOUR


def effective_range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The range a query covers: whole UTC hours, by default the last 30 days up to the
    next whole hour; raises a 422 naming the parameter that makes it invalid."""
    to = _ceil(_utc(end, "to")) if end is not None else _floor(datetime.now(UTC)) + HOUR
    since = _floor(_utc(start, "from")) if start is not None else to - DEFAULT_RANGE
    if since < EARLIEST:
        raise _invalid("to", "the default range (30 days before `to`) must start in 1970 or later")
    if since >= to:
        raise _invalid("from", "must be before `to`")
    if to - since > MAX_RANGE:
        raise _invalid("from", "the range must not exceed 366 days")
    return since, to


async def _cached(read: ReadSide, ttl: int, name: str, key: tuple[Any, ...],
                  answer: Callable[[], Awaitable[BaseModel]]) -> Response:
    """The answer's JSON, from the cache when it holds one of the current generation."""
    generation = int(await read.cache.get(GENERATION) or 0)
    fingerprint = hashlib.sha256(repr(key).encode()).hexdigest()
    cache_key = f"analytics:{name}:{generation}:{fingerprint}"
    headers = {"Cache-Control": "private, no-store"}
    if (body := untag(await read.cache.get(cache_key), generation)) is not None:
        return Response(body, media_type=JSON, headers={**headers, "X-Cache": "HIT"})
    body = (await answer()).model_dump_json(by_alias=True).encode()
    await read.cache.set(cache_key, tagged(generation, body), ttl)
    return Response(body, media_type=JSON, headers={**headers, "X-Cache": "MISS"})


@router.get("/sales", response_model=SalesReport, responses=RESPONSES,
            summary="Sales (net of refunds, by time of payment) per hour or day (analysts)",
            description=RANGE_HELP)
async def sales(principal: Analyst, read: ReadSideDep, settings: SettingsDep,
                from_: From = None, to: To = None, interval: Interval = Interval.DAY,
                group_by: GroupBy | None = None) -> Response:
    start, end = effective_range(from_, to)
    if interval is Interval.HOUR and end - start > MAX_HOURLY_RANGE:
        raise _invalid("interval", "hourly figures cover at most 31 days")
    return await _cached(
        read, settings.cache_ttl_analytics_seconds, "sales", (start, end, interval, group_by),
        lambda: figures.sales(read.facts, start, end, interval, group_by, settings.currency))


@router.get("/top-products", response_model=TopProducts, responses=RESPONSES,
            summary="Best-selling products by revenue (analysts)", description=RANGE_HELP)
async def top_products(principal: Analyst, read: ReadSideDep, settings: SettingsDep,
                       from_: From = None, to: To = None,
                       limit: Annotated[int, Query(ge=1, le=100)] = 10) -> Response:
    start, end = effective_range(from_, to)
    return await _cached(
        read, settings.cache_ttl_analytics_seconds, "top", (start, end, limit),
        lambda: figures.top_products(read.facts, start, end, limit, settings.currency))


@router.get("/funnel", response_model=Funnel, responses=RESPONSES,
            summary="Orders placed in the range and the furthest stage each reached (analysts)",
            description=RANGE_HELP)
async def funnel(principal: Analyst, read: ReadSideDep, settings: SettingsDep,
                 from_: From = None, to: To = None) -> Response:
    start, end = effective_range(from_, to)
    return await _cached(read, settings.cache_ttl_analytics_seconds, "funnel", (start, end),
                         lambda: figures.funnel(read.facts, start, end))


@router.get("/inventory", response_model=Inventory, responses=RESPONSES,
            summary="Stock, units out, turnover and cover per product, low stock first "
                    "(analysts)", description=RANGE_HELP)
async def inventory(principal: Analyst, read: ReadSideDep, settings: SettingsDep,
                    from_: From = None, to: To = None, low_only: bool = False,
                    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
                    limit: Annotated[int, Query(ge=1, le=100)] = 20) -> Response:
    start, end = effective_range(from_, to)
    threshold = settings.low_stock_threshold
    return await _cached(
        read, settings.cache_ttl_analytics_seconds, "inventory",
        (start, end, low_only, page, limit, threshold),
        lambda: figures.inventory(read.facts, start, end, low_only, page, limit, threshold))
