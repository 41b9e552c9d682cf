"""The `tanqory` command line as a user runs it."""

import os
import uuid

import httpx
import jwt

from runtime.auth import Role
from tests.e2e.test_categories_http import category_command, new_category
from tests.e2e.test_product_lifecycle import command, new
from tests.e2e.test_products_http import read
from tests.support.platform import TEST_SECRET, Platform
from tests.support.processes import run_cli as run
from tests.support.waiting import wait_until

PASSWORD = "correct horse battery"
BACKGROUND = ("relay", "worker", "sagas", "notifier")


def test_token_prints_a_signed_token_for_the_configured_secret() -> None:
    result = run("token", "--role", "admin", "--role", "analyst", "--sub", "alice",
                 TANQORY_JWT_SECRET=TEST_SECRET)
    assert result.returncode == 0, result.stderr
    claims = jwt.decode(result.stdout.strip(), TEST_SECRET, algorithms=["HS256"],
                        audience="tanqory-api", issuer="tanqory")
    assert claims["sub"] == "alice" and claims["roles"] == ["admin", "analyst"]


def test_an_unknown_role_is_refused() -> None:
    result = run("token", "--role", "superuser")
    assert result.returncode == 2 and "superuser" in result.stderr


def test_the_default_secret_is_refused_outside_development() -> None:
    result = run("serve", "--port", "1", TANQORY_ENV="production", TANQORY_JWT_SECRET="short")
    assert result.returncode == 2 and "at least 32 characters" in result.stderr
    result = run("token", "--role", "admin", TANQORY_ENV="production")
    assert result.returncode == 2 and "TANQORY_JWT_SECRET" in result.stderr


def test_token_is_refused_in_production_whatever_the_secret() -> None:
    result = run("token", "--role", "admin", TANQORY_ENV="production",
                 TANQORY_JWT_SECRET=TEST_SECRET, TANQORY_ACCOUNT_SECRET="an account secret",
                 TANQORY_STRIPE_WEBHOOK_SECRET="whsec_test")
    assert result.returncode == 2 and "POST /api/v1/auth/login" in result.stderr
    assert result.stdout == ""


def test_verify_finds_every_read_model_equal_to_a_replay(platform: Platform) -> None:
    """After products and categories change in every way, the live read models equal a
    fresh replay of the event store (waiting out anything still in flight)."""
    category = new_category(platform, "Verify")
    product_id, _ = new(platform, category_id=category.json()["id"])
    renamed = category_command(platform, "PATCH", f"/{category.json()['id']}",
                               {"name": "Verified"})
    command(platform, "POST", f"/{product_id}/ratings", Role.CUSTOMER, body={"rating": 4})
    last = command(platform, "DELETE", f"/{product_id}", Role.ADMIN)
    for response in (renamed, last):
        assert read(platform, "/api/v1/categories", response.headers["X-Consistency-Token"]
                    ).status_code == 200
    def verified() -> bool:
        result = platform.cli("verify")
        assert result.returncode in (0, 1), result.stderr
        return result.returncode == 0 and "equals a rebuild" in result.stdout

    wait_until(verified, 60, "the read models to equal a replay")


def test_customers_roles_makes_an_account_an_admin(platform: Platform) -> None:
    """A deployment's first admin: registered over HTTP, promoted by an operator."""
    email = f"operator-{uuid.uuid4().hex[:8]}@example.com"
    registered = httpx.post(f"{platform.command_url}/api/v1/auth/register", timeout=30,
                            json={"email": email, "password": PASSWORD, "name": "Op"})
    assert registered.status_code == 201, registered.text
    result = platform.cli("customers", "roles", email.upper(), "--role", "admin",
                          "--role", "customer")
    assert result.returncode == 0, result.stderr
    assert registered.json()["id"] in result.stdout
    signed_in = httpx.post(f"{platform.command_url}/api/v1/auth/login", timeout=30,
                           json={"email": email, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    claims = jwt.decode(signed_in.json()["access_token"], options={"verify_signature": False})
    assert claims["roles"] == ["admin", "customer"]
    unknown = platform.cli("customers", "roles", "nobody@example.com", "--role", "admin")
    assert unknown.returncode == 1 and "no account" in unknown.stderr


def test_the_background_processes_run_below_the_apis_priority(server: Platform) -> None:
    """The relay, the worker, the sagas and the notifier yield the CPU to the APIs
    (TANQORY_BACKGROUND_NICE, 19 by default: as low as a priority goes)."""
    nice = {name: os.getpriority(os.PRIO_PROCESS, process.process.pid)
            for name, process in server.processes.items() if process.process is not None}
    assert {nice[name] for name in BACKGROUND} == {min(19, nice["command-api"] + 19)}
    assert nice["read-api"] == nice["command-api"]
