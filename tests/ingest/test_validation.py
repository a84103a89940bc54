"""What ``ingest`` refuses or converts so that every published table can be served: geometries held
as text, impossible positions, tables without FIELD, damaged gzip files; and the CLI exit codes."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from jmmctap.ingest import IngestError, ingest_files
from jmmctap.settings import Settings
from tests.conftest import server_env
from tests.ingest.helpers import write_votable

_HEAD = '<?xml version="1.0"?>\n<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>\n'
_TAIL = "</TABLE></RESOURCE></VOTABLE>\n"


def _votable(path: Path, fields: str, rows: list[list[str]]) -> Path:
    """A TABLEDATA VOTable with these FIELD elements and cell texts."""
    body = "".join("<TR>" + "".join(f"<TD>{cell}</TD>" for cell in row) + "</TR>\n" for row in rows)
    path.write_text(_HEAD + fields + f"<DATA><TABLEDATA>\n{body}</TABLEDATA></DATA>" + _TAIL)
    return path


def _published(conn: psycopg.Connection[Any], table: str, column: str) -> tuple[Any, ...] | None:
    return conn.execute("SELECT datatype, arraysize, xtype FROM tap_schema.columns WHERE table_name = %s"
                        " AND column_name = %s", [table, column]).fetchone()


def _pg_type(conn: psycopg.Connection[Any], schema: str, table: str, column: str) -> str:
    row = conn.execute("SELECT udt_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s"
                       " AND column_name = %s", [schema, table, column]).fetchone()
    return str(row[0]) if row else ""


_GEOMETRY_FIELDS = (
    '<FIELD name="id" datatype="int"/>'
    '<FIELD name="p" datatype="char" arraysize="*" xtype="point"/>'
    '<FIELD name="c" datatype="char" arraysize="*" xtype="adql:CIRCLE"/>'
    '<FIELD name="s_region" datatype="char" arraysize="*" xtype="polygon"/>'
    '<FIELD name="footprint" datatype="char" arraysize="*" xtype="adql:REGION"/>'
)


def test_text_geometries_are_stored_as_pgsphere_and_published_as_dali(
        tmp_path: Path, owner_conn: psycopg.Connection[Any], schema: str) -> None:
    rows = [["1", "10.5 -20", "Circle ICRS 10 20 0.5", "Polygon ICRS 1 2 3 4 5 6", "Box ICRS 1 2 3 4"],
            ["2", "", "", "", ""],
            ["3", "Position ICRS 359.5 89.5", "1 2 3", "1 1 2 1 2 2 1 2", "Circle ICRS 1 2 3"]]
    ingest_files(owner_conn, [_votable(tmp_path / "g.vot", _GEOMETRY_FIELDS, rows)], f"{schema}.g")
    assert [_pg_type(owner_conn, schema, "g", c) for c in ("p", "c", "s_region", "footprint")] == [
        "spoint", "scircle", "spoly", "text"]
    assert _published(owner_conn, f"{schema}.g", "p") == ("double", "2", "point")
    assert _published(owner_conn, f"{schema}.g", "c") == ("double", "3", "circle")
    assert _published(owner_conn, f"{schema}.g", "s_region") == ("double", "*", "polygon")
    assert _published(owner_conn, f"{schema}.g", "footprint") == ("char", "*", None)  # text the translator can serve
    values = owner_conn.execute(
        f'SELECT degrees(long(p)), degrees(lat(p)), degrees(radius(c)), npoints(s_region), footprint'
        f' FROM "{schema}".g ORDER BY id').fetchall()
    assert [tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in values] == [
        (10.5, -20.0, 0.5, 3, "Box ICRS 1 2 3 4"),
        (None, None, None, None, None),
        (359.5, 89.5, 3.0, 4, "Circle ICRS 1 2 3"),
    ]


_DALI_POINT = '<FIELD name="pos" datatype="double" arraysize="2" xtype="point"/>'
_TEXT_POINT = '<FIELD name="pos" datatype="char" arraysize="*" xtype="point"/>'


@pytest.mark.parametrize(("field", "cell", "message"), [
    (_DALI_POINT, "1000 2000", "position (1000.0, 2000.0) is not on the sky"),
    (_DALI_POINT, "10 95", "latitude within [-90, 90]"),
    (_TEXT_POINT, "1000 2000", "position (1000.0, 2000.0) is not on the sky"),
    (_TEXT_POINT, "Circle ICRS 1 2 3", "is not a point"),
    (_TEXT_POINT, "10", "1 numbers do not make a point"),
])
def test_impossible_geometry_is_refused_with_row_and_column(tmp_path: Path, owner_conn: psycopg.Connection[Any],
                                                            schema: str, field: str, cell: str, message: str) -> None:
    path = _votable(tmp_path / "p.vot", '<FIELD name="id" datatype="int"/>' + field, [["1", "10 20"], ["2", cell]])
    with pytest.raises(IngestError, match="row 2, column 'pos'") as caught:
        ingest_files(owner_conn, [path], f"{schema}.p")
    assert message in caught.value.message
    assert owner_conn.execute("SELECT to_regnamespace(%s)", [schema]).fetchone() == (None,)


_POSITION_FIELDS = ('<FIELD name="id" datatype="int"/>'
                    '<FIELD name="ra" datatype="double" unit="deg" ucd="pos.eq.ra;meta.main"/>'
                    '<FIELD name="dec" datatype="double" unit="deg" ucd="pos.eq.dec;meta.main"/>')


@pytest.mark.parametrize(("ra", "dec", "column"), [("400", "10", "ra"), ("-1", "0", "ra"), ("10", "95", "dec"),
                                                   ("10", "-90.5", "dec")])
def test_impossible_main_position_is_refused_with_row_and_column(tmp_path: Path, owner_conn: psycopg.Connection[Any],
                                                                 schema: str, ra: str, dec: str, column: str) -> None:
    path = _votable(tmp_path / "s.vot", _POSITION_FIELDS, [["1", "10", "20"], ["2", "0", "-90"], ["3", ra, dec]])
    with pytest.raises(IngestError, match=f"row 3, column '{column}': impossible position"):
        ingest_files(owner_conn, [path], f"{schema}.s")
    assert owner_conn.execute("SELECT count(*) FROM tap_schema.tables WHERE schema_name = %s",
                              [schema]).fetchone() == (0,)


def test_impossible_sexagesimal_position_is_refused(tmp_path: Path, owner_conn: psycopg.Connection[Any],
                                                    schema: str) -> None:
    fields = ('<FIELD name="RAJ2000" datatype="char" arraysize="*" unit="&quot;h:m:s&quot;"/>'
              '<FIELD name="DEJ2000" datatype="char" arraysize="*" unit="&quot;d:m:s&quot;"/>')
    path = _votable(tmp_path / "x.vot", fields, [["01 00 00", "+10 00 00"], ["25 00 00", "+10 00 00"]])
    with pytest.raises(IngestError, match="row 2, column 'RAJ2000_deg': impossible position"):
        ingest_files(owner_conn, [path], f"{schema}.x")


def test_votable_without_field_is_refused(tmp_path: Path, owner_conn: psycopg.Connection[Any], schema: str) -> None:
    path = _votable(tmp_path / "n.vot", "", [[], [], []])
    with pytest.raises(IngestError, match=r"n\.vot: TABLE number 0 has no FIELD"):
        ingest_files(owner_conn, [path], f"{schema}.n")


def test_arraysize_one_is_published_as_a_scalar(tmp_path: Path, owner_conn: psycopg.Connection[Any],
                                                schema: str) -> None:
    fields = '<FIELD name="n" datatype="int" arraysize="1"/><FIELD name="flag" datatype="char" arraysize="1"/>'
    ingest_files(owner_conn, [_votable(tmp_path / "a.vot", fields, [["7", "A"]])], f"{schema}.a")
    assert _published(owner_conn, f"{schema}.a", "n") == ("int", None, None)
    assert _published(owner_conn, f"{schema}.a", "flag") == ("char", None, None)
    assert owner_conn.execute(f'SELECT n, flag FROM "{schema}".a').fetchall() == [(7, "A")]


def test_bits_and_complex_arrays_are_published_as_every_reader_reads_them(
        tmp_path: Path, owner_conn: psycopg.Connection[Any], schema: str) -> None:
    fields = ('<FIELD name="b" datatype="bit"/><FIELD name="bs" datatype="bit" arraysize="3"/>'
              '<FIELD name="bv" datatype="bit" arraysize="*"/><FIELD name="c" datatype="doubleComplex"/>'
              '<FIELD name="cv" datatype="floatComplex" arraysize="2*"/>'
              '<FIELD name="t" datatype="char" arraysize="*" xtype="adql:TIMESTAMP"/>')
    path = _votable(tmp_path / "b.vot", fields, [["1", "101", "1 1", "1 2", "1 2 3 4", "2020-01-02T03:04:05"]])
    ingest_files(owner_conn, [path], f"{schema}.b")
    published = [_published(owner_conn, f"{schema}.b", c) for c in ("b", "bs", "bv", "c", "cv", "t")]
    assert published == [("boolean", None, None), ("bit", "3", None), ("boolean", "*", None),
                         ("doubleComplex", None, None), ("float", "4*", None), ("char", "*", "timestamp")]
    assert owner_conn.execute(f'SELECT b, bs, bv, c, cv FROM "{schema}".b').fetchall() == [
        (True, [True, False, True], [True, True], [1.0, 2.0], [1.0, 2.0, 3.0, 4.0])]


def _damaged_gzips(tmp_path: Path) -> list[Path]:
    """The same gzipped VOTable cut in the header, in the metadata and in the rows, and one corrupted."""
    plain = write_votable(tmp_path / "stars.vot", 3000)
    data = gzip.compress(plain.read_bytes())
    damaged = []
    for size in (5, 12, 300, len(data) // 2, len(data) - 9):
        damaged.append(tmp_path / f"cut{size}.vot.gz")
        damaged[-1].write_bytes(data[:size])
    corrupted = bytearray(data)
    corrupted[len(data) // 3: len(data) // 3 + 64] = bytes(64)
    damaged.append(tmp_path / "corrupted.vot.gz")
    damaged[-1].write_bytes(bytes(corrupted))
    return damaged


def test_damaged_gzip_is_an_ingest_error(tmp_path: Path, owner_conn: psycopg.Connection[Any], schema: str) -> None:
    for path in _damaged_gzips(tmp_path):
        with pytest.raises(IngestError, match=f"{path.name}.*cannot read the file"):
            ingest_files(owner_conn, [path], f"{schema}.z")


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jmmctap.cli", *args], env=server_env(settings),
                          capture_output=True, text=True, timeout=120, check=False)


def test_cli_reports_a_truncated_gzip_in_one_line(tmp_path: Path, settings: Settings, schema: str) -> None:
    path = _damaged_gzips(tmp_path)[1]
    done = _cli(settings, "ingest", str(path), "--table", f"{schema}.t")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"jmmctap: error: {path}: cannot read the file")


def test_ingest_oifits_fails_when_every_file_is_rejected(tmp_path: Path, settings: Settings) -> None:
    not_fits = write_votable(tmp_path / "stars.vot", 3)
    truncated = tmp_path / "truncated.fits"
    truncated.write_bytes(b"SIMPLE  =                    T" + b" " * 50)
    done = _cli(settings, "ingest-oifits", str(not_fits), str(truncated), str(tmp_path / "missing.fits"),
                "--collection", "validation_test")
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr
    assert done.stderr.count("jmmctap: rejected") == 3
    assert "0 granules" in done.stdout
