"""Accounts' security over HTTP, in both modes: sign-in throttling, tampered and expired
access tokens, no secret in any response or log, and no personal value in clear in any
store, topic or history, before or after an erasure."""

import asyncio
import base64
import json
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt

from runtime.auth import Role, issue_token
from runtime.settings import Mode
from tests.e2e.test_accounts_http import (
    CUSTOMERS,
    RESET_SUBJECT,
    VERIFY_SUBJECT,
    Account,
    Api,
    claims,
    emailed_token,
    erased_view,
    listed_notifications,
    new_email,
    new_password,
    registered,
    signed_in,
    verified,
)
from tests.e2e.test_products_http import assert_problem
from tests.support.platform import TEST_SECRET, Platform, embedded_platform, store_events
from tests.support.waiting import wait_until

WINDOW = 15 * 60
NONE_HEADER = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()


# --- sign-in throttling ---------------------------------------------------------------


def assert_throttled(response: httpx.Response) -> int:
    assert_problem(response, 429, "too-many-sign-ins")
    wait = int(response.headers["Retry-After"])
    assert 0 < wait <= WINDOW, wait
    return wait


def test_five_failed_sign_ins_lock_the_account_for_a_while(platform: Platform) -> None:
    api = Api(platform)
    account = registered(api)
    for _ in range(5):
        assert_problem(api.login(account.email, "Wrong-password-123"), 401,
                       "invalid-credentials")
    assert_throttled(api.login(account.email, account.password))  # even the right one
    assert_throttled(api.login(account.email.upper(), "Wrong-password-123"))
    other = registered(api)
    assert signed_in(api, other)  # the client's budget (20) is not spent
    assert signed_in(Api(platform), other)

    # an unknown address is throttled alike, so the answers tell nothing apart
    unknown = new_email("nobody")
    for _ in range(5):
        assert_problem(api.login(unknown, "Wrong-password-123"), 401, "invalid-credentials")
    assert_throttled(api.login(unknown, "Wrong-password-123"))


def test_failed_sign_ins_across_accounts_lock_out_the_client(tmp_path: Path) -> None:
    """On a platform of its own: the per-client count would block other tests."""
    with embedded_platform(tmp_path, TANQORY_LOGIN_FAILURES_PER_CLIENT="3") as own:
        api = Api(own)
        account = registered(api)
        for _ in range(3):
            assert_problem(api.login(new_email("guess"), "Wrong-password-123"), 401,
                           "invalid-credentials")
        assert_throttled(api.login(account.email, account.password))
        assert_throttled(api.login(new_email("guess"), "Wrong-password-123"))
        # another client address is not held back
        assert signed_in(Api(own), account)


# --- access tokens --------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_tampered_forged_and_expired_access_tokens_are_refused(platform: Platform) -> None:
    api = Api(platform)
    account = registered(api)
    access = signed_in(api, account)["access_token"]
    assert api.me(access, account.consistency_token).status_code == 200
    header, payload, signature = access.split(".")

    swapped = "A" if signature[10] != "A" else "B"
    tampered = f"{header}.{payload}.{signature[:10]}{swapped}{signature[11:]}"
    as_admin = {**claims(access), "roles": ["admin"]}
    elevated = f"{header}.{b64(json.dumps(as_admin).encode())}.{signature}"
    now = int(time.time())
    forged = jwt.encode(as_admin, "not-the-secret-but-long-enough-0123456789", algorithm="HS256")
    unsigned = f"{NONE_HEADER}.{b64(json.dumps(as_admin).encode())}."
    expired = issue_token(platform.settings, account.id, [Role.CUSTOMER], ttl_seconds=-60)
    crafted_expired = jwt.encode({**claims(access), "iat": now - 3600, "exp": now - 60},
                                 TEST_SECRET, algorithm="HS256")
    for token in (tampered, elevated, forged, unsigned, "not.a.jwt", access[:-1]):
        problem = assert_problem(api.me(token), 401, "unauthorized")
        assert problem["detail"] == "Invalid token", (token, problem)
        assert_problem(api.patch_me({"name": "Mallory"}, token), 401, "unauthorized")
        assert_problem(api.query(CUSTOMERS, token), 401, "unauthorized")
    for token in (expired, crafted_expired):
        problem = assert_problem(api.me(token), 401, "unauthorized")
        assert problem["detail"] == "Token expired"
        assert_problem(api.patch_me({"name": "Mallory"}, token), 401, "unauthorized")
    assert api.me(access).json()["name"] == account.name


# --- no secret in any response or log -------------------------------------------------


def refresh_token_of(response: httpx.Response) -> str | None:
    if not response.headers.get("content-type", "").startswith("application/json"):
        return None
    body = response.json()
    return body.get("refresh_token") if isinstance(body, dict) else None


def log_text(platform: Platform) -> str:
    return "\n".join(p.log_path.read_text(errors="replace") for p in platform.processes.values()
                     if p.log_path.exists())


def test_no_response_or_log_holds_a_password_a_hash_or_another_refresh_token(
        platform: Platform) -> None:
    api = Api(platform)
    account = registered(api)
    api.register(account.email, account.password, account.name)  # 409
    api.register(new_email(), "short", "Weak")  # 422
    confirmed = verified(api, account)
    first = signed_in(api, account)
    second = api.refresh(first["refresh_token"]).json()
    api.refresh(first["refresh_token"])  # reused: 401
    api.login(account.email, account.password + "-wrong")  # 401
    api.me(second["access_token"], confirmed.headers["X-Consistency-Token"])
    api.patch_me({"phone": "+44 20 7946 0958"}, second["access_token"])
    api.query(CUSTOMERS, api.admin(), email=account.email)
    api.customer(account.id)
    assert api.request_reset(account.email).status_code == 202
    new = new_password()
    api.confirm_reset(emailed_token(platform, account.email, RESET_SUBJECT), "weak")  # 422
    api.confirm_reset(emailed_token(platform, account.email, RESET_SUBJECT), new)
    third = signed_in(api, Account(account.id, account.email, new, account.name, ""))
    api.refresh(second["refresh_token"])  # revoked by the reset: 401
    api.logout(third["refresh_token"])
    listed_notifications(api, account.id, 2)
    erased = api.erase(account.id, third["access_token"])
    api.customer(account.id, consistency=erased.headers["X-Consistency-Token"])
    api.login(account.email, new)  # 401

    issued = [t for r in api.responses if (t := refresh_token_of(r))]
    assert len(issued) == 3
    for response in api.responses:
        text = response.text
        where = f"{response.request.method} {response.request.url} → {response.status_code}"
        for password in (account.password, new):
            assert password not in text, where
        assert "$argon2" not in text, where
        own = refresh_token_of(response)
        assert not [t for t in issued if t != own and t in text], where

    text = log_text(platform)  # the notifier has sent both emails by now
    for secret in (account.password, new, account.email, *issued):
        assert secret not in text, f"{secret!r} is in a log"
    assert account.email.split("@")[0] not in text


def test_a_repeated_sign_in_never_replays_a_stored_token_response(platform: Platform
                                                                  ) -> None:
    """Token responses are secrets (RFC 6749 5.1: `no-store`): an Idempotency-Key repeat
    must not answer a refresh token issued to an earlier response (which would have to be
    kept in clear in the idempotency store to be replayed)."""
    api = Api(platform)
    account = registered(api)
    body = {"email": account.email, "password": account.password}
    key = {"Idempotency-Key": f"login-{uuid.uuid4().hex}"}
    first = api.command("POST", "/api/v1/auth/login", body, headers=key)
    repeat = api.command("POST", "/api/v1/auth/login", body, headers=key)
    assert first.status_code == 200, first.text
    assert repeat.headers.get("Cache-Control") == "no-store", dict(repeat.headers)
    if repeat.status_code == 200:
        assert repeat.json()["refresh_token"] != first.json()["refresh_token"], \
            "a stored refresh token was replayed"


# --- no personal value in clear at rest -----------------------------------------------


def kafka_text(platform: Platform, contexts: tuple[str, ...], timeout: float = 30) -> str:
    """Every record of the contexts' topics, from the beginning, as text."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    settings = platform.settings

    async def read() -> str:
        consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap,
                                    enable_auto_commit=False, group_id=None)
        await consumer.start()
        try:
            topics = [f"{settings.kafka_topic_prefix}.{c}.events" for c in contexts]
            admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
            await admin.start()
            try:
                described = await admin.describe_topics(topics)
            finally:
                await admin.close()
            parts = [TopicPartition(t["topic"], p["partition"]) for t in described
                     for p in t["partitions"]]
            assert {p.topic for p in parts} == set(topics), described
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            end = await consumer.end_offsets(parts)
            records: list[str] = []
            deadline = time.monotonic() + timeout
            while [p for p in parts if await consumer.position(p) < end[p]]:
                assert time.monotonic() < deadline, "timed out reading the topics"
                batches = await consumer.getmany(timeout_ms=500)
                records += [repr(r.key) + repr(r.value) + repr(r.headers)
                            for batch in batches.values() for r in batch]
            assert records, "the topics are empty"
            return "\n".join(records)
        finally:
            await consumer.stop()

    return asyncio.run(read())


def server_texts(platform: Platform) -> dict[str, str]:
    from clickhouse_driver import Client

    from tests.support import read_store

    settings = platform.settings
    texts = read_store.texts(settings)
    assert "read model customers" in texts and "read model notifications" in texts, list(texts)
    clickhouse = Client(host=settings.clickhouse_host, port=settings.clickhouse_port,
                        database=settings.clickhouse_db)
    try:
        tables = [t for (t,) in clickhouse.execute("SHOW TABLES")]
        assert tables
        for table in tables:
            texts[f"clickhouse {table}"] = repr(clickhouse.execute(f"SELECT * FROM `{table}`"))
    finally:
        clickhouse.disconnect()
    texts["kafka"] = kafka_text(platform, ("customers", "notifications"))
    return texts


def sqlite_text(path: Path) -> str:
    """Every row of every table, blobs (the events' states) decoded."""
    def text(value: object) -> str:
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)

    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return "\n".join(" ".join(map(text, row)) for table in tables
                         for row in db.execute(f'SELECT * FROM "{table}"'))
    finally:
        db.close()


def embedded_texts(platform: Platform) -> dict[str, str]:
    data = platform.settings.data_dir
    texts: dict[str, str] = {}
    for name in ("read_models.sqlite3", "events.sqlite3"):
        path = data / name
        assert path.exists(), sorted(p.name for p in data.iterdir())
        texts[f"sqlite {name}"] = sqlite_text(path)
    for path in sorted(data.glob("*.sqlite3*")):  # the files as stored, WAL included
        texts[f"file {path.name}"] = path.read_bytes().decode("latin-1")
    return texts


def texts_at_rest(platform: Platform) -> dict[str, str]:
    """Each store, history and topic of the mode, as text."""
    texts = server_texts(platform) if platform.mode is Mode.SERVER else embedded_texts(platform)
    texts["stored events"] = json.dumps([e.model_dump(mode="json")
                                         for e in store_events(platform)])
    return texts


def found_in(texts: dict[str, str], values: tuple[str, ...]) -> list[str]:
    return [f"{value!r} in {where}" for where, text in texts.items() for value in values
            if value.lower() in text.lower()]


def sealed_in_stored_events(platform: Platform, customer_id: str) -> list[dict[str, Any]]:
    return [e.payload for e in store_events(platform)
            if str(e.aggregate_id) == customer_id and e.event_type == "CustomerRegistered"]


def test_personal_values_are_never_in_clear_at_rest(platform: Platform) -> None:
    api = Api(platform)
    email, name = new_email("zebulon"), f"Zebulon Quaxley {uuid.uuid4().hex[:8]}"
    response = api.register(email, new_password(), name)
    assert response.status_code == 201, response.text
    account = Account(response.json()["id"], email, "", name, "")
    verified(api, account)
    assert api.request_reset(email).status_code == 202
    listed_notifications(api, account.id, 2)
    [registration] = sealed_in_stored_events(platform, account.id)
    assert registration["email"].startswith("pd1.") and registration["name"].startswith("pd1.")

    expected = ({"read model customers", "kafka", "stored events"} if platform.mode is Mode.SERVER
                else {"sqlite read_models.sqlite3", "sqlite events.sqlite3", "stored events"})

    def scanned() -> dict[str, str] | None:
        """Every text at rest, once the sealed values are in the analytics store too (its
        consumer group trails the read models', ADR 0023)."""
        texts = texts_at_rest(platform)
        where = {w for w, text in texts.items() if registration["email"] in text}
        archived = platform.mode is Mode.EMBEDDED or any(w.startswith("clickhouse") for w in where)
        return texts if expected <= where and archived else None

    texts = wait_until(scanned, 30, "the sealed values in every store")
    assert found_in(texts, (email, name)) == []

    erased = api.erase(account.id, api.admin())
    assert erased.status_code == 200, erased.text
    erased_view(api, account.id, erased.headers["X-Consistency-Token"])
    assert found_in(texts_at_rest(platform), (email, name)) == []
    # the sealed values stay where they were, unreadable now
    def hidden() -> list[dict[str, Any]]:
        found = listed_notifications(api, account.id, 2)
        return found if all(n["recipient"] is None for n in found) else []

    listed = wait_until(hidden, 30, "the notifications to hide the address")
    assert {(n["recipient"], n["subject"]) for n in listed} == {(None, None)}
    assert VERIFY_SUBJECT not in json.dumps(listed)
