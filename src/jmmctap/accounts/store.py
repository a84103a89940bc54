"""Storage of accounts: every SQL statement on ``jmmctap_accounts.*`` (sql/0020_accounts.sql).

Two kinds of callers: the server looks a user or a token up on each authenticated request (async,
owner pool, one statement each), and the ``jmmctap user|group|token`` commands administer them
(synchronous owner connection, one transaction each). Only hashes come in: hashing is done by
``passwords.py`` and ``tokens.py``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import AsyncConnectionPool

from jmmctap.errors import NotFoundError, UsageError

__all__ = [
    "AccountStore",
    "TokenOwner",
    "TokenSummary",
    "UserRecord",
    "UserSummary",
    "add_members",
    "add_user",
    "create_token",
    "list_groups",
    "list_tokens",
    "list_users",
    "remove_member",
    "remove_user",
    "revoke_token",
    "set_password",
]

_GROUPS_OF = "ARRAY(SELECT group_name FROM jmmctap_accounts.memberships m WHERE m.user_name = u.name)"

_FIND_USER = f"SELECT u.name, u.password_hash, u.disabled, {_GROUPS_OF} FROM jmmctap_accounts.users u WHERE u.name = %s"

# the data-modifying CTE runs even though nothing reads it; last_used_at moves at most once a minute
_FIND_TOKEN = f"""
WITH touched AS (
    UPDATE jmmctap_accounts.tokens SET last_used_at = now()
    WHERE token_hash = %(hash)s AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
      AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
)
SELECT u.name, u.disabled, {_GROUPS_OF}, t.expires_at <= now(), t.revoked_at IS NOT NULL
FROM jmmctap_accounts.tokens t JOIN jmmctap_accounts.users u ON u.name = t.user_name
WHERE t.token_hash = %(hash)s
"""


@dataclass(frozen=True)
class UserRecord:
    """What authenticating a user needs: password hash (None: no local password), state, groups."""

    name: str
    password_hash: str | None
    disabled: bool
    groups: frozenset[str]


@dataclass(frozen=True)
class TokenOwner:
    """Whose a token is, and whether it may still be used."""

    user: str
    groups: frozenset[str]
    disabled: bool
    expired: bool
    revoked: bool


@dataclass(frozen=True)
class UserSummary:
    """A line of ``jmmctap user list``."""

    name: str
    email: str | None
    groups: tuple[str, ...]
    created_at: datetime
    disabled: bool
    has_password: bool
    active_tokens: int


@dataclass(frozen=True)
class TokenSummary:
    """A line of ``jmmctap token list``."""

    token_id: int
    hint: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class AccountStore:
    """Look-ups of the server, on the owner pool (autocommit: each is one statement)."""

    def __init__(self, pool: AsyncConnectionPool[psycopg.AsyncConnection[tuple[Any, ...]]]) -> None:
        self._pool = pool

    async def find_user(self, name: str) -> UserRecord | None:
        """The user called ``name``, or None."""
        async with self._pool.connection() as conn:
            row = await (await conn.execute(_FIND_USER, [name])).fetchone()
        return None if row is None else UserRecord(row[0], row[1], row[2], frozenset(row[3]))

    async def find_token(self, token_hash: bytes) -> TokenOwner | None:
        """The owner of the token with this hash, or None; notes that it was used (at most once a minute)."""
        async with self._pool.connection() as conn:
            row = await (await conn.execute(_FIND_TOKEN, {"hash": token_hash})).fetchone()
        if row is None:
            return None
        return TokenOwner(row[0], frozenset(row[2]), disabled=row[1], expired=bool(row[3]), revoked=row[4])


Connection = psycopg.Connection[tuple[Any, ...]]


def add_user(conn: Connection, name: str, *, email: str | None = None, password_hash: str | None = None,
             groups: Iterable[str] = ()) -> None:
    """Create user ``name`` (and the groups it joins that do not exist yet).

    Raises
    ------
    jmmctap.errors.UsageError
        The user exists, or a name is not acceptable.
    """
    with conn.transaction(), _usage_errors(f"user {name!r}"):
        conn.execute("INSERT INTO jmmctap_accounts.users (name, email, password_hash) VALUES (%s, %s, %s)",
                     [name, email, password_hash])
        _join(conn, name, groups)


def set_password(conn: Connection, name: str, password_hash: str | None) -> None:
    """Replace the local password of ``name`` (None: remove it).

    Raises
    ------
    jmmctap.errors.NotFoundError
        No such user.
    """
    with conn.transaction():
        cursor = conn.execute("UPDATE jmmctap_accounts.users SET password_hash = %s WHERE name = %s",
                              [password_hash, name])
        if cursor.rowcount == 0:
            raise NotFoundError(f"no user named {name!r}")


def remove_user(conn: Connection, name: str) -> None:
    """Delete user ``name`` with its memberships and tokens.

    Raises
    ------
    jmmctap.errors.NotFoundError
        No such user.
    """
    with conn.transaction():
        if conn.execute("DELETE FROM jmmctap_accounts.users WHERE name = %s", [name]).rowcount == 0:
            raise NotFoundError(f"no user named {name!r}")


def list_users(conn: Connection) -> list[UserSummary]:
    """Every user, by name."""
    with conn.transaction():
        rows = conn.execute(
            f"SELECT u.name, u.email, {_GROUPS_OF}, u.created_at, u.disabled, u.password_hash IS NOT NULL,"
            " (SELECT count(*) FROM jmmctap_accounts.tokens t WHERE t.user_name = u.name AND t.revoked_at IS NULL"
            "  AND (t.expires_at IS NULL OR t.expires_at > now()))"
            " FROM jmmctap_accounts.users u ORDER BY u.name").fetchall()
    return [UserSummary(r[0], r[1], tuple(sorted(r[2])), r[3], r[4], r[5], r[6]) for r in rows]


def add_members(conn: Connection, group: str, users: Sequence[str]) -> None:
    """Create ``group`` if needed and make ``users`` members (members already are left as they are).

    Raises
    ------
    jmmctap.errors.NotFoundError
        One of the users does not exist (nothing is changed).
    jmmctap.errors.UsageError
        The group name is not acceptable.
    """
    with conn.transaction(), _usage_errors(f"group {group!r}"):
        conn.execute("INSERT INTO jmmctap_accounts.groups (name) VALUES (%s) ON CONFLICT DO NOTHING", [group])
        for user in users:
            _join(conn, user, [group])


def list_groups(conn: Connection) -> list[tuple[str, tuple[str, ...]]]:
    """Every group and its members, by name."""
    with conn.transaction():
        rows = conn.execute(
            "SELECT g.name, ARRAY(SELECT user_name FROM jmmctap_accounts.memberships m WHERE m.group_name = g.name"
            " ORDER BY user_name) FROM jmmctap_accounts.groups g ORDER BY g.name").fetchall()
    return [(row[0], tuple(row[1])) for row in rows]


def remove_member(conn: Connection, group: str, user: str) -> None:
    """Take ``user`` out of ``group`` (the group stays, even empty: grants may name it).

    Raises
    ------
    jmmctap.errors.NotFoundError
        ``user`` is not a member of ``group``.
    """
    with conn.transaction():
        cursor = conn.execute("DELETE FROM jmmctap_accounts.memberships WHERE group_name = %s AND user_name = %s",
                              [group, user])
        if cursor.rowcount == 0:
            raise NotFoundError(f"{user!r} is not a member of group {group!r}")


def create_token(conn: Connection, user: str, token_hash: bytes, hint: str, expires_at: datetime | None) -> int:
    """Store a new token of ``user`` by its hash; returns its id.

    Raises
    ------
    jmmctap.errors.NotFoundError
        No such user.
    """
    with conn.transaction():
        try:
            row = conn.execute(
                "INSERT INTO jmmctap_accounts.tokens (user_name, token_hash, hint, expires_at)"
                " VALUES (%s, %s, %s, %s) RETURNING token_id", [user, token_hash, hint, expires_at]).fetchone()
        except pg_errors.ForeignKeyViolation:
            raise NotFoundError(f"no user named {user!r}") from None
    assert row is not None
    return int(row[0])


def revoke_token(conn: Connection, *, token_id: int | None = None, token_hash: bytes | None = None) -> int:
    """Revoke a token given by id or by hash (revoking twice keeps the first time); returns its id.

    Raises
    ------
    jmmctap.errors.NotFoundError
        No such token.
    """
    with conn.transaction():
        row = conn.execute(
            "UPDATE jmmctap_accounts.tokens SET revoked_at = coalesce(revoked_at, now())"
            " WHERE token_id = %s OR token_hash = %s RETURNING token_id", [token_id, token_hash]).fetchone()
    if row is None:
        raise NotFoundError("no such token")
    return int(row[0])


def list_tokens(conn: Connection, user: str) -> list[TokenSummary]:
    """The tokens of ``user``, oldest first (revoked and expired ones included).

    Raises
    ------
    jmmctap.errors.NotFoundError
        No such user.
    """
    with conn.transaction():
        if conn.execute("SELECT 1 FROM jmmctap_accounts.users WHERE name = %s", [user]).fetchone() is None:
            raise NotFoundError(f"no user named {user!r}")
        rows = conn.execute(
            "SELECT token_id, hint, created_at, expires_at, revoked_at, last_used_at FROM jmmctap_accounts.tokens"
            " WHERE user_name = %s ORDER BY token_id", [user]).fetchall()
    return [TokenSummary(*row) for row in rows]


def _join(conn: Connection, user: str, groups: Iterable[str]) -> None:
    for group in groups:
        conn.execute("INSERT INTO jmmctap_accounts.groups (name) VALUES (%s) ON CONFLICT DO NOTHING", [group])
        try:
            with conn.transaction():  # a savepoint: the error below must not abort the caller's transaction
                conn.execute("INSERT INTO jmmctap_accounts.memberships (user_name, group_name) VALUES (%s, %s)"
                             " ON CONFLICT DO NOTHING", [user, group])
        except pg_errors.ForeignKeyViolation:
            raise NotFoundError(f"no user named {user!r}") from None


@contextlib.contextmanager
def _usage_errors(what: str) -> Iterator[None]:
    """Turn the constraint violations of one administrative change into one-line usage errors."""
    try:
        yield
    except pg_errors.UniqueViolation:
        raise UsageError(f"{what} already exists") from None
    except pg_errors.CheckViolation as exc:
        kind = "group name" if (exc.diag.constraint_name or "").startswith("groups") else "user name"
        raise UsageError(f"{what}: invalid {kind} (no spaces, colons or control characters;"
                         " group names: letters, digits, _ . @ -)") from None
