"""A small time-limited memo of credential checks, so a client sending Basic on every request is checked once a minute.

Keys are SHA-256 digests of the credentials (never the credentials themselves), values what the check
answered. The memo is bounded: past ``max_entries`` the oldest entries go first.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["CheckCache", "digest_of"]

T = TypeVar("T")

MAX_ENTRIES = 10_000
"""Entries kept at most (a few MB); beyond, the oldest are forgotten and simply checked again."""


def digest_of(*parts: str) -> bytes:
    """SHA-256 of the parts, NUL-separated: a cache key that reveals nothing of them."""
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).digest()


class CheckCache(Generic[T]):
    """``digest → answer`` remembered for ``ttl_s`` seconds (0: nothing is remembered)."""

    def __init__(self, ttl_s: float, *, max_entries: int = MAX_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[bytes, tuple[float, T]] = OrderedDict()

    def get(self, key: bytes) -> T | None:
        """The answer remembered for ``key``, or None when unknown or expired."""
        found = self._entries.get(key)
        if found is None:
            return None
        expires, answer = found
        if self._clock() >= expires:
            del self._entries[key]
            return None
        return answer

    def put(self, key: bytes, answer: T) -> None:
        """Remember ``answer`` for ``key`` for the cache's lifetime."""
        if self._ttl_s <= 0:
            return
        self._entries.pop(key, None)
        self._entries[key] = (self._clock() + self._ttl_s, answer)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
