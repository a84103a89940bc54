"""Fast path for plain TABLEDATA: whole chunks of ``<TR>`` rows turned into COPY text with bytes operations.

lxml builds an element per cell and Python a list per row; here a chunk of complete rows is rewritten
in a few C-level passes (``<TD>`` joints → tab, row joints → newline, empty cells → ``\\N``, COPY
escaping, the five XML entities) and only the columns that need a conversion (booleans, arrays,
VALUES/@null sentinels, NaN-like floats when the chunk holds one) are touched row by row.

Correctness rule: a chunk is rewritten only when the result is exactly what the lxml path gives.
The rewrite is its own check — once the row and cell joints are replaced, no ``<`` may be left, so
comments, CDATA, processing instructions, attributes (``encoding="base64"``), unknown or mismatched
tags, text between cells all leave one. Anything unusual (also: a non-UTF-8 encoding, a DOCTYPE,
a table other than the first, control characters, ``]]>``, character references XML forbids)
hands over to ``fallback(rows_done)``, the lxml reader skipping the rows already produced. That
reader also raises the proper error for a malformed file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter, methodcaller
from pathlib import Path
from typing import IO

from jmmctap.ingest.model import FieldSpec, IngestError, Row
from jmmctap.ingest.values import NULL_FLOAT_TEXTS, CellError, Converter, is_plain_float, text_converter

__all__ = ["CHUNK_BYTES", "CopyText", "copy_escape", "copy_unescape", "tabledata_copy_items"]

CHUNK_BYTES = 4 << 20
"""Bytes read per step; memory stays a few times this, whatever the file size."""

HEAD_LIMIT_BYTES = 64 << 20
"""Metadata longer than this before ``<TABLEDATA>``: leave the file to lxml."""


@dataclass(frozen=True)
class CopyText:
    """Rows already in PostgreSQL's COPY text format (tab-separated, ``\\N`` for NULL, one per line)."""

    data: bytes
    rows: int


class _Unusual(Exception):
    """The data is not plain enough for the fast path: the lxml reader takes over."""


_BOM = b"\xef\xbb\xbf"
_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_UTF8_NAMES = frozenset({b"utf-8", b"utf8", b"us-ascii", b"ascii"})
_SKIPPED = re.compile(rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>", re.S)
_TABLEDATA_START = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?TABLEDATA[ \t\r\n]*>")
_TABLE_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?TABLE[ \t\r\n/>]")
_DATA_BEFORE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?DATA(?:[ \t\r\n][^<]*)?>[ \t\r\n]*$")
_WHITESPACE_AFTER_TAG = re.compile(rb"(<TR>|</TD>|</TR>)[ \t\n]+")
_EMPTY_TD = re.compile(rb"<TD[ \t\n]+/>")
_DASH_CELL_END = re.compile(rb"-[\t\n]")
_AMP_OR_CHARACTER = re.compile(rb"&amp;|&#(?:([0-9]+)|x([0-9a-fA-F]+));")
_NAMED = ((b"&lt;", b"<"), (b"&gt;", b">"), (b"&quot;", b'"'), (b"&apos;", b"'"))
_CONTROLS = bytes(b for b in range(32) if b not in (9, 10))  # CR is normalised away before the check
_NULL = b"\\N"
_FLOAT_NULLS = frozenset(t.encode() for t in NULL_FLOAT_TEXTS) | {_NULL}
_BOOLEANS = {b"T": b"t", b"t": b"t", b"1": b"t", b"true": b"t", b"F": b"f", b"f": b"f", b"0": b"f",
             b"false": b"f", b"?": _NULL, _NULL: _NULL}
_SAME_IN_POSTGRESQL_BOOLEANS = frozenset({b"T", b"t", b"1", b"true", b"F", b"f", b"0", b"false", _NULL})
"""Boolean cells that PostgreSQL reads exactly as the VOTable converter does: no rewrite needed."""
_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_ESCAPE_TABLE = str.maketrans(_ESCAPES)
_UNESCAPE = re.compile(r"\\(.)")
_UNESCAPED = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}

_CellConverter = Callable[[bytes, int], bytes]
"""(cell in COPY text, row number) → cell in COPY text."""


def copy_escape(text: str) -> str:
    """``text`` as one COPY text field (backslash, tab, newline and CR escaped)."""
    return text.translate(_ESCAPE_TABLE)


def copy_unescape(field: str) -> str:
    """Inverse of ``copy_escape`` (``\\N`` is NULL and must be tested before)."""
    return _UNESCAPE.sub(lambda m: _UNESCAPED.get(m[1], m[1]), field) if "\\" in field else field


def tabledata_copy_items(path: Path, stream: IO[bytes], fields: Sequence[FieldSpec], table_index: int,
                         fallback: Callable[[int], Iterator[Row]]) -> Iterator[CopyText | Row]:
    """The rows of the TABLEDATA as COPY text blocks; after anything unusual, rows from ``fallback``.

    ``stream`` is the (decompressed) file from its first byte; ``fallback(n)`` must yield the rows
    after the first ``n``, read the slow way.
    """
    done = 0
    try:
        if table_index != 0 or not fields:
            raise _Unusual
        prefix, buffer = _skip_head(stream)
        converter = _ChunkConverter(path, fields, prefix)
        for data in _row_chunks(stream, prefix, buffer):
            block = converter.convert(data, done)
            if block.rows:
                done += block.rows
                yield block
    except _Unusual:
        yield from fallback(done)


def _skip_head(stream: IO[bytes]) -> tuple[bytes, bytes]:
    """Read up to the first table's ``<TABLEDATA>``: (namespace prefix with its colon, bytes after the tag)."""
    head = stream.read(CHUNK_BYTES)
    if head.startswith(_BOM):
        head = head[len(_BOM):]
    declared = _ENCODING.match(head)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or (declared and declared[1].lower() not in _UTF8_NAMES):
        raise _Unusual
    start = 0
    while True:
        match = _TABLEDATA_START.search(head, start)
        if match is None:
            if len(head) > HEAD_LIMIT_BYTES:
                raise _Unusual
            more = stream.read(CHUNK_BYTES)
            if not more:
                raise _Unusual
            start = max(0, len(head) - 64)
            head += more
            continue
        before = _SKIPPED.sub(b"", head[:match.start()])
        if b"<!" in before or b"<?" in before:  # inside an unfinished comment/CDATA/PI, or a DOCTYPE
            if b"<!DOCTYPE" in before:
                raise _Unusual
            start = match.end()
            continue
        if len(_TABLE_START.findall(before)) != 1 or not _DATA_BEFORE.search(before):
            raise _Unusual
        prefix = match[1] + b":" if match[1] else b""
        return prefix, head[match.end():]


def _row_chunks(stream: IO[bytes], prefix: bytes, buffer: bytes) -> Iterator[bytes]:
    """Pieces of the TABLEDATA content ending on a row end, the last one up to ``</TABLEDATA>``."""
    end_tag = b"</" + prefix + b"TABLEDATA>"
    row_end = b"</" + prefix + b"TR>"
    while True:
        end = buffer.find(end_tag)
        if end >= 0:
            yield buffer[:end]
            return
        cut = buffer.rfind(row_end)
        if cut >= 0:
            cut += len(row_end)
            yield buffer[:cut]
            buffer = buffer[cut:]
        more = stream.read(CHUNK_BYTES)
        if not more:
            raise _Unusual  # no end tag: let lxml report the truncated file
        buffer += more


class _ChunkConverter:
    """Rewrites chunks of ``<TR>`` elements as COPY text for one table's FIELDs."""

    def __init__(self, path: Path, fields: Sequence[FieldSpec], prefix: bytes) -> None:
        self._path = path
        self._prefix = prefix
        self._fields = list(fields)
        self._tabs = len(fields) - 1
        self._plain_floats = [i for i, f in enumerate(fields) if is_plain_float(f)]
        self._layout: _Layout | None = None
        self._converters: list[tuple[int, _CellConverter, frozenset[bytes]]] = []
        for i, field in enumerate(fields):
            convert = text_converter(field)
            if convert is not None and i not in self._plain_floats:
                boolean = field.datatype == "boolean" and not field.arraysize
                self._converters.append((i, self._cell_converter(field, convert),
                                         _SAME_IN_POSTGRESQL_BOOLEANS if boolean else frozenset({_NULL})))

    def convert(self, data: bytes, rows_before: int) -> CopyText:
        """COPY text of a chunk of whole rows; ``_Unusual`` when the lxml path must decide."""
        if self._prefix:
            data = _strip_prefix(data, self._prefix)
        data = data.strip(b" \t\r\n")
        if not data:
            return CopyText(b"", 0)
        if self._layout is None:
            self._layout = _Layout.of(data)
        text = self._layout.rewrite(data, len(self._fields)) if self._layout is not None else None
        if text is None:
            text = _rewrite_any_layout(data)
        if not text.isascii():
            _check_utf8(text)
        if b"&" in text:
            text = _unescape_entities(text)
        lines = text.split(b"\n")
        if set(map(bytes.count, lines, repeat(b"\t"))) != {self._tabs}:
            raise _Unusual  # a row with too many or too few cells: lxml names it
        converters = [(i, convert) for i, convert, safe in self._converters
                      if not _column_values(lines, i, len(self._fields)) <= safe]
        if self._plain_floats and _may_hold_float_nulls(text):
            converters = [(i, _plain_float) for i in self._plain_floats] + converters
        if not converters:
            return CopyText(text + b"\n", len(lines))
        lines = self._convert_lines(lines, converters, rows_before)
        return CopyText(b"\n".join(lines) + b"\n", len(lines))

    def _convert_lines(self, lines: list[bytes], converters: list[tuple[int, _CellConverter]],
                       rows_before: int) -> list[bytes]:
        out = []
        row = rows_before
        for line in lines:
            row += 1
            cells = line.split(b"\t")
            for i, convert in converters:
                cells[i] = convert(cells[i], row)
            out.append(b"\t".join(cells))
        return out

    def _cell_converter(self, field: FieldSpec, convert: Converter) -> _CellConverter:
        fast = _BOOLEANS if field.datatype == "boolean" and not field.arraysize else {_NULL: _NULL}
        path = self._path

        def cell(value: bytes, row: int) -> bytes:
            known = fast.get(value)
            if known is not None:
                return known
            try:
                result = convert(copy_unescape(value.decode()))
            except (CellError, ValueError) as exc:
                raise IngestError(str(exc), file=path, row=row, column=field.name) from None
            return _NULL if result is None else copy_escape(str(result)).encode()
        return cell


@dataclass(frozen=True)
class _Layout:
    """The joints between rows and cells of a file, whitespace included (indentation repeats)."""

    start: bytes
    """``<TR>``, whitespace, ``<TD>``."""
    end: bytes
    """``</TD>``, whitespace, ``</TR>``."""
    row_joint: bytes
    cell_joint: bytes | None
    """``</TD>``, whitespace, ``<TD>``; None for a one-column table."""

    @classmethod
    def of(cls, data: bytes) -> _Layout | None:
        """The layout of the first row (and the joint to the second), or None when it is not plain."""
        first_cell = data.find(b"<TD>")
        row_end = data.find(b"</TR>")
        last_cell = data.rfind(b"</TD>", 0, row_end)
        next_row = data.find(b"<TR>", row_end)
        next_cell = data.find(b"<TD>", next_row)
        if min(first_cell, row_end, last_cell, next_row, next_cell) < 0:
            return None
        start, end = data[:first_cell + 4], data[last_cell:row_end + 5]
        joint = end + data[row_end + 5:next_row] + data[next_row:next_cell + 4]
        cell_end = data.find(b"</TD>")
        cell_start = data.find(b"<TD>", cell_end)
        cell_joint = data[cell_end:cell_start + 4] if cell_end < last_cell else None
        canonical = [(start, b"<TR><TD>"), (end, b"</TD></TR>"), (joint, b"</TD></TR><TR><TD>")]
        if cell_joint is not None:
            canonical.append((cell_joint, b"</TD><TD>"))
        if any(_squeeze(found) != plain for found, plain in canonical):
            return None  # something else than whitespace between the tags (squeezing only drops that)
        return cls(start, end, joint, cell_joint)

    def rewrite(self, data: bytes, n_fields: int) -> bytes | None:
        """Rows as COPY text (before entities), or None when ``data`` strays from the layout."""
        if not (data.startswith(self.start) and data.endswith(self.end)):
            return None
        if b"\\" in data:
            data = data.replace(b"\\", b"\\\\")
        data = data.replace(b"<TD/>", b"<TD>\\N</TD>").replace(b"<TD></TD>", b"<TD>\\N</TD>")
        body = data[len(self.start):len(data) - len(self.end)]
        rows = body.replace(self.row_joint, b"\n")
        row_joints = (len(body) - len(rows)) // (len(self.row_joint) - 1)
        cells, cell_joints = rows, 0
        if self.cell_joint is not None:
            cells = rows.replace(self.cell_joint, b"\t")
            cell_joints = (len(rows) - len(cells)) // (len(self.cell_joint) - 1)
        if cell_joints != (n_fields - 1) * (row_joints + 1) or not _plain(cells):
            return None
        if cells.count(b"\n") != row_joints or cells.count(b"\t") != cell_joints:
            return None  # raw tabs or newlines inside cells
        return cells


def _rewrite_any_layout(data: bytes) -> bytes:
    """Rows as COPY text (before entities) whatever the whitespace; ``_Unusual`` if they are not plain."""
    data = _squeeze(_normalise(data))
    if not (data.startswith(b"<TR><TD>") and data.endswith(b"</TD></TR>")):
        raise _Unusual
    if b"\\" in data:
        data = data.replace(b"\\", b"\\\\")
    if b"\t" in data:
        data = data.replace(b"\t", b"\\t")
    if b"\n" in data:
        data = data.replace(b"\n", b"\\n")
    data = data.replace(b"<TD></TD>", b"<TD>\\N</TD>")
    text = data[8:-10].replace(b"</TD></TR><TR><TD>", b"\n").replace(b"</TD><TD>", b"\t")
    if not _plain(text):
        raise _Unusual
    return text


def _plain(text: bytes) -> bool:
    """No markup left, no ``]]>``, no control character but the tabs and newlines of the COPY text."""
    return b"<" not in text and b"]]>" not in text and len(text.translate(None, _CONTROLS)) == len(text)


def _column_values(lines: list[bytes], i: int, n_fields: int) -> set[bytes]:
    """The distinct cells of column ``i`` (splitting each line only as far as needed)."""
    if i <= n_fields - 1 - i:
        return set(map(itemgetter(i), map(methodcaller("split", b"\t", i + 1), lines)))
    return set(map(itemgetter(1), map(methodcaller("rsplit", b"\t", n_fields - i), lines)))


def _may_hold_float_nulls(text: bytes) -> bool:
    """Whether some cell of the COPY text may be one of NULL_FLOAT_TEXTS (NaN, null, ``-``…).

    Every such text, lower-cased, contains ``nan`` or ``null``, or is ``-`` (then followed by a
    tab, a newline or the end of the text). Three quick scans instead of one per text and column.
    """
    lower = text.lower()
    return b"nan" in lower or b"null" in lower or text.endswith(b"-") or _DASH_CELL_END.search(text) is not None


def _plain_float(value: bytes, row: int) -> bytes:
    return _NULL if value in _FLOAT_NULLS else value


def _strip_prefix(data: bytes, prefix: bytes) -> bytes:
    """``<vot:TR>`` → ``<TR>``, provided every tag of the chunk has the TABLEDATA's prefix."""
    start, end = b"<" + prefix, b"</" + prefix
    if data.count(start) + data.count(end) != data.count(b"<"):
        raise _Unusual
    return data.replace(end, b"</").replace(start, b"<")


def _normalise(data: bytes) -> bytes:
    """XML line-end normalisation, and empty elements ``<TD/>`` written as ``<TD></TD>``."""
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if b"<TD/>" in data:
        data = data.replace(b"<TD/>", b"<TD></TD>")
    if b"<TD " in data or b"<TD\t" in data or b"<TD\n" in data:
        data = _EMPTY_TD.sub(b"<TD></TD>", data)
    return data


_SQUEEZE_LITERAL_TRIES = 8


def _squeeze(data: bytes) -> bytes:
    """Drop the whitespace after ``<TR>``, ``</TD>`` and ``</TR>`` (between elements, never inside a cell).

    Indentation repeats, so each distinct run found is removed everywhere with a fast literal
    replace; an irregular file ends with one regular-expression pass.
    """
    if b"</TR>\n<TR>" in data:
        data = data.replace(b"</TR>\n<TR>", b"</TR><TR>")
    for _ in range(_SQUEEZE_LITERAL_TRIES):
        match = _WHITESPACE_AFTER_TAG.search(data)
        if match is None:
            return data
        data = data.replace(match[0], match[1])
    return _WHITESPACE_AFTER_TAG.sub(rb"\1", data)


def _check_utf8(text: bytes) -> None:
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        raise _Unusual from None
    if b"\xef\xbf\xbe" in text or b"\xef\xbf\xbf" in text:  # U+FFFE, U+FFFF: not XML characters
        raise _Unusual


def _unescape_entities(text: bytes) -> bytes:
    """Replace the five predefined entities and character references; anything else is unusual.

    Every ``&`` must start a reference. ``&amp;`` goes last so that ``&amp;lt;`` stays ``&lt;``;
    character references are done in the same pass as ``&amp;`` for the same reason.
    """
    ampersands = text.count(b"&")
    for name, char in _NAMED:
        replaced = text.replace(name, char)
        ampersands -= (len(text) - len(replaced)) // (len(name) - 1)
        text = replaced
    if b"&#" in text:
        found = 0

        def replace(match: re.Match[bytes]) -> bytes:
            nonlocal found
            found += 1
            if match[0] == b"&amp;":
                return b"&"
            return _character(int(match[1]) if match[1] else int(match[2], 16))
        text = _AMP_OR_CHARACTER.sub(replace, text)
        ampersands -= found
    else:
        replaced = text.replace(b"&amp;", b"&")
        ampersands -= (len(text) - len(replaced)) // 4
        text = replaced
    if ampersands:
        raise _Unusual
    return text


def _character(code: int) -> bytes:
    """A character reference's character, COPY-escaped; one XML 1.0 forbids is unusual."""
    if not (code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD
            or 0x10000 <= code <= 0x10FFFF):
        raise _Unusual
    return copy_escape(chr(code)).encode("utf-8")
