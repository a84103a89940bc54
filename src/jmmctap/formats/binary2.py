"""VOTable BINARY2 rows (VOTable 1.4 §5.4): null flags then big-endian records, base64 in one STREAM.

The default VOTable serialization of jmmctap: NULL is exact for every datatype (a flag bit, not a
magic value), and encoding works column-wise in numpy (:mod:`jmmctap.formats.records`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jmmctap.formats.base64stream import Base64Stream
from jmmctap.formats.records import RecordEncoder, compile_records
from jmmctap.results import ResultColumn, Row

__all__ = ["BINARY2", "Binary2"]


@dataclass(frozen=True)
class BinaryBody:
    """Records of one document, base64-encoded across chunk boundaries."""

    records: RecordEncoder
    base64: Base64Stream

    def encode(self, rows: Sequence[Row]) -> bytes:
        """Base64 of the records of ``rows`` (a 0–2 byte remainder waits for the next call)."""
        return self.base64.encode(self.records.encode(rows))

    def finish(self) -> bytes:
        """The last base64 characters."""
        return self.base64.finish()


class Binary2:
    """The BINARY2 serialization."""

    element = "BINARY2"

    def start(self, columns: Sequence[ResultColumn]) -> BinaryBody:
        """A body encoder for these columns."""
        return BinaryBody(compile_records(columns, null_flags=True), Base64Stream())

    def field_content(self, column: ResultColumn) -> str:
        """No extra FIELD content: NULLs are flag bits."""
        return ""


BINARY2 = Binary2()
"""The BINARY2 serialization instance."""
