"""Passwords: argon2id hashes (argon2-cffi), checked off the event loop and remembered briefly.

argon2id is memory-hard on purpose (64 MiB and tens of milliseconds a check), so a check runs in a
worker thread, at most ``CONCURRENT_CHECKS`` at once (a burst of logins must not eat the machine's
memory), and a verified ``(hash, password)`` pair is remembered for ``JMMCTAP_AUTH_CACHE_S``: pyvo and
TOPCAT send Basic credentials with every request, and a job poll must not cost an argon2 run.
"""

from __future__ import annotations

import functools

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from jmmctap.accounts.cache import CheckCache, digest_of

__all__ = ["CONCURRENT_CHECKS", "PasswordChecker", "hash_password"]

CONCURRENT_CHECKS = 2
"""argon2 checks run at once per process (each takes 64 MiB for a moment)."""

_HASHER = PasswordHasher()  # RFC 9106 "low memory" profile: argon2id, t=3, m=64 MiB, p=4


@functools.cache
def _dummy_hash() -> str:
    """Checked for unknown users, so that their answer takes as long as a wrong password's."""
    return _HASHER.hash("jmmctap: no such user")


def hash_password(password: str) -> str:
    """The argon2id hash (PHC string, salt included) to store for ``password``."""
    return _HASHER.hash(password)


class PasswordChecker:
    """Checks passwords against stored hashes; one per process (its memo is shared by all requests)."""

    def __init__(self, cache: CheckCache[bool]) -> None:
        self._cache = cache
        self._limiter = anyio.CapacityLimiter(CONCURRENT_CHECKS)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when ``password`` matches ``stored_hash``; None (no such user) costs a check and answers False."""
        if stored_hash is None:
            await anyio.to_thread.run_sync(_verify, _dummy_hash(), password, limiter=self._limiter)
            return False
        key = digest_of(stored_hash, password)  # a new hash (password changed) is a new key
        known = self._cache.get(key)
        if known is not None:
            return known
        answer = await anyio.to_thread.run_sync(_verify, stored_hash, password, limiter=self._limiter)
        self._cache.put(key, answer)
        return answer


def _verify(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False
