"""The TABLEDATA fast path loads exactly the rows the lxml path loads, or hands over to it.

Every case loads the file twice into PostgreSQL — once from ``copy_items()`` (fast path), once from
``rows()`` (lxml) — and compares the tables; it also checks which path the file actually took, so
that a tricky-but-plain file is known to have gone through the bytes rewriting.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from jmmctap.ingest import loader, tabledata_fast
from jmmctap.ingest.columns import map_fields
from jmmctap.ingest.model import IngestError
from jmmctap.ingest.tabledata_fast import CopyText, copy_escape, copy_unescape
from jmmctap.ingest.values import NULL_FLOAT_TEXTS
from jmmctap.ingest.votable import VOTableSource
from tests.ingest.helpers import write_votable

NS = "http://www.ivoa.net/xml/VOTable/v1.3"
FIELDS = ('<FIELD name="id" datatype="int"/><FIELD name="s" datatype="char" arraysize="*"/>'
          '<FIELD name="x" datatype="double"/><FIELD name="b" datatype="boolean"/>')


def _votable(rows: str, *, fields: str = FIELDS, head: str = "", prefix: str = "",
             declaration: str = '<?xml version="1.0" encoding="UTF-8"?>\n') -> str:
    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns:{prefix}="{NS}"' if prefix else f'xmlns="{NS}"'
    return (f'{declaration}<{p}VOTABLE version="1.4" {xmlns}>{head}<{p}RESOURCE><{p}TABLE name="t">'
            + (fields.replace("<FIELD", f"<{p}FIELD").replace("<VALUES", f"<{p}VALUES")
               .replace("</FIELD", f"</{p}FIELD") if p else fields)
            + f"<{p}DATA><{p}TABLEDATA>{rows}</{p}TABLEDATA></{p}DATA></{p}TABLE></{p}RESOURCE></{p}VOTABLE>\n")


def _write(tmp_path: Path, text: str, *, encoding: str = "utf-8", name: str = "t.vot") -> Path:
    path = tmp_path / name
    data = text.encode(encoding)
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


def _load(conn: psycopg.Connection[Any], schema: str, table: str, source: VOTableSource, *, fast: bool) -> bool:
    """Load through one path; True when every row came as COPY text (the fast path)."""
    columns = map_fields(f"{schema}.{table}", source.spec.fields)
    items = list(source.copy_items() if fast else source.rows())
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    loader.create_table(conn, schema, table, columns)
    loader.copy_rows(conn, schema, table, columns, items, str(source.spec.file))
    return bool(items) and all(isinstance(i, CopyText) for i in items)


def _table(conn: psycopg.Connection[Any], schema: str, table: str) -> list[tuple[Any, ...]]:
    return conn.execute(sql.SQL("SELECT * FROM {} ORDER BY ctid").format(sql.Identifier(schema, table))).fetchall()


def _both(conn: psycopg.Connection[Any], schema: str, path: Path,
          table_index: int = 0) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], bool]:
    source = VOTableSource.open(path, table_index)
    used_fast = _load(conn, schema, "fast", source, fast=True)
    _load(conn, schema, "slow", source, fast=False)
    return _table(conn, schema, "fast"), _table(conn, schema, "slow"), used_fast


def _errors(path: Path) -> tuple[str, str]:
    """The error of reading the file through each path, whether the metadata read or the rows raise it."""
    messages = []
    for fast in (True, False):
        with pytest.raises(IngestError) as info:
            source = VOTableSource.open(path)
            list(source.copy_items() if fast else source.rows())
        messages.append(str(info.value))
    return messages[0], messages[1]


PLAIN_CASES = {
    "entities": '<TR><TD>1</TD><TD>a &amp; b &lt;c&gt; &quot;q&quot; &apos;s&apos; &amp;lt; &amp;amp;</TD>'
                "<TD>1.5</TD><TD>T</TD></TR>",
    "character references": "<TR><TD>1</TD><TD>&#65;&#x42;&#9;&#10;&#13;&#x1F600;&#92;N&#38;amp;</TD>"
                            "<TD>2</TD><TD>F</TD></TR>",
    "empty cells": "<TR><TD/><TD></TD><TD /><TD/></TR><TR><TD>2</TD><TD/><TD></TD><TD></TD></TR>",
    "whitespace cells": "<TR><TD> 3 </TD><TD>  </TD><TD> 1e3 </TD><TD> T </TD></TR>",
    "pretty printed": "\n  <TR>\n    <TD>1</TD>\n    <TD>a b</TD>\n    <TD>1</TD>\n    <TD>T</TD>\n  </TR>\n"
                      "  <TR>\n    <TD>2</TD>\n    <TD>\n c \n</TD>\n    <TD>2</TD>\n    <TD>F</TD>\n  </TR>\n",
    "tabs and newlines in cells": "<TR><TD>1</TD><TD>a\tb\nc</TD><TD>1</TD><TD>T</TD></TR>\n"
                                  "<TR><TD>2</TD><TD>\t</TD><TD>2</TD><TD>1</TD></TR>",
    "backslashes": r"<TR><TD>1</TD><TD>C:\new\table \N \\ end\</TD><TD>1</TD><TD>true</TD></TR>"
                   "<TR><TD>2</TD><TD>\\N</TD><TD>2</TD><TD>0</TD></TR>",
    "float nulls": "<TR><TD>1</TD><TD>NaN</TD><TD>NaN</TD><TD>T</TD></TR><TR><TD>2</TD><TD>-</TD><TD>-</TD>"
                   "<TD>F</TD></TR><TR><TD>3</TD><TD>x</TD><TD>null</TD><TD>?</TD></TR>"
                   "<TR><TD>4</TD><TD>y</TD><TD>+NaN</TD><TD>?</TD></TR><TR><TD>5</TD><TD>z</TD><TD>-</TD><TD/></TR>",
    "booleans": "<TR><TD>1</TD><TD/><TD/><TD>?</TD></TR><TR><TD>2</TD><TD/><TD/><TD>false</TD></TR>"
                "<TR><TD>3</TD><TD/><TD/><TD> f</TD></TR>",
    "non-ascii": "<TR><TD>1</TD><TD>θ Ori 日本 ☃ é</TD><TD>1</TD><TD>T</TD></TR>",
    "greater-than and brackets": "<TR><TD>1</TD><TD>a > b ]] ]&gt; [[</TD><TD>1</TD><TD>T</TD></TR>",
    "crlf line ends": "\r\n<TR>\r\n<TD>1</TD>\r\n<TD>a\r\nb\rc</TD>\r\n<TD>1</TD><TD>T</TD></TR>\r\n",
}


@pytest.mark.parametrize("case", list(PLAIN_CASES))
def test_plain_but_tricky_cells_take_the_fast_path_and_load_the_same_rows(
        case: str, tmp_path: Path, owner_conn: psycopg.Connection[Any], schema: str) -> None:
    fast, slow, used_fast = _both(owner_conn, schema, _write(tmp_path, _votable(PLAIN_CASES[case])))
    assert fast == slow
    assert fast
    assert used_fast


UNUSUAL_CASES = {
    "CDATA": "<TR><TD>1</TD><TD><![CDATA[a<b & c]]></TD><TD>1</TD><TD>T</TD></TR>",
    "comment between rows": "<TR><TD>1</TD><TD>a</TD><TD>1</TD><TD>T</TD></TR><!-- </TR><TR> -->"
                            "<TR><TD>2</TD><TD>b</TD><TD>2</TD><TD>F</TD></TR>",
    "comment inside a cell": "<TR><TD>1</TD><TD>a<!-- x -->b</TD><TD>1</TD><TD>T</TD></TR>",
    "processing instruction": "<TR><TD>1</TD><TD>a<?pi x?>b</TD><TD>1</TD><TD>T</TD></TR>",
    "base64 cell": '<TR><TD>1</TD><TD>a</TD><TD encoding="base64">P/gAAAAAAAA=</TD><TD>T</TD></TR>',
    "TR with an ID": '<TR ID="r1"><TD>1</TD><TD>a</TD><TD>1</TD><TD>T</TD></TR>',
    "text between cells": "<TR><TD>1</TD>junk<TD>a</TD><TD>1</TD><TD>T</TD></TR>",
    "other namespace on a cell": '<TR><TD>1</TD><TD xmlns="urn:x">a</TD><TD>1</TD><TD>T</TD></TR>',
}


@pytest.mark.parametrize("case", list(UNUSUAL_CASES))
def test_unusual_data_is_left_to_lxml_with_the_same_rows(
        case: str, tmp_path: Path, owner_conn: psycopg.Connection[Any], schema: str) -> None:
    fast, slow, used_fast = _both(owner_conn, schema, _write(tmp_path, _votable(UNUSUAL_CASES[case])))
    assert fast == slow
    assert fast
    assert not used_fast


def test_namespace_prefixed_tables_take_the_fast_path(tmp_path: Path, owner_conn: psycopg.Connection[Any],
                                                      schema: str) -> None:
    rows = "<vot:TR><vot:TD>1</vot:TD><vot:TD>a &amp; b</vot:TD><vot:TD>1</vot:TD><vot:TD/></vot:TR>"
    fast, slow, used_fast = _both(owner_conn, schema, _write(tmp_path, _votable(rows, prefix="vot")))
    assert fast == slow == [(1, "a & b", 1.0, None)]
    assert used_fast


def test_mixed_prefixes_are_left_to_lxml(tmp_path: Path, owner_conn: psycopg.Connection[Any], schema: str) -> None:
    rows = "<vot:TR><vot:TD>1</vot:TD><TD>a</TD><vot:TD>1</vot:TD><vot:TD/></vot:TR>"
    fast, slow, used_fast = _both(owner_conn, schema, _write(tmp_path, _votable(rows, prefix="vot")))
    assert fast == slow == [(1, "a", 1.0, None)]
    assert not used_fast


def test_a_tabledata_tag_inside_a_header_comment_is_not_taken_for_the_data(
        tmp_path: Path, owner_conn: psycopg.Connection[Any], schema: str) -> None:
    head = "<!-- <TABLEDATA><TR><TD>9</TD></TR> --><DESCRIPTION><![CDATA[ <TABLEDATA> ]]></DESCRIPTION>"
    rows = "<TR><TD>1</TD><TD>a</TD><TD>1</TD><TD>T</TD></TR>"
    fast, slow, used_fast = _both(owner_conn, schema, _write(tmp_path, _votable(rows, head=head)))
    assert fast == slow == [(1, "a", 1.0, True)]
    assert used_fast


def test_a_latin1_file_is_left_to_lxml(tmp_path: Path, owner_conn: psycopg.Connection[Any], schema: str) -> None:
    text = _votable("<TR><TD>1</TD><TD>é</TD><TD>1</TD><TD>T</TD></TR>",
                    declaration='<?xml version="1.0" encoding="ISO-8859-1"?>\n')
    fast, slow, used_fast = _both(owner_conn, schema, _write(tmp_path, text, encoding="latin-1"))
    assert fast == slow == [(1, "é", 1.0, True)]
    assert not used_fast


def test_gzipped_files_take_the_fast_path(tmp_path: Path, owner_conn: psycopg.Connection[Any], schema: str) -> None:
    path = _write(tmp_path, _votable("<TR><TD>1</TD><TD>a</TD><TD>1</TD><TD>T</TD></TR>"), name="t.vot.gz")
    fast, slow, used_fast = _both(owner_conn, schema, path)
    assert fast == slow == [(1, "a", 1.0, True)]
    assert used_fast


def test_a_second_table_is_read_by_lxml(tmp_path: Path, owner_conn: psycopg.Connection[Any], schema: str) -> None:
    first = _votable("<TR><TD>1</TD><TD>a</TD><TD>1</TD><TD>T</TD></TR>")
    second = first.replace('<TABLE name="t">', '<TABLE name="t">' + "", 1).replace(
        "</TABLE>", '</TABLE><TABLE name="u">' + FIELDS + "<DATA><TABLEDATA><TR><TD>2</TD><TD>b</TD><TD>2</TD>"
        "<TD>F</TD></TR></TABLEDATA></DATA></TABLE>", 1)
    fast, slow, used_fast = _both(owner_conn, schema, _write(tmp_path, second), table_index=1)
    assert fast == slow == [(2, "b", 2.0, False)]
    assert not used_fast


CONVERTED_FIELDS = ('<FIELD name="n" datatype="int"><VALUES null="-99"/></FIELD>'
                    '<FIELD name="a" datatype="double" arraysize="*"/><FIELD name="bits" datatype="boolean"'
                    ' arraysize="3"/><FIELD name="m" datatype="float"><VALUES null="-1"/></FIELD>')


def test_converted_columns_load_the_same_rows(tmp_path: Path, owner_conn: psycopg.Connection[Any],
                                              schema: str) -> None:
    rows = ("<TR><TD>-99</TD><TD>1 2 3</TD><TD>T F ?</TD><TD>-1.0</TD></TR>"
            "<TR><TD>0x10</TD><TD>\n4\t5\n</TD><TD/><TD>NaN</TD></TR><TR><TD/><TD/><TD>1 0 1</TD><TD>2.5</TD></TR>")
    path = _write(tmp_path, _votable(rows, fields=CONVERTED_FIELDS))
    fast, slow, used_fast = _both(owner_conn, schema, path)
    assert fast == slow
    assert fast[0] == (None, [1.0, 2.0, 3.0], [True, False, None], None)
    assert used_fast


def test_chunk_boundaries_and_a_late_fallback_give_every_row_once(
        tmp_path: Path, owner_conn: psycopg.Connection[Any], schema: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabledata_fast, "CHUNK_BYTES", 97)
    rows = "".join(f"<TR><TD>{i}</TD><TD>s{i} &amp;</TD><TD>{i / 3}</TD><TD>{'TF'[i % 2]}</TD></TR>\n"
                   for i in range(60))
    rows += "<!-- now lxml --><TR><TD>60</TD><TD>x</TD><TD/><TD>T</TD></TR>"
    fast, slow, used_fast = _both(owner_conn, schema, _write(tmp_path, _votable(rows)))
    assert fast == slow
    assert [r[0] for r in fast] == list(range(61))
    assert not used_fast


ERROR_CASES = {
    "too many cells": "<TR><TD>1</TD><TD>a</TD><TD>1</TD><TD>T</TD></TR><TR><TD>2</TD><TD>a</TD><TD>1</TD>"
                      "<TD>T</TD><TD>x</TD></TR>",
    "too few cells": "<TR><TD>1</TD><TD>a</TD><TD>1</TD></TR>",
    "bad boolean": "<TR><TD>1</TD><TD>a</TD><TD>1</TD><TD>T</TD></TR><TR><TD>2</TD><TD>a</TD><TD>1</TD>"
                   "<TD>maybe</TD></TR>",
    "]]> in a cell": "<TR><TD>1</TD><TD>a]]>b</TD><TD>1</TD><TD>T</TD></TR>",
    "undefined entity": "<TR><TD>1</TD><TD>a &nbsp; b</TD><TD>1</TD><TD>T</TD></TR>",
    "bare ampersand": "<TR><TD>1</TD><TD>a & b</TD><TD>1</TD><TD>T</TD></TR>",
    "character reference to NUL": "<TR><TD>1</TD><TD>a&#0;</TD><TD>1</TD><TD>T</TD></TR>",
    "control character": "<TR><TD>1</TD><TD>a\x01b</TD><TD>1</TD><TD>T</TD></TR>",
    "mismatched tags": "<TR><TD>1</TD><TD>a</TR><TD>1</TD><TD>T</TD></TR>",
    "truncated file": "<TR><TD>1</TD><TD>a</TD><TD>1</TD><TD>T</TD></TR><TR><TD>2",
}


BAD_ROW_CASES = {"too many cells": "row 2", "too few cells": "row 1", "bad boolean": "row 2"}
"""The cases that are well-formed XML: the error names the row; every other case is malformed XML."""


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_malformed_data_fails_with_one_clean_error_naming_file_and_position(case: str, tmp_path: Path) -> None:
    """Both paths fail alike; the XML parser may catch the problem while reading metadata or rows."""
    text = _votable(ERROR_CASES[case])
    if case == "truncated file":
        text = text[:text.index("<TD>2") + 5]
    path = _write(tmp_path, text)
    fast, slow = _errors(path)
    assert fast == slow
    assert fast.startswith(f"{path}")
    if case in BAD_ROW_CASES:
        assert BAD_ROW_CASES[case] in fast
    else:
        assert re.search(r"malformed XML.*\bline \d+", fast), fast


def test_a_bad_cell_found_by_the_fast_path_names_row_and_column(tmp_path: Path) -> None:
    rows = "".join(f"<TR><TD>{i}</TD><TD>a</TD><TD>1</TD><TD>{'maybe' if i == 7 else 'T'}</TD></TR>"
                   for i in range(1, 10))
    fast, slow = _errors(_write(tmp_path, _votable(rows)))
    assert fast == slow
    assert "row 7" in fast and "column 'b'" in fast


@pytest.mark.parametrize("text", ["", "plain", "a\tb\nc\rd", "back\\slash", "\\N", "\\\\t"])
def test_copy_escaping_round_trips(text: str) -> None:
    assert copy_unescape(copy_escape(text)) == text
    assert "\t" not in copy_escape(text) and "\n" not in copy_escape(text)


def test_an_astropy_written_table_takes_the_fast_path_across_chunks(
        tmp_path: Path, owner_conn: psycopg.Connection[Any], schema: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabledata_fast, "CHUNK_BYTES", 4096)
    path = write_votable(tmp_path / "astropy.vot", 700)
    fast, slow, used_fast = _both(owner_conn, schema, path)
    assert fast == slow
    assert len(fast) == 700
    assert used_fast


@pytest.mark.parametrize("token", sorted(NULL_FLOAT_TEXTS))
def test_every_float_null_text_is_null_in_any_position(token: str, tmp_path: Path,
                                                       owner_conn: psycopg.Connection[Any], schema: str) -> None:
    fields = '<FIELD name="x" datatype="double"/><FIELD name="y" datatype="float"/>'
    rows = f"<TR><TD>{token}</TD><TD>1</TD></TR><TR><TD>2</TD><TD>{token}</TD></TR>"
    fast, slow, used_fast = _both(owner_conn, schema, _write(tmp_path, _votable(rows, fields=fields)))
    assert fast == slow == [(None, 1.0), (2.0, None)]
    assert used_fast
