"""SearchCal GROUPs: every grouped column and PARAM keeps its group and role, queryable in TAP_SCHEMA."""

from __future__ import annotations

from typing import Any

import psycopg

from jmmctap.ingest import ingest_files
from jmmctap.ingest.groups import member_role
from tests.support.shared import SAMPLES

ETA_TAU = SAMPLES / "jsdc" / "SearchCal-ETA_TAU-first120.scvot"
"""The first 120 rows of shared's SearchCal-ETA_TAU.scvot; header, PARAMs, FIELDs and GROUPs unchanged."""


def test_roles_come_from_names_and_ucds() -> None:
    assert member_role("vis2.origin", "VIS2.origin") == "origin"
    assert member_role("LDD.confidence", None) == "confidence"
    assert member_role("e_LDD", "ERROR") == "error"
    assert member_role("Vmag", "phot.mag;stat.error") == "error"
    assert member_role("LDD", "EXTENSION_DIAM") == "value"


def test_searchcal_groups_are_published(owner_conn: psycopg.Connection[Any], query_dsn: str, schema: str) -> None:
    ingest_files(owner_conn, [ETA_TAU], f"{schema}.eta_tau")
    with psycopg.connect(query_dsn) as conn:  # the query role can read it
        groups = conn.execute("SELECT count(DISTINCT group_index) FROM tap_schema.column_groups"
                              " WHERE table_name = %s", [f"{schema}.eta_tau"]).fetchone()
        ra = conn.execute("SELECT group_ucd, group_description, member_name, member_kind, role"
                          " FROM tap_schema.column_groups WHERE table_name = %s AND group_name = 'RAJ2000'"
                          " ORDER BY member_kind, member_name", [f"{schema}.eta_tau"]).fetchall()
        params = conn.execute("SELECT param_value FROM tap_schema.table_params WHERE table_name = %s"
                              " AND name = 'objectName'", [f"{schema}.eta_tau"]).fetchone()
    assert groups == (60,)
    assert ra[0][:2] == ("POS_EQ_RA_MAIN",
                         "RAJ2000 with its origin and confidence indexes and its error when available")
    assert ("RAJ2000", "column", "value") in [r[2:] for r in ra]
    assert {r[4] for r in ra if r[3] == "param"} == {"origin", "confidence"}
    assert params == ("ETA TAU",)


def test_sexagesimal_positions_get_degree_columns_with_the_index(owner_conn: psycopg.Connection[Any],
                                                                 schema: str) -> None:
    ingest_files(owner_conn, [ETA_TAU], f"{schema}.eta_tau")
    first = owner_conn.execute(f'SELECT "RAJ2000", "RAJ2000_deg", "DEJ2000", "DEJ2000_deg" FROM {schema}.eta_tau'
                               " LIMIT 1").fetchone()
    assert first is not None and first[0] == "03 47 29.0762" and first[2] == "+24 06 18.4788"
    assert abs(first[1] - 15 * (3 + 47 / 60 + 29.0762 / 3600)) < 1e-9
    assert abs(first[3] - (24 + 6 / 60 + 18.4788 / 3600)) < 1e-9
    indexed = owner_conn.execute("SELECT column_name, unit FROM tap_schema.columns WHERE table_name = %s"
                                 " AND indexed = 1 ORDER BY column_name", [f"{schema}.eta_tau"]).fetchall()
    assert indexed == [("DEJ2000_deg", "deg"), ("RAJ2000_deg", "deg")]
