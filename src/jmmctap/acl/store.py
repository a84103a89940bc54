"""Storage of access control: every SQL statement on schema ``acl`` (collections, data PIs, delegations, grants).

Each function runs in the caller's owner connection, in one transaction. The triggers of
``sql/0025_access_control.sql`` keep PostgreSQL's row-level security in step with these rows (RLS on
``ivoa.obscore`` while a private collection exists, a policy on each granted table) and refresh
``tap_schema.tables.nrows``, so a change is in force for the next query of every server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from jmmctap.errors import UsageError
from jmmctap.tapschema import load_tap_schema, split_qualified

__all__ = [
    "DEFAULT_EMBARGO_MONTHS",
    "Collection",
    "Delegation",
    "add_data_pi",
    "add_delegation",
    "grant_table",
    "list_collections",
    "list_data_pis",
    "list_delegations",
    "make_table_public",
    "remove_data_pi",
    "remove_delegation",
    "resolve_table_name",
    "set_collection",
    "table_groups",
]

DEFAULT_EMBARGO_MONTHS = 24
"""Proprietary period of a collection's files (OiDB: two years), unless set otherwise."""


@dataclass(frozen=True)
class Collection:
    """A collection's access rules: private ones are visible to their groups (and data PIs) only."""

    name: str
    private: bool
    embargo_months: int
    groups: tuple[str, ...]


@dataclass(frozen=True)
class Delegation:
    """Data PI ``pi`` lets ``coi`` see the PI's rows: all, or those of one collection, progid or proposal_subid;
    or change the PI's rows of one catalog (``catalog``, a TAP_SCHEMA table_name: ``jmmctap.catalogs``)."""

    pi: str
    coi: str
    collection: str | None = None
    progid: str | None = None
    proposal_subid: str | None = None
    catalog: str | None = None

    @property
    def scope(self) -> str:
        """The rows concerned, for listings."""
        for label, value in (("collection", self.collection), ("progid", self.progid),
                             ("proposal_subid", self.proposal_subid), ("catalog", self.catalog)):
            if value is not None:
                return f"{label} {value}"
        return "all rows"


def set_collection(conn: psycopg.Connection[Any], name: str, *, private: bool | None = None,
                   embargo_months: int | None = None, groups: Sequence[str] | None = None) -> Collection:
    """Create or change a collection; ``None`` keeps a value (``groups`` replaces the list when given).

    Raises
    ------
    UsageError
        An empty name or a negative embargo.
    """
    if not name.strip():
        raise UsageError("a collection needs a name")
    if embargo_months is not None and embargo_months < 0:
        raise UsageError("the embargo must be zero or more months")
    with conn.transaction():
        conn.execute(
            "INSERT INTO acl.collection (name, private, embargo_months)"
            " VALUES (%(name)s, coalesce(%(private)s, false), coalesce(%(embargo)s, %(default)s))"
            " ON CONFLICT (name) DO UPDATE SET private = coalesce(%(private)s, collection.private),"
            " embargo_months = coalesce(%(embargo)s, collection.embargo_months), updated_at = now()",
            {"name": name, "private": private, "embargo": embargo_months, "default": DEFAULT_EMBARGO_MONTHS},
        )
        if groups is not None:
            conn.execute("DELETE FROM acl.collection_group WHERE collection = %s", [name])
            for group in sorted(set(groups)):
                conn.execute("INSERT INTO acl.collection_group (collection, group_name) VALUES (%s, %s)",
                             [name, group])
    return next(c for c in list_collections(conn) if c.name == name)


def list_collections(conn: psycopg.Connection[Any]) -> list[Collection]:
    """Every collection with access rules, by name."""
    rows = conn.execute(
        "SELECT c.name, c.private, c.embargo_months, coalesce(array_agg(g.group_name ORDER BY g.group_name)"
        " FILTER (WHERE g.group_name IS NOT NULL), '{}') FROM acl.collection c"
        " LEFT JOIN acl.collection_group g ON g.collection = c.name GROUP BY c.name ORDER BY c.name"
    ).fetchall()
    return [Collection(name, private, months, tuple(groups)) for name, private, months, groups in rows]


def add_delegation(conn: psycopg.Connection[Any], delegation: Delegation) -> bool:
    """Record the delegation; False when it already existed.

    Raises
    ------
    UsageError
        A PI delegating to itself, or more than one scope.
    """
    _check(delegation)
    with conn.transaction():
        cursor = conn.execute(
            "INSERT INTO acl.delegation (pi, coi, collection, progid, proposal_subid, catalog)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [delegation.pi, delegation.coi, delegation.collection, delegation.progid, delegation.proposal_subid,
             delegation.catalog],
        )
        return cursor.rowcount == 1


def remove_delegation(conn: psycopg.Connection[Any], delegation: Delegation) -> bool:
    """Remove exactly this delegation (same PI, co-I and scope); False when there was none."""
    with conn.transaction():
        cursor = conn.execute(
            "DELETE FROM acl.delegation WHERE pi = %s AND coi = %s AND collection IS NOT DISTINCT FROM %s"
            " AND progid IS NOT DISTINCT FROM %s AND proposal_subid IS NOT DISTINCT FROM %s"
            " AND catalog IS NOT DISTINCT FROM %s",
            [delegation.pi, delegation.coi, delegation.collection, delegation.progid, delegation.proposal_subid,
             delegation.catalog],
        )
        return cursor.rowcount > 0


def list_delegations(conn: psycopg.Connection[Any], pi: str | None = None) -> list[Delegation]:
    """The delegations (of one PI when given), by PI and co-I."""
    rows = conn.execute(
        "SELECT pi, coi, collection, progid, proposal_subid, catalog FROM acl.delegation"
        " WHERE %(pi)s::text IS NULL OR pi = %(pi)s ORDER BY pi, coi, collection, progid, proposal_subid, catalog",
        {"pi": pi},
    ).fetchall()
    return [Delegation(*row) for row in rows]


def add_data_pi(conn: psycopg.Connection[Any], user: str, datapi: str) -> bool:
    """Say that ``user`` is the data PI written ``datapi`` in ``ivoa.obscore``; False when already known."""
    with conn.transaction():
        cursor = conn.execute("INSERT INTO acl.data_pi (user_name, datapi) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                              [user, datapi])
        return cursor.rowcount == 1


def remove_data_pi(conn: psycopg.Connection[Any], user: str, datapi: str) -> bool:
    """Forget that name of ``user``; False when it was not recorded."""
    with conn.transaction():
        cursor = conn.execute("DELETE FROM acl.data_pi WHERE user_name = %s AND datapi = %s", [user, datapi])
        return cursor.rowcount > 0


def list_data_pis(conn: psycopg.Connection[Any], user: str | None = None) -> list[tuple[str, str]]:
    """(user, datapi) pairs (of one user when given)."""
    rows = conn.execute("SELECT user_name, datapi FROM acl.data_pi WHERE %(u)s::text IS NULL OR user_name = %(u)s"
                        " ORDER BY user_name, datapi", {"u": user}).fetchall()
    return [(u, d) for u, d in rows]


def resolve_table_name(conn: psycopg.Connection[Any], name: str) -> tuple[str, bool]:
    """The TAP_SCHEMA ``table_name`` that ``name`` designates as an ADQL name would, and whether it is published.

    A name no published table matches is kept as given (a table may be granted before it is ingested,
    so that it is never public).

    Raises
    ------
    UsageError
        The name matches several tables, or is not ``SCHEMA.TABLE``.
    """
    parts = split_qualified(name)
    if len(parts) != 2:
        raise UsageError(f"{name!r} is not SCHEMA.TABLE")
    tap_schema = load_tap_schema(conn)
    if tap_schema.table(name) is not None:
        return name, True
    found = tap_schema.find_tables(parts)
    if len(found) > 1:
        raise UsageError(f"{name} is ambiguous ({', '.join(t.name for t in found)}): write it as published")
    return (found[0].name, True) if found else (name, False)


def grant_table(conn: psycopg.Connection[Any], table_name: str, groups: Sequence[str]) -> tuple[str, ...]:
    """Make ``table_name`` readable by ``groups`` only (added to those it has); return all its groups."""
    if not groups or not all(g.strip() for g in groups):
        raise UsageError("name at least one group (or make the table --public)")
    with conn.transaction():
        for group in sorted(set(groups)):
            conn.execute("INSERT INTO acl.table_grant (table_name, group_name) VALUES (%s, %s)"
                         " ON CONFLICT DO NOTHING", [table_name, group])
    return table_groups(conn, table_name)


def make_table_public(conn: psycopg.Connection[Any], table_name: str) -> bool:
    """Remove every grant of ``table_name``: everyone may read it again. False when it had none."""
    with conn.transaction():
        return conn.execute("DELETE FROM acl.table_grant WHERE table_name = %s", [table_name]).rowcount > 0


def table_groups(conn: psycopg.Connection[Any], table_name: str) -> tuple[str, ...]:
    """The groups ``table_name`` is granted to (none: public)."""
    rows = conn.execute("SELECT group_name FROM acl.table_grant WHERE table_name = %s ORDER BY group_name",
                        [table_name]).fetchall()
    return tuple(r[0] for r in rows)


def _check(delegation: Delegation) -> None:
    if not delegation.pi.strip() or not delegation.coi.strip():
        raise UsageError("a delegation needs a PI and a co-I")
    if delegation.pi == delegation.coi:
        raise UsageError("a PI cannot delegate to itself")
    scopes = [s for s in (delegation.collection, delegation.progid, delegation.proposal_subid, delegation.catalog)
              if s is not None]
    if len(scopes) > 1:
        raise UsageError("a delegation is for all the PI's rows or for one collection, progid, proposal_subid"
                         " or catalog")
