"""Keep ``ivoa.obscore.data_rights`` true as time passes: ``proprietary`` rows become ``public`` when released.

The value is stored (ADQL reads a column, and clients filter on it), computed by
``acl.refresh_data_rights`` (sql/0031) from the release date, the collection's privacy and the time.
Three things refresh it: every ingest (the rows it wrote), every change of a collection (all rows,
by trigger), and each running server, which wakes at the next release date (and at least every
``RECHECK``, for rows ingested since it last looked). The ``oidb`` view reads the same column.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

__all__ = ["RECHECK", "keep_data_rights_current", "refresh_data_rights"]

log = logging.getLogger(__name__)

RECHECK = timedelta(minutes=10)
"""Longest sleep of a server between two refreshes (rows ingested meanwhile may be released sooner)."""

_RETRY_S = 30.0

_NEXT_RELEASE = ("SELECT min(obs_release_date) FROM ivoa.obscore"
                 " WHERE data_rights <> 'public' AND obs_release_date > %s")


def refresh_data_rights(conn: psycopg.Connection[Any], at: datetime | None = None,
                        ids: Sequence[int] | None = None) -> int:
    """Set ``data_rights`` of the given rows (default: all that may have changed) as of ``at`` (default now).

    Runs in the caller's transaction (owner connection); returns how many rows changed.
    """
    row = conn.execute("SELECT acl.refresh_data_rights(%s, %s)",
                       [at or datetime.now(UTC), None if ids is None else list(ids)]).fetchone()
    return int(row[0]) if row else 0


async def keep_data_rights_current(pool: AsyncConnectionPool[Any]) -> None:
    """Run until cancelled: refresh now, then at each release date (or every ``RECHECK``).

    Several servers on one database each do it; the refresh is idempotent and cheap (an index of
    the unreleased rows, sql/0031).
    """
    while True:
        try:
            async with pool.connection() as conn:
                now = datetime.now(UTC)
                cursor = await conn.execute("SELECT acl.refresh_data_rights(%s)", [now])
                changed = await cursor.fetchone()
                if changed and changed[0]:
                    log.info("data_rights: %s granule(s) released", changed[0])
                upcoming = await (await conn.execute(_NEXT_RELEASE, [now])).fetchone()
            wake = min(upcoming[0] if upcoming and upcoming[0] else now + RECHECK, now + RECHECK)
            await asyncio.sleep(max((wake - datetime.now(UTC)).total_seconds(), 0.0) + 1.0)
        except psycopg.Error as exc:
            log.warning("data_rights refresh failed (%s); retrying", exc)
            await asyncio.sleep(_RETRY_S)
