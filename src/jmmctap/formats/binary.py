"""VOTable BINARY rows (VOTable 1.4 §5.3): big-endian records without null flags, base64 in one STREAM.

BINARY has no null flags, so a NULL integer is written as a magic value declared in the FIELD with
``<VALUES null="…"/>`` (the type's minimum, 255 for ``unsignedByte``: see ``records.NULL_FILL``); a real
value equal to it reads back as NULL, which is why BINARY2 is preferred. NULL floats are NaN, NULL
booleans (and scalar bits, declared ``boolean``) ``?``, NULL strings and variable arrays are empty,
NULL fixed bit arrays all 0. FIELDs are declared as in BINARY2 (``binary2.binary_field``).
"""

from __future__ import annotations

from collections.abc import Sequence

from jmmctap.formats.base64stream import Base64Stream
from jmmctap.formats.binary2 import BinaryBody, binary_field
from jmmctap.formats.cells import INTEGER_NULLS, array_null, is_array
from jmmctap.formats.records import compile_records
from jmmctap.formats.sqlrecords import SqlRecords, built_records
from jmmctap.results import ResultColumn

__all__ = ["BINARY", "Binary"]


class Binary:
    """The BINARY serialization."""

    element = "BINARY"
    builder = SqlRecords(null_flags=False)

    def start(self, columns: Sequence[ResultColumn], *, built: bool = False) -> BinaryBody:
        """A body encoder for these columns (``built``: of records PostgreSQL built)."""
        encode = built_records if built else compile_records(columns, null_flags=False).encode
        return BinaryBody(encode, Base64Stream())

    def declare(self, column: ResultColumn) -> ResultColumn:
        """The FIELD of ``column`` in BINARY (``binary2.binary_field``)."""
        return binary_field(column)

    def field_content(self, column: ResultColumn) -> str:
        """``<VALUES null="…"/>`` for integer columns, whose NULLs are that value (arrays: ``cells.array_null``)."""
        null = array_null(column) if is_array(column) else INTEGER_NULLS.get(column.datatype)
        return "" if null is None else f'<VALUES null="{null}"/>'


BINARY = Binary()
"""The BINARY serialization instance."""
