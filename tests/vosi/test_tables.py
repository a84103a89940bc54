"""The VOSI tables documents: VODataService 1.2 content equal to TAP_SCHEMA."""

from __future__ import annotations

from typing import Any

import psycopg
from lxml import etree

from jmmctap.tapschema import Column, Key, Schema, Table, TapSchema, load_tap_schema
from jmmctap.vosi import TABLES_NS, write_table, write_tableset
from tests.support.xsd import assert_valid

VS = "http://www.ivoa.net/xml/VODataService/v1.1"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"

STARS = Table(
    schema_name="cat", name="cat.stars", description="Some stars", nrows=42, columns=(
        Column("cat.stars", "id", "long", description="Identifier", ucd="meta.id;meta.main", indexed=True,
               principal=True, column_index=1),
        Column("cat.stars", "pos", "double", arraysize="2", xtype="point", unit="deg", ucd="pos.eq",
               column_index=2),
        Column("cat.stars", '"B-V"', "float", unit="mag", utype="phot:color", column_index=3),
        Column("cat.stars", "name", "char", arraysize="32*", std=True, column_index=4),
    ),
)
OBS = Table(schema_name="cat", name="cat.obs", table_type="view", columns=(
    Column("cat.obs", "star_id", "long", column_index=1),
))
SAMPLE = TapSchema(
    schemas=(Schema("cat", "A catalogue", "utype:cat"), Schema("empty")),
    tables=(STARS, OBS),
    keys=(Key("obs_star", "cat.obs", "cat.stars", (("star_id", "id"),), "The observed star"),),
)


def _tableset(tap: TapSchema, detail: bool = True) -> etree._Element:
    return assert_valid(write_tableset(tap, detail=detail), TABLES_NS, VS)


def _table(root: etree._Element, name: str) -> etree._Element:
    (found,) = [t for t in root.iter("table") if t.findtext("name") == name]
    return found


def test_tableset_is_valid_vosi_tables_with_vodataservice_12() -> None:
    assert _tableset(SAMPLE).tag == f"{{{TABLES_NS}}}tableset"


def test_schemas_and_tables_keep_tap_schema_order_including_empty_schemas() -> None:
    root = _tableset(SAMPLE)
    assert [s.findtext("name") for s in root.findall("schema")] == ["cat", "empty"]
    assert [t.findtext("name") for t in root.findall("schema/table")] == ["cat.stars", "cat.obs"]
    assert (root.findtext("schema/description"), root.findtext("schema/utype")) == ("A catalogue", "utype:cat")


def test_columns_follow_column_index_with_votable_types_arraysize_and_xtype() -> None:
    stars = _table(_tableset(SAMPLE), "cat.stars")
    columns = stars.findall("column")
    assert [c.findtext("name") for c in columns] == ["id", "pos", '"B-V"', "name"]
    types = [(c.find("dataType").get(XSI_TYPE), c.findtext("dataType"), c.find("dataType").get("arraysize"),
              c.find("dataType").get("extendedType")) for c in columns]
    assert types == [("vs:VOTableType", "long", None, None), ("vs:VOTableType", "double", "2", "point"),
                     ("vs:VOTableType", "float", None, None), ("vs:VOTableType", "char", "32*", None)]


def test_column_metadata_flags_and_std() -> None:
    columns = {c.findtext("name"): c for c in _table(_tableset(SAMPLE), "cat.stars").findall("column")}
    assert [f.text for f in columns["id"].findall("flag")] == ["indexed", "principal"]
    assert columns["id"].findtext("ucd") == "meta.id;meta.main"
    assert (columns["pos"].findtext("unit"), columns['"B-V"'].findtext("utype")) == ("deg", "phot:color")
    assert (columns["name"].get("std"), columns["id"].get("std")) == ("true", "false")
    assert columns["pos"].find("description") is None


def test_table_carries_nrows_type_and_its_foreign_keys() -> None:
    root = _tableset(SAMPLE)
    stars, obs = _table(root, "cat.stars"), _table(root, "cat.obs")
    assert (stars.findtext("nrows"), stars.get("type"), obs.get("type")) == ("42", "table", "view")
    (key,) = obs.findall("foreignKey")
    assert key.findtext("targetTable") == "cat.stars"
    assert [(p.findtext("fromColumn"), p.findtext("targetColumn")) for p in key.findall("fkColumn")] == [
        ("star_id", "id")]
    assert key.findtext("description") == "The observed star"
    assert stars.find("foreignKey") is None


def test_detail_min_lists_tables_without_columns_or_keys() -> None:
    root = _tableset(SAMPLE, detail=False)
    assert [t.findtext("name") for t in root.iter("table")] == ["cat.stars", "cat.obs"]
    assert root.find(".//column") is None and root.find(".//foreignKey") is None


def test_single_table_is_a_vosi_table_in_full_detail() -> None:
    root = assert_valid(write_table(SAMPLE, OBS), TABLES_NS, VS)
    assert root.tag == f"{{{TABLES_NS}}}table"
    assert root.findtext("name") == "cat.obs"
    assert [c.findtext("name") for c in root.findall("column")] == ["star_id"]
    assert root.find("foreignKey/targetTable").text == "cat.stars"


def test_published_tap_schema_matches_the_tables_document(owner_conn: psycopg.Connection[Any]) -> None:
    # what taplint TMC compares: /tables against TAP_SCHEMA, column by column
    tap = load_tap_schema(owner_conn)
    root = _tableset(tap)
    rows = owner_conn.execute(
        "SELECT table_name, column_name, datatype, arraysize, xtype, unit, ucd, utype, indexed, principal, std"
        " FROM tap_schema.columns ORDER BY table_name, column_index"
    ).fetchall()
    assert rows
    documented = []
    for table in root.iter("table"):
        for column in table.findall("column"):
            data_type = column.find("dataType")
            flags = {f.text for f in column.findall("flag")}
            documented.append((
                table.findtext("name"), column.findtext("name"), data_type.text, data_type.get("arraysize"),
                data_type.get("extendedType"), column.findtext("unit"), column.findtext("ucd"),
                column.findtext("utype"), int("indexed" in flags), int("principal" in flags),
                int(column.get("std") == "true"),
            ))
    assert sorted(documented, key=lambda r: (r[0], r[1])) == sorted(
        [tuple(v if v != "" else None for v in row) for row in rows], key=lambda r: (r[0], r[1]))
    tables = owner_conn.execute("SELECT table_name, nrows FROM tap_schema.tables").fetchall()
    assert {(t.findtext("name"), t.findtext("nrows")) for t in root.iter("table")} == {
        (name, None if nrows is None else str(nrows)) for name, nrows in tables}
