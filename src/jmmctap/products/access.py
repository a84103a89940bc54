"""Ask PostgreSQL what the caller may have: a stored file, the granules behind DataLink IDs, their relatives.

Every question runs as the query role, in a READ ONLY transaction whose principal is signed in the
statement that starts it, exactly as a TAP query (``query.start``): the SECURITY DEFINER functions of
``sql/0030_products.sql`` decide from ``acl.verified_principal()``, and the row-level security of
``ivoa.obscore`` filters the related granules. Python never decides who may see what.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import anyio
import psycopg
from psycopg import AsyncConnection, sql

from jmmctap.auth import Principal
from jmmctap.db.pools import Pools
from jmmctap.errors import ServiceUnavailableError

__all__ = ["FileAccess", "GranuleLinks", "Relative", "read_file_access", "read_granule_links"]

_TIMEOUT_S = 10.0
"""Statement timeout of these lookups (each reads a few rows by key)."""


@dataclass(frozen=True)
class FileAccess:
    """May the caller have a stored file: ``unknown`` (no granule holds it), ``open`` or ``closed``."""

    access: Literal["unknown", "open", "closed"]
    file_names: tuple[str, ...] = ()
    media_type: str | None = None


@dataclass(frozen=True)
class Relative:
    """A granule related to an asked one: an L0 exposure of a product (progenitor) or the reverse."""

    of_did: str
    obs_publisher_did: str
    calib_level: int
    obs_id: str
    instrument_name: str | None


@dataclass(frozen=True)
class GranuleLinks:
    """What DataLink needs to know of one asked granule (``products.granule_links``)."""

    obs_publisher_did: str
    open: bool
    calib_level: int | None
    obs_release_date: datetime | None
    access_url: str | None
    access_format: str | None
    access_estsize: int | None
    sha256: str | None
    file_name: str | None
    size_bytes: int | None
    media_type: str | None
    documentation_url: str | None


_GRANULES = """
SELECT l.obs_publisher_did, l.open, o.calib_level, l.obs_release_date, l.access_url, l.access_format,
       l.access_estsize, l.sha256, l.file_name, l.size_bytes, l.media_type, l.documentation_url
FROM products.granule_links(%s::text[], %s) l
LEFT JOIN ivoa.obscore o ON o.id = l.granule_id
"""
# calib_level of rows the caller cannot see under row-level security is NULL: those are refused anyway

# L0 exposures (obsportal) and the products (calib_level >= 1) of the same night and instrument (its name
# before any '_' suffix: PIONIER_Pnat(...) is PIONIER) and the same target: the same obs_id (the ESO
# header id), the same name once spaces and punctuation are dropped, or a position within 1 arcmin.
_RELATIVES = """
SELECT p.obs_publisher_did, r.obs_publisher_did, r.calib_level, r.obs_id, r.instrument_name
FROM ivoa.obscore p JOIN ivoa.obscore r
  ON r.night_id = p.night_id AND r.id <> p.id AND (r.calib_level = 0) <> (p.calib_level = 0)
 AND upper(split_part(r.instrument_name, '_', 1)) = upper(split_part(p.instrument_name, '_', 1))
 AND (r.obs_id = p.obs_id
      OR lower(regexp_replace(r.target_name, '[^A-Za-z0-9+-]', '', 'g'))
         = lower(regexp_replace(p.target_name, '[^A-Za-z0-9+-]', '', 'g'))
      OR spoint(radians(r.s_ra), radians(r.s_dec)) <-> spoint(radians(p.s_ra), radians(p.s_dec)) < radians(1.0 / 60))
WHERE p.obs_publisher_did = ANY (%s::text[])
ORDER BY p.obs_publisher_did, r.calib_level, r.t_min, r.id
"""


@contextlib.asynccontextmanager
async def _caller_transaction(pools: Pools, principal: Principal, label: str,
                              client: str) -> AsyncIterator[AsyncConnection[Any]]:
    """A query connection in a READ ONLY transaction for ``principal`` (signed), given back on exit."""
    lease = await pools.gate.acquire(label, client, _TIMEOUT_S)
    conn = lease.conn
    try:
        scope = pools.signer.set_local(principal, conn.info.backend_pid)
        # query connections are in autocommit (query.py): the transaction is begun here, in the same round
        # trip as its settings, so that SET LOCAL applies to the statements that follow
        await conn.execute(sql.SQL("BEGIN READ ONLY; SET LOCAL statement_timeout = {}; {}").format(
            sql.Literal(int(_TIMEOUT_S * 1000)), scope))
        yield conn
    except psycopg.OperationalError as exc:
        raise ServiceUnavailableError(f"the database cannot answer now ({exc.sqlstate or 'connection'})") from None
    finally:
        with anyio.CancelScope(shield=True):
            try:
                await conn.rollback()
            except psycopg.Error:
                await conn.close()
            await pools.gate.release(lease)


async def read_file_access(pools: Pools, principal: Principal, sha256: str, at: datetime | None, *,
                           label: str, client: str) -> FileAccess:
    """Whether ``principal`` may have the stored file ``sha256`` at ``at`` (None: the database's now).

    Raises
    ------
    jmmctap.errors.ServiceUnavailableError
        The database cannot answer now.
    """
    async with _caller_transaction(pools, principal, label, client) as conn:
        cursor = await conn.execute("SELECT access, file_names, media_type FROM products.file_access(%s, %s)",
                                    [sha256, at])
        row = await cursor.fetchone()
    assert row is not None
    return FileAccess(row[0], tuple(row[1]), row[2])


async def read_granule_links(pools: Pools, principal: Principal, dids: Sequence[str], at: datetime | None, *,
                             label: str, client: str) -> tuple[list[GranuleLinks], list[Relative]]:
    """The asked granules that exist, and the relatives (progenitors, derivations) of the open ones.

    Relatives are those the caller may see (row-level security): a private exposure is never named.

    Raises
    ------
    jmmctap.errors.ServiceUnavailableError
        The database cannot answer now.
    """
    async with _caller_transaction(pools, principal, label, client) as conn:
        cursor = await conn.execute(_GRANULES, [list(dids), at])
        granules = [GranuleLinks(*row) for row in await cursor.fetchall()]
        opened = [g.obs_publisher_did for g in granules if g.open]
        relatives: list[Relative] = []
        if opened:
            cursor = await conn.execute(_RELATIVES, [opened])
            relatives = [Relative(*row) for row in await cursor.fetchall()]
    return granules, relatives
