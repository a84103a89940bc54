"""A private PostgreSQL cluster for tests that stop, crash or count it (the session's cluster is shared)."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg

from jmmctap.db.cluster import EmbeddedCluster
from jmmctap.db.connect import conninfos
from jmmctap.db.migrate import init_database
from jmmctap.settings import Settings
from tests.support.testdata import create_testdata

__all__ = ["private_cluster"]


@contextlib.contextmanager
def private_cluster(prefix: str, options: str, *, port: int, testdata: bool = True) -> Iterator[Settings]:
    """Settings of a new cluster in a temporary home, every migration applied (and the test tables).

    ``options`` are the server options (the fast, non-durable ones, or ``""`` for a crash test).
    """
    home = Path(tempfile.mkdtemp(prefix=prefix))
    settings = Settings(home=home, port=port)
    cluster = EmbeddedCluster.from_settings(settings)
    cluster.start(options)
    try:
        init_database(settings)
        if testdata:
            with psycopg.connect(conninfos(settings).owner, autocommit=True) as conn:
                create_testdata(conn, settings.query_role)
        yield settings
    finally:
        cluster.stop()
        shutil.rmtree(home, ignore_errors=True)
