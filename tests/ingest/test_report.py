"""The ingest progress bar: rows and rows/s on a terminal, nothing anywhere else."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import struct
import termios
from collections.abc import Iterator

import pytest

from jmmctap.ingest import report
from jmmctap.ingest.model import Row
from jmmctap.ingest.report import Progress


@pytest.fixture
def terminal() -> Iterator[tuple[io.TextIOWrapper, int]]:
    """A pseudo-terminal: (stream the bar is drawn on, fd to read what was drawn)."""
    main, side = pty.openpty()
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # a 120-column terminal
    stream = os.fdopen(side, "w")
    try:
        yield stream, main
    finally:
        stream.close()
        os.close(main)


def _drawn(fd: int) -> str:
    os.set_blocking(fd, False)
    chunks = []
    try:
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    except BlockingIOError:
        pass
    return b"".join(chunks).decode(errors="replace")


def _count(progress: Progress, n: int) -> int:
    rows: list[Row] = [[i] for i in range(n)]
    return len(list(progress.count(iter(rows))))


def test_a_long_ingest_shows_rows_and_rate_on_a_terminal(monkeypatch: pytest.MonkeyPatch,
                                                          terminal: tuple[io.TextIOWrapper, int]) -> None:
    monkeypatch.setattr(report, "PROGRESS_DELAY_S", 0.0)  # as if it had already run for a while
    stream, fd = terminal
    progress = Progress("big.vot", enabled=True, expected_rows=50_000, stream=stream)
    assert _count(progress, 50_000) == 50_000
    progress.done()
    stream.flush()
    text = _drawn(fd)
    assert "big.vot" in text
    assert "rows/s" in text
    assert "50.0k/50.0k" in text
    assert progress.rows == 50_000


def test_nothing_is_drawn_when_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report, "PROGRESS_DELAY_S", 0.0)
    stream = io.StringIO()
    progress = Progress("piped.vot", enabled=True, expected_rows=30_000, stream=stream)
    assert _count(progress, 30_000) == 30_000
    progress.done()
    assert stream.getvalue() == ""
    assert progress.rows == 30_000


def test_nothing_is_drawn_when_disabled(monkeypatch: pytest.MonkeyPatch,
                                        terminal: tuple[io.TextIOWrapper, int]) -> None:
    monkeypatch.setattr(report, "PROGRESS_DELAY_S", 0.0)
    stream, fd = terminal
    progress = Progress("quiet.vot", enabled=False, stream=stream)
    _count(progress, 30_000)
    progress.done()
    stream.flush()
    assert _drawn(fd) == ""
