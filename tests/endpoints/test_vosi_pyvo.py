"""pyvo against a real server: tables (two-step VOSI 1.1), examples, output limits from capabilities."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pyvo
from lxml import etree

from jmmctap.settings import Settings
from jmmctap.vosi import read_examples


def test_pyvo_tables_are_the_published_tables_with_their_columns(
    live_server: str, owner_conn: psycopg.Connection[Any]
) -> None:
    tables = pyvo.dal.TAPService(live_server).tables  # GET /tables?detail=min
    published = {name for (name,) in owner_conn.execute("SELECT table_name FROM tap_schema.tables")}
    assert set(tables.keys()) == published
    expected = [name for (name,) in owner_conn.execute(
        "SELECT column_name FROM tap_schema.columns WHERE table_name = 'tap_schema.keys' ORDER BY column_index")]
    columns = tables["tap_schema.keys"].columns  # fetched from /tables/tap_schema.keys
    assert [c.name for c in columns] == expected
    assert tables["tap_schema.keys"].foreignkeys[0].targettable == "tap_schema.tables"


def test_pyvo_examples_are_the_served_queries(live_server: str) -> None:
    examples = pyvo.dal.TAPService(live_server).examples
    document = etree.fromstring(httpx.get(f"{live_server}/examples").content)
    served = [e.text for e in document.iter() if e.get("property") == "query"]
    assert served
    assert [e["QUERY"] for e in examples] == served


def test_pyvo_reads_maxrec_and_hardlimit_from_capabilities(live_server: str, settings: Settings) -> None:
    service = pyvo.dal.TAPService(live_server)
    assert (service.maxrec, service.hardlimit) == (settings.maxrec_default, settings.maxrec_hard)


def test_every_served_example_runs(live_server: str) -> None:
    # TAP_SCHEMA is never empty, so its examples must return rows; catalogue tables may be empty in tests
    on_tap_schema = {e.query for e in read_examples() if all(t.startswith("tap_schema.") for t in e.tables)}
    examples = pyvo.dal.TAPService(live_server).examples
    assert on_tap_schema <= {e["QUERY"] for e in examples}
    for example in examples:
        result = example.execute()  # sync; raises unless QUERY_STATUS is OK
        assert len(result) > 0 or example["QUERY"] not in on_tap_schema, example["QUERY"]
