"""The principal of a query transaction, signed so that the query role cannot forge it.

Every user query sets ``jmmctap.principal`` (``PRINCIPAL_SETTING``) in the statement that starts its READ
ONLY transaction (``query.start``: no extra round trip). The value is
``v1:<backend pid>:<unix time>:<hex user>:<hex group>,…:<hex HMAC-SHA256>``; ``acl.verified_principal()``
(``sql/0025_access_control.sql``), a SECURITY DEFINER function whose key the query role cannot read,
accepts it only with a valid signature, on that backend, within ``MAX_SKEW_S`` of the database clock.
So even SQL that reached ``set_config`` could only set a value it cannot sign, and a token observed on
one backend (``pg_stat_activity`` shows the statement while it runs) is useless on another or later.
An empty value, or none, is the anonymous caller.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import psycopg
from psycopg import sql

from jmmctap.auth import Principal
from jmmctap.errors import ConfigError

__all__ = [
    "MAX_SKEW_S",
    "PERSONAL_GROUP_PREFIX",
    "PRINCIPAL_SETTING",
    "PrincipalSigner",
    "groups_of",
    "personal_group",
    "read_signer",
    "set_local_principal",
]

PRINCIPAL_SETTING = "jmmctap.principal"
"""The transaction setting (GUC) carrying the signed principal."""

MAX_SKEW_S = 60
"""Seconds a token may differ from the database's transaction time (checked in SQL, sql/0025). A token is
checked when its query starts, milliseconds after it is signed: the margin is for the clock of a database
on another host, and bounds how long a token seen in ``pg_stat_activity`` stays usable on its backend."""

PERSONAL_GROUP_PREFIX = "user:"
"""A signed-in user is, for table grants, in the group ``user:<login>`` of its own (sql/0033): a real group
name cannot hold ``:``, so nobody else can be put in it. Tables uploaded into ``user_<login>`` are granted to it."""

_VERSION = "v1"


def personal_group(user_name: str) -> str:
    """The group only ``user_name`` is in (``user:<login>``)."""
    return PERSONAL_GROUP_PREFIX + user_name


def groups_of(principal: Principal) -> frozenset[str]:
    """The groups whose rights ``principal`` has, its personal group included; none for an anonymous caller.

    PostgreSQL sees the same (``acl.hidden_tables``, sql/0033, adds the personal group of the signed user).
    """
    if principal.name is None:
        return frozenset()
    return principal.groups | {personal_group(principal.name)}


class PrincipalSigner:
    """Signs principals with the database's key (read once per process by ``read_signer``)."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def __repr__(self) -> str:
        return "PrincipalSigner(<key>)"

    def token(self, principal: Principal, backend_pid: int, now_s: float | None = None) -> str:
        """The ``jmmctap.principal`` value for ``principal`` on backend ``backend_pid`` ('' when anonymous)."""
        if principal.name is None:
            return ""
        issued = int(time.time() if now_s is None else now_s)
        groups = ",".join(sorted(g.encode().hex() for g in principal.groups))
        payload = ":".join((_VERSION, str(backend_pid), str(issued), principal.name.encode().hex(), groups))
        return f"{payload}:{hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()}"

    def set_local(self, principal: Principal, backend_pid: int) -> sql.Composed:
        """``SET LOCAL jmmctap.principal = '…'``, to join the statement that starts the transaction."""
        return set_local_principal(self.token(principal, backend_pid))


def set_local_principal(token: str) -> sql.Composed:
    """``SET LOCAL jmmctap.principal = token``; an empty token is the anonymous caller."""
    return sql.SQL("SET LOCAL " + PRINCIPAL_SETTING + " = {}").format(sql.Literal(token))


def read_signer(conn: psycopg.Connection[Any]) -> PrincipalSigner:
    """The signer of this database (an owner connection: the query role cannot read the key).

    Raises
    ------
    ConfigError
        The database predates the access control migration.
    """
    row = conn.execute("SELECT to_regclass('acl.signing_key') IS NOT NULL").fetchone()
    key = conn.execute("SELECT key FROM acl.signing_key").fetchone() if row and row[0] else None
    if key is None:
        raise ConfigError("the database has no principal signing key: run 'jmmctap db upgrade'")
    return PrincipalSigner(bytes(key[0]))
