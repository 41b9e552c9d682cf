"""Sign-in over HTTP against the bare password hash, and the cost of a bearer token on a
cache-hit read; both on `tanqory serve --no-demo` (the embedded platform, in a temporary
directory: no services needed).

One keep-alive httpx client sends the requests one after another (no concurrency); every
answer must be a 200. One customer account is registered first (`POST
/api/v1/auth/register`; sign-in does not need the email verified).

- **sign-in**: `POST /api/v1/auth/login` with that account's email and password (the body
  encoded once, before timing). Ours covers the HTTP path: rate limiter, validation, the
  failed-sign-in throttle's check, the email index lookup, the argon2id verification (in
  a worker thread), a new refresh-token family written to the store, and an access token
  issued. Baseline: `Passwords().verify(stored, password)` in this process, one after
  another, for a hash of the same password made by the same `Passwords` (so the same
  argon2id parameters). The hash dominates by design; the ratio shows what the rest adds.
  Only successful sign-ins are sent, and the throttle counts only failures; besides, the
  first answer that is not a 200 stops the benchmark, and the platform's failure budgets
  are raised far above anything sent, so the throttle cannot trip whatever happens.
- **token check**: `GET /api/v1/products/{id}` of one product again and again (each
  answer must say `X-Cache: HIT`; a first read warms the cache) with `Authorization:
  Bearer <the customer's access token from a sign-in>`, against the same read without the
  header. The endpoint itself reads no principal: the difference is the rate limiter
  verifying the token (`client_identity`, HS256 through `TokenVerifier.verify_known`) to
  key its count by subject instead of address, and the header's bytes. Each timed run
  reads `READS_PER_LOGIN` times `n` (a read is about a hundredth of a sign-in).

Besides the two figures, one absolute line, "sign-in per call, m=19MiB t=2 p=1": the
time of one sign-in over HTTP and of one bare verification, in ms (the inverses of the
sign-in figure's two medians), named with the argon2id parameters read from the stored
hash (memory, passes, lanes).

Before the timed runs each side runs a little as a warm-up. The access token is taken
right before the reads and checked to verify (with the platform's settings) after them,
so that every "with" read carried a token the limiter accepted.
"""

import json
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import argon2
import httpx

from bench.command_write import product_payload
from bench.http_servers import RATE_LIMIT, editor_headers
from bench.timing import Absolute, Figure, Result, Scale, compare
from commands.customers.passwords import Passwords
from runtime.auth import verify_token
from tests.support.platform import Platform, embedded_platform
from tests.support.waiting import wait_until

AUTH = "/api/v1/auth"
READS_PER_LOGIN = 10
WARM_UP = 20
SETTLE_SECONDS = 0.5
FAILURE_BUDGET = str(10**9)  # failed sign-ins allowed per account and client: never reached


@contextmanager
def login_platform() -> Iterator[Platform]:
    """`tanqory serve --no-demo` in a temporary directory, its budgets out of reach."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, embedded_platform(
        Path(tmp), TANQORY_LOG_LEVEL="WARNING", TANQORY_RATE_LIMIT_PER_MINUTE=RATE_LIMIT,
        TANQORY_LOGIN_FAILURES_PER_ACCOUNT=FAILURE_BUDGET,
        TANQORY_LOGIN_FAILURES_PER_CLIENT=FAILURE_BUDGET,
    ) as platform:
        yield platform


def _ok(response: httpx.Response, what: str) -> httpx.Response:
    if response.status_code not in (200, 201):
        raise RuntimeError(f"{what} answered {response.status_code}: {response.text[:300]}")
    return response


def register(client: httpx.Client, platform: Platform) -> tuple[str, str]:
    """A new customer account; its email and password."""
    email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
    password = f"Horse-{uuid.uuid4().hex[:16]}-battery"
    _ok(client.post(f"{platform.command_url}{AUTH}/register",
                    json={"email": email, "password": password, "name": "Bench Customer"}),
        "register")
    return email, password


def logins(client: httpx.Client, platform: Platform, email: str,
           password: str) -> Callable[[int], None]:
    """Signs in `count` times; each must answer 200 (a failure would count toward the
    throttle: the first one stops the run)."""
    url = f"{platform.command_url}{AUTH}/login"
    body = json.dumps({"email": email, "password": password}).encode()
    headers = {"Content-Type": "application/json"}

    def run(count: int) -> None:
        for _ in range(count):
            response = client.post(url, content=body, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"sign-in answered {response.status_code}: "
                                   f"{response.text[:300]}")

    return run


def access_token(client: httpx.Client, platform: Platform, email: str, password: str) -> str:
    response = _ok(client.post(f"{platform.command_url}{AUTH}/login",
                               json={"email": email, "password": password}), "sign-in")
    return str(response.json()["access_token"])


def verifications(passwords: Passwords, stored: str, password: str) -> Callable[[int], None]:
    def run(count: int) -> None:
        for _ in range(count):
            if not passwords.verify(stored, password):
                raise RuntimeError("the password did not verify")

    return run


def product(client: httpx.Client, platform: Platform) -> str:
    """A new product's URL on the read side, once its cached entry stays valid.

    Its creation is projected in steps (the product, then its stock), each moving the
    product's cache generation, so a first read may be a hit that the next step makes
    stale. Settled: a hit, and still a hit after `SETTLE_SECONDS` in which nothing read it
    (a generation moved meanwhile would leave a miss).
    """
    created = _ok(client.post(f"{platform.command_url}/api/v1/products", json=product_payload(),
                              headers=editor_headers(platform)), "create product")
    url = f"{platform.read_url}/api/v1/products/{created.json()['id']}"

    def hit() -> bool:
        response = client.get(url)
        return response.status_code == 200 and response.headers.get("x-cache") == "HIT"

    def settled() -> bool:
        wait_until(hit, 60, "a cache hit of the new product")
        time.sleep(SETTLE_SECONDS)
        return hit()

    wait_until(settled, 60, "the new product's cache entry to settle")
    return url


def reads(client: httpx.Client, url: str, headers: dict[str, str]) -> Callable[[int], None]:
    """Reads `url` `count` times with `headers`; each must be a 200 cache hit."""

    def run(count: int) -> None:
        for _ in range(count):
            response = client.get(url, headers=headers)
            if response.status_code != 200 or response.headers.get("x-cache") != "HIT":
                raise RuntimeError(f"read answered {response.status_code} "
                                   f"{response.headers.get('x-cache')}: {response.text[:200]}")

    return run


def argon2_parameters(stored: str) -> str:
    """As "m=19MiB t=2 p=1": memory, passes and lanes, read from the hash itself."""
    p = argon2.extract_parameters(stored)
    return f"m={p.memory_cost / 1024:g}MiB t={p.time_cost} p={p.parallelism}"


def sign_in_results(client: httpx.Client, platform: Platform, email: str, password: str,
                    scale: Scale) -> list[Result]:
    passwords = Passwords()
    stored = passwords.hash(password)
    ours, baseline = logins(client, platform, email, password), verifications(
        passwords, stored, password)
    for side in (baseline, ours):
        side(min(scale.n, WARM_UP))
    figure = compare("sign-in (embedded)", ours, baseline, scale.n, scale.rounds)
    per_call = Absolute(f"sign-in per call, {argon2_parameters(stored)}",
                        {"login": 1000 / figure.ours_per_second,
                         "argon2id verify": 1000 / figure.baseline_per_second}, "ms")
    return [figure, per_call]


def token_figure(client: httpx.Client, platform: Platform, email: str, password: str,
                 scale: Scale) -> Figure:
    url = product(client, platform)
    token = access_token(client, platform, email, password)
    with_token = reads(client, url, {"Authorization": f"Bearer {token}"})
    without = reads(client, url, {})
    for side in (without, with_token):
        side(min(scale.n, WARM_UP) * READS_PER_LOGIN)
    figure = compare("token check (cache-hit read)", with_token, without,
                     scale.n * READS_PER_LOGIN, scale.rounds)
    verify_token(platform.settings, token)  # still valid: every read was keyed by subject
    return figure


def run(scale: Scale) -> list[Result]:
    with login_platform() as platform, httpx.Client(timeout=30) as client:
        email, password = register(client, platform)
        results = sign_in_results(client, platform, email, password, scale)
        return [*results, token_figure(client, platform, email, password, scale)]
