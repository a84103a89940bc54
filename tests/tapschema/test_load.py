"""TAP_SCHEMA describes itself as TAP 1.1 requires."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from jmmctap.tapschema import load_tap_schema
from jmmctap.tapschema.publish import size_from_arraysize

STANDARD_COLUMNS = {
    "tap_schema.schemas": ["schema_name", "utype", "description", "schema_index"],
    "tap_schema.tables": ["schema_name", "table_name", "table_type", "utype", "description", "table_index"],
    "tap_schema.columns": ["table_name", "column_name", "datatype", "arraysize", "xtype", '"size"',
                           "description", "utype", "unit", "ucd", "indexed", "principal", "std",
                           "column_index"],
    "tap_schema.keys": ["key_id", "from_table", "target_table", "description", "utype"],
    "tap_schema.key_columns": ["key_id", "from_column", "target_column"],
}


def test_tap_schema_lists_its_five_tables_with_every_tap11_column(owner_conn: psycopg.Connection[Any]) -> None:
    tap = load_tap_schema(owner_conn)
    for name, columns in STANDARD_COLUMNS.items():
        table = tap.table(name)
        assert table is not None, name
        listed = [c.name for c in table.columns]
        assert all(c in listed for c in columns), (name, listed)
        assert all(c.std for c in table.columns if c.name in columns)


def test_extra_columns_are_not_std(owner_conn: psycopg.Connection[Any]) -> None:
    nrows = load_tap_schema(owner_conn).table("tap_schema.tables").columns  # type: ignore[union-attr]
    assert [c.std for c in nrows if c.name == "nrows"] == [False]


def test_size_matches_arraysize(owner_conn: psycopg.Connection[Any]) -> None:
    rows = owner_conn.execute('SELECT arraysize, "size" FROM tap_schema.columns').fetchall()
    assert all(size == size_from_arraysize(arraysize) for arraysize, size in rows)


def test_row_counts_are_recorded(owner_conn: psycopg.Connection[Any]) -> None:
    row = owner_conn.execute(
        "SELECT nrows FROM tap_schema.tables WHERE table_name = 'tap_schema.keys'"
    ).fetchone()
    actual = owner_conn.execute("SELECT count(*) FROM tap_schema.keys").fetchone()
    assert row == actual


def test_keys_link_tap_schema_tables(owner_conn: psycopg.Connection[Any]) -> None:
    keys = load_tap_schema(owner_conn).keys
    assert {(k.from_table, k.target_table) for k in keys} >= {
        ("tap_schema.columns", "tap_schema.tables"), ("tap_schema.tables", "tap_schema.schemas"),
    }


def test_arraysize_and_size_rules() -> None:
    assert [size_from_arraysize(a) for a in (None, "*", "64*", "12", "2x3", "3x*")] == [
        None, None, 64, 12, None, None,
    ]


def test_a_comma_in_an_unquoted_description_is_refused(tmp_path: Path) -> None:
    from jmmctap.errors import ConfigError
    from jmmctap.tapschema.declare import read_declarations

    (tmp_path / "x.yaml").write_text(
        "schemas:\n- name: s\n  tables:\n  - name: s.t\n    columns:\n"
        "    - {name: ra, datatype: double, description: Right ascension (RA, J2000), unit: deg}\n"
    )
    with pytest.raises(ConfigError, match="J2000"):
        read_declarations(tmp_path)


def test_declared_descriptions_are_complete() -> None:
    from jmmctap.tapschema.declare import read_declarations

    columns = [c for _, tables, _ in read_declarations() for t in tables for c in t.columns]
    assert columns
    assert all((c.description or "").count("(") == (c.description or "").count(")") for c in columns)


def test_publishing_a_schema_again_keeps_its_description(owner_conn: psycopg.Connection[Any]) -> None:
    from jmmctap.tapschema import Schema
    from jmmctap.tapschema.publish import publish_schema

    with owner_conn.transaction():
        publish_schema(owner_conn, Schema("keepdesc", "first words", None, 7), "jmmctap_query")
        publish_schema(owner_conn, Schema("keepdesc"), "jmmctap_query")
        row = owner_conn.execute("SELECT description, schema_index FROM tap_schema.schemas"
                                 " WHERE schema_name = 'keepdesc'").fetchone()
        owner_conn.execute("DELETE FROM tap_schema.schemas WHERE schema_name = 'keepdesc'")
        owner_conn.execute("DROP SCHEMA keepdesc")
    assert row == ("first words", 7)
