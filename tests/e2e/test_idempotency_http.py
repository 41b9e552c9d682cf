"""Idempotency-Key on commands, in both modes: a repeat replays and records nothing."""

import uuid
from typing import Any

import httpx

from runtime.auth import Role
from tests.e2e.test_products_http import assert_problem, new_product, read
from tests.support.platform import Platform


def post(platform: Platform, body: dict[str, Any], key: str, subject: str = "tester",
         path: str = "") -> httpx.Response:
    headers = {"Authorization": f"Bearer {platform.token(Role.ADMIN, subject=subject)}",
               "Idempotency-Key": key}
    return httpx.post(f"{platform.command_url}/api/v1/products{path}", json=body,
                      headers=headers, timeout=15)


def total(platform: Platform, token: str) -> int:
    listing = read(platform, "/api/v1/products", token, limit=1)
    return int(listing.json()["pagination"]["total_items"])


def test_a_repeated_create_replays_the_first_response(platform: Platform) -> None:
    key = str(uuid.uuid4())
    body = new_product()
    first = post(platform, body, key)
    assert first.status_code == 201, first.text
    before = total(platform, first.headers["X-Consistency-Token"])
    again = post(platform, body, key)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["X-Consistency-Token"] == first.headers["X-Consistency-Token"]
    other = post(platform, new_product(), str(uuid.uuid4()))  # a fresh write to wait on
    assert total(platform, other.headers["X-Consistency-Token"]) == before + 1


def test_a_key_reused_for_another_request_is_refused(platform: Platform) -> None:
    key = str(uuid.uuid4())
    assert post(platform, new_product(), key).status_code == 201
    assert_problem(post(platform, new_product(), key), 422, "idempotency-key-reused")


def test_keys_belong_to_their_client(platform: Platform) -> None:
    key = str(uuid.uuid4())
    assert post(platform, new_product(), key, subject="ann").status_code == 201
    theirs = post(platform, new_product(), key, subject="bob")
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers


def test_a_refused_command_is_replayed_too(platform: Platform) -> None:
    key = str(uuid.uuid4())
    body = new_product()
    assert post(platform, body, str(uuid.uuid4())).status_code == 201
    conflict = post(platform, body, key)
    assert_problem(conflict, 409, "duplicate-sku")
    again = post(platform, body, key)
    assert again.status_code == 409 and again.headers["Idempotent-Replayed"] == "true"


def test_a_malformed_key_is_a_bad_request(platform: Platform) -> None:
    assert_problem(post(platform, new_product(), "x" * 256), 400, "invalid-idempotency-key")
