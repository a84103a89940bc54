"""The caller as a value; the base authenticator (no accounts) answers anonymous; a job runs for its owner.

The accounts' authenticator is tested in tests/accounts/.
"""

from __future__ import annotations

import dataclasses

import pytest
from starlette.requests import Request

from jmmctap.auth import ANONYMOUS, Authenticator, Principal


def test_a_principal_is_a_frozen_value_named_in_logs() -> None:
    alice = Principal("alice", frozenset({"jmmc"}))
    assert (str(alice), str(ANONYMOUS)) == ("alice", "anonymous")
    assert ANONYMOUS.anonymous and not alice.anonymous
    with pytest.raises(dataclasses.FrozenInstanceError):
        alice.name = "bob"  # type: ignore[misc]


async def test_the_base_authenticator_answers_anonymous_whatever_the_request_says() -> None:
    request = Request({"type": "http", "method": "GET", "path": "/tap/sync", "headers": [
        (b"authorization", b"Bearer something")]})
    assert await Authenticator().principal_of(request) == ANONYMOUS
