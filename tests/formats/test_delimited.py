"""CSV and TSV: header line, cells readable by the csv module, NULL vs empty string, error line."""

from __future__ import annotations

import csv
import io

from jmmctap.errors import ServiceError
from jmmctap.results import ResultColumn
from tests.formats.streams import ALL_COLUMNS, ALL_ROWS, render


def _csv_rows(document: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(document.decode("utf-8"), newline="")))


async def test_csv_has_a_header_and_one_line_per_row() -> None:
    rows = _csv_rows(await render("csv", ALL_COLUMNS, ALL_ROWS))
    assert rows[0] == [c.name for c in ALL_COLUMNS]
    assert len(rows) == 1 + len(ALL_ROWS)
    assert all(len(r) == len(ALL_COLUMNS) for r in rows)


async def test_csv_cells_use_dali_literals() -> None:
    first, second, null, last = _csv_rows(await render("csv", ALL_COLUMNS, ALL_ROWS))[1:]
    assert first[:7] == ["true", "0", "-32767", "2147483647", "9007199254740993", "1.5", repr(10.123456789012345)]
    assert first[11:] == ["2020-01-02T03:04:05", "10 -20", "1 2 0.5", "0 +Inf", "1 2.5 -3", "1 2 3", "4 5", "1 2"]
    assert second[7] == "a & b < c > d \"q\" 'a'"
    assert second[10] == "日本語"
    assert second[11] == "1999-12-31T23:59:59.123"
    assert second[14:16] == ["-Inf 5", "NaN 0 1e+30"]
    assert null == [""] * len(ALL_COLUMNS)
    assert last[5:7] == ["NaN", "NaN"] and last[11] == "2000-02-29T00:00:00.000001"


async def test_csv_null_is_an_empty_cell_and_an_empty_string_is_quoted() -> None:
    document = await render("csv", [ResultColumn("s", "char", "*"), ResultColumn("n", "int")], [("", 1), (None, None)])
    assert document == b's,n\r\n"",1\r\n,\r\n'


async def test_csv_quotes_commas_quotes_and_line_breaks() -> None:
    values = ['a,b', 'say "hi"', "two\nlines", "cr\rhere", "plain"]
    document = await render("csv", [ResultColumn("s", "char", "*")], [(v,) for v in values])
    assert [r[0] for r in _csv_rows(document)[1:]] == values


async def test_csv_header_quotes_odd_names() -> None:
    document = await render("csv", [ResultColumn('"a,b"', "int"), ResultColumn("x", "int")], [])
    assert _csv_rows(document) == [['"a,b"', "x"]]


async def test_float_columns_print_single_precision_shortly() -> None:
    document = await render("csv", [ResultColumn("f", "float")], [(0.10000000149011612,), (3.4028234663852886e38,)])
    assert document == b"f\r\n0.1\r\n3.4028235e+38\r\n"


async def test_csv_error_mid_stream_ends_with_one_status_cell() -> None:
    document = await render("csv", ALL_COLUMNS, ALL_ROWS, batch=2, fail=ServiceError("timeout, sorry"))
    rows = _csv_rows(document)
    assert len(rows) == 2 + len(ALL_ROWS)
    assert rows[-1] == ["QUERY_STATUS=ERROR: timeout, sorry"]


async def test_csv_overflow_is_not_marked() -> None:
    assert await render("csv", ALL_COLUMNS, ALL_ROWS, overflowed=True) == await render("csv", ALL_COLUMNS, ALL_ROWS)


async def test_tsv_escapes_tabs_line_breaks_and_backslashes() -> None:
    values = ["a\tb", "x\ny", "back\\slash", "r\r", "plain", None]
    document = await render("tsv", [ResultColumn("s", "char", "*"), ResultColumn("n", "int")],
                            [(v, i) for i, v in enumerate(values)])
    lines = document.decode().split("\n")
    assert lines[:-1] == ["s\tn", "a\\tb\t0", "x\\ny\t1", "back\\\\slash\t2", "r\\r\t3", "plain\t4", "\t5"]
    assert lines[-1] == ""


async def test_tsv_reads_back_with_the_csv_module() -> None:
    document = await render("tsv", ALL_COLUMNS, ALL_ROWS)
    rows = list(csv.reader(io.StringIO(document.decode()), delimiter="\t"))
    assert rows[0] == [c.name for c in ALL_COLUMNS]
    assert [len(r) for r in rows] == [len(ALL_COLUMNS)] * (1 + len(ALL_ROWS))
    assert rows[1][10] == "Ré € ✓"


async def test_tsv_error_mid_stream_ends_with_one_status_cell() -> None:
    document = await render("tsv", ALL_COLUMNS, ALL_ROWS, fail=ServiceError("oops\tthere"))
    assert document.decode().splitlines()[-1] == "QUERY_STATUS=ERROR: oops\\tthere"


async def test_decimals_and_dates_are_written_as_text() -> None:
    from datetime import date
    from decimal import Decimal

    columns = [ResultColumn("n", "long"), ResultColumn("x", "double"), ResultColumn("t", "char", "*", xtype="date")]
    document = await render("csv", columns, [(Decimal("12"), Decimal("1.25"), date(2020, 1, 2))])
    assert document == b"n,x,t\r\n12,1.25,2020-01-02\r\n"
