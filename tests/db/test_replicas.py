"""Query routing to a real streaming replica: served there, signed principals, read-your-writes, skipped replicas."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

from jmmctap.acl.store import add_data_pi
from jmmctap.auth import Principal
from jmmctap.catalogs.declarations import expose_catalog
from jmmctap.catalogs.store import CatalogStore
from jmmctap.db.pools import Pools, open_pools
from jmmctap.db.replicas import ReadRouter, replica_conninfo, replica_name
from jmmctap.ingest import ingest_files
from jmmctap.query import start
from jmmctap.results import ResultColumn
from jmmctap.settings import Settings
from tests.support.accounts import create_account
from tests.support.replication import Replicated, replicated_clusters
from tests.support.spica import write_spica

FLAG = [ResultColumn("standby", "boolean")]
ON_STANDBY = "SELECT pg_is_in_recovery()"


@pytest.fixture(scope="module")
def replicated() -> Iterator[Replicated]:
    with replicated_clusters("jmmctap-replicas-") as clusters:
        yield clusters


@pytest.fixture
async def pools(replicated: Replicated) -> AsyncIterator[Pools]:
    opened = await open_pools(dataclasses.replace(replicated.settings, replica_wait_s=0.2, replica_max_lag_s=1.0))
    try:
        yield opened
    finally:
        await opened.close()


async def _served_by_standby(router: ReadRouter, **options: object) -> bool:
    stream = await start(router, ON_STANDBY, FLAG, adql="q", maxrec=1, timeout_s=5, **options)  # type: ignore[arg-type]
    try:
        rows = [row async for batch in stream.batches() for row in batch]
    finally:
        await stream.close()
    return bool(rows[0][0])


def _primary_lsn(replicated: Replicated) -> int:
    with replicated.admin(replicated.primary) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS public.ryw (x int)")
        conn.execute("INSERT INTO public.ryw VALUES (1)")
        row = conn.execute("SELECT (pg_current_wal_flush_lsn() - '0/0'::pg_lsn)::bigint").fetchone()
    assert row is not None
    return int(str(row[0]))


def test_the_replica_connection_string_has_the_query_role_and_never_prints_a_password() -> None:
    info = replica_conninfo("host=db2 port=5433 dbname=jmmctap user=someone password=other",
                            "host=db1 user=jmmctap_query password=secret dbname=jmmctap")
    assert "host=db2" in info and "port=5433" in info and "user=jmmctap_query" in info and "password=secret" in info
    assert replica_name("host=db2 port=5433 dbname=jmmctap password=x") == "db2:5433/jmmctap"


async def test_queries_run_on_the_replica_when_it_serves(pools: Pools) -> None:
    assert [r["serving"] for r in pools.reads.stats()] == [True]
    assert await _served_by_standby(pools.reads)
    assert pools.reads.stats()[0]["queries"] == 1 and pools.reads.primary_queries == 0


async def test_a_signed_principal_is_verified_on_the_hot_standby(pools: Pools, replicated: Replicated) -> None:
    """Row-level security's SECURITY DEFINER checks write nothing: they work on a read-only standby."""
    with replicated.admin(replicated.primary) as conn:
        conn.execute("INSERT INTO acl.table_grant (table_name, group_name) VALUES ('x.granted', 'team')"
                     " ON CONFLICT DO NOTHING")
    pools.reads.note_write(_primary_lsn(replicated))
    hidden = "SELECT 'x.granted' = ANY (acl.hidden_tables()), pg_is_in_recovery()"
    seen = {}
    for principal in (Principal("alice", frozenset({"team"})), Principal(None)):
        stream = await start(pools.reads, hidden, [ResultColumn("hidden", "boolean"), *FLAG], adql="q", maxrec=1,
                             timeout_s=5, principal=principal, signer=pools.signer)
        try:
            seen[principal.name] = [row async for batch in stream.batches() for row in batch]
        finally:
            await stream.close()
    assert seen == {"alice": [(False, True)], None: [(True, True)]}


async def test_a_write_the_replica_has_not_replayed_sends_the_query_to_the_primary(
    pools: Pools, replicated: Replicated
) -> None:
    with replicated.admin(replicated.replica) as standby:
        standby.execute("SELECT pg_wal_replay_pause()")
        try:
            pools.reads.note_write(_primary_lsn(replicated))
            assert not await _served_by_standby(pools.reads)  # waited replica_wait_s, then the primary
            assert pools.reads.primary_queries == 1
        finally:
            standby.execute("SELECT pg_wal_replay_resume()")
    assert await _served_by_standby(pools.reads)  # replayed now: the replica has the write


async def test_a_fence_the_replica_reaches_while_waiting_keeps_the_query_there(
    pools: Pools, replicated: Replicated
) -> None:
    pools.reads.note_write(_primary_lsn(replicated))  # streaming replays it in well under replica_wait_s
    assert await _served_by_standby(pools.reads)


async def test_a_lagging_replica_is_skipped_with_the_reason(pools: Pools, replicated: Replicated) -> None:
    with replicated.admin(replicated.replica) as standby:
        standby.execute("SELECT pg_wal_replay_pause()")
        try:
            for _ in range(200):  # each check samples the primary; the replica falls behind the max lag
                _primary_lsn(replicated)
                await pools.reads.check(pools.owner)
                if not pools.reads.stats()[0]["serving"]:
                    break
                await asyncio.sleep(0.05)
            state = pools.reads.stats()[0]
            assert state["skipped"] is not None and state["skipped"].startswith("lagging")
            assert "JMMCTAP_REPLICA_MAX_LAG_S" in state["skipped"]
            assert not await _served_by_standby(pools.reads)
        finally:
            standby.execute("SELECT pg_wal_replay_resume()")
    for _ in range(200):
        await pools.reads.check(pools.owner)
        if pools.reads.stats()[0]["serving"]:
            break
        await asyncio.sleep(0.05)
    assert pools.reads.stats()[0]["serving"]


async def test_an_unreachable_replica_is_skipped_and_the_primary_answers(replicated: Replicated) -> None:
    settings = dataclasses.replace(replicated.settings, query_dsns="host=/nonexistent port=5432 dbname=jmmctap")
    opened = await open_pools(settings)
    try:
        state = opened.reads.stats()[0]
        assert not state["serving"] and state["skipped"].startswith("unreachable")
        assert not await _served_by_standby(opened.reads)
    finally:
        await opened.close()


def test_query_dsns_need_a_primary_dsn() -> None:
    from jmmctap.errors import ConfigError

    with pytest.raises(ConfigError, match="JMMCTAP_QUERY_DSNS"):
        Settings(query_dsns="host=replica dbname=jmmctap")
    assert Settings(dsn="host=a", query_dsns=" host=b ; host=c ;").replica_dsns == ("host=b", "host=c")


def test_the_replica_accepts_no_write(replicated: Replicated) -> None:
    with replicated.admin(replicated.replica) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("CREATE TABLE public.nope (x int)")


async def test_a_catalog_api_write_is_read_back_at_once_whatever_the_replica(
    pools: Pools, replicated: Replicated, tmp_path: Path
) -> None:
    """The writer's next query sees its change: the write's WAL position fences the replica (db.replicas)."""
    with psycopg.connect(replicated.primary_dsn, autocommit=True) as conn:  # the owner, as the catalog API needs
        if conn.execute("SELECT to_regclass('spica.spica')").fetchone() == (None,):
            ingest_files(conn, [write_spica(tmp_path / "spica.vot")], "spica.spica", mode="create",
                         query_role=replicated.settings.query_role, force=True)
            expose_catalog(conn, "spica.spica", "spicadb_id", ["piname", "piname2"])
            create_account(conn, "carol")
            add_data_pi(conn, "carol", "Carol PI")
    carol = Principal("carol")
    read = "SELECT priority_pi FROM spica.spica WHERE spicadb_id = 1"
    with replicated.admin(replicated.replica) as standby:
        standby.execute("SELECT pg_wal_replay_pause()")  # the replica cannot have the write
        try:
            fence = pools.reads.fence
            await CatalogStore(pools, "test").change_rows(carol, "spica.spica", [{"spicadb_id": 1, "priority_pi": 7}],
                                                          adding=False)
            assert pools.reads.fence > fence
            stream = await start(pools.reads, read, [ResultColumn("p", "short")], adql="q", maxrec=1, timeout_s=5,
                                 principal=carol, signer=pools.signer)
            try:
                assert [row async for batch in stream.batches() for row in batch] == [(7,)]
            finally:
                await stream.close()
        finally:
            standby.execute("SELECT pg_wal_replay_resume()")
