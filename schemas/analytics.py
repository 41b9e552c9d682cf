"""The analyst API's responses (GET /api/v1/analytics/...): figures of the analytics facts.

Amounts are decimal strings in the platform's currency; times are UTC, ISO 8601 with Z.
"""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, PlainSerializer

from schemas.api import Pagination

# Decimal strings with two places ("12.50"), as every amount of the API.
Amount = Annotated[Decimal, PlainSerializer(lambda d: f"{d:.2f}", return_type=str,
                                            when_used="json"),
                   Field(json_schema_extra={"type": "string", "format": "decimal"})]
# Whole UTC seconds, with Z.
Moment = Annotated[datetime, PlainSerializer(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                             return_type=str, when_used="json")]


class Interval(StrEnum):
    HOUR = "hour"
    DAY = "day"


class GroupBy(StrEnum):
    PRODUCT = "product"
    CATEGORY = "category"


class ProductKey(BaseModel):
    product_id: str
    name: str | None  # None: not (yet) in the catalog's facts
    sku: str | None


class CategoryKey(BaseModel):
    category_id: str | None  # None: products without a category
    name: str | None
    slug: str | None


class SalesPoint(BaseModel):
    at: Moment  # the bucket's start
    orders: int
    units: int
    revenue: Amount


class SalesSeries(BaseModel):
    key: ProductKey | CategoryKey | None
    points: list[SalesPoint]


class SalesTotals(BaseModel):
    orders: int
    units: int
    revenue: Amount
    average_order_value: Amount  # revenue / orders; 0.00 without orders


class SalesReport(BaseModel):
    from_: Moment = Field(serialization_alias="from")
    to: Moment
    interval: Interval
    group_by: GroupBy | None
    currency: str
    series: list[SalesSeries]
    totals: SalesTotals


class TopProduct(BaseModel):
    product_id: str
    name: str | None
    sku: str | None
    category_id: str | None
    category_name: str | None
    units: int
    revenue: Amount
    orders: int


class TopProducts(BaseModel):
    from_: Moment = Field(serialization_alias="from")
    to: Moment
    currency: str
    data: list[TopProduct]


class FunnelStage(BaseModel):
    stage: str
    orders: int
    rate: float  # orders / placed; 0.0 when none were placed


class EndedOrders(BaseModel):
    cancelled: int
    rejected: int
    expired: int


class Funnel(BaseModel):
    from_: Moment = Field(serialization_alias="from")
    to: Moment
    stages: list[FunnelStage]
    ended: EndedOrders


class StockLine(BaseModel):
    product_id: str
    name: str | None
    sku: str | None
    on_hand: int  # at the end of the range
    reserved: int
    available: int
    units_out: int  # committed within the range
    turnover: float | None  # units_out / mean on hand at the range's ends; None when 0
    days_of_cover: float | None  # available / units out per day; None without any out
    low_stock: bool


class Inventory(BaseModel):
    from_: Moment = Field(serialization_alias="from")
    to: Moment
    data: list[StockLine]
    pagination: Pagination
