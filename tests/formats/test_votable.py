"""VOTable result documents: valid against the XSD, read back by astropy and pyvo, status INFOs where DALI puts them."""

from __future__ import annotations

import io
import math
from datetime import date, datetime
from typing import Any

import numpy as np
import pytest
from astropy.io.votable import parse
from lxml import etree
from pyvo.dal import DALQueryError, DALResults
from pyvo.dal.exceptions import DALOverflowWarning

from jmmctap import formats
from jmmctap.errors import ServiceError, UsageError
from jmmctap.formats.cells import format_timestamp
from jmmctap.results import ResultColumn
from tests.formats.streams import ALL_COLUMNS, ALL_ROWS, ListStream, collect, render
from tests.support.xsd import assert_valid

NS = {"v": formats.VOTABLE_NS}
VOTABLES = ["votable", "votable/td", "votable/b"]


def _normalise(value: Any) -> Any:
    """A cell as astropy gives it, made comparable: masked or NaN → None, arrays → lists."""
    if isinstance(value, np.ma.MaskedArray):
        if not value.ndim:
            return None if value.mask else _normalise(value.item())
        mask = np.ma.getmaskarray(value).tolist()
        return [None if m else _normalise(x) for x, m in zip(value.data.tolist(), mask, strict=True)]
    if isinstance(value, np.ndarray):
        return [_normalise(x) for x in value.tolist()]
    if value is np.ma.masked:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _expected(value: Any, column: ResultColumn) -> Any:
    """What a reader should find for ``value`` written in ``column`` (astropy masks NaN, has no NULL string)."""
    fixed = column.arraysize and column.arraysize.isdigit() and column.datatype != "char"
    if value is None:
        if fixed:
            return [None] * int(column.arraysize or 0)
        return "" if column.datatype in ("char", "unicodeChar") else ([] if column.arraysize else None)
    if isinstance(value, datetime | date):
        return format_timestamp(value)
    if isinstance(value, list):
        return [_expected(x, ResultColumn("x", column.datatype)) for x in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    if column.datatype == "float":
        return float(np.float32(value))
    return value


def _read_rows(document: bytes) -> list[list[Any]]:
    table = parse(io.BytesIO(document)).get_first_table().array
    return [[_normalise(table[name][i]) for name in table.dtype.names] for i in range(len(table))]


@pytest.mark.parametrize("fmt", VOTABLES)
async def test_every_datatype_reads_back_with_astropy(fmt: str) -> None:
    document = await render(fmt, ALL_COLUMNS, ALL_ROWS)
    expected = [[_expected(v, c) for v, c in zip(row, ALL_COLUMNS, strict=True)] for row in ALL_ROWS]
    assert _read_rows(document) == expected


@pytest.mark.parametrize("fmt", VOTABLES)
@pytest.mark.parametrize("batch", [1, 3, 5000])
async def test_rows_read_back_whatever_the_batching(fmt: str, batch: int) -> None:
    columns = [ResultColumn("n", "long"), ResultColumn("name", "char", "*"), ResultColumn("x", "double")]
    rows = [(i, "x" * (i % 7), i / 3) for i in range(5003)]
    document = await render(fmt, columns, rows, batch=batch)
    assert _read_rows(document) == [list(r) for r in rows]


@pytest.mark.parametrize("fmt", VOTABLES)
async def test_document_is_valid_votable_1_4(fmt: str) -> None:
    root = assert_valid(await render(fmt, ALL_COLUMNS, ALL_ROWS), formats.VOTABLE_NS)
    assert root.get("version") == "1.4"


@pytest.mark.parametrize("fmt", VOTABLES)
async def test_document_is_ascii(fmt: str) -> None:
    (await render(fmt, ALL_COLUMNS, ALL_ROWS)).decode("ascii")


async def test_query_status_ok_comes_first_then_query_and_date() -> None:
    query = "SELECT b, ub FROM t WHERE x < 1 AND s = 'a&b'"
    stream = ListStream(ALL_COLUMNS[:2], [r[:2] for r in ALL_ROWS], query=query)
    document = await collect(formats.get("votable"), stream)
    resource = etree.fromstring(document).find("v:RESOURCE", NS)
    assert resource.get("type") == "results"
    infos = [(i.get("name"), i.get("value")) for i in resource.findall("v:INFO", NS)]
    assert infos[0] == ("QUERY_STATUS", "OK")
    assert ("QUERY", query) in infos
    assert ("request_date", "2024-05-06T07:08:09Z") in infos
    assert ("standardID", "ivo://ivoa.net/std/TAP") in infos
    children = [etree.QName(e).localname for e in resource]
    assert children == ["INFO"] * len(infos) + ["TABLE"]


async def test_result_info_query_and_extra_infos_are_written() -> None:
    info = formats.ResultInfo(query="SELECT 1\nFROM t", extra=(("citation", "ivo://jmmc"),))
    document = await collect(formats.get("votable/td"), ListStream(ALL_COLUMNS[:1], []), info)
    infos = {i.get("name"): i.get("value") for i in etree.fromstring(document).iter("{*}INFO")}
    assert infos["QUERY"] == "SELECT 1\nFROM t"  # the line break survives attribute normalisation
    assert infos["citation"] == "ivo://jmmc"
    assert "request_date" not in infos


async def test_fields_carry_the_column_metadata() -> None:
    document = await render("votable", ALL_COLUMNS, [])
    fields = etree.fromstring(document).findall(".//v:FIELD", NS)
    assert [f.get("name") for f in fields] == [c.name for c in ALL_COLUMNS]
    d = fields[6]
    assert (d.get("datatype"), d.get("unit"), d.get("ucd")) == ("double", "deg", "pos.eq.ra")
    assert d.get("utype") == ALL_COLUMNS[6].utype
    assert fields[12].get("xtype") == "point" and fields[12].get("arraysize") == "2"
    assert fields[7].findtext("v:DESCRIPTION", namespaces=NS) == 'text <with> & "specials"'
    assert fields[0].get("arraysize") is None


async def test_odd_column_names_are_escaped_and_get_valid_unique_ids() -> None:
    columns = [ResultColumn(n, "int") for n in ['"B-V"', 'a"<&>', "2mass", "é", "x y", "x_y", "ra"]]
    document = await render("votable/td", columns, [(1, 2, 3, 4, 5, 6, 7)])
    assert_valid(document, formats.VOTABLE_NS)
    fields = etree.fromstring(document).findall(".//v:FIELD", NS)
    assert [f.get("name") for f in fields] == [c.name for c in columns]
    ids = [f.get("ID") for f in fields]
    assert len(set(ids)) == len(ids)
    assert ids[-1] == "ra"


async def test_precision_and_width_from_extra_are_written() -> None:
    column = ResultColumn("x", "double", extra={"precision": "F3", "width": "8", "junk": "no"})
    field = etree.fromstring(await render("votable", [column], [])).find(".//v:FIELD", NS)
    assert (field.get("precision"), field.get("width"), field.get("junk")) == ("F3", "8", None)


@pytest.mark.parametrize("fmt", VOTABLES)
async def test_empty_result_has_the_table_and_no_rows(fmt: str) -> None:
    document = await render(fmt, ALL_COLUMNS, [])
    assert_valid(document, formats.VOTABLE_NS)
    table = parse(io.BytesIO(document)).get_first_table()
    assert len(table.array) == 0 and len(table.fields) == len(ALL_COLUMNS)


@pytest.mark.parametrize("fmt", VOTABLES)
async def test_overflow_adds_a_trailing_status_that_pyvo_reads(fmt: str) -> None:
    document = await render(fmt, ALL_COLUMNS, ALL_ROWS, overflowed=True)
    assert_valid(document, formats.VOTABLE_NS)
    resource = etree.fromstring(document).find("v:RESOURCE", NS)
    last = resource[-1]
    assert (etree.QName(last).localname, last.get("name"), last.get("value")) == ("INFO", "QUERY_STATUS", "OVERFLOW")
    with pytest.warns(DALOverflowWarning):
        results = DALResults(parse(io.BytesIO(document)))
    assert results.status[0] == "OVERFLOW"
    assert len(results) == len(ALL_ROWS)


@pytest.mark.parametrize("fmt", VOTABLES)
async def test_maxrec_zero_gives_the_fields_and_overflow(fmt: str) -> None:
    document = await render(fmt, ALL_COLUMNS, [], overflowed=True)
    assert_valid(document, formats.VOTABLE_NS)
    with pytest.warns(DALOverflowWarning):
        results = DALResults(parse(io.BytesIO(document)))
    assert len(results) == 0 and list(results.fieldnames) == [c.name for c in ALL_COLUMNS]


@pytest.mark.parametrize("fmt", VOTABLES)
async def test_complete_result_has_no_trailing_status(fmt: str) -> None:
    document = await render(fmt, ALL_COLUMNS, ALL_ROWS)
    resource = etree.fromstring(document).find("v:RESOURCE", NS)
    assert etree.QName(resource[-1]).localname == "TABLE"
    assert DALResults(parse(io.BytesIO(document))).status[0] == "OK"


@pytest.mark.parametrize("fmt", VOTABLES)
async def test_error_mid_stream_closes_the_document_with_a_trailing_error(fmt: str) -> None:
    failure = ServiceError("the database went away")
    document = await render(fmt, ALL_COLUMNS, ALL_ROWS, batch=3, fail=failure)
    assert_valid(document, formats.VOTABLE_NS)
    last = etree.fromstring(document).find("v:RESOURCE", NS)[-1]
    assert (last.get("name"), last.get("value"), last.text) == ("QUERY_STATUS", "ERROR", "the database went away")
    assert len(parse(io.BytesIO(document)).get_first_table().array) == len(ALL_ROWS)  # rows before the error kept
    with pytest.raises(DALQueryError, match="the database went away"):
        DALResults(parse(io.BytesIO(document)))


async def test_a_value_that_cannot_be_encoded_ends_with_an_error_not_a_crash() -> None:
    columns = [ResultColumn("n", "int")]
    document = await render("votable", columns, [(1,), (2**40,)], batch=1)
    assert_valid(document, formats.VOTABLE_NS)
    last = etree.fromstring(document).find("v:RESOURCE", NS)[-1]
    assert last.get("value") == "ERROR" and "cannot be written" in last.text


def test_unsupported_datatype_fails_before_the_first_byte() -> None:
    stream = ListStream([ResultColumn("z", "blob")], [])
    with pytest.raises(UsageError, match="blob"):
        formats.get("votable").write(stream, formats.ResultInfo())


@pytest.mark.parametrize("fmt", ["votable", "votable/b"])
def test_check_refuses_from_the_metadata_what_binary_cannot_write(fmt: str) -> None:
    with pytest.raises(UsageError, match=r"'blob'.*votable/td"):
        formats.get(fmt).check([ResultColumn("ok", "int"), ResultColumn("z", "blob")])


@pytest.mark.parametrize("fmt", ["votable/td", "csv", "tsv", "json", "html"])
def test_check_lets_text_formats_write_any_datatype(fmt: str) -> None:
    formats.get(fmt).check([ResultColumn("z", "blob"), ResultColumn("b", "bit", "*")])


def test_error_document_is_dali_error_votable() -> None:
    document = formats.write_error("Unknown table 'foo' <at line 1>", query="SELECT * FROM foo")
    root = assert_valid(document, formats.VOTABLE_NS)
    resource = root.find("v:RESOURCE", NS)
    assert resource.get("type") == "results"
    assert resource.find(".//v:TABLE", NS) is None
    status = resource.find("v:INFO", NS)
    assert (status.get("name"), status.get("value")) == ("QUERY_STATUS", "ERROR")
    assert status.text == "Unknown table 'foo' <at line 1>"
    assert resource.findall("v:INFO", NS)[1].get("value") == "SELECT * FROM foo"
    with pytest.raises(DALQueryError, match="Unknown table 'foo'"):
        DALResults(parse(io.BytesIO(document)))


def test_error_document_golden() -> None:
    assert formats.write_error("bad <thing> & \x01 ü").decode("ascii") == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' xsi:schemaLocation="http://www.ivoa.net/xml/VOTable/v1.3 http://www.ivoa.net/xml/VOTable/v1.4">\n'
        '<RESOURCE type="results">\n'
        '<INFO name="QUERY_STATUS" value="ERROR">bad &lt;thing&gt; &amp; &#65533; &#252;</INFO>\n'
        "</RESOURCE>\n</VOTABLE>\n"
    )


def test_error_document_never_has_an_empty_message() -> None:
    status = etree.fromstring(formats.write_error("")).find(".//v:INFO", NS)
    assert status.text  # taplint W-NOMS


async def test_strings_with_xml_specials_and_control_characters_survive() -> None:
    columns = [ResultColumn("c", "char", "*"), ResultColumn("u", "unicodeChar", "*")]
    rows = [("a<b>&c\"d'", "x\x00y\x1fz"), ("line1\nline2\r\n\tend ", "\ud800 é\uffff"), ("]]>", "😀")]
    for fmt in VOTABLES:
        document = await render(fmt, columns, rows)
        assert_valid(document, formats.VOTABLE_NS)
        got = _read_rows(document)
        assert got[0][0] == "a<b>&c\"d'"
        assert got[2] == ["]]>", "😀"]
        if fmt == "votable/td":  # characters XML cannot carry become U+FFFD
            assert got[0][1] == "x\ufffdy\ufffdz"
            assert got[1] == ["line1\nline2\r\n\tend", "\ufffd é\ufffd"]  # astropy strips cells
            cells = [td.text for td in etree.fromstring(document).iter("{*}TD")]
            assert cells[2] == "line1\nline2\r\n\tend "  # but the document keeps the white space
        else:  # binary carries them as they are
            assert got[0][1] == "x\x00y\x1fz"
            assert got[1] == ["line1\nline2\r\n\tend ", "? é\uffff"]


@pytest.mark.parametrize("fmt", ["votable", "votable/b"])
async def test_non_ascii_in_char_becomes_question_marks_in_binary(fmt: str) -> None:
    document = await render(fmt, [ResultColumn("c", "char", "*"), ResultColumn("f", "char", "4")], [("Ré€", "é1")])
    assert _read_rows(document) == [["R??", "?1"]]


async def test_non_ascii_in_char_is_kept_in_tabledata() -> None:
    document = await render("votable/td", [ResultColumn("c", "char", "*")], [("Ré€",)])
    assert b"R&#233;&#8364;" in document


async def test_timezone_aware_timestamps_are_written_in_utc() -> None:
    from datetime import UTC, timedelta, timezone

    moment = datetime(2020, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    column = ResultColumn("t", "char", "*", xtype="timestamp")
    for fmt in VOTABLES:
        rows = _read_rows(await render(fmt, [column], [(moment,), (date(2021, 3, 4),), ("2022-01-01T00:00:00",)]))
        assert rows == [["2020-01-01T10:00:00"], ["2021-03-04"], ["2022-01-01T00:00:00"]]
    assert moment.astimezone(UTC).hour == 10


def test_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="application/fits"):  # the message lists what is supported
        formats.get("image/fits")
