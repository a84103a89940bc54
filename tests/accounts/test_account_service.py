"""Passwords of users without a local one are checked by JMMC's account service; its answers are remembered."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from starlette.requests import Request

from jmmctap.auth import Principal
from jmmctap.context import context_of
from jmmctap.settings import Settings
from tests.accounts.conftest import JMMC_PASSWORD, app_client
from tests.conftest import free_port
from tests.support.accounts import TestAccount

Service = tuple[str, list[dict[str, list[str]]]]


async def test_a_jmmc_login_unknown_here_is_checked_by_the_service_once_per_cache_period(
    settings: Settings, account_service: Service
) -> None:
    url, calls = account_service
    async with app_client(settings, account_service=url) as (_, client):
        first = await client.get("/tap/capabilities", auth=("pi@jmmc.fr", JMMC_PASSWORD))
        again = await client.get("/tap/capabilities", auth=("pi@jmmc.fr", JMMC_PASSWORD))
        wrong = await client.get("/tap/capabilities", auth=("pi@jmmc.fr", "nope"))
    assert first.status_code == again.status_code == 200
    assert first.headers["X-VO-Authenticated"] == "pi@jmmc.fr"
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith('Basic realm="jmmc account"')
    assert calls == [  # the second right answer came from the memo
        {"email": ["pi@jmmc.fr"], "password": [JMMC_PASSWORD], "action": ["checkPassword"]},
        {"email": ["pi@jmmc.fr"], "password": ["nope"], "action": ["checkPassword"]},
    ]


async def test_with_no_cache_period_every_request_asks_the_service(
    settings: Settings, account_service: Service
) -> None:
    url, calls = account_service
    async with app_client(settings, account_service=url, auth_cache_s=0) as (_, client):
        for _ in range(2):
            assert (await client.get("/health", auth=("pi@jmmc.fr", JMMC_PASSWORD))).status_code == 200
    assert len(calls) == 2


async def test_a_local_user_without_password_logs_in_through_the_service_with_its_local_groups(
    settings: Settings, owner_conn: psycopg.Connection[Any], account_service: Service,
    make_account: Callable[..., TestAccount],
) -> None:
    url, calls = account_service
    account = make_account(groups=["spica-pis"])
    owner_conn.execute("UPDATE jmmctap_accounts.users SET password_hash = NULL WHERE name = %s", [account.name])
    async with app_client(settings, account_service=url) as (app, client):
        request = Request({"type": "http", "method": "GET", "path": "/", "client": ("192.0.2.1", 1), "headers": [
            (b"authorization", b"Basic " + base64.b64encode(f"{account.name}:{JMMC_PASSWORD}".encode()))]})
        assert await context_of(app).auth.principal_of(request) == Principal(account.name, frozenset({"spica-pis"}))
        # a user with a local password is checked here only: the service is not asked
        local = make_account()
        assert (await client.get("/health", auth=(local.name, JMMC_PASSWORD))).status_code == 401
        assert (await client.get("/health", auth=local.basic)).status_code == 200
    assert [c["email"] for c in calls] == [[account.name]]


async def test_without_the_service_a_user_without_password_cannot_log_in_with_one(
    settings: Settings, owner_conn: psycopg.Connection[Any], make_account: Callable[..., TestAccount],
) -> None:
    account = make_account()
    owner_conn.execute("UPDATE jmmctap_accounts.users SET password_hash = NULL WHERE name = %s", [account.name])
    async with app_client(settings) as (_, client):
        assert (await client.get("/health", auth=(account.name, JMMC_PASSWORD))).status_code == 401
        assert (await client.get("/health", auth=(account.name, account.token))).status_code == 200


async def test_a_service_that_does_not_answer_is_503_not_a_failed_login(settings: Settings) -> None:
    async with app_client(settings, account_service=f"http://127.0.0.1:{free_port()}/manage.php") as (_, client):
        response = await client.get("/tap/capabilities", auth=("pi@jmmc.fr", JMMC_PASSWORD))
    assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0


@pytest.mark.parametrize("url", ["ftp://accounts.jmmc.fr/manage.php", "accounts.jmmc.fr"])
def test_the_service_url_must_be_http(url: str) -> None:
    with pytest.raises(Exception, match="JMMCTAP_ACCOUNT_SERVICE"):
        Settings(account_service=url)
