"""Crossmatch circles: plain ``scircle`` normally, the LEAKPROOF ``join_circle`` only when a table under
row-level security is read (PostgreSQL then needs LEAKPROOF functions to probe its index)."""

from __future__ import annotations

import dataclasses

from jmmctap.adql import translate
from jmmctap.tapschema import TapSchema

CROSSMATCH = ("SELECT a.id FROM adqltest.points AS a JOIN adqltest.points AS b"
              " ON 1 = CONTAINS(POINT(a.ra, a.dec), CIRCLE(b.ra, b.dec, 0.2))")
DISTANCE = ("SELECT a.id FROM adqltest.points AS a JOIN adqltest.points AS b"
            " ON DISTANCE(POINT(a.ra, a.dec), POINT(b.ra, b.dec)) < 0.2")


def test_crossmatches_of_unsecured_tables_use_plain_scircle(adql_tap_schema: TapSchema) -> None:
    for query in (CROSSMATCH, DISTANCE):
        sql = translate(query, adql_tap_schema).sql
        assert "join_circle" not in sql and sql.count("<@ scircle(") == 2


def test_crossmatches_reading_a_row_secured_table_use_the_leakproof_circle(adql_tap_schema: TapSchema) -> None:
    secured = dataclasses.replace(adql_tap_schema, row_secured=frozenset({"adqltest.points"}))
    for query in (CROSSMATCH, DISTANCE):
        sql = translate(query, secured).sql
        assert sql.count("<@ jmmctap_adql.join_circle(") == 2 and "scircle(" not in sql
