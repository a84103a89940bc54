"""Failed logins: a burst per client address, then one per refill period; other addresses are not affected."""

from __future__ import annotations

from jmmctap.accounts.throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_may_fail_a_burst_then_waits_for_a_refill() -> None:
    clock = Clock()
    throttle = LoginThrottle(burst=3, refill_s=10, clock=clock)
    for _ in range(3):
        assert throttle.retry_after_s("10.0.0.1") is None
        throttle.record_failure("10.0.0.1")
    assert throttle.retry_after_s("10.0.0.1") == 10
    clock.now += 4
    assert throttle.retry_after_s("10.0.0.1") == 6
    clock.now += 6
    assert throttle.retry_after_s("10.0.0.1") is None
    throttle.record_failure("10.0.0.1")  # the one regained attempt is used up at once
    assert throttle.retry_after_s("10.0.0.1") == 10


def test_other_addresses_keep_their_own_budget() -> None:
    throttle = LoginThrottle(burst=1, refill_s=60, clock=Clock())
    throttle.record_failure("10.0.0.1")
    assert throttle.retry_after_s("10.0.0.1") == 60
    assert throttle.retry_after_s("10.0.0.2") is None


def test_a_long_pause_refills_no_more_than_the_burst() -> None:
    clock = Clock()
    throttle = LoginThrottle(burst=2, refill_s=1, clock=clock)
    throttle.record_failure("a")
    clock.now += 3600
    throttle.record_failure("a")
    throttle.record_failure("a")
    assert throttle.retry_after_s("a") == 1


def test_memory_stays_bounded_under_many_addresses() -> None:
    from jmmctap.accounts import throttle as module

    throttle = LoginThrottle(burst=5, refill_s=60, clock=Clock())
    for i in range(module._MAX_ADDRESSES + 50):
        throttle.record_failure(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
    assert len(throttle._buckets) <= module._MAX_ADDRESSES
