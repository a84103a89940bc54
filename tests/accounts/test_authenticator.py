"""Who a request runs as: Basic password, Basic or Bearer token, or anonymous; wrong credentials get 401."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from astropy.io.votable import parse as parse_votable
from starlette.requests import Request
from starlette.routing import Route

from jmmctap.accounts import store
from jmmctap.accounts.tokens import hash_token
from jmmctap.auth import ANONYMOUS, Principal
from jmmctap.context import context_of
from jmmctap.logs import event_fields
from jmmctap.settings import Settings
from tests.accounts.conftest import app_client
from tests.support.accounts import TestAccount

CHALLENGE = re.compile(r'^Basic realm="jmmc account", Bearer realm="jmmc account"')


def _error_text(response: httpx.Response) -> str:
    """The QUERY_STATUS=ERROR text of a DALI error document."""
    (info,) = [i for i in parse_votable(io.BytesIO(response.content)).resources[0].infos if i.name == "QUERY_STATUS"]
    assert info.value == "ERROR"
    return str(info.content)


async def test_without_credentials_the_caller_is_anonymous_and_told_it_may_log_in(settings: Settings) -> None:
    async with app_client(settings) as (_, client):
        response = await client.get("/tap/capabilities")
        head = await client.head("/tap/capabilities")
    assert response.status_code == head.status_code == 200
    assert "X-VO-Authenticated" not in response.headers
    # IVOA AuthVO: 200 with challenges on the capabilities = optional authentication
    assert CHALLENGE.match(response.headers["WWW-Authenticate"]) and CHALLENGE.match(head.headers["WWW-Authenticate"])


@pytest.mark.parametrize("how", ["password", "bearer", "token-as-password", "token-without-user"])
async def test_a_password_or_a_token_authenticates_and_the_response_says_who(
    settings: Settings, make_account: Callable[..., TestAccount], how: str
) -> None:
    account = make_account()
    choices: dict[str, dict[str, Any]] = {
        "password": {"auth": account.basic},
        "bearer": {"headers": account.bearer},
        "token-as-password": {"auth": (account.name, account.token)},
        "token-without-user": {"auth": ("", account.token)},
    }
    options = choices[how]
    async with app_client(settings) as (_, client):
        response = await client.get("/tap/sync", params={"QUERY": "SELECT TOP 1 table_name FROM tap_schema.tables"},
                                    **options)
    assert response.status_code == 200
    assert response.headers["X-VO-Authenticated"] == account.name


async def test_the_principal_has_the_users_groups(
    settings: Settings, make_account: Callable[..., TestAccount]
) -> None:
    account = make_account(groups=["oidb-team", "spica"])
    async with app_client(settings) as (app, _):
        auth = context_of(app).auth
        request = Request({"type": "http", "method": "GET", "path": "/", "client": ("192.0.2.1", 1),
                           "headers": [(b"authorization", f"Bearer {account.token}".encode())]})
        assert await auth.principal_of(request) == Principal(account.name, frozenset({"oidb-team", "spica"}))
        anonymous = Request({"type": "http", "method": "GET", "path": "/", "headers": []})
        assert await auth.principal_of(anonymous) == ANONYMOUS


@pytest.mark.parametrize("how", ["wrong-password", "unknown-user", "unknown-token", "someone-elses-token"])
async def test_wrong_credentials_get_401_with_both_challenges_and_a_dali_error(
    settings: Settings, make_account: Callable[..., TestAccount], how: str
) -> None:
    account, other = make_account(), make_account()
    choices: dict[str, dict[str, Any]] = {
        "wrong-password": {"auth": (account.name, account.password + "x")},
        "unknown-user": {"auth": ("nobody@test.jmmc.fr", account.password)},
        "unknown-token": {"headers": {"Authorization": "Bearer jmt_" + "A" * 43}},
        "someone-elses-token": {"auth": (account.name, other.token)},
    }
    options = choices[how]
    async with app_client(settings) as (_, client):
        response = await client.get("/tap/tables", **options)
    assert response.status_code == 401
    assert CHALLENGE.match(response.headers["WWW-Authenticate"])
    assert "X-VO-Authenticated" not in response.headers
    assert response.headers["Content-Type"].startswith("application/x-votable+xml")
    assert _error_text(response)


async def test_expired_and_revoked_tokens_are_refused(
    settings: Settings, owner_conn: psycopg.Connection[Any], make_account: Callable[..., TestAccount]
) -> None:
    expired = make_account(expires_at=datetime.now(UTC) - timedelta(minutes=1))
    revoked = make_account()
    async with app_client(settings) as (_, client):
        assert (await client.get("/tap/tables", headers=revoked.bearer)).status_code == 200
        store.revoke_token(owner_conn, token_hash=hash_token(revoked.token))
        responses = {
            "expired": await client.get("/tap/tables", headers=expired.bearer),
            "revoked": await client.get("/tap/tables", headers=revoked.bearer),
            "revoked-as-password": await client.get("/tap/tables", auth=(revoked.name, revoked.token)),
        }
    for why, response in responses.items():
        assert response.status_code == 401, why
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]  # RFC 6750 §3.1
        assert why.partition("-")[0] in _error_text(response)


async def test_a_disabled_account_is_refused_even_with_the_right_password(
    settings: Settings, owner_conn: psycopg.Connection[Any], make_account: Callable[..., TestAccount]
) -> None:
    account = make_account()
    owner_conn.execute("UPDATE jmmctap_accounts.users SET disabled = true WHERE name = %s", [account.name])
    async with app_client(settings) as (_, client):
        for options in ({"auth": account.basic}, {"headers": account.bearer}):
            response = await client.get("/tap/capabilities", **options)
            assert response.status_code == 401 and "disabled" in _error_text(response)


async def test_a_removed_user_is_refused_at_once_though_its_password_was_checked_before(
    settings: Settings, owner_conn: psycopg.Connection[Any], make_account: Callable[..., TestAccount]
) -> None:
    account = make_account()
    async with app_client(settings) as (_, client):
        assert (await client.get("/tap/capabilities", auth=account.basic)).status_code == 200
        store.remove_user(owner_conn, account.name)
        assert (await client.get("/tap/capabilities", auth=account.basic)).status_code == 401


def _concrete(path: str) -> str:
    return re.sub(r"\{catalogue\}", "jsdc", re.sub(r"\{(job_id|name|table_name)(:path)?\}", "x", path))


async def test_every_route_authenticates_and_confirms_who(
    settings: Settings, make_account: Callable[..., TestAccount]
) -> None:
    account = make_account()
    async with app_client(settings, login_failures_burst=1000) as (app, client):
        routes = [(method, _concrete(r.path)) for r in app.routes if isinstance(r, Route)
                  for method in sorted(r.methods or ()) if method != "HEAD"]
        assert {"/health", "/tap/sync", "/tap/async", "/tap/capabilities", "/scs/jsdc"} <= {p for _, p in routes}
        for method, path in routes:
            refused = await client.request(method, path, auth=(account.name, "wrong"))
            assert refused.status_code == 401, (method, path)
            assert CHALLENGE.match(refused.headers["WWW-Authenticate"]), (method, path)
            accepted = await client.request(method, path, auth=account.basic)
            assert accepted.headers.get("X-VO-Authenticated") == account.name, (method, path, accepted.status_code)


async def test_cone_search_refusals_are_scs_error_documents(settings: Settings) -> None:
    async with app_client(settings) as (_, client):
        response = await client.get("/scs/jsdc", params={"RA": 1, "DEC": 1, "SR": 0.1}, auth=("nobody", "x"))
    assert response.status_code == 401
    assert b'<INFO name="Error"' in response.content


async def test_a_malformed_header_is_refused_not_ignored(settings: Settings) -> None:
    async with app_client(settings) as (_, client):
        response = await client.get("/health", headers={"Authorization": "Digest username=alice"})
    assert response.status_code == 401 and "unsupported authorization scheme" in _error_text(response)


async def test_failed_logins_are_logged_and_successful_ones_name_the_user_in_the_access_log(
    settings: Settings, make_account: Callable[..., TestAccount], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="jmmctap")
    account = make_account()
    async with app_client(settings, client=("192.0.2.77", 4000)) as (_, client):
        await client.get("/tap/availability", auth=(account.name, "wrong"))
        await client.get("/tap/availability", auth=account.basic)
        await client.get("/tap/availability")
    (failed,) = [f for r in caplog.records if (f := event_fields(r, "login_failed")) is not None]
    assert failed == {"client": "192.0.2.77", "user": account.name, "reason": "wrong user name or password"}
    access = [f for r in caplog.records if (f := event_fields(r, "access")) is not None]
    assert [(a["status"], a.get("user")) for a in access] == [(401, None), (200, account.name), (200, "anonymous")]
    assert all(account.password not in r.getMessage() for r in caplog.records)


async def test_a_client_checks_its_credentials_with_head_on_the_capabilities(
    settings: Settings, make_account: Callable[..., TestAccount]
) -> None:
    account = make_account("zoé%team@test.jmmc.fr")
    async with app_client(settings) as (_, client):
        response = await client.head("/tap/capabilities", auth=account.basic)
    assert response.status_code == 200
    # IVOA AuthVO "Checking Authentication"; a header value is ASCII, so other characters are percent-encoded
    assert response.headers["X-VO-Authenticated"] == "zo%C3%A9%25team@test.jmmc.fr"
