"""Passwords are stored as argon2id hashes and checked against them; a verified pair is remembered."""

from __future__ import annotations

from jmmctap.accounts.cache import CheckCache, digest_of
from jmmctap.accounts.passwords import PasswordChecker, hash_password


def test_a_hash_is_salted_argon2id_and_holds_no_password() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("$argon2id$") and first != second
    assert "correct" not in first


async def test_the_right_password_matches_and_a_wrong_one_does_not() -> None:
    checker = PasswordChecker(CheckCache(60))
    stored = hash_password("correct horse")
    assert await checker.verify(stored, "correct horse")
    assert not await checker.verify(stored, "Correct horse")
    assert not await checker.verify("not a hash", "correct horse")


async def test_an_unknown_user_is_refused() -> None:
    assert not await PasswordChecker(CheckCache(60)).verify(None, "anything")


async def test_a_remembered_answer_is_used_without_a_new_check() -> None:
    cache: CheckCache[bool] = CheckCache(60)
    stored = hash_password("pw")
    cache.put(digest_of(stored, "pw"), False)  # what the memo says wins while it lasts
    assert not await PasswordChecker(cache).verify(stored, "pw")
    fresh: CheckCache[bool] = CheckCache(60)
    assert await PasswordChecker(fresh).verify(stored, "pw")
    assert fresh.get(digest_of(stored, "pw")) is True
