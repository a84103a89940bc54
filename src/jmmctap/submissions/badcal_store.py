"""Storage of BadCal reports: every SQL statement on ``jmmctap_submissions.badcal_report`` (sql/0033).

A report is ``pending`` when submitted, then ``accepted`` or ``rejected`` by a moderator. Only accepted ones
are published: accepting copies the report into ``badcal.valid_stars`` (what TAP and ``/scs/badcal`` read),
rejecting one that was accepted deletes that row again; the report's status, the published row and
``tap_schema.tables.nrows`` change in one transaction. Each public function is one short transaction on an
autocommit owner connection (the server's owner pool, or the CLI's own connection).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

from jmmctap.errors import NotFoundError, UsageError
from jmmctap.submissions.badcal_report import REPORT_FIELDS, BadcalReport

__all__ = [
    "MODERATORS_GROUP",
    "PUBLISHED_TABLE",
    "STATUSES",
    "ReportRecord",
    "accept_report",
    "find_report",
    "list_reports",
    "reject_report",
    "submit_report",
]

MODERATORS_GROUP = "badcal-moderators"
"""Members of this group list every report and accept or reject them over the API."""

PUBLISHED_TABLE = "badcal.valid_stars"
"""Where accepted reports are published (TAP_SCHEMA name; sql/0017)."""

STATUSES = ("pending", "accepted", "rejected")
"""The states of a report."""

_MAX_NOTE_CHARS = 2000

_COLUMNS = sql.SQL(", ").join(map(sql.Identifier, REPORT_FIELDS))
_SELECT = sql.SQL("SELECT report_id, status, submitted_by, sub_date, moderated_by, moderated_at, moderation_note,"
                  " star_id, {} FROM jmmctap_submissions.badcal_report").format(_COLUMNS)


@dataclass(frozen=True)
class ReportRecord:
    """A stored report: what was submitted, by whom and when, and what moderation made of it."""

    report_id: int
    status: str
    submitted_by: str
    sub_date: datetime
    report: BadcalReport
    moderated_by: str | None = None
    moderated_at: datetime | None = None
    moderation_note: str | None = None
    star_id: int | None = None
    """``badcal.valid_stars.id`` while accepted."""

    def as_json(self) -> dict[str, Any]:
        """The API's view of the report (dates as ISO 8601)."""
        fields = dict(zip(REPORT_FIELDS, self.report.values(), strict=True))
        return {
            "id": self.report_id, "status": self.status, "submitted_by": self.submitted_by,
            "sub_date": self.sub_date.isoformat(), **fields,
            "obs_date": self.report.obs_date.isoformat() if self.report.obs_date else None,
            "moderated_by": self.moderated_by,
            "moderated_at": self.moderated_at.isoformat() if self.moderated_at else None,
            "moderation_note": self.moderation_note, "star_id": self.star_id,
        }


async def submit_report(conn: AsyncConnection[Any], report: BadcalReport, submitted_by: str) -> ReportRecord:
    """Store ``report`` as pending; ``sub_date`` is the database's time (UTC)."""
    placeholders = sql.SQL(", ").join(sql.Placeholder() * len(REPORT_FIELDS))
    statement = sql.SQL("INSERT INTO jmmctap_submissions.badcal_report (submitted_by, {}) VALUES (%s, {})"
                        " RETURNING report_id").format(_COLUMNS, placeholders)
    async with conn.transaction():
        cursor = await conn.execute(statement, [submitted_by, *report.values()])
        row = await cursor.fetchone()
        assert row is not None
        return await _get(conn, int(row[0]))


async def find_report(conn: AsyncConnection[Any], report_id: int) -> ReportRecord:
    """The report ``report_id``.

    Raises
    ------
    NotFoundError
        No such report.
    """
    return await _get(conn, report_id)


async def list_reports(conn: AsyncConnection[Any], *, status: str | None = None,
                       submitted_by: str | None = None) -> list[ReportRecord]:
    """Reports (of one status, of one submitter when given), oldest first."""
    if status is not None and status not in STATUSES:
        raise UsageError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(_SELECT + sql.SQL(" WHERE (%(status)s::text IS NULL OR status = %(status)s)"
                                               " AND (%(by)s::text IS NULL OR submitted_by = %(by)s)"
                                               " ORDER BY report_id"),
                             {"status": status, "by": submitted_by})
        return [_record(row) for row in await cursor.fetchall()]


async def accept_report(conn: AsyncConnection[Any], report_id: int, moderator: str,
                        note: str | None = None) -> ReportRecord:
    """Publish the report in ``badcal.valid_stars`` (no change when it already is).

    Raises
    ------
    NotFoundError
        No such report.
    """
    _check_note(note)
    async with conn.transaction():
        record = await _get(conn, report_id, lock=True)
        if record.status == "accepted":
            return record
        # ids of the published table are integers without a sequence (the samples loader gives its own): take
        # the next one under a lock that lets readers read and orders concurrent acceptances
        await conn.execute("LOCK TABLE badcal.valid_stars IN SHARE ROW EXCLUSIVE MODE")
        cursor = await conn.execute(sql.SQL(
            "INSERT INTO badcal.valid_stars (id, {columns}, sub_date)"
            " SELECT (SELECT coalesce(max(id), 0) + 1 FROM badcal.valid_stars), {columns}, sub_date"
            " FROM jmmctap_submissions.badcal_report WHERE report_id = %s RETURNING id").format(columns=_COLUMNS),
            [report_id])
        row = await cursor.fetchone()
        assert row is not None
        await _moderate(conn, report_id, "accepted", moderator, note, int(row[0]))
        await _refresh_count(conn)
        return await _get(conn, report_id)


async def reject_report(conn: AsyncConnection[Any], report_id: int, moderator: str,
                        note: str | None = None) -> ReportRecord:
    """Mark the report rejected; an accepted one leaves ``badcal.valid_stars``.

    Raises
    ------
    NotFoundError
        No such report.
    """
    _check_note(note)
    async with conn.transaction():
        record = await _get(conn, report_id, lock=True)
        if record.status == "rejected":
            return record
        await _moderate(conn, report_id, "rejected", moderator, note, None)
        if record.star_id is not None:
            await conn.execute("DELETE FROM badcal.valid_stars WHERE id = %s", [record.star_id])
            await _refresh_count(conn)
        return await _get(conn, report_id)


async def _moderate(conn: AsyncConnection[Any], report_id: int, status: str, moderator: str, note: str | None,
                    star_id: int | None) -> None:
    await conn.execute("UPDATE jmmctap_submissions.badcal_report SET status = %s, moderated_by = %s,"
                       " moderated_at = now(), moderation_note = %s, star_id = %s WHERE report_id = %s",
                       [status, moderator, note, star_id, report_id])


async def _refresh_count(conn: AsyncConnection[Any]) -> None:
    """``nrows`` of the published table (a TAP_SCHEMA change: servers reload their copy)."""
    await conn.execute("UPDATE tap_schema.tables SET nrows = (SELECT count(*) FROM badcal.valid_stars)"
                       " WHERE table_name = %s", [PUBLISHED_TABLE])


async def _get(conn: AsyncConnection[Any], report_id: int, *, lock: bool = False) -> ReportRecord:
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(_SELECT + sql.SQL(" WHERE report_id = %s FOR UPDATE" if lock else " WHERE report_id = %s"),
                             [report_id])
        row = await cursor.fetchone()
    if row is None:
        raise NotFoundError(f"no BadCal report {report_id}")
    return _record(row)


def _record(row: Mapping[str, Any]) -> ReportRecord:
    return ReportRecord(
        report_id=row["report_id"], status=row["status"], submitted_by=row["submitted_by"], sub_date=row["sub_date"],
        report=BadcalReport(**{name: row[name] for name in REPORT_FIELDS}), moderated_by=row["moderated_by"],
        moderated_at=row["moderated_at"], moderation_note=row["moderation_note"], star_id=row["star_id"],
    )


def _check_note(note: str | None) -> None:
    if note is not None and (len(note) > _MAX_NOTE_CHARS or "\x00" in note):
        raise UsageError(f"a moderation note has at most {_MAX_NOTE_CHARS} characters and no NUL")
