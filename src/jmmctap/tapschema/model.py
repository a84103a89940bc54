"""Frozen model of TAP_SCHEMA, with ADQL name lookup.

Naming rule shared by the whole product: a name in TAP_SCHEMA is an ADQL identifier, regular
(``ra``, ``RAJ2000``) or delimited with its quotes (``"B-V"``); the PostgreSQL object has the same
name without the quotes, case preserved. So the emitter quotes ``db_name`` and never folds case.

ADQL lookup (ADQL 2.1 §2.1.3): a regular identifier in a query matches case-insensitively; a
delimited one matches exactly, or the lower-case form of a regular name (PostgreSQL folds
regular names to lower case, so ``"ra"`` also finds ``ra``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

__all__ = ["Column", "Identifier", "Key", "Schema", "Table", "TapSchema", "split_qualified"]


@dataclass(frozen=True)
class Identifier:
    """One part of an ADQL name: its text (without quotes) and whether it was delimited."""

    text: str
    delimited: bool = False

    @classmethod
    def parse(cls, raw: str) -> Identifier:
        """``"B-V"`` → Identifier('B-V', True); ``ra`` → Identifier('ra', False)."""
        if len(raw) >= 2 and raw.startswith('"') and raw.endswith('"'):
            return cls(raw[1:-1].replace('""', '"'), True)
        return cls(raw, False)

    def matches(self, stored: Identifier) -> bool:
        """True when this query identifier designates the stored (TAP_SCHEMA) one."""
        if not self.delimited:
            if stored.delimited:
                return self.text.lower() == stored.text
            return self.text.casefold() == stored.text.casefold()
        return self.text == stored.text or (not stored.delimited and self.text == stored.text.lower())

    def __str__(self) -> str:
        return '"' + self.text.replace('"', '""') + '"' if self.delimited else self.text


_PART = re.compile(r'"(?:[^"]|"")*"|[^."]+')


def split_qualified(name: str) -> list[Identifier]:
    """Split ``schema.table`` (with optional delimited parts) into identifiers."""
    return [Identifier.parse(m.group(0).strip()) for m in _PART.finditer(name)]


@dataclass(frozen=True)
class Column:
    """A row of TAP_SCHEMA.columns."""

    table_name: str
    name: str
    datatype: str
    arraysize: str | None = None
    xtype: str | None = None
    description: str | None = None
    utype: str | None = None
    unit: str | None = None
    ucd: str | None = None
    indexed: bool = False
    principal: bool = False
    std: bool = False
    column_index: int | None = None

    @cached_property
    def identifier(self) -> Identifier:
        """The parsed name (cached: name lookups of every query read it for each column)."""
        return Identifier.parse(self.name)

    @property
    def db_name(self) -> str:
        """The PostgreSQL column name (quote it with ``psycopg.sql.Identifier``)."""
        return self.identifier.text


@dataclass(frozen=True)
class Table:
    """A row of TAP_SCHEMA.tables with its columns in ``column_index`` order."""

    schema_name: str
    name: str
    table_type: str = "table"
    description: str | None = None
    utype: str | None = None
    table_index: int | None = None
    nrows: int | None = None
    columns: tuple[Column, ...] = ()
    pg_schema: str | None = None
    """PostgreSQL schema when it differs from the ADQL name (TAP_UPLOAD tables live in ``pg_temp``)."""
    pg_table: str | None = None
    """PostgreSQL table name when it differs from the ADQL name."""

    @cached_property
    def parts(self) -> tuple[Identifier, ...]:
        """The parsed name (cached: every table reference of every query scans them)."""
        return tuple(split_qualified(self.name))

    @cached_property
    def db_schema(self) -> str:
        if self.pg_schema is not None:
            return self.pg_schema
        parts = self.parts
        return parts[-2].text if len(parts) > 1 else Identifier.parse(self.schema_name).text

    @cached_property
    def db_table(self) -> str:
        return self.pg_table if self.pg_table is not None else self.parts[-1].text

    def find_columns(self, ident: Identifier) -> list[Column]:
        """Columns the identifier designates (several means ambiguous)."""
        exact = [c for c in self.columns if ident.matches(c.identifier)]
        if len(exact) > 1 and ident.delimited:
            exact = [c for c in exact if c.identifier.text == ident.text] or exact
        return exact


@dataclass(frozen=True)
class Key:
    """A foreign key of TAP_SCHEMA.keys with its (from, target) column pairs."""

    key_id: str
    from_table: str
    target_table: str
    columns: tuple[tuple[str, str], ...]
    description: str | None = None
    utype: str | None = None


@dataclass(frozen=True)
class Schema:
    """A row of TAP_SCHEMA.schemas."""

    name: str
    description: str | None = None
    utype: str | None = None
    schema_index: int | None = None


_VIEWS_KEPT = 256
"""Per-groups views a ``TapSchema`` keeps (one per distinct set of caller groups seen since its load)."""


@dataclass(frozen=True)
class TapSchema:
    """Everything published, as the ADQL engine and VOSI see it."""

    schemas: tuple[Schema, ...]
    tables: tuple[Table, ...]
    keys: tuple[Key, ...] = ()
    generation: int = 0
    """``tap_schema.generation`` when this copy was read (sql/0019); 0 when not read from a database."""
    grants: Mapping[str, frozenset[str]] = field(default_factory=dict, compare=False)
    """Tables (``table_name``) readable by the listed groups only (``acl.table_grant``, sql/0025)."""
    row_secured: frozenset[str] = field(default_factory=frozenset, compare=False)
    """Tables under row-level security when this copy was read: their crossmatches need LEAKPROOF
    functions to keep the index (``adql.geometry.point_in_circle``)."""
    lsn: int = field(default=0, compare=False)
    """The WAL position (bytes) of the server it was read from, taken after its snapshot: a replica that has
    replayed this far has every commit the copy shows (``db.replicas``); 0 when not read from a database."""
    _by_name: dict[str, Table] = field(default_factory=dict, init=False, repr=False, compare=False)
    _views: dict[frozenset[str], TapSchema] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for table in self.tables:
            self._by_name[table.name] = table

    def visible_to(self, groups: frozenset[str]) -> TapSchema:
        """What a caller in ``groups`` may see: without the tables granted to other groups only.

        The ADQL engine resolves names against this copy, so a hidden table is an "unknown table" with the
        same message (and hints) as one that does not exist; VOSI and /health list it. PostgreSQL enforces
        the same rule on the rows and on TAP_SCHEMA itself (sql/0025); this copy only keeps them consistent.
        """
        hidden = {name for name, allowed in self.grants.items() if not allowed & groups and name in self._by_name}
        if not hidden:
            return self
        key = frozenset(g for g in groups if any(g in allowed for allowed in self.grants.values()))
        view = self._views.get(key)
        if view is None:
            tables = tuple(t for t in self.tables if t.name not in hidden)
            emptied = {t.schema_name for t in self.tables if t.name in hidden} - {t.schema_name for t in tables}
            view = TapSchema(
                schemas=tuple(s for s in self.schemas if s.name not in emptied), tables=tables,
                keys=tuple(k for k in self.keys if k.from_table not in hidden and k.target_table not in hidden),
                generation=self.generation, row_secured=self.row_secured, lsn=self.lsn,
            )
            if len(self._views) >= _VIEWS_KEPT:
                self._views.clear()
            self._views[key] = view
        return view

    def table(self, name: str) -> Table | None:
        """The table whose TAP_SCHEMA ``table_name`` is exactly ``name``."""
        return self._by_name.get(name)

    def find_tables(self, parts: Sequence[Identifier]) -> list[Table]:
        """Tables an ADQL table reference (``[catalog.]schema.table`` or ``table``) designates.

        A catalog part is ignored (one database). An unqualified name matches tables of any schema,
        so several results mean it is ambiguous.
        """
        if not parts:
            return []
        parts = list(parts[-2:])
        found = []
        for table in self.tables:
            stored = table.parts
            if not parts[-1].matches(stored[-1]):
                continue
            if len(parts) == 2:
                schema_part = stored[-2] if len(stored) > 1 else Identifier.parse(table.schema_name)
                if not parts[0].matches(schema_part):
                    continue
            found.append(table)
        return found

    def schema_tables(self, schema_name: str) -> list[Table]:
        return [t for t in self.tables if t.schema_name == schema_name]

    def names(self) -> Iterable[str]:
        return self._by_name.keys()
