"""Incremental decoding of VOTable BINARY and BINARY2 streams (VOTable 1.5 §5.3–5.4).

Base64 text is fed in pieces as the XML parser delivers it; complete rows are decoded as soon as
their bytes are there, so memory stays bounded by one piece plus one row, whatever the table size.
Consecutive fixed-size fields are read with one precompiled ``struct.Struct`` (big-endian).
"""

from __future__ import annotations

import binascii
import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter

from jmmctap.ingest.columns import is_array
from jmmctap.ingest.model import FieldSpec, IngestError, ReadLimits, Row
from jmmctap.ingest.values import CellError, Converter, binary_converter, is_plain_float

__all__ = ["BinaryDecoder"]

_SIZES = {"boolean": 1, "bit": 1, "unsignedByte": 1, "short": 2, "int": 4, "long": 8, "char": 1,
          "unicodeChar": 2, "float": 4, "double": 8, "floatComplex": 8, "doubleComplex": 16}
_SCALAR_CODES = {"unsignedByte": "B", "short": "h", "int": "i", "long": "q", "float": "f", "double": "d",
                 "bit": "B"}
_LENGTH = struct.Struct(">I")
_WHITESPACE = str.maketrans("", "", " \t\r\n")


class _Incomplete(Exception):
    """The buffer ends inside a row."""


@dataclass(frozen=True)
class _Fixed:
    """A run of fixed-size fields read with one struct."""

    layout: struct.Struct


@dataclass(frozen=True)
class _Variable:
    """A variable-length array: 4-byte count, then count × item_bytes bytes (-1: packed bits)."""

    item_bytes: int


class BinaryDecoder:
    """Turn base64 text (fed in pieces) into rows of COPY-ready values.

    Parameters
    ----------
    fields
        The table's FIELDs, datatypes normalised.
    binary2
        True for BINARY2 (each row starts with null flags).
    file
        For error messages.
    limits
        Bounds on a cell and a row (untrusted files): a declared or announced size over them fails at once,
        before its bytes are collected.
    """

    def __init__(self, fields: Sequence[FieldSpec], *, binary2: bool, file: str,
                 limits: ReadLimits | None = None) -> None:
        self._fields = list(fields)
        self._file = file
        self._limits = limits
        self._flag_bytes = math.ceil(len(fields) / 8) if binary2 else 0
        if limits is not None:
            self._check_declared_sizes(limits)
        self._steps = _plan(self._fields)
        # plain float scalars only need NaN → NULL: one C-level sum per row finds whether any cell is NaN
        self._nan_columns = [i for i, f in enumerate(self._fields) if is_plain_float(f)]
        self._nan_cells = _getter(self._nan_columns)
        self._converters: list[tuple[int, Converter]] = [
            (i, c) for i, c in enumerate(binary_converter(f) for f in self._fields)
            if c is not None and i not in self._nan_columns
        ]
        self._text = ""
        self._buffer = bytearray()
        self.rows_done = 0

    def feed(self, text: str) -> list[Row]:
        """Add base64 text; return the rows completed by it."""
        self._text += text.translate(_WHITESPACE)
        usable = len(self._text) // 4 * 4
        if usable:
            chunk, self._text = self._text[:usable], self._text[usable:]
            try:
                self._buffer += binascii.a2b_base64(chunk, strict_mode=True)
            except binascii.Error as exc:
                raise IngestError(f"invalid base64 in the STREAM ({exc})", file=self._file,
                                  row=self.rows_done + 1) from None
        return self._decode_rows()

    def finish(self) -> None:
        """Check that the stream ended on a row boundary."""
        if self._text.rstrip("="):
            raise IngestError("invalid base64 at the end of the STREAM (length not a multiple of 4)",
                              file=self._file, row=self.rows_done + 1)
        if self._buffer:
            raise IngestError(f"the STREAM ends inside a row ({len(self._buffer)} bytes left over)",
                              file=self._file, row=self.rows_done + 1)

    def _check_declared_sizes(self, limits: ReadLimits) -> None:
        """Fixed-size cells (``arraysize="100000000"``) and the fixed part of a row within ``limits``."""
        fixed_row = self._flag_bytes
        for field in self._fields:
            variable, _, code = _layout(field)
            if not variable:
                size = struct.calcsize(">" + code)
                limits.check_cell(size, self._file, 1, field.name)
                fixed_row += size
        limits.check_row(fixed_row, self._file, 1)

    def _decode_rows(self) -> list[Row]:
        rows: list[Row] = []
        view = memoryview(self._buffer)
        pos, end = 0, len(self._buffer)
        try:
            while pos < end:
                try:
                    row, pos = self._decode_row(view, pos, end)
                except _Incomplete:
                    break
                rows.append(row)
        finally:
            view.release()
        del self._buffer[:pos]
        if self._limits is not None:  # the row being collected
            self._limits.check_row(len(self._buffer), self._file, self.rows_done + 1)
        return rows

    def _decode_row(self, view: memoryview, pos: int, end: int) -> tuple[Row, int]:
        flags = 0
        if self._flag_bytes:
            if pos + self._flag_bytes > end:
                raise _Incomplete
            flags = int.from_bytes(view[pos:pos + self._flag_bytes], "big")
            pos += self._flag_bytes
        row: Row = []
        for step in self._steps:
            if isinstance(step, _Fixed):
                if pos + step.layout.size > end:
                    raise _Incomplete
                row.extend(step.layout.unpack_from(view, pos))
                pos += step.layout.size
            else:
                if pos + 4 > end:
                    raise _Incomplete
                count = _LENGTH.unpack_from(view, pos)[0]
                n_bytes = (count + 7) // 8 if step.item_bytes < 0 else count * step.item_bytes
                if self._limits is not None:
                    self._limits.check_cell(n_bytes, self._file, self.rows_done + 1, self._fields[len(row)].name)
                if pos + 4 + n_bytes > end:
                    raise _Incomplete
                row.append(bytes(view[pos + 4:pos + 4 + n_bytes]))
                pos += 4 + n_bytes
        self.rows_done += 1
        self._convert(row)
        if self._nan_columns:
            total = sum(self._nan_cells(row))  # NaN if (and only if, but for inf - inf) a cell is NaN
            if total != total:
                for i in self._nan_columns:
                    if row[i] != row[i]:
                        row[i] = None
        if flags:
            flags >>= self._flag_bytes * 8 - len(row)  # padding bits after the last column are ignored
        while flags:  # the set flags only: most rows have none or one
            bit = flags.bit_length() - 1
            row[len(row) - 1 - bit] = None
            flags ^= 1 << bit
        return row, pos

    def _convert(self, row: Row) -> None:
        for i, convert in self._converters:
            try:
                row[i] = convert(row[i])
            except (CellError, ValueError, UnicodeError) as exc:
                raise IngestError(str(exc), file=self._file, row=self.rows_done,
                                  column=self._fields[i].name) from None


def _getter(indexes: Sequence[int]) -> Callable[[Row], tuple[float, ...]]:
    """A function returning the (float) cells at ``indexes`` as a tuple; ``itemgetter`` alone returns a bare
    item for one index and needs at least one."""
    if len(indexes) > 1:
        getter: Callable[[Row], tuple[float, ...]] = itemgetter(*indexes)
        return getter
    return lambda row: tuple(row[i] for i in indexes)  # type: ignore[misc]


def _plan(fields: Sequence[FieldSpec]) -> list[_Fixed | _Variable]:
    steps: list[_Fixed | _Variable] = []
    codes: list[str] = []
    for f in fields:
        variable, item_bytes, code = _layout(f)
        if variable:
            if codes:
                steps.append(_Fixed(struct.Struct(">" + "".join(codes))))
                codes = []
            steps.append(_Variable(item_bytes))
        else:
            codes.append(code)
    if codes:
        steps.append(_Fixed(struct.Struct(">" + "".join(codes))))
    return steps


def _layout(f: FieldSpec) -> tuple[bool, int, str]:
    """(variable?, bytes per count unit, struct code when fixed) of one field."""
    size = _SIZES[f.datatype]
    dims = (f.arraysize or "").split("x") if f.arraysize else []
    variable = bool(dims) and dims[-1].endswith("*")
    fixed_items = 1
    for d in dims[:-1] if variable else dims:
        fixed_items *= int(d.rstrip("*") or 1)
    if f.datatype == "bit" and (dims or variable):
        # bit arrays are packed: a variable count is in bits, rounded up to bytes per row here
        return (False, 1, f"{math.ceil(fixed_items / 8)}s") if not variable else (True, -1, "")
    if variable:
        return True, size * fixed_items, ""
    if not dims and f.datatype in _SCALAR_CODES:
        return False, size, _SCALAR_CODES[f.datatype]
    if not dims and f.datatype == "boolean":
        return False, size, "c"
    if f.datatype in ("char", "unicodeChar") or is_array(f) or f.datatype in ("floatComplex", "doubleComplex"):
        return False, size, f"{size * fixed_items}s"
    return False, size, f"{size * fixed_items}s"
