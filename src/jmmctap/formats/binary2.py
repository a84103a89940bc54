"""VOTable BINARY2 rows (VOTable 1.4 §5.4): null flags then big-endian records, base64 in one STREAM.

The default VOTable serialization of jmmctap: NULL is exact for every datatype (a flag bit, not a
magic value), and encoding works column-wise in numpy (:mod:`jmmctap.formats.records`).

:func:`binary_field` is what BINARY and BINARY2 FIELDs declare. The two readers that matter
disagree on some binary layouts, so those columns are declared in a form both read alike, with
every value kept (TABLEDATA, CSV, TSV, JSON and HTML keep the original declaration):

==============================================  ========================================  ==============
published column                                declared in BINARY/BINARY2                why
==============================================  ========================================  ==============
``bit`` scalar                                  ``boolean``                               STIL 4.1 [1]
``bit`` variable array (``*``, ``2x3x*``)       ``boolean``, ``*`` (flat)                 astropy [2]
variable array with fixed inner dimensions      the same datatype, ``*`` or ``N*`` (flat)  astropy [3]
(``2x2*``, ``char`` ``10x*``)
``floatComplex``/``doubleComplex`` variable     ``float``/``double``, ``*`` (real,        STIL [4]
array                                           imaginary, real, ...)
==============================================  ========================================  ==============

[1] STIL 4.1 (Debian's stilts, TOPCAT 4.8) throws ClassCastException on a scalar bit in a binary stream.
[2] astropy (8.0) reads a variable bit array as one byte per bit, bit 3 of each (``Bit.binparse``);
    STIL and the standard pack the bits.
[3] astropy counts the blocks of the fixed dimensions, STIL counts elements: the flat array has
    one count both agree on.
[4] STIL counts the numbers (two per complex), astropy counts complex numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from jmmctap.formats.base64stream import Base64Stream
from jmmctap.formats.cells import COMPLEX, array_null, is_array
from jmmctap.formats.records import array_count, compile_records
from jmmctap.formats.sqlrecords import SqlRecords, built_records
from jmmctap.results import ResultColumn, Row

__all__ = ["BINARY2", "Binary2", "binary_field"]

_COMPLEX_PART = {"floatComplex": "float", "doubleComplex": "double"}


def binary_field(column: ResultColumn) -> ResultColumn:
    """The column as BINARY and BINARY2 declare it (module docstring); values are unchanged.

    An arraysize that cannot be read is left as it is: ``compile_records`` refuses it.
    """
    arraysize = column.arraysize
    if column.datatype == "bit" and not is_array(column):
        return replace(column, datatype="boolean", arraysize=None)
    if arraysize is None or not arraysize.endswith("*"):
        return column
    try:
        _, bound = array_count(arraysize)
    except ValueError:
        return column
    if column.datatype in COMPLEX:
        return replace(column, datatype=_COMPLEX_PART[column.datatype],
                       arraysize="*" if bound is None else f"{2 * bound}*")
    flat = "*" if bound is None else f"{bound}*"
    if column.datatype == "bit":
        return replace(column, datatype="boolean", arraysize=flat)
    return replace(column, arraysize=flat) if "x" in arraysize else column


@dataclass(frozen=True)
class BinaryBody:
    """Records of one document, base64-encoded across chunk boundaries."""

    records: Callable[[Sequence[Row]], bytes]
    base64: Base64Stream

    def encode(self, rows: Sequence[Row]) -> bytes:
        """Base64 of the records of ``rows`` (a 0–2 byte remainder waits for the next call)."""
        return self.base64.encode(self.records(rows))

    def finish(self) -> bytes:
        """The last base64 characters."""
        return self.base64.finish()


class Binary2:
    """The BINARY2 serialization."""

    element = "BINARY2"
    builder = SqlRecords(null_flags=True)

    def start(self, columns: Sequence[ResultColumn], *, built: bool = False) -> BinaryBody:
        """A body encoder for these columns (``built``: of records PostgreSQL built)."""
        encode = built_records if built else compile_records(columns, null_flags=True).encode
        return BinaryBody(encode, Base64Stream())

    def declare(self, column: ResultColumn) -> ResultColumn:
        """The FIELD of ``column`` in BINARY2 (:func:`binary_field`)."""
        return binary_field(column)

    def field_content(self, column: ResultColumn) -> str:
        """``<VALUES null="…"/>`` for integer arrays (NULL elements); NULL cells are flag bits."""
        null = array_null(column)
        return "" if null is None else f'<VALUES null="{null}"/>'


BINARY2 = Binary2()
"""The BINARY2 serialization instance."""
