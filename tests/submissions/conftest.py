"""Fixtures of the submission tests: a ``jmmctap serve`` of their own (its memory is measured), clean-ups.

The server runs on the session's database; the tables a test uploads and the BadCal reports it submits
are removed after it, so that other modules find the catalogues as they left them.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from jmmctap.db.connect import conninfos
from jmmctap.ingest.drop import drop_table
from jmmctap.settings import Settings
from tests.conftest import free_port, server_env, spawn_server, stop_server


@dataclass(frozen=True)
class LiveServer:
    """A spawned ``jmmctap serve``: its root URL and its process (to read its memory)."""

    root: str
    process: subprocess.Popen[bytes]

    def memory_kib(self) -> tuple[int, int]:
        """(VmRSS, VmHWM) of the server process in KiB: its resident memory now, and its peak so far."""
        text = Path(f"/proc/{self.process.pid}/status").read_text(encoding="ascii")
        status = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        return int(status["VmRSS"].split()[0]), int(status["VmHWM"].split()[0])

    def reset_peak(self) -> None:
        """Make VmHWM start again from the current RSS (Linux ``clear_refs`` 5), to see the peak of one request."""
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5", encoding="ascii")


@pytest.fixture(scope="module")
def submission_server(settings: Settings) -> Iterator[LiveServer]:
    """A real server of this module only (no other test's request moves its memory)."""
    port = free_port()
    process = spawn_server(server_env(settings), port)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", process)
    finally:
        stop_server(process)


@pytest.fixture
def user_tables(settings: Settings) -> Iterator[list[str]]:
    """Tables a test uploads (``SCHEMA.TABLE``): dropped after it, with their grants, when still there."""
    names: list[str] = []
    yield names
    with psycopg.connect(conninfos(settings).owner, autocommit=True) as conn:
        for name in names:
            if conn.execute("SELECT 1 FROM tap_schema.tables WHERE table_name = %s", [name]).fetchone():
                drop_table(conn, name)
            conn.execute("DELETE FROM acl.table_grant WHERE table_name = %s", [name])
        conn.execute("DELETE FROM acl.schema_writer")


@pytest.fixture
def badcal_reports(settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    """An owner connection; every report (and what accepting them published) is removed after the test."""
    with psycopg.connect(conninfos(settings).owner, autocommit=True) as conn:
        yield conn
        conn.execute("DELETE FROM badcal.valid_stars WHERE id IN"
                     " (SELECT star_id FROM jmmctap_submissions.badcal_report WHERE star_id IS NOT NULL)")
        conn.execute("DELETE FROM jmmctap_submissions.badcal_report")
        conn.execute("UPDATE tap_schema.tables SET nrows = (SELECT count(*) FROM badcal.valid_stars)"
                     " WHERE table_name = 'badcal.valid_stars'")
