"""VOTable BINARY rows (VOTable 1.4 §5.3): big-endian records without null flags, base64 in one STREAM.

BINARY has no null flags, so a NULL integer is written as a magic value declared in the FIELD with
``<VALUES null="…"/>`` (the type's minimum, 255 for ``unsignedByte``: see ``records.NULL_FILL``); a real
value equal to it reads back as NULL, which is why BINARY2 is preferred. NULL floats are NaN, NULL
booleans ``?``, NULL strings and variable arrays are empty.
"""

from __future__ import annotations

from collections.abc import Sequence

from jmmctap.formats.base64stream import Base64Stream
from jmmctap.formats.binary2 import BinaryBody
from jmmctap.formats.records import NULL_FILL, compile_records
from jmmctap.results import ResultColumn

__all__ = ["BINARY", "Binary"]

_INTEGERS = ("unsignedByte", "short", "int", "long")


class Binary:
    """The BINARY serialization."""

    element = "BINARY"

    def start(self, columns: Sequence[ResultColumn]) -> BinaryBody:
        """A body encoder for these columns."""
        return BinaryBody(compile_records(columns, null_flags=False), Base64Stream())

    def field_content(self, column: ResultColumn) -> str:
        """``<VALUES null="…"/>`` for integer columns, whose NULLs are written as that value."""
        if column.datatype in _INTEGERS:
            return f'<VALUES null="{NULL_FILL[column.datatype]}"/>'
        return ""


BINARY = Binary()
"""The BINARY serialization instance."""
