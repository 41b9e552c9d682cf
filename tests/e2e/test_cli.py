"""The `tanqory` command line as a user runs it."""

import os
import subprocess

import jwt

from tests.support.platform import TEST_SECRET
from tests.support.processes import TANQORY


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Runs the CLI with only `env` for settings (none inherited from the caller)."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("TANQORY_")}
    return subprocess.run([*TANQORY, *args], env={**inherited, **env}, capture_output=True,
                          text=True, timeout=60, check=False)


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
