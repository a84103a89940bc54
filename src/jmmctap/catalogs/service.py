"""The catalog API's decisions: which table a name designates, what a payload means, what to answer.

Names resolve as in ADQL against TAP_SCHEMA as the caller may see it (``Catalog("spica")`` of a2p2 finds
``spica.spica``), so the API and TAP agree on what exists. JSON keys are column names as TAP returns them;
each value is checked against its column (``values.check_value``) before the database checks it again and
decides, from the signed principal, whether the caller may write it (``store``, sql/0032).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from jmmctap.acl.principal import groups_of
from jmmctap.auth import Principal
from jmmctap.catalogs.declarations import AuditEntry, CatalogDeclaration
from jmmctap.catalogs.store import CatalogStore
from jmmctap.catalogs.values import check_value
from jmmctap.errors import AuthenticationError, NotFoundError, UsageError
from jmmctap.tapschema import Column, Identifier, Table, split_qualified
from jmmctap.tapschema.live import LiveTapSchema

__all__ = ["ADMIN_GROUP", "MAX_AUDIT_ROWS", "MAX_ROWS_PER_REQUEST", "CatalogService", "DelegationChange"]

ADMIN_GROUP = "admin"
"""Members of this accounts group administer every catalog (the same name is written in sql/0032)."""

MAX_ROWS_PER_REQUEST = 10_000
"""Most rows one PUT or POST may change (one transaction holds their row locks)."""

MAX_AUDIT_ROWS = 10_000
"""Most audit entries one request returns."""

_METADATA_FIELDS = ("description", "datatype", "arraysize", "xtype", "unit", "ucd", "utype")
"""Column fields of the VOLLT JSON ``metadata`` array that ``meta/{name}`` returns (JMMC's catalogAPI)."""


@dataclass(frozen=True)
class DelegationChange:
    """One entry of a2p2's ``updateDelegations``: PI (None: the caller), co-Is, catalogs, add or remove."""

    pi: str | None
    cois: tuple[str, ...]
    catalogs: tuple[str, ...]
    adding: bool


@dataclass(frozen=True)
class _Catalog:
    table: Table
    declaration: CatalogDeclaration

    @property
    def relation(self) -> sql.Identifier:
        return sql.Identifier(self.table.db_schema, self.table.db_table)


class CatalogService:
    """What each catalog API request does, for one caller's request."""

    def __init__(self, store: CatalogStore, tap_schema: LiveTapSchema) -> None:
        self._store = store
        self._tap_schema = tap_schema

    async def list_catalogs(self, principal: Principal) -> dict[str, str]:
        """``{table_name: description}`` of the catalogs the caller may read."""
        return {name: description or "" for name, description in await self._store.visible_catalogs(principal)}

    async def metadata(self, principal: Principal, name: str) -> list[dict[str, Any]]:
        """The columns of a catalog, VOLLT JSON ``metadata`` style; the key flagged ``"primary-key": true``."""
        catalog = await self._catalog(principal, name)
        described = []
        for column in catalog.table.columns:
            entry: dict[str, Any] = {"name": column.db_name}
            entry.update({f: getattr(column, f) for f in _METADATA_FIELDS if getattr(column, f) is not None})
            if column.db_name == catalog.declaration.key_column:
                entry["primary-key"] = True
            if column.db_name in catalog.declaration.pi_columns:
                entry["pi-column"] = True
            described.append(entry)
        return described

    async def row(self, principal: Principal, name: str, key: str) -> dict[str, Any]:
        """The row of key ``key``.

        Raises
        ------
        NotFoundError
            No such catalog or row (or the caller may not see it).
        """
        catalog = await self._catalog(principal, name)
        found = await self._store.read_row(principal, catalog.relation, catalog.declaration.key_column, key)
        if found is None:
            raise NotFoundError(f"no row of {catalog.table.name} has {catalog.declaration.key_column} = {key}")
        return {c.db_name: found[c.db_name] for c in catalog.table.columns if c.db_name in found}  # TAP's order

    async def accounts(self, principal: Principal, name: str) -> dict[str, Any]:
        """JMMC's ``accounts/{name}``: the catalog's PI names with their logins (and co-Is for the caller's own)."""
        _require_login(principal)
        catalog = await self._catalog(principal, name)
        names = await self._store.pi_names(principal, catalog.relation, catalog.declaration.pi_columns)
        accounts = await self._store.pi_accounts(principal, catalog.table.name, names)
        pis = []
        for account in accounts:
            entry: dict[str, Any] = {"name": account.name, "login": account.login}
            if account.cois is not None:
                entry["delegations"] = [{"catalogs": catalog.table.name, "coi": list(account.cois)}]
            pis.append(entry)
        return {"pi": pis, "admins": ADMIN_GROUP}

    async def update_rows(self, principal: Principal, name: str, rows: Any, key: str | None = None) -> list[Any]:
        """Update rows named by their key (``key``: the URL's, for one row), in one transaction.

        Raises
        ------
        UsageError
            A malformed payload, an unknown column or a value of the wrong type or range.
        ForbiddenError
            A row is not the caller's (decided by the database).
        NotFoundError
            No such catalog or row.
        """
        catalog = await self._catalog(principal, name)
        if key is not None:
            if not isinstance(rows, dict):
                raise UsageError("the body must be a JSON object of the row's new values")
            rows = [{**rows, catalog.declaration.key_column: key}]
        checked = self._check_rows(catalog, rows, adding=False)
        return await self._store.change_rows(principal, catalog.table.name, checked, adding=False)

    async def add_rows(self, principal: Principal, name: str, rows: Any) -> dict[str, list[Any]]:
        """Insert rows (each must name the caller, or a PI who delegated to it, unless it is an admin);
        returns ``{key column: [their keys]}`` as JMMC's catalogAPI did."""
        catalog = await self._catalog(principal, name)
        checked = self._check_rows(catalog, rows, adding=True)
        keys = await self._store.change_rows(principal, catalog.table.name, checked, adding=True)
        return {catalog.declaration.key_column: keys}

    async def delegations(self, principal: Principal, pi: str | None) -> dict[str, Any]:
        """a2p2's ``getDelegations``: ``{"pi", "login", "delegations": [{"catalogs", "coi"}]}``."""
        login = _require_login(principal)
        found = await self._store.delegations(principal, pi)
        return {"pi": found[0][0] if found else (pi or login), "login": login,
                "delegations": [{"catalogs": catalog, "coi": list(cois)} for _, catalog, cois in found]}

    async def update_delegations(self, principal: Principal, body: Any) -> int:
        """a2p2's ``updateDelegations``: add (or remove, ``"action": "remove"``) catalog delegations."""
        _require_login(principal)
        changes: list[tuple[str | None, str, str, bool]] = []
        for change in _parse_delegations(body):
            for catalog_name in change.catalogs:
                table = (await self._catalog(principal, catalog_name)).table.name
                changes.extend((change.pi, coi, table, change.adding) for coi in change.cois)
        return await self._store.change_delegations(principal, changes)

    async def audit(self, principal: Principal, name: str | None, limit: int) -> list[AuditEntry]:
        """The latest changes (admins only)."""
        _require_login(principal)
        table = None if name is None else (await self._catalog(principal, name)).table.name
        return await self._store.audit(principal, table, max(1, min(limit, MAX_AUDIT_ROWS)))

    async def _catalog(self, principal: Principal, name: str) -> _Catalog:
        schema = (await self._tap_schema.fresh()).visible_to(groups_of(principal))
        found = [schema.table(name)] if schema.table(name) is not None else schema.find_tables(split_qualified(name))
        tables = [t for t in found if t is not None]
        if len(tables) > 1:
            raise UsageError(f"{name} is ambiguous ({', '.join(t.name for t in tables)}): name it with its schema")
        declaration = await self._store.declaration(principal, tables[0].name) if tables else None
        if declaration is None:
            raise NotFoundError(f"no catalog named {name}")
        return _Catalog(tables[0], declaration)

    def _check_rows(self, catalog: _Catalog, rows: Any, adding: bool) -> list[dict[str, Any]]:
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise UsageError("the body must be a JSON array of rows (objects of column: value)")
        if not rows:
            raise UsageError("no row to write")
        if len(rows) > MAX_ROWS_PER_REQUEST:
            raise UsageError(f"at most {MAX_ROWS_PER_REQUEST} rows per request")
        key = catalog.declaration.key_column
        checked = []
        for number, row in enumerate(rows, 1):
            values = {}
            for name, value in row.items():
                column = _column(catalog.table, name, number)
                values[column.db_name] = value if column.db_name == key else check_value(column, value)
            if not adding and values.get(key) is None:
                raise UsageError(f"row {number}: the key {key} is missing")
            checked.append(values)
        return checked


def _column(table: Table, name: str, number: int) -> Column:
    found = [c for c in table.columns if c.db_name == name] or table.find_columns(Identifier.parse(name))
    if len(found) != 1:
        raise UsageError(f"row {number}: {table.name} has {'several columns' if found else 'no column'} {name!r}")
    return found[0]


def _require_login(principal: Principal) -> str:
    if principal.name is None:
        from jmmctap.accounts.credentials import CHALLENGES

        raise AuthenticationError("log in to do this", CHALLENGES)
    return principal.name


def _parse_delegations(body: Any) -> list[DelegationChange]:
    entries = body if isinstance(body, list) else [body]
    changes = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise UsageError('each delegation must be an object {"pi", "catalogs", "coi": [...], "action"}')
        action = entry.get("action", "add")
        if action not in ("add", "remove"):
            raise UsageError(f'"action" must be "add" or "remove", not {action!r}')
        cois = _names(entry.get("coi"), "coi")
        catalogs = _names(entry.get("catalogs"), "catalogs")
        if not cois or not catalogs:
            raise UsageError('a delegation needs "catalogs" (the catalog names) and "coi" (the co-I logins)')
        pi = entry.get("pi")
        if pi is not None and not isinstance(pi, str):
            raise UsageError('"pi" must be a string')
        changes.append(DelegationChange(pi or None, cois, catalogs, action == "add"))
    return changes


def _names(value: Any, field: str) -> tuple[str, ...]:
    """A list of names, or one string of comma-separated names."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise UsageError(f'"{field}" must be a name or a list of names')
    return tuple(v.strip() for v in value if v.strip())
