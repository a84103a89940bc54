"""FITS results read back by astropy and STIL: every column type, NULLs, metadata, the end status, valid blocks."""

from __future__ import annotations

import csv
import io
import math
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from lxml import etree

from jmmctap import formats
from jmmctap.errors import ServiceError, UsageError
from jmmctap.formats.cells import INTEGER_NULLS, to_text
from jmmctap.formats.fits import BLOCK_BYTES, MAX_FIELDS, SPOOL_MEMORY_BYTES
from jmmctap.formats.writer import CHUNK_ROWS
from jmmctap.results import ResultColumn, Row
from tests.formats.streams import ALL_COLUMNS, ALL_ROWS, render
from tests.formats.test_ingested_types import COLUMNS, ROWS, _expected, _flat, _stil_value

TEXT = ("char", "unicodeChar")

_LOGICALS = {"T": True, "F": False, "": None, "\0": None}


def _table(document: bytes) -> Table:
    """The BINTABLE as astropy reads it, logicals as bytes so that a NULL (byte 0) stays visible."""
    with fits.open(io.BytesIO(document), logical_as_bytes=True) as hdus:
        hdus.verify("exception")
        return Table.read(hdus, hdu=1)


def _logical(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return _flat([_logical(x) for x in np.ravel(value)])
    return _LOGICALS[value.decode() if isinstance(value, bytes) else str(value)]


def _astropy_rows(document: bytes) -> list[list[Any]]:
    table = _table(document)
    with fits.open(io.BytesIO(document)) as hdus:
        header = hdus[1].header
        logical = {header[f"TTYPE{i}"] for i in range(1, header["TFIELDS"] + 1) if header[f"TFORM{i}"][-1] == "L"
                   or header[f"TFORM{i}"].startswith("1PL")}
    return [[(_logical if name in logical else _flat)(table[name][i]) for name in table.colnames]
            for i in range(len(table))]


def _expected_fits(value: Any, column: ResultColumn) -> Any:
    """What FITS keeps: ASCII text (others as ``?``), timestamps as ISO text, float32 of float columns."""
    if value is None:
        return None
    if column.datatype in TEXT:
        return _flat(to_text(value).encode("ascii", "replace").decode())
    if column.datatype == "float":
        return _flat([float(np.float32(x)) for x in value] if isinstance(value, list) else float(np.float32(value)))
    return _expected(value, column)


@pytest.mark.parametrize(("columns", "rows"), [(ALL_COLUMNS, ALL_ROWS), (COLUMNS, ROWS)], ids=["resolved", "ingested"])
async def test_every_column_type_reads_back_with_astropy(columns: list[ResultColumn], rows: list[Row]) -> None:
    document = await render("fits", columns, rows)
    expected = [[_expected_fits(v, c) for v, c in zip(row, columns, strict=True)] for row in rows]
    assert _astropy_rows(document) == expected


async def test_units_ucds_descriptions_and_names_are_declared() -> None:
    table = _table(await render("fits", ALL_COLUMNS, ALL_ROWS))
    assert table.colnames == [c.name for c in ALL_COLUMNS]
    assert {n: str(table[n].unit) for n in table.colnames if table[n].unit is not None} == {
        "i": "ct", "f": "mag", "d": "deg", "p": "deg", "ci": "deg"}  # astropy spells 'count' as ct
    with fits.open(io.BytesIO(await render("fits", ALL_COLUMNS, ALL_ROWS))) as hdus:
        header = hdus[1].header
    declared = {header[f"TTYPE{i}"]: (header.get(f"TUCD{i}"), header.get(f"TCOMM{i}"), header.get(f"TXTYP{i}"))
                for i in range(1, header["TFIELDS"] + 1)}
    assert declared["i"] == ("meta.number", None, None)
    assert declared["d"] == ("pos.eq.ra", None, None)
    assert declared["c"] == (None, 'text <with> & "specials"', None)
    assert declared["t"] == (None, None, "timestamp")
    assert declared["p"] == (None, None, "point")


async def test_timestamps_are_iso_strings_and_strings_take_the_longest_width() -> None:
    with fits.open(io.BytesIO(await render("fits", ALL_COLUMNS, ALL_ROWS))) as hdus:
        header = hdus[1].header
        forms = {header[f"TTYPE{i}"]: header[f"TFORM{i}"] for i in range(1, header["TFIELDS"] + 1)}
        assert hdus[1].data["t"][3] == "2000-02-29T00:00:00.000001"
    assert forms["t"] == "26A"  # the longest timestamp of the rows
    assert forms["c"] == "21A" and forms["c8"] == "8A" and forms["cb"] == "10A"  # longest value, size, bound
    assert forms["ia"] == "1PJ(3)" and forms["p"] == "2D"


async def test_a_null_boolean_is_byte_zero_and_integers_declare_tnull_only_when_needed() -> None:
    columns = [ResultColumn("b", "boolean"), ResultColumn("n", "int"), ResultColumn("full", "short"),
               ResultColumn("arr", "long", "2"), ResultColumn("ub", "unsignedByte", "2")]
    document = await render("fits", columns, [(None, None, 1, [1, None], [255, 1]), (True, 2, 3, [4, 5], [0, 1])])
    with fits.open(io.BytesIO(document), logical_as_bytes=True) as hdus:
        header, data = hdus[1].header, hdus[1].data
        assert data["b"].tolist() == [b"", b"T"]  # astropy reads the NUL byte as an empty string
    assert header["TNULL2"] == INTEGER_NULLS["int"]
    assert "TNULL3" not in header  # no NULL was written: 255 or -32768 stay ordinary values
    assert header["TNULL4"] == INTEGER_NULLS["long"]  # an array may hold NULL elements
    assert "TNULL5" not in header  # as in VOTable: 255 is an ordinary byte of an unsignedByte array


def _check_blocks(document: bytes) -> None:
    assert len(document) % BLOCK_BYTES == 0
    with fits.open(io.BytesIO(document)) as hdus:
        hdus.verify("exception")
        assert [type(h).__name__ for h in hdus] == ["PrimaryHDU", "BinTableHDU"]


async def test_a_result_larger_than_the_memory_spool_is_complete_and_valid() -> None:
    columns = [ResultColumn("n", "long"), ResultColumn("text", "char", "*"), ResultColumn("v", "double", "*")]
    width = 300
    count = SPOOL_MEMORY_BYTES // width + 5000  # the spool moves to disk, over several encoded chunks
    rows: list[Row] = [(i, "x" * (i % width), [float(i)] * (i % 3)) for i in range(count)]
    document = await render("fits", columns, rows, batch=1000)
    _check_blocks(document)
    with fits.open(io.BytesIO(document)) as hdus:
        data = hdus[1].data
        assert len(data) == count
        assert data["n"].tolist() == list(range(count))
        assert data["text"][width - 1] == "x" * (width - 1) and data["text"][width] == ""
        assert [list(data["v"][i]) for i in (0, 1, count - 1)] == [[], [1.0], [float(count - 1)] * ((count - 1) % 3)]


async def test_an_empty_result_is_a_valid_table_of_no_rows() -> None:
    document = await render("fits", ALL_COLUMNS, [])
    _check_blocks(document)
    assert len(_table(document)) == 0


async def test_overflow_and_a_failure_after_the_first_rows_are_told_by_qstatus() -> None:
    ok = _table(await render("fits", COLUMNS, ROWS))
    overflow = _table(await render("fits", COLUMNS, ROWS, overflowed=True))
    failed_document = await render("fits", COLUMNS, ROWS, fail=ServiceError("the database went away " + "x" * 100))
    failed = _table(failed_document)
    assert ok.meta["QSTATUS"] == "OK" and "QSTATMSG" not in ok.meta
    assert overflow.meta["QSTATUS"] == "OVERFLOW" and overflow.meta["QSTATMSG"] == "rows cut at MAXREC"
    assert failed.meta["QSTATUS"] == "ERROR"
    assert failed.meta["QSTATMSG"] == "the database went away " + "x" * 100  # long: CONTINUE cards
    assert len(failed) == len(ROWS)  # the rows received before the failure are kept
    _check_blocks(failed_document)


async def test_the_query_is_kept_in_the_header() -> None:
    query = "SELECT * FROM t WHERE name = 'it''s' AND note = 'Ré'\n" + "OR x = 1 " * 20
    table = _table(await render("fits", COLUMNS, ROWS, query=query))
    assert table.meta["QUERY"] == query.replace("é", "?").replace("\n", " ").rstrip()  # FITS ignores trailing blanks


def test_types_outside_votable_and_too_many_columns_are_refused() -> None:
    writer = formats.get("fits")
    with pytest.raises(UsageError, match="datatype 'blob' cannot be written in FITS"):
        writer.check([ResultColumn("b", "blob")])
    with pytest.raises(UsageError, match="arraysize"):
        writer.check([ResultColumn("a", "int", "x*")])
    with pytest.raises(UsageError, match=f"at most {MAX_FIELDS} columns"):
        writer.check([ResultColumn(f"c{i}", "int") for i in range(MAX_FIELDS + 1)])
    writer.check([ResultColumn(f"c{i}", "int") for i in range(MAX_FIELDS)])


def _stilts(*args: str) -> str:
    stilts = shutil.which("stilts")
    if stilts is None:
        pytest.skip("stilts is not installed (apt-get install stilts)")
    done = subprocess.run([stilts, *args], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _stil_expected(value: Any, column: ResultColumn) -> Any:
    """STIL shows the magic value of integer array elements and reads a NULL fixed logical array as false."""
    if value is None and column.datatype in ("boolean", "bit") and (column.arraysize or "*")[-1] != "*":
        return [False] * math.prod(int(d) for d in (column.arraysize or "").split("x"))
    return _expected_fits(value, column)


def _stil_null(value: Any, column: ResultColumn) -> Any:
    if isinstance(value, list) and column.datatype in INTEGER_NULLS and column.arraysize not in (None, "1"):
        return _flat([None if x == INTEGER_NULLS[column.datatype] else x for x in value])
    return value


@pytest.mark.slow
@pytest.mark.parametrize(("columns", "rows"), [(ALL_COLUMNS, ALL_ROWS), (COLUMNS, ROWS)], ids=["resolved", "ingested"])
async def test_stilts_tpipe_reads_every_column_type(tmp_path: Path, columns: list[ResultColumn],
                                                    rows: list[Row]) -> None:
    path = tmp_path / "result.fits"
    path.write_bytes(await render("fits", columns, rows))
    found = [{c.name: _stil_null(_flat(row[c.name]) if c.datatype in TEXT else _stil_value(row[c.name]), c)
              for c in columns}
             for row in csv.DictReader(io.StringIO(_stilts("tpipe", f"in={path}", "ifmt=fits", "ofmt=csv")))]
    expected = [{c.name: _stil_null(_stil_expected(v, c), c) for v, c in zip(row, columns, strict=True)}
                for row in rows]
    assert _close(found) == _close(expected)


def _close(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Floats to 7 significant digits: STIL prints float columns as floats (astropy checks exact values above)."""
    def norm(value: Any) -> Any:
        if isinstance(value, list):
            return [norm(x) for x in value]
        return float(f"{value:.7g}") if isinstance(value, float) and math.isfinite(value) else value
    return [{k: norm(v) for k, v in row.items()} for row in rows]


@pytest.mark.slow
async def test_stil_sees_units_ucds_and_descriptions(tmp_path: Path) -> None:
    path = tmp_path / "result.fits"
    path.write_bytes(await render("fits", ALL_COLUMNS, ALL_ROWS))
    root = etree.fromstring(_stilts("tpipe", f"in={path}", "ifmt=fits", "ofmt=votable").encode())
    fields = {f.get("name"): f for f in root.iter("{*}FIELD")}
    assert (fields["d"].get("unit"), fields["d"].get("ucd")) == ("deg", "pos.eq.ra")
    assert fields["i"].get("ucd") == "meta.number"
    assert fields["c"].findtext("{*}DESCRIPTION") == 'text <with> & "specials"'


async def test_a_long_description_is_continued_not_cut(tmp_path: Path) -> None:
    description = "The flux, calibrated against the reference star of the night (see the quality flags). " * 3
    path = tmp_path / "result.fits"
    path.write_bytes(await render("fits", [ResultColumn("flux", "double", description=description)], [(1.0,)]))
    with fits.open(path) as hdus:
        assert hdus[1].header["TCOMM1"] == description.rstrip()
    root = etree.fromstring(_stilts("tpipe", f"in={path}", "ifmt=fits", "ofmt=votable").encode())
    assert next(root.iter("{*}FIELD")).findtext("{*}DESCRIPTION") == description.rstrip()


async def test_a_batch_that_cannot_be_encoded_ends_a_valid_file_with_error() -> None:
    columns = [ResultColumn("v", "double", "*"), ResultColumn("n", "int")]
    good: list[Row] = [([float(i)] * 3, i) for i in range(CHUNK_ROWS)]
    document = await render("fits", columns, [*good, ([1.0], 1), ([2.0], "not a number")], batch=500)
    _check_blocks(document)  # the heap of the failed batch is not counted in PCOUNT
    with fits.open(io.BytesIO(document)) as hdus:
        header, data = hdus[1].header, hdus[1].data
        assert header["QSTATUS"] == "ERROR" and "cannot be written" in header["QSTATMSG"]
        assert len(data) == CHUNK_ROWS and header["PCOUNT"] == CHUNK_ROWS * 3 * 8
        assert list(data["v"][-1]) == [float(CHUNK_ROWS - 1)] * 3
