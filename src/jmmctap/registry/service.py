"""The publishing registry's service: the records of now, with the datestamps the store keeps for them.

One ``RegistryService`` per process (``context.py``). ``snapshot`` builds the records from the current
public TAP_SCHEMA (rebuilt only when its generation moves) and syncs their digests with the database,
so every process serves the same datestamps, and the first harvest after a change dates it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from jmmctap.db.connect import conninfos
from jmmctap.registry.identity import Identity
from jmmctap.registry.records import Record, RecordInputs, build_records, cone_capability
from jmmctap.registry.store import Stamp, sync_records
from jmmctap.settings import Settings
from jmmctap.tapschema.load import load_tap_schema_async
from jmmctap.tapschema.model import TapSchema
from jmmctap.vosi.capabilities import TapCapabilities
from jmmctap.vosi.conesearch import ConeCapability

__all__ = ["Entry", "RegistryService", "Snapshot", "read_snapshot", "root_url_of"]

Connect = Callable[[], AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]]
"""Lends an autocommit owner connection (``pool.connection``)."""


@dataclass(frozen=True)
class Entry:
    """A record as the registry serves it: its stamp and, unless deleted, its content."""

    stamp: Stamp
    record: Record | None

    @property
    def identifier(self) -> str:
        return self.stamp.ivoid

    @property
    def datestamp(self) -> datetime:
        return self.stamp.updated


@dataclass(frozen=True)
class Snapshot:
    """Every record, current or deleted, ordered by datestamp then identifier."""

    entries: tuple[Entry, ...]

    def find(self, identifier: str) -> Entry | None:
        """The record with this identifier (IVOA identifiers compare case-insensitively), or None."""
        wanted = identifier.lower()
        return next((e for e in self.entries if e.identifier.lower() == wanted), None)


def root_url_of(settings: Settings) -> str:
    """The root URL the records give: ``public_url``, else this server's own address (fine for tests only)."""
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


class RegistryService:
    """Builds, dates and serves the records of the data centre."""

    def __init__(self, identity: Identity, settings: Settings, capabilities: TapCapabilities,
                 tap_schema: Callable[[], Awaitable[TapSchema]], connect: Connect) -> None:
        """``tap_schema`` gives the current TAP_SCHEMA (``LiveTapSchema.fresh``); ``connect`` an owner connection."""
        self.identity = identity
        self.settings = settings
        self.root_url = root_url_of(settings)
        self._capabilities = capabilities
        self._tap_schema = tap_schema
        self._connect = connect
        self._built: tuple[int, TapSchema, list[Record]] | None = None

    def records_of(self, tap_schema: TapSchema) -> list[Record]:
        """The records for this TAP_SCHEMA (its public part); cached while its generation does not move."""
        if self._built is not None and self._built[0] == tap_schema.generation and tap_schema.generation:
            return self._built[2]
        records = build_records(RecordInputs(
            self.identity, self.root_url, self._capabilities, tap_schema.visible_to(frozenset()),
            self.settings.maxrec_hard, self.settings.oai_page_size,
        ))
        self._built = (tap_schema.generation, tap_schema, records)
        return records

    async def snapshot(self) -> Snapshot:
        """Every record with its datestamp, after recording any change since the last call (any process's)."""
        records = {r.identifier: r for r in self.records_of(await self._tap_schema())}
        async with self._connect() as conn:
            stamps = await sync_records(conn, {i: (r.resource_type, r.digest) for i, r in records.items()})
        return Snapshot(tuple(Entry(s, None if s.deleted else records.get(s.ivoid)) for s in stamps))

    def cone_capability(self, name: str) -> ConeCapability | None:
        """The ``cs:ConeSearch`` capability of ``/scs/{name}``, None when the identity file does not describe it."""
        cone = self.identity.cone_searches.get(name)
        return None if cone is None else cone_capability(self.root_url, cone, name, self.settings.maxrec_hard)


async def read_snapshot(identity: Identity, settings: Settings,
                        capabilities: TapCapabilities) -> tuple[RegistryService, Snapshot]:
    """The records as a server on this database serves them, read on one owner connection (the CLI's way).

    Raises
    ------
    psycopg.OperationalError
        The database is not reachable.
    """
    async with await psycopg.AsyncConnection.connect(conninfos(settings).owner, autocommit=True) as conn:
        tap_schema = await load_tap_schema_async(conn)

        async def current() -> TapSchema:
            return tap_schema

        @asynccontextmanager
        async def lend() -> AsyncIterator[psycopg.AsyncConnection[Any]]:
            yield conn

        service = RegistryService(identity, settings, capabilities, current, lend)
        return service, await service.snapshot()
