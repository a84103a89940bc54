"""Create and upgrade the database: bootstrap (extension, roles), versioned DDL from ``sql/``,
then the declared TAP_SCHEMA metadata from ``tap_schema/``.

Each ``sql/NNNN_name.sql`` file is applied once, in its own transaction, as the owner role, and
recorded in ``jmmctap.schema_version``. ``@query_role@`` in a file stands for the quoted name of
the SELECT-only role.

Every command runs ``init_database`` (it is idempotent), so several may run it at once: it holds
an advisory lock for its whole duration, changes role settings only when they differ, and
publishes the declarations only when they changed (digest in ``jmmctap.bootstrap_state``), so
a routine run writes nothing and parallel ingests do not collide on catalog rows ("tuple
concurrently updated").
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import psycopg
from psycopg import sql

from jmmctap.acl.leakproof import LEAKPROOF_FUNCTIONS, declare_leakproof
from jmmctap.db.cluster import EmbeddedCluster, check_postgres_installed
from jmmctap.db.connect import DATABASE, OWNER_ROLE, Conninfos, connect, conninfos
from jmmctap.errors import ConfigError
from jmmctap.resources import resource_dir
from jmmctap.settings import Settings

__all__ = [
    "Migration",
    "StatusReport",
    "available_migrations",
    "ensure_running",
    "init_database",
    "query_conninfo",
    "schema_version",
    "status",
]

PGSPHERE_PATCHED_VERSION = "1.2.0-jmmc"
"""pgsphere version installed by scripts/install-system-deps.sh when Debian's default cannot be created."""

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_INIT_LOCK = "jmmctap.init_database"
"""Advisory lock (``hashtext`` of this) serialising concurrent ``init_database`` runs."""


@dataclass(frozen=True)
class Migration:
    """One versioned DDL file."""

    version: int
    name: str
    path: Path


@dataclass(frozen=True)
class StatusReport:
    """What ``jmmctap db status`` prints."""

    mode: str
    location: str
    running: bool
    schema_version: int | None
    latest_version: int


def available_migrations(directory: Path | None = None) -> list[Migration]:
    """The DDL files of ``sql/``, in version order."""
    directory = directory or resource_dir("sql")
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if match:
            found.append(Migration(int(match[1]), match[2], path))
    return found


def ensure_running(settings: Settings) -> None:
    """Start the embedded cluster when it is the configured database; no-op with a DSN."""
    if settings.embedded:
        check_postgres_installed(settings)
        EmbeddedCluster.from_settings(settings).start()


def init_database(settings: Settings) -> list[Migration]:
    """Create or upgrade everything; idempotent. Returns the migrations applied now."""
    ensure_running(settings)
    infos = conninfos(settings)
    if infos.embedded:
        _bootstrap_embedded(infos)
    with connect(infos.owner, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", [_INIT_LOCK])  # until the connection closes
        _bootstrap_database(infos, settings.query_role, settings.query_timeout_s)
        applied = _apply_migrations(conn, settings.query_role)
        _declare_leakproof(conn, infos)
        _ensure_query_password(conn, infos, settings.query_role)
        _publish_declarations_if_changed(conn, settings.query_role, force=bool(applied))
    return applied


def schema_version(conn: psycopg.Connection[tuple[object, ...]]) -> int | None:
    """The highest applied migration, or None on an uninitialised database."""
    row = conn.execute("SELECT to_regclass('jmmctap.schema_version') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return None
    row = conn.execute("SELECT max(version) FROM jmmctap.schema_version").fetchone()
    return None if row is None else row[0]  # type: ignore[return-value]


def status(settings: Settings) -> StatusReport:
    """Report where the database is, whether it runs and its schema version."""
    latest = max((m.version for m in available_migrations()), default=0)
    infos = conninfos(settings)
    if settings.embedded:
        cluster = EmbeddedCluster.from_settings(settings)
        mode, location, running = "embedded", str(cluster.root), cluster.is_running()
    else:
        mode, location, running = "external", _redacted(settings.dsn or ""), True
    version = None
    if running:
        try:
            with connect(infos.owner) as conn:
                version = schema_version(conn)
        except ConfigError:
            if settings.embedded:
                raise
            running = False
    return StatusReport(mode, location, running, version, latest)


def query_conninfo(conn: psycopg.Connection[tuple[object, ...]], infos: Conninfos) -> str:
    """The query role's connection string, with its password when the database needs one."""
    if infos.embedded:
        return infos.query
    row = conn.execute("SELECT value FROM jmmctap.secret WHERE name = 'query_password'").fetchone()
    if row is None:
        raise ConfigError("the database is not initialised: run 'jmmctap db init'")
    return f"{infos.query} password={_quote_conninfo(str(row[0]))}"


# -- bootstrap ------------------------------------------------------------------------------


def _bootstrap_embedded(infos: Conninfos) -> None:
    """Create the owner role and the database in a fresh embedded cluster."""
    server = infos.admin.replace(f"dbname={DATABASE}", "dbname=postgres")
    with connect(server, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", [_INIT_LOCK])  # concurrent first runs
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [OWNER_ROLE]).fetchone():
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(OWNER_ROLE)))
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(DATABASE), sql.Identifier(OWNER_ROLE)
                )
            )


def _bootstrap_database(infos: Conninfos, query_role: str, timeout_s: float) -> None:
    """Install pg_sphere and the query role with its read-only defaults (needs admin rights)."""
    role = sql.Identifier(query_role)
    with connect(infos.admin, autocommit=True) as conn:
        _create_pgsphere(conn)
        try:
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [query_role]).fetchone():
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOINHERIT").format(role))
            have = _role_settings(conn, query_role)
            for setting, value in (
                ("default_transaction_read_only", "on"),
                ("statement_timeout", f"{int(timeout_s * 1000)}"),
                ("idle_in_transaction_session_timeout", "60000"),
                ("search_path", "public"),
                # JIT off: on a 10-million-row aggregate it saved ≤ 5 % (4.4 s against 4.6 s), but
                # compiling costs 100–200 ms, and the plans it triggers on are joins whose cost the
                # nested loop inflates — crossmatches, our most common large query (issue 14).
                ("jit", "off"),
                # shortest round-trip float text whatever the server's default: the text formats are
                # written by PostgreSQL itself (formats/sqltext.py), which must lose no digit
                ("extra_float_digits", "1"),
            ):
                if have.get(setting) == value:
                    continue  # ALTER ROLE rewrites the catalog row even when nothing changes
                conn.execute(
                    sql.SQL("ALTER ROLE {} SET {} = {}").format(
                        role, sql.Identifier(setting), sql.Literal(value)
                    )
                )
        except psycopg.Error as exc:
            # name the missing right only when it is the cause (it used to be blamed for any failure)
            denied = isinstance(exc, psycopg.errors.InsufficientPrivilege)
            hint = " (the JMMCTAP_DSN user needs CREATEROLE)" if denied else ""
            raise ConfigError(
                f"cannot create or configure role {query_role}{hint}: {exc.diag.message_primary}"
            ) from None


def _declare_leakproof(conn: psycopg.Connection[tuple[object, ...]], infos: Conninfos) -> None:
    """Positional searches keep their index under row-level security (``acl.leakproof``; needs a superuser).

    Checked on the owner's connection first: the administrator connects only when a flag is missing
    (a new database, a function the last migration created, an extension update that reset it).
    """
    row = conn.execute("SELECT count(*) FROM unnest(%s::text[]) AS f(signature)"
                       " JOIN pg_proc p ON p.oid = to_regprocedure(f.signature) WHERE NOT p.proleakproof",
                       [list(LEAKPROOF_FUNCTIONS)]).fetchone()
    if row and row[0]:
        with connect(infos.admin, autocommit=True) as admin:
            declare_leakproof(admin)


def _role_settings(conn: psycopg.Connection[tuple[object, ...]], role: str) -> dict[str, str]:
    """The role's database-independent ``ALTER ROLE … SET`` values."""
    row = conn.execute(
        "SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole"
        " WHERE r.rolname = %s AND s.setdatabase = 0", [role]
    ).fetchone()
    entries = cast(list[str], row[0]) if row and row[0] else []
    return dict(entry.split("=", 1) for entry in entries if "=" in entry)


def _publish_declarations_if_changed(conn: psycopg.Connection[tuple[object, ...]], query_role: str,
                                     *, force: bool) -> None:
    """Publish ``tap_schema/*.yaml`` when they (or the migrations, ``force``) changed since the last run.

    Publishing rewrites TAP_SCHEMA rows and grants, which makes every server reload its copy; a
    routine command (each ingest runs ``init_database``) must not.
    """
    from jmmctap.tapschema.declare import publish_declarations, read_declarations

    digest = hashlib.sha256(query_role.encode())
    for path in sorted(resource_dir("tap_schema").glob("*.yaml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    value = digest.hexdigest()
    row = conn.execute("SELECT value FROM jmmctap.bootstrap_state WHERE name = 'declarations'").fetchone()
    declared = [t.name for _, tables, _ in read_declarations() for t in tables]
    listed = conn.execute("SELECT count(*) FROM tap_schema.tables WHERE table_name = ANY(%s)", [declared]).fetchone()
    if not force and row is not None and row[0] == value and listed == (len(declared),):
        return  # also republished when a declared table was unpublished by hand
    publish_declarations(conn, query_role)
    conn.execute("INSERT INTO jmmctap.bootstrap_state (name, value) VALUES ('declarations', %s)"
                 " ON CONFLICT (name) DO UPDATE SET value = excluded.value", [value])


def _create_pgsphere(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """``CREATE EXTENSION pg_sphere``, falling back to our patched install script when needed.

    Debian's pgsphere 1.1.1 cannot be created on PostgreSQL 15.20+ (pgsphere issue #85);
    ``scripts/install-system-deps.sh`` adds version ``PGSPHERE_PATCHED_VERSION`` without the
    offending obsolete operators. The default version is tried first so a fixed package wins.
    """
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_sphere")
        return
    except psycopg.Error as exc:
        message = exc.diag.message_primary or str(exc)
    if "commutator" not in message:
        raise ConfigError(
            "cannot create extension pg_sphere (install 'postgresql-15-pgsphere' on the server and run "
            f"'CREATE EXTENSION pg_sphere' as a superuser): {message}"
        )
    available = conn.execute(
        "SELECT 1 FROM pg_available_extension_versions WHERE name = 'pg_sphere' AND version = %s",
        [PGSPHERE_PATCHED_VERSION],
    ).fetchone()
    if not available:
        raise ConfigError(
            "Debian's pgsphere 1.1.1 does not install on this PostgreSQL (pgsphere issue #85): "
            "run 'sudo scripts/install-system-deps.sh' once to add the fixed install script"
        )
    conn.execute(
        sql.SQL("CREATE EXTENSION pg_sphere VERSION {}").format(sql.Literal(PGSPHERE_PATCHED_VERSION))
    )


def _apply_migrations(conn: psycopg.Connection[tuple[object, ...]], query_role: str) -> list[Migration]:
    done: set[int] = set()
    if schema_version(conn) is not None:
        done = {cast(int, row[0]) for row in conn.execute("SELECT version FROM jmmctap.schema_version")}
    role = sql.Identifier(query_role).as_string(conn)
    applied = []
    for migration in available_migrations():
        # every migration not yet recorded, even one numbered below the latest (branches merge)
        if migration.version in done:
            continue
        text = migration.path.read_text().replace("@query_role@", role)
        try:
            with conn.transaction():
                conn.execute(text.encode())
                conn.execute(
                    "INSERT INTO jmmctap.schema_version (version, name) VALUES (%s, %s)",
                    [migration.version, migration.name],
                )
        except psycopg.Error as exc:
            raise ConfigError(
                f"migration {migration.path.name} failed: {exc.diag.message_primary}"
            ) from None
        applied.append(migration)
    return applied


def _ensure_query_password(
    conn: psycopg.Connection[tuple[object, ...]], infos: Conninfos, query_role: str
) -> None:
    """With an external DSN the query role logs in with a password that only the owner can read."""
    if infos.embedded:
        return
    if conn.execute("SELECT 1 FROM jmmctap.secret WHERE name = 'query_password'").fetchone():
        return
    password = secrets.token_urlsafe(32)
    with conn.transaction():
        conn.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(query_role), sql.Literal(password))
        )
        conn.execute("INSERT INTO jmmctap.secret (name, value) VALUES ('query_password', %s)", [password])


def _quote_conninfo(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _redacted(dsn: str) -> str:
    return re.sub(r"password=\S+", "password=***", dsn)
