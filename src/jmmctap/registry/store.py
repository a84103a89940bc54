"""Storage of the publishing registry: identifier, digest and dates of every record ever published (sql/0034).

``sync_records`` compares the records built now with the stored digests and writes only when one
differs: a changed record gets a new datestamp, a new one a row, a vanished one ``deleted``. Several
processes may sync at once: writers take a transaction-level advisory lock and re-read under it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

__all__ = ["Stamp", "sync_records"]

_LOCK = "jmmctap.registry"
"""Advisory lock (``hashtext`` of this) serialising writers of ``registry.records``."""

_READ = ("SELECT ivoid, resource_type, digest, created, updated, deleted FROM registry.records"
         " ORDER BY updated, ivoid")
_NOW = "date_trunc('second', now())"
"""OAI-PMH datestamps have seconds granularity (Registry Interfaces 1.1 §2.7)."""
_INSERT = ("INSERT INTO registry.records (ivoid, resource_type, digest, created, updated)"
           f" VALUES (%s, %s, %s, {_NOW}, {_NOW})")
_CHANGE = (f"UPDATE registry.records SET resource_type = %s, digest = %s, deleted = false,"
           f" updated = greatest(updated, {_NOW}) WHERE ivoid = %s")
_DELETE = f"UPDATE registry.records SET deleted = true, updated = greatest(updated, {_NOW}) WHERE ivoid = %s"


@dataclass(frozen=True)
class Stamp:
    """A stored record: identifier, type, digest, dates (UTC) and whether it is deleted."""

    ivoid: str
    resource_type: str
    digest: str
    created: datetime
    updated: datetime
    deleted: bool


async def sync_records(conn: psycopg.AsyncConnection[Any], current: Mapping[str, tuple[str, str]]) -> list[Stamp]:
    """Record the current records' digests; every stamp, ordered by datestamp then identifier.

    Parameters
    ----------
    conn
        An owner connection in autocommit mode.
    current
        ``identifier -> (xsi:type, digest)`` of every record published now.

    Returns
    -------
    list of Stamp
        Current and deleted records, as stored after the sync.
    """
    stamps = await _read(conn)
    if not _differs(stamps, current):
        return stamps
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [_LOCK])
        stored = {s.ivoid: s for s in await _read(conn)}  # another process may have synced meanwhile
        for ivoid, (resource_type, digest) in current.items():
            found = stored.get(ivoid)
            if found is None:
                await conn.execute(_INSERT, [ivoid, resource_type, digest])
            elif found.digest != digest or found.deleted or found.resource_type != resource_type:
                await conn.execute(_CHANGE, [resource_type, digest, ivoid])
        for ivoid, found in stored.items():
            if ivoid not in current and not found.deleted:
                await conn.execute(_DELETE, [ivoid])
    return await _read(conn)


async def _read(conn: psycopg.AsyncConnection[Any]) -> list[Stamp]:
    cursor = await conn.execute(_READ)
    return [Stamp(*row) for row in await cursor.fetchall()]


def _differs(stamps: list[Stamp], current: Mapping[str, tuple[str, str]]) -> bool:
    live = {s.ivoid: (s.resource_type, s.digest) for s in stamps if not s.deleted}
    return live != dict(current)
