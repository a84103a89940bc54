"""Service health: for operators (the ObsPortal health page: database, schemas, row counts, last ingests, ESO
sync), and for load balancers (liveness, and readiness: the database answers and the process is not draining)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio
import psycopg

from jmmctap import __version__
from jmmctap.catalogues.eso_sync_store import SyncRun, latest_run_async
from jmmctap.db.pools import Pools, probe
from jmmctap.tapschema import TapSchema

__all__ = ["READY_PROBE_TIMEOUT_S", "EsoSyncState", "Health", "IngestSummary", "Readiness", "SchemaSummary",
           "collect_health"]

_LAST_INGESTS = """
SELECT DISTINCT ON (table_name) table_name, finished_at, cardinality(files), n_rows, mode
FROM jmmctap.ingest_log ORDER BY table_name, finished_at DESC
"""


READY_PROBE_TIMEOUT_S = 2.0
"""Longest wait of a readiness probe for the database: a load balancer's check must answer quickly."""


class Readiness:
    """Whether this process should be sent new requests (``/health/ready``).

    ``drain`` is called when ``serve`` receives SIGTERM: from then on the process finishes what it has
    (sync responses in flight, bounded by ``JMMCTAP_SHUTDOWN_GRACE_S``) and reports itself not ready.
    """

    def __init__(self) -> None:
        self.draining = False

    def drain(self) -> None:
        """Report not ready from now on (the process is stopping)."""
        self.draining = True

    async def check(self, pools: Pools) -> str | None:
        """None when ready, else why not (draining, or the database does not answer the owner role).

        The owner pool is probed, not the query pool: a busy query pool means load, which retries and
        ``503``s already handle, and must not take every front-end out of a load balancer at once.
        """
        if self.draining:
            return "draining: the process is stopping"
        try:
            async with asyncio.timeout(READY_PROBE_TIMEOUT_S), pools.owner.connection() as conn:
                await conn.execute("SELECT 1")
        except (psycopg.Error, TimeoutError, OSError):
            return "the database does not answer"
        return None


@dataclass(frozen=True)
class IngestSummary:
    """The last ingest into one table."""

    table: str
    finished_at: datetime
    files: int
    rows: int
    mode: str


@dataclass(frozen=True)
class SchemaSummary:
    """A published schema, its tables and their row counts (``tap_schema.tables.nrows``)."""

    name: str
    description: str | None
    tables: tuple[tuple[str, int | None], ...]

    @property
    def rows(self) -> int:
        return sum(n or 0 for _, n in self.tables)


@dataclass(frozen=True)
class EsoSyncState:
    """The ESO archive sync (``sync-eso``): its latest run and when one last succeeded."""

    last: SyncRun
    last_success_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        run = self.last
        return {
            "status": run.status,
            "started_at": run.started_at.isoformat(),
            "finished_at": None if run.finished_at is None else run.finished_at.isoformat(),
            "last_mod_date": None if run.last_mod_date is None else run.last_mod_date.isoformat(),
            "added": run.added, "updated": run.updated, "unchanged": run.unchanged, "failed": run.failed,
            "last_error": run.last_error,
            "last_success_at": None if self.last_success_at is None else self.last_success_at.isoformat(),
        }


@dataclass(frozen=True)
class Health:
    """What ``/health`` reports."""

    version: str
    started_at: datetime
    reachable: bool
    schema_version: int | None
    schemas: tuple[SchemaSummary, ...]
    ingests: tuple[IngestSummary, ...]
    query_pool: dict[str, int]
    eso_sync: EsoSyncState | None = None
    replicas: tuple[dict[str, Any], ...] = ()
    """Each read replica (``db.replicas.ReadRouter.stats``): serving or skipped with the reason, lag, queries."""
    primary_queries: int = 0
    """User queries the primary ran in place of a replica (none configured, none serving or caught up)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "service": "jmmctap",
            "version": self.version,
            "started_at": self.started_at.isoformat(),
            "database": {"reachable": self.reachable, "schema_version": self.schema_version},
            "query_pool": self.query_pool,
            "replicas": list(self.replicas),
            "primary_queries": self.primary_queries,
            "schemas": [
                {"name": s.name, "rows": s.rows, "tables": [{"name": t, "rows": n} for t, n in s.tables]}
                for s in self.schemas
            ],
            "last_ingests": [
                {"table": i.table, "finished_at": i.finished_at.isoformat(), "files": i.files, "rows": i.rows,
                 "mode": i.mode}
                for i in self.ingests
            ],
            "eso_sync": None if self.eso_sync is None else self.eso_sync.as_json(),
        }


async def collect_health(pools: Pools, tap_schema: TapSchema, started_at: datetime,
                         hidden: frozenset[str] = frozenset()) -> Health:
    """Probe the database, summarise the published content (cheap: no table is scanned) and the query pool.

    ``tap_schema`` is what the caller may see, and ``hidden`` the tables it may not: their ingests are
    left out, as are those of tables no longer published. Row counts are ``tap_schema.tables.nrows``, which
    never count rows some caller cannot see.
    """
    reachable, version = await probe(pools)
    ingests: list[IngestSummary] = []
    eso_sync: EsoSyncState | None = None
    if reachable:
        try:
            with anyio.fail_after(3):
                async with pools.owner.connection() as conn:
                    cursor = await conn.execute(_LAST_INGESTS)
                    # only tables the caller sees now: a dropped private table's name must not outlive it here
                    ingests = [IngestSummary(*row) for row in await cursor.fetchall()
                               if row[0] not in hidden and tap_schema.table(row[0]) is not None]
                    last, success = await latest_run_async(conn)
                    if last is not None:
                        eso_sync = EsoSyncState(last, None if success is None else success.finished_at)
        except (psycopg.Error, TimeoutError):
            reachable = False
    schemas = tuple(
        SchemaSummary(s.name, s.description, tuple((t.name, t.nrows) for t in tap_schema.schema_tables(s.name)))
        for s in tap_schema.schemas
    )
    return Health(__version__, started_at, reachable, version, schemas, tuple(ingests), pools.gate.stats(),
                  eso_sync, tuple(pools.reads.stats()), pools.reads.primary_queries)
