"""Money: decimals with two places, never floats."""

from decimal import Decimal
from typing import Annotated

from pydantic import Field

Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2, allow_inf_nan=False)]


def to_minor_units(amount: Decimal) -> int:
    """Cents, for sorting and range filters in stores without a decimal type."""
    return int(amount.scaleb(2))
