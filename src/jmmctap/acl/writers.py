"""Storage of the upload rights: which groups may put tables into which schema (``acl.schema_writer``, sql/0033).

A user may always write its own schema ``user_<login>``; any other schema needs one of its writer groups
(``jmmctap writer add SCHEMA GROUP``). Catalogue loader schemas and reserved ones stay closed whatever is
granted (``jmmctap.submissions.tables``). Every function is one short transaction on an owner connection.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg

from jmmctap.errors import UsageError

__all__ = ["USER_SCHEMA_PREFIX", "add_writer", "list_writers", "may_write_schema", "remove_writer", "user_schema"]

USER_SCHEMA_PREFIX = "user_"
"""A user's own schema is this prefix followed by its login (``user_alice``)."""


def user_schema(user_name: str) -> str:
    """The PostgreSQL name of ``user_name``'s own schema."""
    return USER_SCHEMA_PREFIX + user_name


def add_writer(conn: psycopg.Connection[Any], schema: str, group: str) -> bool:
    """Let the members of ``group`` upload tables into ``schema``; False when they already could.

    Raises
    ------
    UsageError
        An empty schema or group name.
    """
    if not schema.strip() or not group.strip():
        raise UsageError("name a schema and a group")
    with conn.transaction():
        cursor = conn.execute("INSERT INTO acl.schema_writer (schema_name, group_name) VALUES (%s, %s)"
                              " ON CONFLICT DO NOTHING", [schema, group])
        return cursor.rowcount == 1


def remove_writer(conn: psycopg.Connection[Any], schema: str, group: str) -> bool:
    """Take the upload right on ``schema`` from ``group``; False when it had none."""
    with conn.transaction():
        cursor = conn.execute("DELETE FROM acl.schema_writer WHERE schema_name = %s AND group_name = %s",
                              [schema, group])
        return cursor.rowcount > 0


def list_writers(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    """Every (schema, group) upload right, by schema then group."""
    rows = conn.execute("SELECT schema_name, group_name FROM acl.schema_writer ORDER BY 1, 2").fetchall()
    return [(schema, group) for schema, group in rows]


def may_write_schema(conn: psycopg.Connection[Any], schema: str, user_name: str, groups: Iterable[str]) -> bool:
    """Whether ``user_name`` (in ``groups``) may create, replace, append to or drop tables of ``schema``."""
    if schema == user_schema(user_name):
        return True
    row = conn.execute("SELECT 1 FROM acl.schema_writer WHERE schema_name = %s AND group_name = ANY (%s)",
                       [schema, sorted(groups)]).fetchone()
    return row is not None
