"""What an ingest reports: rows, seconds, rows/s; and the progress line drawn on a terminal."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

from jmmctap.ingest.model import Row
from jmmctap.ingest.tabledata_fast import CopyText

__all__ = ["IngestReport", "Progress"]

PROGRESS_EVERY_ROWS = 20_000
"""Rows between two redraws of the progress line."""


@dataclass(frozen=True)
class IngestReport:
    """The outcome of ``ingest_files``."""

    table_name: str
    mode: str
    files: tuple[str, ...]
    rows: int
    """Rows loaded by this ingest."""
    total_rows: int
    """Rows in the table afterwards (differs from ``rows`` when appending)."""
    seconds: float
    columns: int
    indexed: tuple[str, ...] = ()
    """TAP_SCHEMA names of the indexed position columns."""

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float(self.rows)

    def summary(self) -> str:
        """The one-line summary the CLI prints."""
        return (f"{self.table_name}: {self.rows} rows ({self.columns} columns) loaded in {self.seconds:.2f} s, "
                f"{self.rows_per_second:,.0f} rows/s ({self.mode}; {self.total_rows} rows in the table)")


class Progress:
    """Counts rows through an iterator; draws a progress line when enabled and ``stream`` is a terminal."""

    def __init__(self, label: str, *, enabled: bool, expected_rows: int | None = None,
                 stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._enabled = enabled and self._stream.isatty()
        self._label = label
        self._expected = expected_rows
        self._start = time.monotonic()
        self.rows = 0

    def count(self, rows: Iterator[Row]) -> Iterator[Row]:
        """Pass rows through, counting them."""
        for row in rows:
            self.rows += 1
            if self._enabled and self.rows % PROGRESS_EVERY_ROWS == 0:
                self._draw()
            yield row

    def count_items(self, items: Iterator[Row | CopyText]) -> Iterator[Row | CopyText]:
        """Pass rows and COPY text blocks through, counting the rows."""
        for item in items:
            before = self.rows
            self.rows += item.rows if isinstance(item, CopyText) else 1
            if self._enabled and self.rows // PROGRESS_EVERY_ROWS != before // PROGRESS_EVERY_ROWS:
                self._draw()
            yield item

    def done(self) -> None:
        if self._enabled:
            self._draw()
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self) -> None:
        elapsed = max(time.monotonic() - self._start, 1e-9)
        rate = self.rows / elapsed
        if self._expected:
            fraction = min(self.rows / self._expected, 1.0)
            bar = "#" * int(fraction * 30)
            text = f"\r{self._label} [{bar:<30}] {fraction:4.0%} {self.rows} rows {rate:,.0f} rows/s"
        else:
            text = f"\r{self._label} {self.rows} rows {rate:,.0f} rows/s"
        self._stream.write(text)
        self._stream.flush()
