"""The catalogue tables' TAP_SCHEMA declarations: usable names, complete metadata, ObsCore conformance."""

from __future__ import annotations

import pytest

from jmmctap.adql.parser import RESERVED_WORDS
from jmmctap.tapschema.declare import read_declarations
from jmmctap.tapschema.model import Table

OUR_SCHEMAS = ("obsportal", "jsdc", "ivoa")


def _tables() -> list[Table]:
    return [t for schema, tables, _ in read_declarations() if schema.name in OUR_SCHEMAS for t in tables]


def test_names_are_not_adql_reserved_words() -> None:
    reserved = {w.upper() for w in RESERVED_WORDS}
    names = [part for t in _tables() for part in t.name.split(".")] + [c.name for t in _tables() for c in t.columns]
    assert [n for n in names if n.upper() in reserved] == []


WITHOUT_UCD = {"ivoa.obsplan": {"t_planning", "category", "priority", "execution_status", "tracking_type"}}
"""Columns a standard declares without a UCD (ObsLocTAP 1.0 §3.4; taplint's LOC stage refuses one)."""


@pytest.mark.parametrize("table", _tables(), ids=lambda t: t.name)
def test_every_column_is_described_with_a_ucd(table: Table) -> None:
    assert table.description
    for column in table.columns:
        assert column.description, column.name
        assert column.ucd or column.name in WITHOUT_UCD.get(table.name, set()), column.name


def test_obscore_columns_carry_the_standard_utypes() -> None:
    (obscore,) = [t for t in _tables() if t.name == "ivoa.obscore"]
    columns = {c.name: c for c in obscore.columns}
    assert columns["obs_publisher_did"].utype == "obscore:Curation.PublisherDID"
    assert columns["obs_publisher_did"].ucd == "meta.ref.ivoid"
    assert columns["s_region"].datatype == "char"  # taplint's OBS stage wants a region as char
    assert columns["access_estsize"].unit == "kbyte"
    standard = [c for c in obscore.columns if c.std]
    assert all(c.utype and c.utype.startswith("obscore:") for c in standard)
    assert len(standard) == 34  # 30 mandatory ObsCore 1.1 columns + 4 optional ones
