"""BadCal reports (``badcal.valid_stars``): read a CSV of reports and store them by id."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from jmmctap.errors import UsageError

__all__ = ["BADCAL_COLUMNS", "BADCAL_TABLE", "read_reports", "upsert_reports"]

BADCAL_TABLE = "badcal.valid_stars"
"""The BadCal table (sql/0017_badcal.sql, tap_schema/40_badcal.yaml)."""

BADCAL_COLUMNS = ("id", "name", "ra", "dec", "obs_date", "interferometer", "insname", "baseline", "wavelength",
                  "user_name", "user_affiliation", "user_comment", "sub_date")
"""The columns of a report, as in the CSV header."""

_NUMBERS = {"ra", "dec", "wavelength"}
_DATES = {"obs_date", "sub_date"}


def read_reports(path: Path) -> list[dict[str, Any]]:
    """The reports of a CSV file with the ``BADCAL_COLUMNS`` header (empty cell = no value).

    Raises
    ------
    UsageError
        Missing columns or an unreadable value (file and line in the message).
    """
    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream)
        missing = set(BADCAL_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise UsageError(f"{path.name}: missing BadCal columns {', '.join(sorted(missing))}")
        return [_report(path, reader.line_num, raw) for raw in reader]


def upsert_reports(conn: psycopg.Connection[Any], reports: Sequence[dict[str, Any]]) -> int:
    """Insert or replace the reports by id (caller's transaction); returns how many were written."""
    statement = sql.SQL("INSERT INTO badcal.valid_stars ({}) VALUES ({}) ON CONFLICT (id) DO UPDATE SET {}").format(
        sql.SQL(", ").join(map(sql.Identifier, BADCAL_COLUMNS)),
        sql.SQL(", ").join(sql.Placeholder() * len(BADCAL_COLUMNS)),
        sql.SQL(", ").join(sql.SQL("{0} = excluded.{0}").format(sql.Identifier(c)) for c in BADCAL_COLUMNS[1:]),
    )
    with conn.cursor() as cur:
        cur.executemany(statement, [[r[c] for c in BADCAL_COLUMNS] for r in reports])
    return len(reports)


def _report(path: Path, line: int, raw: dict[str, str]) -> dict[str, Any]:
    report: dict[str, Any] = {}
    try:
        for column in BADCAL_COLUMNS:
            text = (raw.get(column) or "").strip()
            if not text:
                report[column] = None
            elif column == "id":
                report[column] = int(text)
            elif column in _NUMBERS:
                report[column] = float(text)
            elif column in _DATES:
                report[column] = datetime.fromisoformat(text)
            else:
                report[column] = text
    except ValueError as exc:
        raise UsageError(f"{path.name} line {line}: {exc}") from None
    if report["id"] is None or report["ra"] is None or report["dec"] is None or not report["name"]:
        raise UsageError(f"{path.name} line {line}: id, name, ra and dec are required")
    if report["sub_date"] is None:
        report["sub_date"] = datetime.now(UTC).replace(tzinfo=None)
    return report
