"""A primary and its streaming replica on one machine, from the project's embedded clusters, for replica tests.

The primary is an ``EmbeddedCluster`` switched to ``wal_level = replica`` with WAL senders, initialised by
``init_database`` and reached in DSN mode (``JMMCTAP_DSN``: the owner role over the private socket; the
query role's password set as ``jmmctap db init`` sets it for an external database). The replica is a
``pg_basebackup -R -S <slot>`` of it (a physical replication slot, so the primary keeps the WAL the
replica still needs), started as a hot standby on its own private socket.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from jmmctap.db.cluster import PORT, SUPERUSER, EmbeddedCluster
from jmmctap.db.connect import DATABASE, OWNER_ROLE
from jmmctap.db.migrate import init_database
from jmmctap.settings import Settings

__all__ = ["SLOT", "Replicated", "replicated_clusters"]

SLOT = "jmmctap_replica_1"
"""The replica's physical replication slot on the primary."""

_OPTIONS = "-c fsync=off -c full_page_writes=off"
"""Durability is pointless for throw-away clusters (synchronous_commit stays on: commits are replicated as usual)."""


@dataclass(frozen=True)
class Replicated:
    """The two clusters and how to reach them."""

    primary: EmbeddedCluster
    replica: EmbeddedCluster
    settings: Settings
    """DSN-mode settings of the primary, ``query_dsns`` naming the replica."""

    @property
    def primary_dsn(self) -> str:
        """The owner role on the primary (``JMMCTAP_DSN``)."""
        return self.primary.conninfo(OWNER_ROLE, DATABASE)

    @property
    def replica_dsn(self) -> str:
        """The replica's server (``JMMCTAP_QUERY_DSNS``; user and password come from the primary)."""
        return f"host={self.replica.socketdir} port={PORT} dbname={DATABASE}"

    def admin(self, cluster: EmbeddedCluster) -> psycopg.Connection[tuple[object, ...]]:
        """A superuser autocommit connection to ``cluster``."""
        return psycopg.connect(cluster.conninfo(SUPERUSER, DATABASE), autocommit=True)


def _append_conf(cluster: EmbeddedCluster, text: str) -> None:
    with (cluster.datadir / "postgresql.conf").open("a") as conf:
        conf.write(text)


@contextlib.contextmanager
def replicated_clusters(prefix: str) -> Iterator[Replicated]:
    """A primary with every migration applied and its streaming replica, both running; removed on exit."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    primary = EmbeddedCluster.from_settings(Settings(home=root / "primary"))
    replica = EmbeddedCluster.from_settings(Settings(home=root / "replica"))
    try:
        primary.initialise()
        _append_conf(primary, "\n# streaming replication (tests/support/replication.py)\n"
                              "wal_level = replica\nmax_wal_senders = 4\nmax_replication_slots = 4\n")
        primary.start(_OPTIONS)
        init_database(Settings(home=primary.home))  # embedded mode: roles, database, extension, migrations
        dsn_settings = Settings(home=root / "dsn", dsn=primary.conninfo(SUPERUSER, DATABASE))
        init_database(dsn_settings)  # DSN mode: the query role's password, kept in jmmctap.secret
        with psycopg.connect(primary.conninfo(SUPERUSER, DATABASE), autocommit=True) as conn:
            conn.execute("SELECT pg_create_physical_replication_slot(%s)", [SLOT])
        replica._prepare_directories()
        primary._run(["pg_basebackup", "-h", str(primary.socketdir), "-p", str(PORT), "-U", SUPERUSER,
                      "-D", str(replica.datadir), "-R", "-S", SLOT, "-X", "stream", "-c", "fast"])
        _append_conf(replica, f"\n# the replica's own private socket\nunix_socket_directories = '{replica.socketdir}'\n"
                              "hot_standby = on\n")
        replica.start(_OPTIONS)
        settings = Settings(home=root / "dsn", dsn=primary.conninfo(OWNER_ROLE, DATABASE),
                            query_dsns=f"host={replica.socketdir} port={PORT} dbname={DATABASE}")
        yield Replicated(primary, replica, settings)
    finally:
        for cluster in (replica, primary):
            with contextlib.suppress(Exception):
                cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
