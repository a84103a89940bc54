"""Service health for operators (the ObsPortal health page): database, schemas, row counts, last ingests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio
import psycopg

from jmmctap import __version__
from jmmctap.db.pools import Pools, probe
from jmmctap.tapschema import TapSchema

__all__ = ["Health", "IngestSummary", "SchemaSummary", "collect_health"]

_LAST_INGESTS = """
SELECT DISTINCT ON (table_name) table_name, finished_at, cardinality(files), n_rows, mode
FROM jmmctap.ingest_log ORDER BY table_name, finished_at DESC
"""


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
class Health:
    """What ``/health`` reports."""

    version: str
    started_at: datetime
    reachable: bool
    schema_version: int | None
    schemas: tuple[SchemaSummary, ...]
    ingests: tuple[IngestSummary, ...]
    query_pool: dict[str, int]
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
    if reachable:
        try:
            with anyio.fail_after(3):
                async with pools.owner.connection() as conn:
                    cursor = await conn.execute(_LAST_INGESTS)
                    # only tables the caller sees now: a dropped private table's name must not outlive it here
                    ingests = [IngestSummary(*row) for row in await cursor.fetchall()
                               if row[0] not in hidden and tap_schema.table(row[0]) is not None]
        except (psycopg.Error, TimeoutError):
            reachable = False
    schemas = tuple(
        SchemaSummary(s.name, s.description, tuple((t.name, t.nrows) for t in tap_schema.schema_tables(s.name)))
        for s in tap_schema.schemas
    )
    return Health(__version__, started_at, reachable, version, schemas, tuple(ingests), pools.gate.stats(),
                  tuple(pools.reads.stats()), pools.reads.primary_queries)
