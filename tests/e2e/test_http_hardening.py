"""HTTP hardening as a client meets it: a real `tanqory serve` with a limit of 5 requests a
minute, and both modes' APIs with the suites' generous limit."""

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from runtime.auth import Role
from tests.support.platform import Platform, embedded_platform
from tests.unit.test_http_hardening import SECURITY_HEADERS as UNIT_SECURITY_HEADERS

PROBLEM = "application/problem+json"
LIMIT = 5
# The same headers as the unit tests check, but for the CSP, which /api/docs relaxes.
SECURITY_HEADERS = {k: v for k, v in UNIT_SECURITY_HEADERS.items()
                    if k != "content-security-policy"}


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """An embedded platform of its own, limiting each client to LIMIT requests a minute.

    Every /api/ request below carries a token with a fresh subject, so each check has a
    budget of its own whatever ran before it.
    """
    with embedded_platform(tmp_path_factory.mktemp("limited"),
                           TANQORY_RATE_LIMIT_PER_MINUTE=str(LIMIT)) as platform:
        yield platform


def as_new_client(platform: Platform, *roles: Role) -> dict[str, str]:
    token = platform.token(*(roles or (Role.CUSTOMER,)), subject=f"client-{uuid.uuid4().hex}")
    return {"Authorization": f"Bearer {token}"}


def new_product(sku: str | None = None) -> dict[str, Any]:
    return {"name": "Teapot", "sku": sku or f"POT-{uuid.uuid4().hex[:10]}", "price": "30.00",
            "stock_quantity": 3}


def total_products(platform: Platform, consistency_token: str) -> int:
    """The listing's total once the read model reflects the write behind the token."""
    response = httpx.get(
        f"{platform.read_url}/api/v1/products",
        headers={**as_new_client(platform), "X-Consistency-Token": consistency_token},
        timeout=15,
    )
    assert response.status_code == 200, response.text
    return int(response.json()["pagination"]["total_items"])


def assert_problem(response: httpx.Response, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["status"] == status and problem["type"] == f"urn:problem:tanqory:{slug}"
    assert problem["detail"]


def assert_secure(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert response.headers["x-request-id"]


def test_api_responses_count_down_the_clients_budget(limited: Platform) -> None:
    headers = as_new_client(limited)
    with httpx.Client(base_url=limited.read_url, headers=headers, timeout=15) as http:
        responses = [http.get("/api/v1/products") for _ in range(LIMIT)]
        refused = http.get("/api/v1/products")
        health = http.get("/health")
        docs = http.get("/api/docs")
    assert [r.status_code for r in responses] == [200] * LIMIT
    assert {r.headers["ratelimit-limit"] for r in responses} == {str(LIMIT)}
    remaining = [int(r.headers["ratelimit-remaining"]) for r in responses]
    assert remaining == list(range(LIMIT - 1, -1, -1))
    assert all(0 < int(r.headers["ratelimit-reset"]) <= 60 for r in responses)
    assert_problem(refused, 429, "too-many-requests")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert_secure(refused)
    # The exhausted client still reaches health and docs.
    assert health.status_code == 200 and "ratelimit-limit" not in health.headers
    assert docs.status_code == 200 and "ratelimit-limit" not in docs.headers


def test_a_command_over_the_limit_is_refused_and_records_nothing(limited: Platform) -> None:
    writer = as_new_client(limited, Role.PRODUCT_MANAGER)
    url = f"{limited.command_url}/api/v1/products"
    with httpx.Client(headers=writer, timeout=15) as http:
        accepted = [http.post(url, json=new_product()) for _ in range(LIMIT)]
        assert [r.status_code for r in accepted] == [201] * LIMIT, accepted[-1].text
        before = total_products(limited, accepted[-1].headers["X-Consistency-Token"])
        refused_sku = f"POT-{uuid.uuid4().hex[:10]}"
        refused = http.post(url, json=new_product(refused_sku))
    assert_problem(refused, 429, "too-many-requests")
    assert refused.headers["retry-after"]

    # Had the refused command been recorded, its SKU would now be taken (409).
    later = httpx.post(url, json=new_product(refused_sku),
                       headers=as_new_client(limited, Role.PRODUCT_MANAGER), timeout=15)
    assert later.status_code == 201, later.text
    assert total_products(limited, later.headers["X-Consistency-Token"]) == before + 1


def test_a_2_mb_body_is_refused_with_413(limited: Platform) -> None:
    url = f"{limited.command_url}/api/v1/products"
    body = b'{"name": "' + b"x" * 2_000_000 + b'", "sku": "BIG-1", "price": "1.00"}'
    declared = httpx.post(url, content=body, timeout=30, headers={
        **as_new_client(limited, Role.PRODUCT_MANAGER), "Content-Type": "application/json"})
    assert_problem(declared, 413, "payload-too-large")
    assert_secure(declared)

    def chunked() -> Iterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start:start + 64 * 1024]

    streamed = httpx.post(url, content=chunked(), timeout=30, headers={
        **as_new_client(limited, Role.PRODUCT_MANAGER), "Content-Type": "application/json"})
    assert "content-length" not in streamed.request.headers
    assert_problem(streamed, 413, "payload-too-large")
    assert httpx.get(f"{limited.read_url}/health", timeout=15).status_code == 200


def test_responses_are_gzipped_when_the_client_asks(limited: Platform) -> None:
    with httpx.Client(base_url=limited.read_url, timeout=15) as http:
        zipped = http.get("/api/openapi.json", headers={"Accept-Encoding": "gzip"})
        plain = http.get("/api/openapi.json", headers={"Accept-Encoding": "identity"})
    assert zipped.status_code == 200 and zipped.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert int(zipped.headers["content-length"]) < len(plain.content)
    assert zipped.json() == plain.json()
    assert_secure(zipped)


def test_both_modes_answer_with_the_hardening_headers(platform: Platform) -> None:
    # The suites run with a limit of 100000 a minute (tests/support/platform.py).
    for base in {platform.command_url, platform.read_url}:
        response = httpx.get(f"{base}/api/v1/no-such-resource",
                             headers=as_new_client(platform), timeout=15)
        assert_problem(response, 404, "not-found")
        assert_secure(response)
        assert response.headers["ratelimit-limit"] == "100000"
        assert int(response.headers["ratelimit-remaining"]) == 100000 - 1
