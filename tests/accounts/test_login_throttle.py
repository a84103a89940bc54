"""Too many failed logins from one address: 429 with Retry-After, for right and wrong credentials alike."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from jmmctap.logs import event_fields
from jmmctap.settings import Settings
from tests.accounts.conftest import app_client
from tests.support.accounts import TestAccount


async def test_an_address_that_failed_too_often_gets_429_until_its_budget_refills(
    settings: Settings, make_account: Callable[..., TestAccount], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="jmmctap.auth")
    account = make_account()
    async with app_client(settings, login_failures_burst=2, login_failure_refill_s=600) as (app, client):
        for _ in range(2):
            assert (await client.get("/tap/tables", auth=(account.name, "guess"))).status_code == 401
        blocked = [await client.get("/tap/tables", auth=(account.name, "guess")),
                   await client.get("/tap/tables", auth=account.basic),
                   await client.get("/tap/tables", headers=account.bearer)]
        anonymous = await client.get("/tap/tables")
        other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("198.51.100.9", 1)),
                                  base_url="http://testserver")
        async with other:
            elsewhere = await other.get("/tap/tables", auth=account.basic)
    for response in blocked:
        assert response.status_code == 429
        assert 1 <= int(response.headers["Retry-After"]) <= 600
        assert b"too many failed logins" in response.content
    assert anonymous.status_code == 200  # requests without credentials are not limited
    assert elsewhere.status_code == 200 and elsewhere.headers["X-VO-Authenticated"] == account.name
    throttled = [f for r in caplog.records if (f := event_fields(r, "login_throttled")) is not None]
    assert len(throttled) == 3 and throttled[0]["client"] == "192.0.2.10"
