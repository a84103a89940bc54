"""Tokens: prefixed, random, stored as a SHA-256."""

from __future__ import annotations

from jmmctap.accounts.tokens import TOKEN_PREFIX, hash_token, looks_like_token, new_token, token_hint


def test_tokens_are_prefixed_long_and_never_repeat() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(t.startswith(TOKEN_PREFIX) and len(t) >= 47 and looks_like_token(t) for t in tokens)


def test_a_password_starting_like_a_token_is_not_taken_for_one() -> None:
    assert not looks_like_token("jmt_short") and not looks_like_token("hunter2")


def test_the_stored_hash_and_hint_do_not_reveal_the_token() -> None:
    token = new_token()
    assert len(hash_token(token)) == 32 and token.encode() not in hash_token(token)
    assert token_hint(token).startswith(TOKEN_PREFIX) and len(token_hint(token)) < 12
