"""FITS results (``application/fits``, FITS 4.0 §7.3): an empty primary HDU, then one BINTABLE of the rows.

**Row count.** A FITS header states NAXIS2 (the row count) before the data, and a streamed query knows
it only at its end. The rows are therefore spooled first, column-wise in numpy per batch, into
unlinked temporary files (``tempfile.SpooledTemporaryFile``: in memory up to
:data:`SPOOL_MEMORY_BYTES`, then on disk in ``$TMPDIR``), and the document is sent once the query has
ended: headers with the final counts, the rows, the heap, zero padding to 2880-byte blocks. Memory
stays constant; the cost is a time to first byte equal to the query's and a temporary copy on disk.
One path serves sync and async (the job writer copies the bytes into its result file as for every
format); seeking back into the result file would save the copy for async jobs only, and not if
result files are stored compressed. A sync client (or a proxy with an idle timeout) thus waits in
silence while a long query runs; async is the better mode for large FITS results.

**How the stream ended.** Because the headers are written last, the BINTABLE header tells it:
``QSTATUS`` = ``'OK'``, ``'OVERFLOW'`` (MAXREC cut rows, DALI 1.1 §4.4.1) or ``'ERROR'`` (the query
failed after its first rows, which are kept), with the message in ``QSTATMSG``; long texts
(``QSTATMSG``, the ADQL in ``QUERY``) use the CONTINUE long-string convention (FITS 4.0 §4.2.1.2).
An async job whose query fails still fails as a whole (its partial result is discarded).

**Refused** (``UsageError``, HTTP 400, before the query runs): more than 999 columns (TFIELDS), a
datatype outside VOTable's or an arraysize that cannot be read. A heap over 2 GiB ends the rows
with ``QSTATUS = 'ERROR'``.

**Columns** (``TTYPEn`` = the VOTable FIELD IDs, unique; ``TUNITn``, ``TUCDn``, ``TCOMMn`` = unit, UCD
and description, the last two as STIL writes them):

=====================================  ==================================================================
VOTable                                FITS
=====================================  ==================================================================
boolean, bit                           ``L``: ``T``/``F``, NULL is byte 0 (bits are booleans: ``X`` has no NULL)
unsignedByte, short, int, long         ``B``, ``I``, ``J``, ``K``; NULL is ``TNULLn`` (the magic value of
                                       :data:`~jmmctap.formats.cells.INTEGER_NULLS`), declared when a NULL
                                       was written or for integer arrays (NULL elements), unsignedByte excepted
float, double                          ``E``, ``D``; NULL is NaN
floatComplex, doubleComplex            ``C``, ``M``
fixed array ``2x3``                    repeat count 6, ``TDIMn = '(2,3)'`` (the same axis order)
variable array ``*``, ``N*``, ``2x*``  ``1PE(max)`` etc.: a heap descriptor (count, offset), flattened;
                                       NULL is an empty array; no ``TNULLn`` (astropy 8 fails on one), so
                                       a NULL element of an integer array is its unmarked magic value;
                                       complex numbers as their parts (``PE``/``PD``: STIL counts the
                                       numbers of ``PC``/``PM``). The heap is limited to 2 GiB (P descriptors)
char, unicodeChar (strings)            ``nA``, ASCII (others as ``?``), NUL-padded; NULL is the empty string
                                       (astropy masks it). Width: the arraysize, its bound for ``N*``, and
                                       for ``*`` the longest value of the result (the spooled rows are
                                       re-laid out at the end: astropy reads heap strings as char arrays)
timestamps (``xtype="timestamp"``)     ISO 8601 strings, as strings above (DALI timestamps, UTC)
any ``xtype``                          also ``TXTYPn`` (``timestamp``, ``point``, ``circle``...)
=====================================  ==================================================================
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from datetime import UTC
from tempfile import SpooledTemporaryFile
from typing import IO, Literal

import anyio
import numpy as np
import numpy.typing as npt

from jmmctap.errors import UsageError
from jmmctap.formats.binary2 import binary_field
from jmmctap.formats.cells import COMPLEX, INTEGER_NULLS, is_array
from jmmctap.formats.records import ColumnCodec, array_count, compile_records
from jmmctap.formats.votable import field_ids
from jmmctap.formats.writer import Ending, ResultInfo, encode_stream
from jmmctap.results import ResultColumn, ResultStream, Row

__all__ = ["BLOCK_BYTES", "MAX_FIELDS", "SPOOL_MEMORY_BYTES", "FitsWriter"]

BLOCK_BYTES = 2880
"""A FITS file is a sequence of 2880-byte blocks (FITS 4.0 §3.1)."""

SPOOL_MEMORY_BYTES = 4 << 20
"""Bytes of spooled rows (and of heap) kept in memory before the spool moves to a temporary file."""

MAX_FIELDS = 999
"""TFIELDS is at most 999 (FITS 4.0 §7.3.1)."""

_READ_BYTES = 1 << 20
_MAX_HEAP_OFFSET = 2**31 - 1
_CARD = 80
_TYPE_CODES = {"boolean": "L", "unsignedByte": "B", "short": "I", "int": "J", "long": "K", "float": "E",
               "double": "D", "floatComplex": "C", "doubleComplex": "M", "char": "A"}
_CODE_BYTES = {"L": 1, "B": 1, "I": 2, "J": 4, "K": 8, "E": 4, "D": 8, "C": 8, "M": 16, "A": 1}
_NULL_BOOLEAN = 63  # records write '?' for a NULL boolean: FITS wants byte 0
_BATCH_PREFIX = struct.Struct(">IQ")  # rows, bytes of one spooled batch
_ENDINGS = {"OK": "", "OVERFLOW": "rows cut at MAXREC", "ERROR": "error"}

Kind = Literal["fixed", "heap", "text"]


@dataclass(frozen=True)
class _Column:
    """One BINTABLE column: how its cells are laid out and what its header declares."""

    name: str
    source: ResultColumn
    code: str
    kind: Kind  # fixed width in the row, heap descriptor, or string whose width is the longest value
    repeat: int  # elements per cell (fixed); characters for fixed strings
    codec: ColumnCodec
    tdim: str | None

    @property
    def spooled_width(self) -> int:
        """Bytes per row in the spooled fixed block (a text column is spooled apart)."""
        return {"fixed": self.repeat * _CODE_BYTES[self.code], "heap": 8, "text": 0}[self.kind]


@dataclass
class _Body:
    """The spooled state of one document: row and heap sizes, and what the header learns at the end."""

    columns: tuple[_Column, ...]
    rows: int = 0
    heap_bytes: int = 0
    saw_null: list[bool] = field(default_factory=list)
    longest: list[int] = field(default_factory=list)  # the longest string or array of each column
    heap: list[bytes] = field(default_factory=list)  # heap of the last batch, until written

    def __post_init__(self) -> None:
        self.saw_null = [False] * len(self.columns)
        self.longest = [0] * len(self.columns)

    def encode(self, rows: Sequence[Row]) -> bytes:
        """One spooled batch: prefix, fixed block, then ``counts + characters`` of each text column.

        All or nothing: the body's state changes only once the whole batch is encoded, so that a batch
        that fails (``encode_stream`` then ends with ERROR) leaves counts and heap consistent.
        """
        n = len(rows)
        fixed: list[npt.NDArray[np.uint8]] = []
        texts: list[bytes] = []
        heap: list[bytes] = []
        heap_bytes = self.heap_bytes
        saw_null, longest = list(self.saw_null), list(self.longest)
        for i, (column, values) in enumerate(zip(self.columns, zip(*rows, strict=True), strict=True)):
            parts, mask = column.codec(values)
            saw_null[i] = saw_null[i] or bool(mask is not None and mask.any())
            first = parts[0]
            if not isinstance(first, np.ndarray):
                raise TypeError("a record codec gave no fixed block first")
            if column.kind == "fixed":
                fixed.append(_fits_booleans(first) if column.code == "L" else first)
                continue
            counts = first.view(">u4").reshape(n).astype(np.int64)  # the 4-byte counts of variable cells
            payload = parts[1]
            if isinstance(payload, np.ndarray):
                raise TypeError("a record codec gave no variable payload")
            if counts.size:
                longest[i] = max(longest[i], int(counts.max()))
            if column.kind == "text":
                texts.append(counts.astype(">u4").tobytes() + payload.data.tobytes())
                continue
            fixed.append(_descriptors(counts, heap_bytes + np.cumsum(payload.lengths) - payload.lengths))
            heap_bytes += int(payload.lengths.sum())
            heap.append((_fits_booleans(payload.data) if column.code == "L" else payload.data).tobytes())
        if heap_bytes > _MAX_HEAP_OFFSET:
            raise OverflowError("the variable-length arrays of the result exceed the 2 GiB of a FITS heap")
        record = (np.concatenate(fixed, axis=1).tobytes() if fixed else b"") + b"".join(texts)
        self.rows += n
        self.heap_bytes, self.saw_null, self.longest = heap_bytes, saw_null, longest
        self.heap.extend(heap)
        return _BATCH_PREFIX.pack(n, len(record)) + record

    def take_heap(self) -> bytes:
        """The heap bytes of the batches encoded since the last call."""
        data = b"".join(self.heap)
        self.heap.clear()
        return data

    def widths(self) -> list[int]:
        """Bytes of each column in the final rows."""
        return [max(self.longest[i], 1) if c.kind == "text" else c.spooled_width for i, c in enumerate(self.columns)]

    def relayout(self, n: int, record: bytes) -> bytes:
        """The final rows of one spooled batch: text columns padded to their final width, in column order."""
        if not any(c.kind == "text" for c in self.columns):
            return record
        spooled = sum(c.spooled_width for c in self.columns)
        buffer = np.frombuffer(record, dtype=np.uint8)
        fixed = buffer[: n * spooled].reshape(n, spooled)
        position, offset = n * spooled, 0
        blocks: list[npt.NDArray[np.uint8]] = []
        for column, width in zip(self.columns, self.widths(), strict=True):
            if column.kind != "text":
                blocks.append(fixed[:, offset : offset + width])
                offset += width
                continue
            counts = buffer[position : position + 4 * n].view(">u4").astype(np.int64)
            position += 4 * n
            total = int(counts.sum())
            blocks.append(_padded(counts, buffer[position : position + total], width))
            position += total
        return np.concatenate(blocks, axis=1).tobytes() if blocks else b""


def _descriptors(counts: npt.NDArray[np.int64], offsets: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
    """``P`` array descriptors: element count and heap offset, two big-endian 32-bit integers per cell."""
    descriptors = np.empty((len(counts), 2), dtype=">i4")
    descriptors[:, 0] = counts
    descriptors[:, 1] = offsets
    return descriptors.view(np.uint8).reshape(len(counts), 8)


def _fits_booleans(block: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    return np.where(block == _NULL_BOOLEAN, np.uint8(0), block).astype(np.uint8)


def _padded(counts: npt.NDArray[np.int64], data: npt.NDArray[np.uint8], width: int) -> npt.NDArray[np.uint8]:
    out = np.zeros((len(counts), width), dtype=np.uint8)
    if data.size:
        starts = np.cumsum(counts) - counts
        rows = np.repeat(np.arange(len(counts)), counts)
        out[rows, np.arange(data.size) - np.repeat(starts, counts)] = data
    return out


@dataclass(frozen=True)
class FitsWriter:
    """FITS binary table results (see the module docstring)."""

    media_type: str = "application/fits"

    def check(self, columns: Sequence[ResultColumn]) -> None:
        """Raise ``UsageError`` for a result FITS cannot hold (a datatype outside VOTable's, over 999 columns)."""
        _layout(columns)

    def write(self, stream: ResultStream, info: ResultInfo) -> AsyncIterator[bytes]:
        """The FITS file of ``stream``, sent once the rows are spooled (module docstring)."""
        return self._generate(stream, info, _layout(stream.columns))

    async def _generate(self, stream: ResultStream, info: ResultInfo,
                        columns: tuple[_Column, ...]) -> AsyncIterator[bytes]:
        body = _Body(columns)
        ending = Ending("OK")
        with _spool() as rows, _spool() as heap:
            async with aclosing(encode_stream(stream, body.encode)) as chunks:
                async for chunk in chunks:
                    if isinstance(chunk, Ending):
                        ending = chunk
                        continue
                    await anyio.to_thread.run_sync(rows.write, chunk)
                    if data := body.take_heap():
                        await anyio.to_thread.run_sync(heap.write, data)
            yield _headers(stream, info, body, ending)
            await anyio.to_thread.run_sync(rows.seek, 0)
            while prefix := await anyio.to_thread.run_sync(rows.read, _BATCH_PREFIX.size):
                n, size = _BATCH_PREFIX.unpack(prefix)
                yield body.relayout(n, await anyio.to_thread.run_sync(rows.read, size))
            await anyio.to_thread.run_sync(heap.seek, 0)
            while data := await anyio.to_thread.run_sync(heap.read, _READ_BYTES):
                yield data
            data_bytes = sum(body.widths()) * body.rows + body.heap_bytes
            yield bytes(-data_bytes % BLOCK_BYTES)


def _spool() -> IO[bytes]:
    return SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES, mode="w+b")  # closed by the caller


# --- columns -------------------------------------------------------------------------------------


def _layout(columns: Sequence[ResultColumn]) -> tuple[_Column, ...]:
    if len(columns) > MAX_FIELDS:
        raise UsageError(f"a FITS table holds at most {MAX_FIELDS} columns, the query has {len(columns)};"
                         " ask for RESPONSEFORMAT=votable")
    return tuple(_column(c, name) for c, name in zip(columns, field_ids(columns), strict=True))


def _column(column: ResultColumn, name: str) -> _Column:
    datatype = {"unicodeChar": "char", "bit": "boolean"}.get(column.datatype, column.datatype)
    if datatype not in _TYPE_CODES:
        raise UsageError(f"column {column.name}: datatype {column.datatype!r} cannot be written in FITS;"
                         " ask for RESPONSEFORMAT=votable/td or csv")
    arraysize = None if column.arraysize in (None, "1") else column.arraysize
    try:
        fixed, bound = array_count(arraysize) if arraysize else (1, None)
    except ValueError:
        raise UsageError(f"column {column.name}: arraysize {column.arraysize!r} cannot be written in FITS;"
                         " ask for RESPONSEFORMAT=votable/td or csv") from None
    if datatype == "char" and fixed is None and bound is not None:
        fixed, arraysize = bound, str(bound)  # a bounded string is a fixed-width field of its bound
    if datatype in COMPLEX and fixed is None:  # STIL counts the numbers of a P complex array: flat parts
        datatype, arraysize = binary_field(column).datatype, ("*" if bound is None else f"{2 * bound}*")
    declared = replace(column, datatype=datatype, arraysize=arraysize)
    codec = compile_records([declared], null_flags=False).codecs[0]
    code = _TYPE_CODES[datatype]
    if fixed is None:
        kind: Kind = "text" if datatype == "char" else "heap"
        return _Column(name, column, code, kind, 1, codec, None)
    dims = (arraysize or "1").split("x")
    tdim = f"({','.join(dims)})" if len(dims) > 1 else None
    return _Column(name, column, code, "fixed", fixed, codec, tdim)


def _tform(column: _Column, width: int, longest: int) -> str:
    if column.kind == "heap":
        return f"1P{column.code}({longest})"
    if column.kind == "text":
        return f"{width}A"
    return f"{column.repeat}{column.code}"


def _tnull(column: _Column, saw_null: bool) -> int | None:
    datatype = column.source.datatype
    if datatype not in INTEGER_NULLS or column.kind == "heap":  # astropy 8 fails on TNULL of a P column
        return None
    if saw_null or (is_array(column.source) and datatype != "unsignedByte"):
        return INTEGER_NULLS[datatype]
    return None


# --- headers -------------------------------------------------------------------------------------


def _headers(stream: ResultStream, info: ResultInfo, body: _Body, ending: Ending) -> bytes:
    primary = [_card("SIMPLE", True, "a FITS file"), _card("BITPIX", 8), _card("NAXIS", 0),
               _card("EXTEND", True, "the result is the BINTABLE extension"),
               _card("ORIGIN", f"{info.service_name} {info.service_version}")]
    if info.request_time is not None:
        moment = info.request_time.astimezone(UTC) if info.request_time.tzinfo else info.request_time
        primary.append(_card("DATE", moment.strftime("%Y-%m-%dT%H:%M:%S"), "UTC time of the request"))
    widths = body.widths()
    table = [_card("XTENSION", "BINTABLE", "the query result"), _card("BITPIX", 8), _card("NAXIS", 2),
             _card("NAXIS1", sum(widths), "bytes per row"), _card("NAXIS2", body.rows, "rows"),
             _card("PCOUNT", body.heap_bytes, "bytes of the heap"), _card("GCOUNT", 1),
             _card("TFIELDS", len(body.columns))]
    for i, column in enumerate(body.columns, start=1):
        table.extend(_column_cards(i, column, _tform(column, widths[i - 1], body.longest[i - 1]),
                                   _tnull(column, body.saw_null[i - 1])))
    table.append(_card("EXTNAME", "RESULTS"))
    table.append(_card("QSTATUS", ending.status, "DALI QUERY_STATUS: OK, OVERFLOW or ERROR"))
    if ending.status != "OK":
        table.extend(_long_string("QSTATMSG", ending.message or _ENDINGS[ending.status]))
    table.extend(_long_string("QUERY", info.query if info.query is not None else stream.query))
    return _block(primary) + _block(table)


def _column_cards(i: int, column: _Column, tform: str, tnull: int | None) -> list[str]:
    source = column.source
    cards = [_card(f"TTYPE{i}", column.name), _card(f"TFORM{i}", tform, source.datatype)]
    if column.tdim:
        cards.append(_card(f"TDIM{i}", column.tdim))
    if tnull is not None:
        cards.append(_card(f"TNULL{i}", tnull))
    for keyword, value in (("TUNIT", source.unit), ("TUCD", source.ucd)):
        if value:
            cards.append(_card(f"{keyword}{i}", value))
    if source.description:
        cards.extend(_long_string(f"TCOMM{i}", source.description))  # STIL and astropy read CONTINUE cards
    if source.xtype:
        cards.append(_card(f"TXTYP{i}", source.xtype, "VOTable xtype"))
    return cards


def _block(cards: list[str]) -> bytes:
    text = "".join(cards) + "END".ljust(_CARD)
    data = text.encode("ascii")
    return data + b" " * (-len(data) % BLOCK_BYTES)


def _ascii(text: str) -> str:
    """Header text is printable ASCII (FITS 4.0 §4.1.2.3): other characters become ``?``, controls spaces."""
    return "".join(c if " " <= c <= "~" else (" " if c < " " else "?") for c in text)


def _quoted_prefix(text: str, room: int) -> int:
    """How many characters of ``text`` fit in ``room`` once quotes are doubled."""
    used = 0
    for count, char in enumerate(text):
        used += 2 if char == "'" else 1
        if used > room:
            return count
    return len(text)


def _card(keyword: str, value: str | int | bool, comment: str = "") -> str:
    if isinstance(value, bool):
        text = ("T" if value else "F").rjust(20)
    elif isinstance(value, int):
        text = str(value).rjust(20)
    else:
        value = _ascii(value)
        value = value[: _quoted_prefix(value, 68)]
        text = "'" + value.replace("'", "''").ljust(8) + "'"
    card = f"{keyword:<8}= {text}"
    if comment and len(card) + 3 < _CARD:
        card += " / " + _ascii(comment)
    return card[:_CARD].ljust(_CARD)


def _long_string(keyword: str, value: str) -> list[str]:
    """A string keyword, continued over CONTINUE cards when it is longer than one card holds."""
    text = _ascii(value)
    pieces: list[str] = []
    while _quoted_prefix(text, 68) < len(text):
        cut = max(_quoted_prefix(text, 67), 1)  # room for the '&' that announces a continuation
        pieces.append(text[:cut] + "&")
        text = text[cut:]
    pieces.append(text)
    cards = [_card(keyword, pieces[0])]
    for piece in pieces[1:]:
        cards.append(("CONTINUE  '" + piece.replace("'", "''") + "'").ljust(_CARD))
    return cards
