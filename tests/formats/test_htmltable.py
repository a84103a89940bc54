"""HTML table: well-formed page with escaped cells and a note after an overflow or a failure."""

from __future__ import annotations

from lxml import etree

from jmmctap.errors import ServiceError
from jmmctap.results import ResultColumn
from tests.formats.streams import ALL_COLUMNS, ALL_ROWS, render


def _page(document: bytes) -> etree._Element:
    return etree.fromstring(document.split(b"\n", 1)[1])  # well-formed apart from the doctype


async def test_page_has_one_row_per_result_row() -> None:
    page = _page(await render("html", ALL_COLUMNS, ALL_ROWS, query="SELECT a < b"))
    assert [th.text for th in page.iter("th")] == [c.name for c in ALL_COLUMNS]
    rows = page.findall(".//tbody/tr")
    assert len(rows) == len(ALL_ROWS)
    assert rows[1][7].text == "a & b < c > d \"q\" 'a'"
    assert rows[1][10].text == "日本語"
    assert page.findtext(".//pre") == "SELECT a < b"


async def test_overflow_and_error_notes() -> None:
    assert b"cut at MAXREC" in await render("html", ALL_COLUMNS, ALL_ROWS, overflowed=True)
    page = _page(await render("html", [ResultColumn("x", "int")], [(1,)], fail=ServiceError("<gone>")))
    assert page.findall(".//p")[-1].text == "Error: <gone>"
