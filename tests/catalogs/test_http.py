"""The catalog API over HTTP (httpx on the live server): refusals, admins, and the same visibility as TAP."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest

from jmmctap.acl.store import grant_table
from tests.catalogs.conftest import SPICA, audit_mark, audit_since
from tests.support.accounts import TestAccount

CAROL_ROW, DAN_ROW = 7, 8
"""Rows of Carol PI and Dan PI (not changed by the a2p2 tests)."""


def _priority(conn: psycopg.Connection[Any], key: int) -> int:
    row = conn.execute("SELECT priority_pi FROM spica.spica WHERE spicadb_id = %s", [key]).fetchone()
    assert row is not None
    return int(row[0])


def _refused(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    reason = response.headers["X-HTTP-Error-Description"]
    body = response.json()
    assert body["status"] == status and " ".join(body["error"].split()) == reason  # the header is one line
    for word in words:
        assert word in reason


@pytest.fixture
def api(catalog_server: str) -> str:
    return catalog_server + "/catalogs"


def test_a_batch_with_one_refused_row_changes_nothing(api: str, people: dict[str, TestAccount],
                                                     catalog_conn: psycopg.Connection[Any]) -> None:
    mark, before = audit_mark(catalog_conn), _priority(catalog_conn, CAROL_ROW)
    rows = [{"spicadb_id": CAROL_ROW, "priority_pi": 4}, {"spicadb_id": DAN_ROW, "priority_pi": 4}]
    _refused(httpx.put(f"{api}/spica", json=rows, auth=people["carol"].basic), 403, "Dan PI")
    assert _priority(catalog_conn, CAROL_ROW) == before
    assert audit_since(catalog_conn, mark) == []


@pytest.mark.parametrize(("body", "why"), [
    ({"priority_pi": 40000}, "out of the range of short"),
    ({"priority_pi": "high"}, "expected an integer"),
    ({"dec": 91.0}, "check constraint"),  # the ingester's range CHECK, enforced by PostgreSQL
    ({"no_such_column": 1}, "no column 'no_such_column'"),
    ({"piname": "Carol PI, the PI of this row"}, "at most 8 characters"),  # TAP_SCHEMA arraysize
])
def test_a_value_the_column_cannot_hold_is_refused_with_the_reason(
        api: str, people: dict[str, TestAccount], catalog_conn: psycopg.Connection[Any],
        body: dict[str, Any], why: str) -> None:
    mark = audit_mark(catalog_conn)
    _refused(httpx.put(f"{api}/spica/{CAROL_ROW}", json=body, auth=people["carol"].basic), 400, why)
    assert audit_since(catalog_conn, mark) == []


def test_a_pi_cannot_give_a_row_away_but_an_admin_changes_any_row(
        api: str, people: dict[str, TestAccount], catalog_conn: psycopg.Connection[Any]) -> None:
    _refused(httpx.put(f"{api}/spica/{CAROL_ROW}", json={"piname": "Dan PI"}, auth=people["carol"].basic), 403,
             "must name you")
    mark, before = audit_mark(catalog_conn), _priority(catalog_conn, DAN_ROW)
    response = httpx.put(f"{api}/{SPICA}/{DAN_ROW}", json={"priority_pi": before + 1}, headers=people["root"].bearer)
    assert response.status_code == 204, response.text
    assert audit_since(catalog_conn, mark) == [("root", "update", str(DAN_ROW), {"priority_pi": before},
                                                {"priority_pi": before + 1})]


def test_changes_need_a_login_and_unknown_names_are_404(api: str, people: dict[str, TestAccount]) -> None:
    response = httpx.put(f"{api}/spica/{CAROL_ROW}", json={"priority_pi": 1})
    _refused(response, 401, "log in")
    assert "Basic" in response.headers["WWW-Authenticate"]
    _refused(httpx.get(f"{api}/nosuchtable/1"), 404, "no catalog named nosuchtable")
    _refused(httpx.get(f"{api}/spica/424242"), 404, "spicadb_id = 424242")
    _refused(httpx.put(f"{api}/spica/999", json={"priority_pi": 1}, auth=people["carol"].basic), 404)
    _refused(httpx.put(f"{api}/spica", content=b"{not json", auth=people["carol"].basic), 400, "not valid JSON")


def test_only_admins_read_the_audit_and_other_pis_delegations(api: str, people: dict[str, TestAccount],
                                                             catalog_conn: psycopg.Connection[Any]) -> None:
    _refused(httpx.get(f"{api}/audit", auth=people["carol"].basic), 403, "only admins")
    _refused(httpx.get(f"{api}/delegations", params={"pi": "Dan PI"}, auth=people["carol"].basic), 403)
    entries = httpx.get(f"{api}/audit", params={"catalog": "spica", "limit": "2"}, auth=people["root"].basic).json()
    assert len(entries) <= 2 and all(e["table_name"] == SPICA for e in entries)
    response = httpx.put(f"{api}/delegations", json=[{"pi": "Carol PI", "catalogs": SPICA, "coi": ["bob"]}],
                         auth=people["root"].basic)
    assert response.status_code == 204
    assert httpx.get(f"{api}/delegations", params={"pi": "Carol PI"}, auth=people["root"].basic).json() == {
        "pi": "carol", "login": "root", "delegations": [{"catalogs": SPICA, "coi": ["bob"]}]}


def test_a_catalog_granted_to_a_group_is_unknown_to_others_as_in_tap(
        api: str, people: dict[str, TestAccount], catalog_conn: psycopg.Connection[Any]) -> None:
    grant_table(catalog_conn, SPICA, ["spicateam"])
    assert httpx.get(api, auth=people["carol"].basic).json() == {}
    _refused(httpx.get(f"{api}/spica/{CAROL_ROW}", auth=people["carol"].basic), 404, "no catalog")
    _refused(httpx.put(f"{api}/spica/{CAROL_ROW}", json={"priority_pi": 1}, auth=people["carol"].basic), 404)
    assert httpx.get(f"{api}/spica/{CAROL_ROW}", auth=people["root"].basic).status_code == 404  # admin of rows,
    # not of table grants: the group decides who reads, as for TAP


def test_the_openapi_document_describes_the_catalog_api(catalog_server: str) -> None:
    document = httpx.get(catalog_server + "/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert document["servers"] == [{"url": catalog_server}]
    paths = document["paths"]
    assert set(paths["/catalogs/{name}/{id}"]) == {"get", "put"}
    assert set(paths["/catalogs/{name}/{id}"]["put"]["responses"]) == {"204", "400", "401", "403", "404"}
    assert set(paths["/catalogs/{name}"]) == {"put", "post"}
    assert set(paths["/catalogs/delegations"]) == {"get", "put"}
    assert {"/catalogs", "/catalogs/meta/{name}", "/catalogs/accounts/{name}", "/catalogs/audit"} <= set(paths)
    refused = document["components"]["responses"]["refused"]
    assert "X-HTTP-Error-Description" in refused["headers"]
