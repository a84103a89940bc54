"""The memo of credential checks: answers expire, keys are digests, size is bounded."""

from __future__ import annotations

from jmmctap.accounts.cache import CheckCache, digest_of


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_answer_is_remembered_until_it_expires() -> None:
    clock = Clock()
    cache: CheckCache[bool] = CheckCache(60, clock=clock)
    key = digest_of("alice", "pw")
    cache.put(key, False)
    clock.now = 59.9
    assert cache.get(key) is False
    clock.now = 60
    assert cache.get(key) is None


def test_zero_lifetime_remembers_nothing() -> None:
    cache: CheckCache[bool] = CheckCache(0)
    cache.put(digest_of("a"), True)
    assert cache.get(digest_of("a")) is None


def test_keys_are_digests_that_keep_parts_apart() -> None:
    assert digest_of("ab", "c") != digest_of("a", "bc")
    assert b"secret" not in digest_of("alice", "secret") and len(digest_of("x")) == 32


def test_the_oldest_entries_go_first_beyond_the_bound() -> None:
    cache: CheckCache[int] = CheckCache(60, max_entries=2)
    for i in range(3):
        cache.put(digest_of(str(i)), i)
    assert (cache.get(digest_of("0")), cache.get(digest_of("1")), cache.get(digest_of("2"))) == (None, 1, 2)
    assert len(cache) == 2
