"""The customers' opaque tokens and their stored digests."""

import re

from commands.customers.tokens import digest, new_token


def test_tokens_are_fresh_url_safe_and_carry_256_bits() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", token) for token in tokens)


def test_a_digest_is_the_tokens_sha256_in_hex() -> None:
    assert digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    token = new_token()
    assert digest(token) == digest(token) != digest(new_token())
    assert token not in digest(token)
