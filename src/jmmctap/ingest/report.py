"""What an ingest reports: rows, seconds, rows/s; and the progress bar drawn on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

from tqdm import tqdm

from jmmctap.ingest.model import Row
from jmmctap.ingest.tabledata_fast import CopyText

__all__ = ["IngestReport", "Progress"]

PROGRESS_EVERY_ROWS = 20_000
"""Rows counted between two updates of the progress bar (a per-row update would cost more than the row)."""

PROGRESS_DELAY_S = 2.0
"""The bar appears only once an ingest has run this long."""


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
    """Counts rows through an iterator; shows a tqdm bar with rows/s on a terminal for long ingests.

    The bar appears only after ``PROGRESS_DELAY_S`` (a small file prints nothing but the summary)
    and never when ``stream`` is not a terminal (logs, cron, pipes stay clean).
    """

    def __init__(self, label: str, *, enabled: bool, expected_rows: int | None = None,
                 stream: TextIO | None = None) -> None:
        out = stream or sys.stderr
        self._bar = tqdm(desc=label, total=expected_rows or None, unit=" rows", unit_scale=True, file=out,
                         delay=PROGRESS_DELAY_S, disable=not (enabled and out.isatty()), leave=True,
                         dynamic_ncols=True)
        self._pending = 0
        self.rows = 0

    def count(self, rows: Iterator[Row]) -> Iterator[Row]:
        """Pass rows through, counting them."""
        for row in rows:
            self.rows += 1
            self._pending += 1
            if self._pending >= PROGRESS_EVERY_ROWS:
                self._flush()
            yield row

    def count_items(self, items: Iterator[Row | CopyText]) -> Iterator[Row | CopyText]:
        """Pass rows and COPY text blocks through, counting the rows."""
        for item in items:
            n = item.rows if isinstance(item, CopyText) else 1
            self.rows += n
            self._pending += n
            if self._pending >= PROGRESS_EVERY_ROWS:
                self._flush()
            yield item

    def done(self) -> None:
        """Draw the final count and release the terminal line."""
        self._flush()
        self._bar.close()

    def _flush(self) -> None:
        self._bar.update(self._pending)
        self._pending = 0
