"""Acceptance: every real VOTable of shared/data/votable and the JMDC FITS load, with TAP_SCHEMA rows
matching the FIELD metadata and values matching astropy; the malformed ones are refused cleanly."""

from __future__ import annotations

import math
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from astropy.io import fits
from astropy.io.votable import parse
from lxml import etree
from psycopg import sql

from jmmctap.ingest import IngestError, ingest_files
from tests.support.shared import SHARED, needs_shared
from tests.support.votables import NO_FIELD, NO_TABLE, REJECTED

VOTABLES = SHARED / "data" / "votable"
JMDC = SHARED / "data" / "catalogs" / "jmdc" / "JMDC_final_lddUpdated.fits"

pytestmark = needs_shared(VOTABLES, JMDC)


def _relative(path: Path) -> str:
    return path.relative_to(VOTABLES).as_posix()


LOADABLE = sorted(
    _relative(p) for p in VOTABLES.rglob("*")
    if p.is_file() and p.suffix != ".txt" and _relative(p) not in REJECTED.keys() | NO_TABLE | NO_FIELD
)


def _published(datatype: str, arraysize: str | None) -> tuple[str, str | None]:
    """TAP_SCHEMA datatype and arraysize of a FIELD (ingest/columns.py module docstring)."""
    if arraysize == "1":
        return datatype, None  # a scalar (VOTable 1.3 Erratum 3)
    variable = arraysize is not None and arraysize.endswith("*")
    if datatype == "bit" and (arraysize is None or variable):
        return "boolean", arraysize  # readers disagree on scalar and variable bits in binary VOTables
    if datatype in ("floatComplex", "doubleComplex") and variable:
        bound = arraysize[:-1] if arraysize and arraysize[:-1].isdigit() else None
        return datatype.removesuffix("Complex"), f"{2 * int(bound)}*" if bound else "*"  # the parts, flat
    return datatype, arraysize


def _published_xtype(xtype: str | None) -> str | None:
    """adql:REGION (STC-S text) is published without it, adql:TIMESTAMP as the DALI timestamp."""
    lowered = (xtype or "").lower()
    return None if lowered == "adql:region" else "timestamp" if lowered == "adql:timestamp" else xtype


def _astropy_table(path: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return parse(str(path)).get_first_table()


def _raw_fields(path: Path) -> list[dict[str, str]]:
    """The first TABLE's FIELD attributes straight from the XML (independent of the ingester)."""
    tree = etree.parse(str(path))
    table = tree.xpath("//*[local-name()='TABLE']")[0]
    return [dict(f.attrib) for f in table if isinstance(f.tag, str) and etree.QName(f).localname == "FIELD"]


def _raw_cells(path: Path) -> list[list[str | None]] | None:
    """The first TABLE's TABLEDATA cell texts straight from the XML, None for binary serializations."""
    tree = etree.parse(str(path))
    table = tree.xpath("//*[local-name()='TABLE']")[0]
    rows = table.xpath("./*[local-name()='DATA']/*[local-name()='TABLEDATA']/*[local-name()='TR']")
    if not rows and not table.xpath("./*[local-name()='DATA']/*[local-name()='TABLEDATA']"):
        return None
    return [[td.text for td in tr if isinstance(td.tag, str)] for tr in rows]


def _tap_columns(conn: psycopg.Connection[Any], table_name: str) -> list[dict[str, Any]]:
    cur = conn.execute(
        "SELECT c.*, o.original_name FROM tap_schema.columns c JOIN tap_schema.column_origins o"
        " USING (table_name, column_name) WHERE table_name = %s ORDER BY column_index", [table_name])
    names = [d.name for d in cur.description or []]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _db_rows(conn: psycopg.Connection[Any], schema: str, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    query = sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in columns), sql.Identifier(schema, table))
    return conn.execute(query).fetchall()


def _norm(text: str | None) -> str | None:
    return " ".join(text.split()) if text else None


def _same(expected: Any, got: Any, datatype: str) -> bool:
    if expected is None or expected is np.ma.masked:
        return got is None
    if isinstance(expected, np.ma.MaskedArray):
        expected = [None if m else v for v, m in zip(np.ravel(expected.data).tolist(),
                                                     np.ravel(np.ma.getmaskarray(expected)).tolist(), strict=True)]
    if isinstance(expected, np.ndarray):
        expected = expected.tolist()
    if isinstance(expected, bytes):
        expected = expected.decode()
    if isinstance(expected, np.generic):
        expected = expected.item()
    if isinstance(got, datetime):
        return bool(datetime.fromisoformat(str(expected).rstrip("Z")) == got)
    if isinstance(expected, list) and not expected:
        return got is None or got == []  # an empty variable array is indistinguishable from NULL
    if isinstance(expected, list):
        flat = list(np.ravel(np.array(expected, dtype=object)))
        if any(isinstance(v, complex) for v in flat):  # complex arrays are stored as re, im, re, im...
            flat = [part for v in flat for part in ((v.real, v.imag) if v is not None else (None, None))]
        return got is not None and len(flat) == len(got) and all(_same(e, g, datatype) for e, g in zip(flat, got,
                                                                                                       strict=True))
    if isinstance(expected, complex):
        return got is not None and _same(expected.real, got[0], datatype) and _same(expected.imag, got[1], datatype)
    if isinstance(expected, float):
        if math.isnan(expected):
            return got is None or (isinstance(got, float) and math.isnan(got))
        return got is not None and math.isclose(expected, got, rel_tol=1e-6 if datatype == "float" else 1e-12,
                                                abs_tol=1e-300)
    if isinstance(expected, str) and expected == "":
        return got is None or got == ""
    return bool(expected == got)


@pytest.mark.parametrize("name", LOADABLE)
def test_votable_loads_with_field_metadata_and_values(owner_conn: psycopg.Connection[Any], schema: str,
                                                      name: str) -> None:
    path = VOTABLES / name
    report = ingest_files(owner_conn, [path], f"{schema}.t")
    expected = _astropy_table(path)
    columns = _tap_columns(owner_conn, f"{schema}.t")
    raw = _raw_fields(path)
    source = columns[:len(raw)]  # derived position columns come after the file's
    assert [c["original_name"] for c in source] == [f.name for f in expected.fields]
    for column, field, attrib in zip(source, expected.fields, raw, strict=True):
        assert (column["datatype"], column["arraysize"]) == _published(field.datatype, attrib.get("arraysize")), column
        assert column["ucd"] == field.ucd
        assert column["utype"] == field.utype
        assert column["xtype"] == _published_xtype(field.xtype)
        assert column["unit"] == (attrib.get("unit") or None)
        assert _norm(column["description"]) == _norm(field.description)
    assert report.rows == len(expected.array)
    rows = _db_rows(owner_conn, schema, "t", [c["column_name"].strip('"').replace('""', '"') for c in source])
    cells = _raw_cells(path)
    for i, field in enumerate(expected.fields):
        values = expected.array[expected.array.dtype.names[i]]
        for r, (want, got) in enumerate(zip(values, (row[i] for row in rows), strict=True)):
            where = f"{name} row {r + 1} column {field.name}: {want!r} != {got!r}"
            if cells is not None and not (cells[r][i] or "").strip() and field.datatype != "char":
                assert got is None, where  # empty TD = NULL for every datatype (VOTable 1.3 §5.1)
            elif field.datatype == "char" and (field.arraysize or "").isdigit() and got is not None:
                assert got.startswith(str(want)), where  # astropy truncates to a fixed arraysize; we keep all
            else:
                assert _same(want, got, field.datatype), where


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_malformed_votable_is_refused_and_leaves_nothing(owner_conn: psycopg.Connection[Any], schema: str,
                                                        name: str) -> None:
    before = owner_conn.execute("SELECT count(*) FROM jmmctap.ingest_log").fetchone()
    with pytest.raises(IngestError) as caught:
        ingest_files(owner_conn, [VOTABLES / name], f"{schema}.t")
    assert name.split("/")[-1] in caught.value.message
    assert REJECTED[name] in caught.value.message
    assert owner_conn.execute("SELECT to_regnamespace(%s)", [schema]).fetchone() == (None,)
    assert owner_conn.execute("SELECT count(*) FROM tap_schema.tables WHERE schema_name = %s",
                              [schema]).fetchone() == (0,)
    assert owner_conn.execute("SELECT count(*) FROM jmmctap.ingest_log").fetchone() == before


@pytest.mark.parametrize("name", sorted(NO_TABLE))
def test_votable_without_table_is_refused_clearly(owner_conn: psycopg.Connection[Any], schema: str,
                                                  name: str) -> None:
    with pytest.raises(IngestError, match="no TABLE number 0"):
        ingest_files(owner_conn, [VOTABLES / name], f"{schema}.t")


@pytest.mark.parametrize("name", sorted(NO_FIELD))
def test_votable_without_field_is_refused_and_publishes_nothing(owner_conn: psycopg.Connection[Any], schema: str,
                                                                name: str) -> None:
    with pytest.raises(IngestError, match="has no FIELD"):
        ingest_files(owner_conn, [VOTABLES / name], f"{schema}.t")
    assert owner_conn.execute("SELECT count(*) FROM tap_schema.tables WHERE schema_name = %s",
                              [schema]).fetchone() == (0,)


def test_jmdc_fits_loads_with_header_metadata_and_values(owner_conn: psycopg.Connection[Any], schema: str) -> None:
    report = ingest_files(owner_conn, [JMDC], f"{schema}.jmdc")
    assert report.rows == 1239
    columns = _tap_columns(owner_conn, f"{schema}.jmdc")
    with fits.open(JMDC) as hdus:
        header, data = hdus[1].header, hdus[1].data
        columns = columns[:len(data.columns)]  # derived position columns come after the file's
        assert [c["original_name"] for c in columns[:len(data.columns)]] == [
            header[f"TTYPE{i + 1}"] for i in range(len(data.columns))]
        for i, column in enumerate(columns, start=1):
            assert column["ucd"] == header.get(f"TUCD{i}")
            assert column["description"] == header.get(f"TCOMM{i}")
            assert column["unit"] == header.get(f"TUNIT{i}")
        names = [c["column_name"].strip('"') for c in columns]
        rows = _db_rows(owner_conn, schema, "jmdc", names)
        for i in range(len(columns)):
            kind = "float" if data.columns[i].format.upper().endswith("E") else "double"
            null = header.get(f"TNULL{i + 1}")
            for want, got in zip(data.field(i).tolist(), (row[i] for row in rows), strict=True):
                want = want.rstrip() or None if isinstance(want, str) else want
                want = None if null is not None and want == null else want
                assert _same(want, got, kind), f"column {names[i]}: {want!r} != {got!r}"
