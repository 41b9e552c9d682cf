"""Errors that help: problem+json for bodies that are not JSON or not declared as JSON, field
paths in one convention, cross-field rules naming their field, plain token refusals."""

import time
from decimal import Decimal
from typing import Annotated, Any

import httpx
import jwt
import psycopg
import pytest
from clickhouse_driver import errors as clickhouse_errors
from fastapi import Depends, FastAPI, Header, Query
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, ValidationError
from pymongo import errors as mongo_errors
from redis import exceptions as redis_errors

from read_api.products import etag
from runtime.auth import Role, issue_token
from runtime.deps import PrincipalDep, get_settings
from runtime.problems import (
    COMMAND_PROBLEMS,
    PROBLEM_RESPONSES,
    field_name,
    install_problem_handlers,
)
from schemas.catalog import (
    ChangePrice,
    CreateProduct,
    ProductListQuery,
    ReplaceProduct,
    UpdateProduct,
)
from schemas.categories import CreateCategory, RenameCategory
from tests.support.platform import TEST_SECRET, settings_for_tests

PROBLEM = "application/problem+json"
SETTINGS = settings_for_tests()


class Thing(BaseModel):
    name: str
    attributes: dict[str, str] = {}
    images: list[str] = []


def app() -> FastAPI:
    api = FastAPI()
    install_problem_handlers(api)
    api.dependency_overrides[get_settings] = lambda: SETTINGS

    @api.post("/things", responses=COMMAND_PROBLEMS)
    async def create(thing: Thing) -> dict[str, str]:
        return {"name": thing.name}

    @api.get("/things")
    async def listing(limit: Annotated[int, Query(ge=1)] = 1,
                      if_match: Annotated[int | None, Header(alias="If-Match")] = None,
                      ) -> dict[str, int]:
        return {"limit": limit}

    @api.get("/me")
    async def me(principal: PrincipalDep) -> dict[str, str]:
        return {"subject": principal.subject}

    @api.post("/guarded", dependencies=[Depends(lambda: None)])
    async def guarded(thing: Thing, principal: PrincipalDep) -> dict[str, str]:
        return {"name": thing.name}

    @api.get("/failing/{kind}")
    async def failing(kind: str) -> None:
        raise FAILURES[kind]

    return api


FAILURES: dict[str, Exception] = {
    "mongodb": mongo_errors.ServerSelectionTimeoutError("No servers found yet"),
    "redis": redis_errors.ConnectionError("Error 111 connecting to 127.0.0.1:16379"),
    "clickhouse": clickhouse_errors.NetworkError("Connection refused"),
    "postgresql": psycopg.OperationalError("connection failed"),
    "postgresql-pool": PoolTimeout("couldn't get a connection after 5.00 sec"),  # read models
    "refused": ConnectionRefusedError(111, "Connection refused"),
    "bug": KeyError("name"),
}


async def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.request(method, path, **kwargs)


def problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"] == f"urn:problem:tanqory:{slug}"
    return body


@pytest.mark.parametrize("kind", ["mongodb", "redis", "clickhouse", "postgresql",
                                  "postgresql-pool", "refused"])
async def test_a_store_out_of_reach_is_a_503_to_retry_not_a_500(kind: str) -> None:
    transport = httpx.ASGITransport(app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get(f"/failing/{kind}")
    problem(response, 503, "store-unavailable")
    assert response.headers["Retry-After"] == "5"


async def test_a_bug_is_still_a_500() -> None:
    transport = httpx.ASGITransport(app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        problem(await client.get("/failing/bug"), 500, "internal-error")


# --- bodies that are not JSON --------------------------------------------------------------


@pytest.mark.parametrize(("raw", "where"), [
    (b'{"name": "x" "sku": 1}', "Expecting ',' delimiter at line 1, column 14"),
    (b'{\n  "name": "x",\n  oops\n}',
     "Expecting property name enclosed in double quotes at line 3, column 3"),
    (b"{not json", "Expecting property name enclosed in double quotes at line 1, column 2"),
    (b'{"name": "x"', "Expecting ',' delimiter at line 1, column 13"),
])
async def test_a_body_that_is_not_json_says_where(raw: bytes, where: str) -> None:
    response = await call("POST", "/things", content=raw,
                          headers={"Content-Type": "application/json"})
    body = problem(response, 422, "validation-error")
    assert body["errors"] == [{"field": "body", "type": "json_invalid",
                               "message": f"The body is not valid JSON: {where}"}]
    assert body["detail"] == f"The body is not valid JSON: {where}"


@pytest.mark.parametrize("headers", [
    {}, {"Content-Type": "text/plain"}, {"Content-Type": "application/x-www-form-urlencoded"},
    {"Content-Type": "application/xml; charset=utf-8"},
])
async def test_a_body_not_declared_as_json_is_unsupported(headers: dict[str, str]) -> None:
    response = await call("POST", "/things", content=b'{"name": "x"}', headers=headers)
    body = problem(response, 415, "unsupported-media-type")
    assert body["detail"] == "Content-Type must be application/json"


@pytest.mark.parametrize("content_type", [
    "application/json", "application/json; charset=utf-8", "application/merge-patch+json",
])
async def test_json_content_types_are_accepted(content_type: str) -> None:
    response = await call("POST", "/things", content=b'{"name": "x"}',
                          headers={"Content-Type": content_type})
    assert response.status_code == 200, response.text


async def test_no_body_at_all_is_a_missing_body_not_a_media_type_error() -> None:
    body = problem(await call("POST", "/things"), 422, "validation-error")
    assert [e["field"] for e in body["errors"]] == ["body"]


async def test_authentication_comes_before_the_media_type() -> None:
    response = await call("POST", "/guarded", content=b"name=x",
                          headers={"Content-Type": "text/plain"})
    problem(response, 401, "unauthorized")


def test_415_is_documented_on_every_command_route() -> None:
    assert 415 in COMMAND_PROBLEMS and 415 in PROBLEM_RESPONSES


# --- one convention for field paths -------------------------------------------------------


@pytest.mark.parametrize(("location", "field"), [
    (("body", "name"), "name"), (("body", "attributes", "colour"), "attributes.colour"),
    (("body", "images", 0), "images.0"), (("body", "attributes", "$x", "[key]"),
                                          "attributes.$x.[key]"),
    (("query", "limit"), "limit"), (("path", "product_id"), "product_id"),
    (("header", "If-Match"), "If-Match"), (("body",), "body"), (("query",), "query"), ((), "body"),
])
def test_field_paths_are_dotted_without_the_part_of_the_request(location: tuple[Any, ...],
                                                                 field: str) -> None:
    assert field_name(location) == field


async def test_request_errors_use_the_convention() -> None:
    body = problem(await call("POST", "/things", json={"name": 1, "attributes": {"colour": 2},
                                                      "images": [3]}),
                   422, "validation-error")
    assert {e["field"] for e in body["errors"]} == {"name", "attributes.colour", "images.0"}
    query = problem(await call("GET", "/things", params={"limit": 0},
                               headers={"If-Match": "x"}), 422, "validation-error")
    assert {e["field"] for e in query["errors"]} == {"limit", "If-Match"}


# --- cross-field rules name their field ----------------------------------------------------


def fields(error: ValidationError) -> list[str]:
    return [field_name(("body", *e["loc"])) for e in error.errors()]


PRODUCT = {"name": "Cup", "sku": "CUP-1", "price": "10.00"}


@pytest.mark.parametrize("model", [CreateProduct, ReplaceProduct])
def test_a_sale_price_above_the_price_names_sale_price(model: type[BaseModel]) -> None:
    with pytest.raises(ValidationError) as refused:
        model.model_validate({**PRODUCT, "sale_price": "10.01"})
    assert fields(refused.value) == ["sale_price"]
    assert "sale_price must not be above price" in str(refused.value)
    assert model.model_validate({**PRODUCT, "sale_price": "10.00"})


def test_a_sale_price_with_an_invalid_price_names_only_the_price() -> None:
    with pytest.raises(ValidationError) as refused:
        CreateProduct.model_validate({**PRODUCT, "price": "-1", "sale_price": "5.00"})
    assert fields(refused.value) == ["price"]


def test_a_price_change_names_sale_price() -> None:
    with pytest.raises(ValidationError) as refused:
        ChangePrice.model_validate({"price": "5.00", "sale_price": "6.00"})
    assert fields(refused.value) == ["sale_price"]
    assert ChangePrice.model_validate({"price": "5.00", "sale_price": None}).sale_price is None


@pytest.mark.parametrize("field", ["name", "description", "sku", "images", "attributes"])
def test_an_update_naming_null_names_the_field(field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        UpdateProduct.model_validate({field: None})
    assert fields(refused.value) == [field]
    assert f"{field} cannot be null" in str(refused.value)


def test_an_update_may_clear_the_category_and_must_change_something() -> None:
    assert UpdateProduct.model_validate({"category_id": None}).changes() == {"category_id": None}
    with pytest.raises(ValidationError) as refused:
        UpdateProduct.model_validate({})
    assert fields(refused.value) == ["body"]


def test_a_price_range_upside_down_names_max_price() -> None:
    with pytest.raises(ValidationError) as refused:
        ProductListQuery.model_validate({"min_price": "5", "max_price": "4"})
    assert fields(refused.value) == ["max_price"]
    query = ProductListQuery.model_validate({"min_price": "4", "max_price": "4"})
    assert query.max_price == Decimal(4)


def test_a_category_name_without_a_slug_names_slug() -> None:
    with pytest.raises(ValidationError) as refused:
        CreateCategory.model_validate({"name": "名前"})
    assert fields(refused.value) == ["slug"]
    assert CreateCategory.model_validate({"name": "名前", "slug": "namae"}).effective_slug == "namae"
    assert CreateCategory.model_validate({"name": "Café & Tea"}).effective_slug == "cafe-tea"
    with pytest.raises(ValidationError) as invalid_name:
        CreateCategory.model_validate({"name": ""})
    assert fields(invalid_name.value) == ["name"]


def test_a_rename_with_nothing_to_change_is_about_the_whole_body() -> None:
    with pytest.raises(ValidationError) as refused:
        RenameCategory.model_validate({})
    assert fields(refused.value) == ["body"]


# --- tokens --------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [
    "nope", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig",
    jwt.encode({"sub": "x", "iat": 0, "exp": 2**40}, "not-our-secret-not-our-secret-not-ours",
               algorithm="HS256"),
])
async def test_a_malformed_or_forged_token_is_plainly_invalid(token: str) -> None:
    response = await call("GET", "/me", headers={"Authorization": f"Bearer {token}"})
    body = problem(response, 401, "unauthorized")
    assert body["detail"] == "Invalid token"
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_an_expired_token_says_so() -> None:
    now = int(time.time())
    expired = jwt.encode({"sub": "x", "roles": ["admin"], "iss": SETTINGS.jwt_issuer,
                          "aud": SETTINGS.jwt_audience, "iat": now - 120, "exp": now - 60},
                         TEST_SECRET, algorithm="HS256")
    response = await call("GET", "/me", headers={"Authorization": f"Bearer {expired}"})
    assert problem(response, 401, "unauthorized")["detail"] == "Token expired"
    valid = issue_token(SETTINGS, "someone", [Role.ADMIN])
    ok = await call("GET", "/me", headers={"Authorization": f"Bearer {valid}"})
    assert ok.json() == {"subject": "someone"}


# --- ETags of reads by id ------------------------------------------------------------------


@pytest.mark.parametrize(("body", "tag"), [
    (b'{"id":"x","version":7}', '"7"'), (b'{"id":"x","version":12345}', '"12345"'),
    (b'{"version": 3, "id": "x"}', '"3"'),  # not a ProductView's layout: parsed instead
])
def test_the_etag_of_a_product_body_is_its_version(body: bytes, tag: str) -> None:
    assert etag(body) == tag
