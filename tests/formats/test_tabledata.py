"""TABLEDATA rows, golden: one TD per FIELD, empty TD for NULL, escaped text."""

from __future__ import annotations

import math

from jmmctap.formats.tabledata import TABLEDATA
from jmmctap.results import ResultColumn

COLUMNS = [ResultColumn("n", "int"), ResultColumn("s", "char", "*"), ResultColumn("x", "double"),
           ResultColumn("p", "double", "2", xtype="point"), ResultColumn("b", "boolean")]


def test_rows_golden() -> None:
    body = TABLEDATA.start(COLUMNS)
    rows = [(1, "a<b & c>", 0.5, [1.0, 2.0], True), (None,) * 5, (3, "", math.nan, [0.0, 0.0], False)]
    assert body.encode(rows).decode("ascii") == (
        "<TR><TD>1</TD><TD>a&lt;b &amp; c&gt;</TD><TD>0.5</TD><TD>1 2</TD><TD>true</TD></TR>\n"
        "<TR><TD></TD><TD></TD><TD></TD><TD>NaN NaN</TD><TD></TD></TR>\n"
        "<TR><TD>3</TD><TD></TD><TD>NaN</TD><TD>0 0</TD><TD>false</TD></TR>\n"
    )
    assert body.finish() == b""


def test_non_ascii_is_written_as_character_references() -> None:
    assert TABLEDATA.start(COLUMNS[1:2]).encode([("日",)]) == b"<TR><TD>&#26085;</TD></TR>\n"
