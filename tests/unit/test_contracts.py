"""Small pure contracts: tokens, pagination, envelopes on the wire, settings, JWT."""

import json
from decimal import Decimal
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from runtime.auth import InvalidToken, Role, issue_token, verify_token
from runtime.settings import DEVELOPMENT_SECRET, Environment, Settings
from schemas.api import Pagination
from schemas.catalog import CreateProduct
from schemas.consistency import ConsistencyToken
from schemas.envelope import RECORDABLE_FROM
from streams import codec
from tests.unit.test_products_projector import created


@given(st.uuids(), st.integers(min_value=1, max_value=2**40))
def test_consistency_tokens_round_trip(aggregate_id: object, version: int) -> None:
    token = ConsistencyToken("Product", aggregate_id, version)  # type: ignore[arg-type]
    assert ConsistencyToken.parse(token.encode()) == token


@pytest.mark.parametrize("text", ["", "v1", "v2.Product.00.1", "v1.Product.zz.1",
                                  f"v1.Product.{uuid4().hex}.0", f"v1.Product.{uuid4().hex}.-1",
                                  f"v1.Product.{uuid4().hex}.²", f"v1.a b.{uuid4().hex}.1"])
def test_malformed_consistency_tokens_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        ConsistencyToken.parse(text)


@pytest.mark.parametrize(("page", "per_page", "total", "pages", "next_", "prev"), [
    (1, 20, 0, 0, False, False), (1, 20, 20, 1, False, False), (1, 20, 21, 2, True, False),
    (2, 20, 21, 2, False, True), (5, 100, 250, 3, False, True),
])
def test_pagination_block(page: int, per_page: int, total: int, pages: int, next_: bool,
                          prev: bool) -> None:
    block = Pagination.of(page, per_page, total)
    assert (block.total_pages, block.has_next_page, block.has_prev_page) == (pages, next_, prev)


def test_an_envelope_survives_the_wire() -> None:
    event = created(CreateProduct(name="n", sku="S-1", price=Decimal("1.00")))
    record = codec.encode(event)
    assert record.key == str(event.aggregate_id).encode()
    assert dict(record.headers)["event_type"] == b"ProductCreated"
    assert codec.decode(record.value) == event


@pytest.mark.parametrize("occurred_at", ["1969-12-31T23:59:59Z", "1970-01-01T00:30:00+01:00",
                                         "2106-02-07T06:28:16Z", "9999-01-01T00:00:00Z"])
def test_an_envelope_dated_where_a_store_cannot_hold_it_is_refused(occurred_at: str) -> None:
    """ClickHouse's DateTime holds 1970 to early 2106: an event dated outside would fail
    every insert of the analytics lane; refused at decoding, it is dead-lettered instead."""
    fields = created(CreateProduct(name="n", sku="S-1", price=Decimal("1.00"))).model_dump(
        mode="json")
    with pytest.raises(ValidationError, match="occurred_at"):
        codec.decode(json.dumps(fields | {"occurred_at": occurred_at}).encode())
    earliest = codec.decode(json.dumps(fields | {"occurred_at": "1970-01-01T00:00:00Z"}).encode())
    assert earliest.occurred_at == RECORDABLE_FROM


def test_sale_price_above_price_is_refused() -> None:
    with pytest.raises(ValidationError, match="sale_price"):
        CreateProduct(name="n", sku="S-1", price=Decimal("1.00"), sale_price=Decimal("1.01"))


def test_the_default_secret_is_refused_outside_development() -> None:
    with pytest.raises(ValidationError, match="TANQORY_JWT_SECRET"):
        Settings(env=Environment.PRODUCTION)
    with pytest.raises(ValidationError, match="TANQORY_JWT_SECRET"):
        Settings(env=Environment.TEST, jwt_secret=SecretStr(DEVELOPMENT_SECRET))
    assert Settings(env=Environment.DEVELOPMENT).jwt_secret.get_secret_value() == DEVELOPMENT_SECRET


def test_tokens_carry_subject_and_roles_and_need_our_secret() -> None:
    settings = Settings()
    principal = verify_token(settings, issue_token(settings, "bob", [Role.PRODUCT_MANAGER]))
    assert principal.subject == "bob" and principal.roles == {Role.PRODUCT_MANAGER}
    other = Settings(jwt_secret=SecretStr("x" * 40))
    with pytest.raises(InvalidToken):
        verify_token(other, issue_token(settings, "bob", [Role.ADMIN]))


def test_listing_queries_are_bounded() -> None:
    from schemas.catalog import ProductListQuery

    assert ProductListQuery(limit=100).limit == 100
    for bad in ({"limit": 101}, {"limit": 0}, {"page": 0}, {"sort": "$natural"},
                {"min_price": "3", "max_price": "2"}, {"search": "x" * 201}):
        with pytest.raises(ValidationError):
            ProductListQuery.model_validate(bad)
