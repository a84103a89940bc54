"""The caller as a value: anonymous today, and a job runs for its recorded owner."""

from __future__ import annotations

import dataclasses

import pytest
from starlette.requests import Request

from jmmctap.auth import ANONYMOUS, Authenticator, Principal, job_principal


def test_a_principal_is_a_frozen_value_named_in_logs() -> None:
    alice = Principal("alice", frozenset({"jmmc"}))
    assert (str(alice), str(ANONYMOUS)) == ("alice", "anonymous")
    assert ANONYMOUS.anonymous and not alice.anonymous
    with pytest.raises(dataclasses.FrozenInstanceError):
        alice.name = "bob"  # type: ignore[misc]


async def test_every_caller_is_anonymous_until_accounts_exist() -> None:
    request = Request({"type": "http", "method": "GET", "path": "/tap/sync", "headers": [
        (b"authorization", b"Bearer something")]})
    assert await Authenticator().principal_of(request) == ANONYMOUS


def test_a_job_runs_for_its_owner() -> None:
    assert job_principal(None) == ANONYMOUS
    assert job_principal("alice") == Principal("alice")
