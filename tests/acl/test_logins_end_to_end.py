"""Issue 15 end to end: real logins on a real ``jmmctap serve``, pyvo as the client, the rules in PostgreSQL.

The server runs on the access-control cluster (``conftest``: public, team and solo collections). Its users
are real accounts: ``alice`` (group teamA), ``bob`` (teamB) and ``dave`` (no group; carol's co-I once the
delegation is added by the CLI). Everything an outsider runs — sync, async, an upload join, TAP_SCHEMA
``nrows`` — must return the public rows only, with a password, with a token, or with nothing.
"""

from __future__ import annotations

import contextlib
import gc
import io
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
import pyvo
import requests
from astropy.io.votable import parse_single_table
from astropy.table import Table
from lxml import etree

from jmmctap.accounts.store import remove_user
from jmmctap.db.connect import conninfos
from jmmctap.settings import Settings
from tests.acl.conftest import COUNT, PUBLIC_ROWS
from tests.conftest import free_port, server_env, spawn_server, stop_server
from tests.support.accounts import TestAccount, create_account
from tests.test_cli import run_cli

# pyvo never closes its streamed responses (see tests/uws/test_pyvo.py): their sockets go to the collector
pytestmark = pytest.mark.filterwarnings("ignore:unclosed:ResourceWarning")

PUBLIC = {"pionier_public": PUBLIC_ROWS}
TEAM = {**PUBLIC, "team_private": 2}
NROWS = "SELECT nrows FROM TAP_SCHEMA.tables WHERE table_name = 'ivoa.obscore'"
UPLOAD_JOIN = ("SELECT u.name, o.obs_collection FROM TAP_UPLOAD.targets AS u JOIN ivoa.obscore AS o"
               " ON 1 = CONTAINS(POINT('ICRS', o.s_ra, o.s_dec), CIRCLE('ICRS', u.ra, u.dec, 0.01))")
TARGETS = Table({"name": ["HD45677", "V838_Mon", "ACHERNAR", "HD33802"],
                 "ra": [97.071446, 106.020179, 24.428882, 78.074793],
                 "dec": [-13.05308, -3.84754, -57.23684, -11.86934]})
"""The targets of the private granules and of one public one."""


@pytest.fixture(scope="module")
def people(acl_settings: Settings) -> Iterator[dict[str, TestAccount]]:
    """Real accounts with passwords and tokens, removed at the end."""
    with psycopg.connect(conninfos(acl_settings).owner, autocommit=True) as conn:
        accounts = {"alice": create_account(conn, "alice", groups=["teamA"]),
                    "bob": create_account(conn, "bob", groups=["teamB"]),
                    "dave": create_account(conn, "dave")}
        yield accounts
        for name in accounts:
            remove_user(conn, name)


@pytest.fixture(scope="module")
def acl_server(acl_settings: Settings, people: dict[str, TestAccount]) -> Iterator[str]:
    """``jmmctap serve`` on the access-control cluster; yields its TAP URL."""
    port = free_port()
    process = spawn_server(server_env(acl_settings), port)
    try:
        yield f"http://127.0.0.1:{port}/tap"
    finally:
        stop_server(process)


@contextlib.contextmanager
def _service(url: str, account: TestAccount | None, method: str = "basic") -> Iterator[pyvo.dal.TAPService]:
    """pyvo's service as ``account`` (anonymous: None), logged in with its password or its token.

    The responses pyvo leaves open are collected on exit, while this module's warning filter applies (else
    the collector may meet them in a later module, whose filter turns the ResourceWarning into an error).
    """
    if account is None:
        with requests.Session() as session:
            yield pyvo.dal.TAPService(url, session=session)
        gc.collect()
        return
    auth = account.pyvo_session(method)
    try:
        yield pyvo.dal.TAPService(url, session=auth)
    finally:
        TestAccount.close(auth)
        gc.collect()


def _counts(table: Any) -> dict[str, int]:
    return {str(row["obs_collection"]): int(row["n"]) for row in table}


def _everything_seen(service: pyvo.dal.TAPService) -> tuple[dict[str, int], dict[str, int], set[str], int]:
    """(sync counts, async counts, collections reached by an upload join, nrows) as ``service`` sees them."""
    sync = _counts(service.run_sync(COUNT).to_table())
    run_async = _counts(service.run_async(COUNT).to_table())
    joined = service.run_sync(UPLOAD_JOIN, uploads={"targets": TARGETS}).to_table()
    nrows = int(service.run_sync(NROWS).to_table()["nrows"][0])
    return sync, run_async, {str(c) for c in joined["obs_collection"]}, nrows


@pytest.mark.parametrize(("who", "method"), [(None, ""), ("bob", "basic"), ("bob", "token")],
                         ids=["anonymous", "bob-password", "bob-token"])
def test_outsiders_never_see_the_private_rows_or_their_count(
        acl_server: str, people: dict[str, TestAccount], who: str | None, method: str) -> None:
    with _service(acl_server, people[who] if who else None, method) as service:
        assert _everything_seen(service) == (PUBLIC, PUBLIC, {"pionier_public"}, PUBLIC_ROWS)


@pytest.mark.parametrize("method", ["basic", "token"])
def test_a_member_logged_in_with_pyvo_sees_the_private_rows(
        acl_server: str, people: dict[str, TestAccount], method: str) -> None:
    with _service(acl_server, people["alice"], method) as service:
        sync, run_async, joined, nrows = _everything_seen(service)
    assert (sync, run_async) == (TEAM, TEAM)
    assert joined == {"pionier_public", "team_private"}
    assert nrows == PUBLIC_ROWS  # a published count never includes rows someone cannot see


def test_a_delegation_made_with_the_cli_opens_the_rows_to_the_coi_until_it_is_removed(
        acl_server: str, acl_settings: Settings, people: dict[str, TestAccount],
        acl_conn: psycopg.Connection[Any]) -> None:
    env = server_env(acl_settings)
    with _service(acl_server, people["dave"]) as dave, _service(acl_server, people["bob"]) as bob:
        assert _counts(dave.run_sync(COUNT).to_table()) == PUBLIC
        assert run_cli("delegation", "add", "carol", "dave", env=env).returncode == 0
        assert _everything_seen(dave)[:3] == (TEAM, TEAM, {"pionier_public", "team_private"})
        assert _counts(bob.run_sync(COUNT).to_table()) == PUBLIC
        assert run_cli("delegation", "remove", "carol", "dave", env=env).returncode == 0
        assert _everything_seen(dave)[:3] == (PUBLIC, PUBLIC, {"pionier_public"})


def _error_text(response: httpx.Response) -> str:
    info = etree.fromstring(response.content).find(".//{*}INFO[@name='QUERY_STATUS']")
    assert info is not None and info.get("value") == "ERROR"
    return (info.text or "").strip()


def _published(url: str, auth: Any) -> set[str]:
    tables = etree.fromstring(httpx.get(f"{url}/tables", auth=auth, timeout=30).content)
    return {name.text or "" for name in tables.iter("name")}


def test_a_granted_table_is_invisible_to_others_as_if_it_did_not_exist(
        acl_server: str, acl_settings: Settings, people: dict[str, TestAccount],
        acl_conn: psycopg.Connection[Any]) -> None:
    env = server_env(acl_settings)
    alice, bob = people["alice"].basic, people["bob"].basic
    assert "jsdc.jsdc_v2" in _published(acl_server, bob)
    assert run_cli("grant", "jsdc.jsdc_v2", "--group", "teamA", env=env).returncode == 0
    try:
        deadline = time.monotonic() + 30  # the server reloads TAP_SCHEMA on the grant's notification
        while "jsdc.jsdc_v2" in _published(acl_server, bob):
            assert time.monotonic() < deadline, "the grant never reached the server"
            time.sleep(0.2)
        assert "jsdc.jsdc_v2" in _published(acl_server, alice)
        assert "jsdc.jsdc_v2" not in _published(acl_server, None)

        def sync(query: str, auth: Any) -> httpx.Response:
            return httpx.post(f"{acl_server}/sync", data={"LANG": "ADQL", "QUERY": query}, auth=auth, timeout=30)

        listed = "SELECT table_name FROM TAP_SCHEMA.tables WHERE table_name LIKE 'jsdc.%'"
        for who in (bob, None):
            names = parse_single_table(io.BytesIO(sync(listed, who).content)).to_table()["table_name"]
            assert "jsdc.jsdc_v2" not in {str(n) for n in names}
            hidden = sync("SELECT TOP 1 * FROM jsdc.jsdc_v2", who)
            missing = sync("SELECT TOP 1 * FROM jsdc.jsdc_v9", who)
            assert hidden.status_code == missing.status_code == 400
            assert _error_text(hidden) == _error_text(missing).replace("jsdc_v9", "jsdc_v2")
        assert sync("SELECT TOP 1 * FROM jsdc.jsdc_v2", alice).status_code == 200
        root = acl_server.removesuffix("/tap")
        assert httpx.get(f"{root}/scs/jsdc", params={"RA": 10, "DEC": 10, "SR": 1}, auth=alice).status_code == 200
        refused = httpx.get(f"{root}/scs/jsdc", params={"RA": 10, "DEC": 10, "SR": 1}, auth=bob)
        assert re.search(rb'name="Error"|QUERY_STATUS', refused.content) and b"<TR>" not in refused.content
    finally:
        assert run_cli("grant", "jsdc.jsdc_v2", "--public", env=env).returncode == 0


def test_another_user_can_neither_see_nor_touch_a_job(acl_server: str, people: dict[str, TestAccount]) -> None:
    with _service(acl_server, people["alice"]) as service:
        job = service.submit_job("SELECT TOP 1 obs_id FROM ivoa.obscore")
    url, alice, bob = job.url, people["alice"].basic, people["bob"].basic
    try:
        for auth in (bob, None):
            assert httpx.get(url, auth=auth).status_code == 404
            assert httpx.post(f"{url}/phase", data={"PHASE": "RUN"}, auth=auth).status_code == 404
            assert httpx.post(f"{url}/phase", data={"PHASE": "ABORT"}, auth=auth).status_code == 404
            assert httpx.post(f"{url}/parameters", data={"MAXREC": "5"}, auth=auth).status_code == 404
            assert httpx.delete(url, auth=auth).status_code == 404
            assert httpx.get(f"{url}/results/result", auth=auth).status_code == 404
            assert job.job_id not in httpx.get(f"{acl_server}/async", auth=auth).text
        assert job.job_id in httpx.get(f"{acl_server}/async", auth=alice).text
        assert httpx.get(f"{url}/phase", auth=alice).text == "PENDING"  # nothing above touched it
        anonymous_list = etree.fromstring(httpx.get(f"{acl_server}/async").content)
        assert not list(anonymous_list.iter("{*}jobref"))
    finally:
        assert httpx.delete(url, auth=alice, follow_redirects=False).status_code in (200, 303)


def test_a_wrong_password_is_refused_with_the_jmmc_challenge(acl_server: str, people: dict[str, TestAccount]) -> None:
    refused = httpx.post(f"{acl_server}/sync", data={"LANG": "ADQL", "QUERY": COUNT},
                         auth=("alice", "not her password"))
    assert refused.status_code == 401
    assert 'Basic realm="jmmc account"' in refused.headers["www-authenticate"]
    with _service(acl_server, TestAccount("alice", "wrong", "jmt_wrong")) as service, \
            pytest.raises(pyvo.dal.DALQueryError, match="wrong user name or password"):
        service.run_sync(COUNT)
