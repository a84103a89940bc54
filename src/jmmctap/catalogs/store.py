"""Storage of the catalog API: every SQL statement the server runs for it, all as the query role.

Each public function is one transaction of the query role carrying the caller's signed principal (like a
TAP query, ``query.start``): reads are READ ONLY, so row-level security and table grants decide what the
caller sees; writes are READ WRITE but the role may only call the SECURITY DEFINER functions of
``sql/0032_catalog_api.sql``, which decide from the verified principal whether the caller may change a row,
and append the audit. Database refusals become ``JmmctapError``\\ s with the function's own message.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.types.json import Jsonb

from jmmctap.auth import Principal
from jmmctap.catalogs.declarations import AuditEntry, CatalogDeclaration
from jmmctap.db.pools import Pools
from jmmctap.errors import (
    AuthenticationError,
    ForbiddenError,
    JmmctapError,
    NotFoundError,
    ServiceError,
    ServiceUnavailableError,
    UsageError,
)

__all__ = ["CatalogStore", "PiAccount"]

log = logging.getLogger(__name__)

_FLUSHED_LSN = "SELECT (pg_current_wal_flush_lsn() - '0/0'::pg_lsn)::bigint"
"""The primary's flushed WAL position, read after a write's commit (which it includes)."""

_TIMEOUT_S = 30.0
"""Statement timeout of a catalog API transaction (the connection is held no longer)."""


@dataclass(frozen=True)
class PiAccount:
    """A PI name found in a catalog, its login when known, and its co-Is (None: not shown to this caller)."""

    name: str
    login: str | None
    cois: tuple[str, ...] | None


class CatalogStore:
    """The catalog API's transactions, on the query connections lent by the primary's gate (reads included:
    a caller reads what it has just written)."""

    def __init__(self, pools: Pools, client: str) -> None:
        """``client``: the caller's address, for the gate's fair shares."""
        self._pools = pools
        self._client = client

    async def visible_catalogs(self, principal: Principal) -> list[tuple[str, str | None]]:
        """(table_name, description) of the catalogs the caller may read (TAP_SCHEMA's row security decides)."""
        async with self._transaction(principal, "catalog list") as conn:
            cur = await conn.execute(
                "SELECT c.table_name, t.description FROM catalog_api.catalog c"
                " JOIN tap_schema.tables t ON t.table_name = c.table_name ORDER BY c.table_name")
            return [(name, description) for name, description in await cur.fetchall()]

    async def declaration(self, principal: Principal, table_name: str) -> CatalogDeclaration | None:
        """The declaration of ``table_name`` when it is a catalog."""
        async with self._transaction(principal, "catalog declaration") as conn:
            cur = await conn.execute("SELECT table_name, key_column, pi_columns FROM catalog_api.catalog"
                                     " WHERE table_name = %s", [table_name])
            row = await cur.fetchone()
        return None if row is None else CatalogDeclaration(row[0], row[1], tuple(row[2]))

    async def read_row(self, principal: Principal, relation: sql.Identifier, key_column: str,
                       key: str) -> dict[str, Any] | None:
        """The row whose key is ``key`` (cast to the key's type by PostgreSQL), if the caller may see it."""
        query = sql.SQL("SELECT to_jsonb(t) FROM {rel} t, jsonb_populate_record(NULL::{rel}, %s) r"
                        " WHERE t.{key} = r.{key}").format(rel=relation, key=sql.Identifier(key_column))
        async with self._transaction(principal, "catalog row") as conn:
            row = await (await conn.execute(query, [Jsonb({key_column: key})])).fetchone()
        return None if row is None else dict(row[0])

    async def pi_names(self, principal: Principal, relation: sql.Identifier,
                       pi_columns: Sequence[str]) -> list[str]:
        """The distinct PI names of the rows the caller may see (PI columns split on ``/``)."""
        values = sql.SQL(", ").join(sql.SQL("t.{}::text").format(sql.Identifier(c)) for c in pi_columns)
        query = sql.SQL("SELECT DISTINCT btrim(n) FROM {rel} t, unnest(ARRAY[{values}]) v,"
                        " regexp_split_to_table(coalesce(v, ''), '/') n WHERE btrim(n) <> '' ORDER BY 1"
                        ).format(rel=relation, values=values)
        async with self._transaction(principal, "catalog PIs") as conn:
            return [row[0] for row in await (await conn.execute(query)).fetchall()]

    async def pi_accounts(self, principal: Principal, table_name: str, names: Sequence[str]) -> list[PiAccount]:
        """Logins and co-Is of PI names (``catalog_api.pi_accounts``)."""
        async with self._transaction(principal, "catalog accounts") as conn:
            cur = await conn.execute("SELECT name, login, cois FROM catalog_api.pi_accounts(%s, %s)",
                                     [table_name, list(names)])
            rows = await cur.fetchall()
        return [PiAccount(n, login, None if cois is None else tuple(cois)) for n, login, cois in rows]

    async def change_rows(self, principal: Principal, table_name: str, rows: Sequence[dict[str, Any]],
                          adding: bool) -> list[Any]:
        """Update (or insert) rows, all or none; returns their keys. Keys of ``rows`` are PostgreSQL names."""
        async with self._transaction(principal, "catalog change", writing=True) as conn:
            cur = await conn.execute("SELECT catalog_api.change_rows(%s, %s, %s)",
                                     [table_name, Jsonb(list(rows)), adding])
            row = await cur.fetchone()
        return list(row[0]) if row is not None else []

    async def change_delegations(self, principal: Principal,
                                 changes: Sequence[tuple[str | None, str, str, bool]]) -> int:
        """Apply (pi, coi, catalog, adding) delegation changes in one transaction; returns how many changed."""
        changed = 0
        async with self._transaction(principal, "catalog delegations", writing=True) as conn:
            for pi, coi, catalog, adding in changes:
                cur = await conn.execute("SELECT catalog_api.change_delegation(%s, %s, %s, %s)",
                                         [pi, coi, catalog, adding])
                row = await cur.fetchone()
                changed += bool(row and row[0])
        return changed

    async def delegations(self, principal: Principal, pi: str | None) -> list[tuple[str, str, tuple[str, ...]]]:
        """(pi user, catalog, co-Is) of a PI's catalog delegations (the caller's own when ``pi`` is None)."""
        async with self._transaction(principal, "catalog delegations") as conn:
            cur = await conn.execute("SELECT pi, catalog, cois FROM catalog_api.delegations_of(%s)", [pi])
            return [(p, c, tuple(cois)) for p, c, cois in await cur.fetchall()]

    async def audit(self, principal: Principal, table_name: str | None, limit: int) -> list[AuditEntry]:
        """The latest audit entries (admins only, decided by ``catalog_api.audit_rows``)."""
        async with self._transaction(principal, "catalog audit") as conn:
            cur = await conn.execute(
                "SELECT id, changed_at, user_name, table_name, row_key, action, old_values, new_values"
                " FROM catalog_api.audit_rows(%s, %s)", [table_name, limit])
            return [AuditEntry(*row) for row in await cur.fetchall()]

    @contextlib.asynccontextmanager
    async def _transaction(self, principal: Principal, label: str,
                           writing: bool = False) -> AsyncIterator[AsyncConnection[Any]]:
        """One transaction of the query role for ``principal``; database errors become jmmctap errors."""
        gate = self._pools.gate
        lease = await gate.acquire(label, self._client, _TIMEOUT_S)
        conn = lease.conn
        try:
            async with conn.transaction():
                # the role's default is READ ONLY: writing needs saying so, as the first statement
                await conn.execute("SET TRANSACTION READ WRITE" if writing else "SET TRANSACTION READ ONLY")
                await conn.execute(sql.SQL("SET LOCAL statement_timeout = {}; {}").format(
                    sql.Literal(int(_TIMEOUT_S * 1000)),
                    self._pools.signer.set_local(principal, conn.info.backend_pid)))
                yield conn
            if writing:  # committed: this process's next queries must see it, on a replica too (db.replicas)
                row = await (await conn.execute(_FLUSHED_LSN)).fetchone()
                self._pools.reads.note_write(int(row[0]) if row else 0)
        except psycopg.Error as exc:
            raise _translate(exc) from None
        finally:
            await gate.release(lease)


_STATUS_OF_STATE: dict[str, type[JmmctapError]] = {
    "28000": AuthenticationError, "42501": ForbiddenError, "P0002": NotFoundError, "42703": UsageError,
}
"""SQLSTATEs the catalog functions raise on purpose, and the error each means."""


def _translate(exc: psycopg.Error) -> JmmctapError:
    state = exc.sqlstate or ""
    primary = exc.diag.message_primary or str(exc)
    if state == "28000":
        from jmmctap.accounts.credentials import CHALLENGES

        return AuthenticationError(primary, CHALLENGES)
    if state in _STATUS_OF_STATE:
        return _STATUS_OF_STATE[state](primary)
    if state.startswith(("22", "23")):  # invalid value, out of range, NOT NULL, CHECK, unique key
        detail = exc.diag.message_detail
        if detail and not detail.startswith("Failing row contains"):  # the row itself tells the caller nothing
            return UsageError(f"{primary} ({detail})")
        return UsageError(primary)
    if state.startswith(("08", "53", "57")) or isinstance(exc, psycopg.OperationalError):
        log.error("catalog API: database unavailable %s: %s", state, primary)
        return ServiceUnavailableError("the database cannot do this now; try again later")
    reference = secrets.token_hex(4)
    log.error("catalog API failed [%s] %s %s", reference, state, primary)
    return ServiceError(f"the change could not be made (reference {reference})")
