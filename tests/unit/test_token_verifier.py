"""Our tokens through the app's TokenVerifier, which remembers the ones it has verified."""

import asyncio

from pydantic import SecretStr

from runtime.auth import InvalidToken, Role, TokenVerifier, issue_token
from tests.support.platform import settings_for_tests
from tests.support.waiting import wait_until


def refuses(verifier: TokenVerifier, token: str) -> bool:
    try:
        verifier.verify_known(token)
    except InvalidToken:
        return True
    return False


def test_a_remembered_token_is_refused_once_it_expires() -> None:
    settings = settings_for_tests()
    verifier = TokenVerifier(settings)
    token = issue_token(settings, "alice", [Role.ADMIN], ttl_seconds=2)

    principal = asyncio.run(verifier.verify(token))

    assert (principal.subject, principal.roles) == ("alice", frozenset({Role.ADMIN}))
    assert verifier.verify_known(token) == principal
    wait_until(lambda: refuses(verifier, token), 10, "the token to expire")
    assert refuses(verifier, token)


def test_a_token_signed_with_another_secret_is_refused_every_time() -> None:
    settings = settings_for_tests()
    verifier = TokenVerifier(settings)
    another = settings.model_copy(update={"jwt_secret": SecretStr("another-secret-" * 3)})
    forged = issue_token(another, "mallory", [Role.ADMIN])

    assert refuses(verifier, forged)
    assert refuses(verifier, forged)
