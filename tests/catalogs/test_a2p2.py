"""Issue 17 acceptance: JMMC's own client, a2p2's ``Catalog`` (PyPI, pinned), against a live ``jmmctap serve``.

a2p2 reads through TAP (pyvo) and writes through the catalog API, exactly as it does with JMMC's servers;
only its two URLs are ours. Its errors are ``Exception([status, reason, X-HTTP-Error-Description])``.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tests.catalogs.conftest import SPICA, Catalog, audit_mark, audit_since
from tests.support.accounts import TestAccount
from tests.support.spica import PIS

# pyvo never closes its streamed responses (see tests/uws/test_pyvo.py): their sockets go to the collector
pytestmark = pytest.mark.filterwarnings("ignore:unclosed:ResourceWarning")

CAROL_ROW, DAN_ROW, CAROL_OTHER_ROW = 4, 5, 10
"""Rows of PIS[0] (Carol PI) and PIS[1] (Dan PI): spicadb_id n belongs to PIS[(n - 1) % 3]."""


def _catalog(server: str, account: TestAccount, name: str = "spica") -> Any:
    return Catalog(name, account.name, account.password, apiUrl=server + "/catalogs", tapUrl=server + "/tap")


def _priority(conn: psycopg.Connection[Any], key: int) -> int:
    row = conn.execute("SELECT priority_pi FROM spica.spica WHERE spicadb_id = %s", [key]).fetchone()
    assert row is not None
    return int(row[0])


def _refusal(call: Any, *args: Any) -> list[str]:
    with pytest.raises(Exception) as refused:  # a2p2 raises a bare Exception with a list
        call(*args)
    reasons = refused.value.args[0]
    assert isinstance(reasons, list)
    return [str(r) for r in reasons]


def test_a2p2_lists_describes_and_reads_the_catalog(catalog_server: str, people: dict[str, TestAccount]) -> None:
    catalog = _catalog(catalog_server, people["carol"])
    assert catalog.list() == {SPICA: "SPICA survey targets (test sample)"}
    columns = {c["name"]: c for c in catalog.metadata()}
    assert columns["spicadb_id"]["primary-key"] is True
    assert columns["priority_pi"]["datatype"] == "short"
    assert {c for c, d in columns.items() if d.get("pi-column")} == {"piname", "piname2"}
    pis = {p["name"]: p for p in catalog.pis()}
    assert set(pis) == set(PIS)
    assert pis["Carol PI"]["login"] == "carol" and pis["Dan PI"]["login"] is None
    assert catalog.piname("carol") == "Carol PI"
    table = catalog.getTable()
    assert len(table) == 42 and table.colnames[0] == "spicadb_id"
    assert catalog.getRow(CAROL_ROW)["piname"] == "Carol PI"


def test_a_pi_updates_own_rows_and_a_delegated_co_i_too_while_others_get_403(
        catalog_server: str, people: dict[str, TestAccount], catalog_conn: psycopg.Connection[Any]) -> None:
    mark, before = audit_mark(catalog_conn), _priority(catalog_conn, CAROL_ROW)
    carol = _catalog(catalog_server, people["carol"])
    rows = carol.tableToDict(carol.getTable())  # the a2p2 way: read through TAP, edit, send back
    mine = [r for r in rows if r["spicadb_id"] == CAROL_ROW]
    mine[0]["priority_pi"] = 2
    assert carol.updateRows(mine) is None  # 204
    assert _priority(catalog_conn, CAROL_ROW) == 2

    dave = _catalog(catalog_server, people["dave"])
    reasons = _refusal(dave.updateRows, [{"spicadb_id": CAROL_ROW, "priority_pi": 3}])
    assert reasons[0] == "status_code is 403"
    assert "belongs to PI Carol PI" in reasons[-1]  # X-HTTP-Error-Description

    assert carol.getDelegations() == []
    assert carol.updateDelegations([{"catalogs": "spica", "coi": ["dave"]}]) is None
    assert carol.getDelegations() == [{"catalogs": SPICA, "coi": ["dave"]}]
    assert dave.updateRow(CAROL_ROW, {"priority_pi": 3}) is None
    assert _priority(catalog_conn, CAROL_ROW) == 3
    reasons = _refusal(dave.updateRow, DAN_ROW, {"priority_pi": 3})  # the delegation is Carol's rows only
    assert reasons[0] == "status_code is 403" and "Dan PI" in reasons[-1]

    bob = _catalog(catalog_server, people["bob"])
    reasons = _refusal(bob.updateRow, CAROL_ROW, {"priority_pi": 9})
    assert reasons[0] == "status_code is 403" and "belongs to PI Carol PI" in reasons[-1]
    assert _priority(catalog_conn, CAROL_ROW) == 3

    assert audit_since(catalog_conn, mark) == [
        ("carol", "update", str(CAROL_ROW), {"priority_pi": before}, {"priority_pi": 2}),
        ("carol", "delegate", None, None, {"pi": "carol", "coi": "dave"}),
        ("dave", "update", str(CAROL_ROW), {"priority_pi": 2}, {"priority_pi": 3}),
    ]


def test_a_pi_adds_rows_of_its_own_and_reads_them_through_tap(
        catalog_server: str, people: dict[str, TestAccount], catalog_conn: psycopg.Connection[Any]) -> None:
    mark = audit_mark(catalog_conn)
    carol = _catalog(catalog_server, people["carol"])
    added = carol.addRows([{"spicadb_id": 1001, "target_main_id": "HD 1001", "piname": "Carol PI",
                            "priority_pi": 1, "ra": 10.5, "dec": -20.25}])
    assert added == {"spicadb_id": [1001]}
    reasons = _refusal(carol.addRows, [{"spicadb_id": 1002, "target_main_id": "HD 1002", "piname": "Dan PI"}])
    assert reasons[0] == "status_code is 403"
    table = carol.getTable(forceUpdate=True)
    assert 1001 in list(table["spicadb_id"]) and 1002 not in list(table["spicadb_id"])
    (entry,) = audit_since(catalog_conn, mark)
    assert entry[:4] == ("carol", "insert", "1001", None)
    assert entry[4]["target_main_id"] == "HD 1001"


def test_a_co_i_loses_the_right_when_the_delegation_is_removed(
        catalog_server: str, people: dict[str, TestAccount], catalog_conn: psycopg.Connection[Any]) -> None:
    carol, dave = _catalog(catalog_server, people["carol"]), _catalog(catalog_server, people["dave"])
    carol.updateDelegations([{"catalogs": SPICA, "coi": ["dave"]}])
    dave.updateRow(CAROL_OTHER_ROW, {"priority_pi": 1})
    carol.updateDelegations([{"catalogs": SPICA, "coi": ["dave"], "action": "remove"}])
    assert carol.getDelegations() == []
    assert _refusal(dave.updateRow, CAROL_OTHER_ROW, {"priority_pi": 2})[0] == "status_code is 403"
    assert _priority(catalog_conn, CAROL_OTHER_ROW) == 1
