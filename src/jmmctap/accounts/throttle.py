"""Failed logins are rate-limited per client address: a token bucket of ``burst`` failures, refilled steadily.

Each failed login takes a token; an address whose bucket is empty gets 429 with ``Retry-After`` for
any request with credentials, right or wrong, until a token is back, so guessing passwords costs time
whatever the guesses. Requests without credentials are never limited here. Buckets live in memory,
per process (a restart forgives); full ones are forgotten, and past ``_MAX_ADDRESSES`` the oldest.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["LoginThrottle"]

_MAX_ADDRESSES = 10_000
"""Addresses tracked before full buckets are swept out."""


@dataclass
class _Bucket:
    tokens: float
    updated: float


class LoginThrottle:
    """Per-address budget of failed logins: ``burst`` at once, then one per ``refill_s`` seconds."""

    def __init__(self, burst: int, refill_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._burst = float(burst)
        self._refill_s = refill_s
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def retry_after_s(self, address: str) -> int | None:
        """Seconds until ``address`` may try to log in again; None when it may now."""
        bucket = self._refilled(address)
        if bucket is None or bucket.tokens >= 1:
            return None
        return max(1, math.ceil((1 - bucket.tokens) * self._refill_s))

    def record_failure(self, address: str) -> None:
        """Take one token from ``address``'s bucket."""
        bucket = self._refilled(address)
        if bucket is None:
            if len(self._buckets) >= _MAX_ADDRESSES:
                self._sweep()
            bucket = self._buckets[address] = _Bucket(self._burst, self._clock())
        bucket.tokens = max(0.0, bucket.tokens - 1)

    def _refilled(self, address: str) -> _Bucket | None:
        bucket = self._buckets.get(address)
        if bucket is not None:
            now = self._clock()
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) / self._refill_s)
            bucket.updated = now
        return bucket

    def _sweep(self) -> None:
        for address in list(self._buckets):
            bucket = self._refilled(address)
            if bucket is not None and bucket.tokens >= self._burst:
                del self._buckets[address]
        while len(self._buckets) >= _MAX_ADDRESSES:  # too many at once: forget the oldest addresses
            del self._buckets[next(iter(self._buckets))]
