"""pyvo logs in the IVOA way: the capabilities declare BasicAA and token, AuthSession picks its credentials."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import pyvo
import requests
from pyvo.dal import DALQueryError

from tests.support.accounts import TestAccount

# pyvo never closes its streamed responses (see tests/uws/test_pyvo.py): their sockets go to the collector
pytestmark = pytest.mark.filterwarnings("ignore:unclosed:ResourceWarning")

QUERY = "SELECT TOP 3 table_name FROM tap_schema.tables"


def _record_identity(session: requests.Session) -> list[tuple[str, str | None]]:
    """(path, X-VO-Authenticated) of every response the session receives."""
    seen: list[tuple[str, str | None]] = []

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        seen.append((urlsplit(response.url).path, response.headers.get("X-VO-Authenticated")))
    session.hooks["response"].append(hook)
    return seen


@pytest.mark.parametrize("method", ["basic", "token"])
def test_pyvo_auth_session_runs_sync_and_async_queries_as_the_user(
    live_server: str, make_account: Callable[..., TestAccount], method: str
) -> None:
    account = make_account()
    session = account.pyvo_session(method)
    seen = _record_identity(TestAccount.requests_session(session, method))
    try:
        service = pyvo.dal.TAPService(live_server, session=session)
        assert len(service.run_sync(QUERY)) == 3
        assert len(service.run_async(QUERY)) == 3
        assert len(service.tables) > 0
    finally:
        TestAccount.close(session)
        gc.collect()  # pyvo's leaked streamed responses, while the filter below applies
    paths = {path for path, _ in seen}
    assert {"/tap/sync", "/tap/async", "/tap/tables"} <= paths
    assert any(path.startswith("/tap/async/") and path.endswith("/results/result") for path in paths)
    assert {who for _, who in seen} == {account.name}  # every request, job polls and result included


def test_capabilities_declare_anonymous_basic_and_bearer_access_the_tap_11_way(live_server: str) -> None:
    service = pyvo.dal.TAPService(live_server)
    declared = {c.standardid: [[m.standardid for m in i.securitymethods] for i in c.interfaces]
                for c in service.capabilities}
    both = [[None, "ivo://ivoa.net/sso#BasicAA", "ivo://ivoa.net/sso#OAuth"]]  # None: anonymous (TAP 1.1 §2.4)
    assert declared["ivo://ivoa.net/std/TAP"] == declared["ivo://ivoa.net/std/VOSI#tables-1.1"] == both
    assert declared["ivo://ivoa.net/std/ConeSearch"] == both
    assert declared["ivo://ivoa.net/std/VOSI#capabilities"] == declared["ivo://ivoa.net/std/VOSI#availability"] == [[]]


def test_a_bad_password_is_a_401_with_the_challenges(
    live_server: str, make_account: Callable[..., TestAccount]
) -> None:
    account = make_account()
    response = httpx.get(f"{live_server}/sync", params={"QUERY": QUERY}, auth=(account.name, "bad password"))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="jmmc account", Bearer')
    session = pyvo.auth.AuthSession()
    session.credentials.set_password(account.name, "bad password")
    try:
        with pytest.raises(DALQueryError, match="wrong user name or password"):  # pyvo read our error VOTable
            pyvo.dal.TAPService(live_server, session=session).run_sync(QUERY)
    finally:
        TestAccount.close(session)
        gc.collect()  # pyvo's leaked streamed responses, while the filter below applies


def test_anonymous_pyvo_is_not_confirmed(live_server: str) -> None:
    with requests.Session() as plain:
        seen = _record_identity(plain)
        assert len(pyvo.dal.TAPService(live_server, session=plain).run_sync(QUERY)) == 3
    gc.collect()
    assert seen and all(who is None for _, who in seen)
