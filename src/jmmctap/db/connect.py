"""Connection strings of the three roles: bootstrap admin, owner, and the SELECT-only query role."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from jmmctap.db.cluster import SUPERUSER, EmbeddedCluster
from jmmctap.errors import ConfigError
from jmmctap.settings import Settings

__all__ = ["OWNER_ROLE", "Conninfos", "connect", "conninfos"]

OWNER_ROLE = "jmmctap"
"""Owner of the database objects in the embedded cluster; does DDL, ingest and job bookkeeping."""

DATABASE = "jmmctap"
"""Database name in the embedded cluster."""


@dataclass(frozen=True)
class Conninfos:
    """libpq connection strings; ``query`` has no password yet in DSN mode (see ``query_password``)."""

    admin: str
    owner: str
    query: str
    embedded: bool


def conninfos(settings: Settings) -> Conninfos:
    """Connection strings for the configured database (embedded cluster or ``JMMCTAP_DSN``)."""
    if settings.embedded:
        cluster = EmbeddedCluster.from_settings(settings)
        return Conninfos(
            admin=cluster.conninfo(SUPERUSER, DATABASE),
            owner=cluster.conninfo(OWNER_ROLE, DATABASE),
            query=cluster.conninfo(settings.query_role, DATABASE),
            embedded=True,
        )
    assert settings.dsn is not None
    try:
        params = conninfo_to_dict(settings.dsn)
    except psycopg.ProgrammingError as exc:
        raise ConfigError(f"JMMCTAP_DSN is not a valid connection string: {exc}") from None
    params.pop("password", None)
    params["user"] = settings.query_role
    return Conninfos(
        admin=settings.dsn, owner=settings.dsn, query=make_conninfo(**params), embedded=False  # type: ignore[arg-type]
    )


def connect(conninfo: str, **kwargs: object) -> psycopg.Connection[tuple[object, ...]]:
    """Open a synchronous connection; an unreachable database becomes a one-line ``ConfigError``."""
    try:
        return psycopg.connect(conninfo, connect_timeout=10, **kwargs)  # type: ignore[arg-type]
    except psycopg.OperationalError as exc:
        # libpq's first line says which server and why; the following ones are generic hints
        lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
        reason = lines[0].removeprefix("connection failed: ") if lines else repr(exc)
        raise ConfigError(f"cannot connect to the database: {reason}") from None
