"""``LiveTapSchema`` and the generation counter of sql/0019: a stale copy is noticed and reloaded."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from jmmctap.adql import translate
from jmmctap.db.connect import conninfos
from jmmctap.db.gate import GateLimits, QueryGate
from jmmctap.db.migrate import init_database
from jmmctap.errors import UsageError
from jmmctap.query import configure_query_connection, start
from jmmctap.settings import Settings
from jmmctap.tapschema import Column, Schema, Table, TapSchema, load_tap_schema
from jmmctap.tapschema.live import LiveTapSchema, pin_metadata
from jmmctap.tapschema.publish import publish_schema, publish_table, unpublish_table

SCHEMA = "live_test"


def _generation(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT generation FROM tap_schema.generation").fetchone()
    assert row is not None
    return int(row[0])


def _publish(conn: psycopg.Connection[Any], settings: Settings, name: str, columns: tuple[str, ...]) -> None:
    with conn.transaction():
        publish_schema(conn, Schema(SCHEMA, "test schema"), settings.query_role)
        schema, table = name.split(".")
        definitions = sql.SQL(", ").join(sql.SQL("{} int").format(sql.Identifier(c)) for c in columns)
        conn.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(schema, table), definitions))
        publish_table(conn, Table(SCHEMA, name, columns=tuple(Column(name, c, "int") for c in columns)),
                      settings.query_role)


def _drop(conn: psycopg.Connection[Any]) -> None:
    with conn.transaction():
        conn.execute("DELETE FROM tap_schema.tables WHERE schema_name = %s", [SCHEMA])
        conn.execute("DELETE FROM tap_schema.schemas WHERE schema_name = %s", [SCHEMA])
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))


@pytest.fixture
async def pool(settings: Settings, owner_conn: psycopg.Connection[Any]) -> AsyncIterator[AsyncConnectionPool[Any]]:
    _drop(owner_conn)
    async with AsyncConnectionPool(conninfos(settings).owner, min_size=1, max_size=2,
                                   kwargs={"autocommit": True}) as opened:
        yield opened
    _drop(owner_conn)


def test_one_transaction_bumps_the_generation_once(settings: Settings, owner_conn: psycopg.Connection[Any]) -> None:
    _drop(owner_conn)
    before = _generation(owner_conn)
    _publish(owner_conn, settings, f"{SCHEMA}.many", tuple(f"c{i}" for i in range(12)))
    assert _generation(owner_conn) == before + 1
    _drop(owner_conn)
    assert _generation(owner_conn) == before + 2


def test_an_uncommitted_change_does_not_bump_it(settings: Settings, owner_conn: psycopg.Connection[Any]) -> None:
    before = _generation(owner_conn)
    with psycopg.connect(conninfos(settings).owner) as other:
        publish_schema(other, Schema(SCHEMA, "never committed"), settings.query_role)
        assert _generation(owner_conn) == before
        other.rollback()
    assert _generation(owner_conn) == before


def test_the_loaded_copy_carries_its_generation(owner_conn: psycopg.Connection[Any]) -> None:
    assert load_tap_schema(owner_conn).generation == _generation(owner_conn)


async def test_fresh_reloads_a_stale_copy(settings: Settings, owner_conn: psycopg.Connection[Any],
                                          pool: AsyncConnectionPool[Any]) -> None:
    seen: list[TapSchema] = []
    live = LiveTapSchema(pool, load_tap_schema(owner_conn), seen.append)
    _publish(owner_conn, settings, f"{SCHEMA}.t", ("x",))
    assert live.schema.table(f"{SCHEMA}.t") is None  # no NOTIFY watch here: only the check can see it
    fresh = await live.fresh()
    assert fresh.table(f"{SCHEMA}.t") is not None
    assert seen == [fresh]
    assert await live.fresh() is fresh  # unchanged generation: no reload


async def test_an_older_copy_is_not_adopted(owner_conn: psycopg.Connection[Any],
                                            pool: AsyncConnectionPool[Any]) -> None:
    current = load_tap_schema(owner_conn)
    live = LiveTapSchema(pool, current)
    live.offer(TapSchema(schemas=(), tables=(), generation=current.generation - 1))
    assert live.schema is current


async def test_run_retries_once_when_the_metadata_changed_under_it(
    settings: Settings, owner_conn: psycopg.Connection[Any], pool: AsyncConnectionPool[Any]
) -> None:
    live = LiveTapSchema(pool, load_tap_schema(owner_conn))
    seen: list[int] = []

    async def attempt(schema: TapSchema) -> str:
        seen.append(schema.generation)
        if len(seen) == 1:
            _publish(owner_conn, settings, f"{SCHEMA}.swapped", ("y",))  # an ingest commits meanwhile
            raise UsageError("column x does not exist")
        return "ok"

    assert await live.run(attempt) == "ok"
    assert len(seen) == 2 and seen[1] > seen[0]


async def test_run_does_not_retry_a_plain_user_error(owner_conn: psycopg.Connection[Any],
                                                     pool: AsyncConnectionPool[Any]) -> None:
    live = LiveTapSchema(pool, load_tap_schema(owner_conn))
    calls: list[TapSchema] = []

    async def attempt(schema: TapSchema) -> str:
        calls.append(schema)
        raise UsageError("bad ADQL")

    with pytest.raises(UsageError, match="bad ADQL"):
        await live.run(attempt)
    assert len(calls) == 1


def test_a_routine_init_writes_nothing(settings: Settings, owner_conn: psycopg.Connection[Any]) -> None:
    """Each CLI command runs init_database: it must not republish (every server would reload) nor re-grant."""
    before = _generation(owner_conn)
    role_row = ("SELECT s.xmin::text FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole"
                " WHERE r.rolname = %s")
    role_before = owner_conn.execute(role_row, [settings.query_role]).fetchone()
    init_database(settings)
    assert _generation(owner_conn) == before
    assert owner_conn.execute(role_row, [settings.query_role]).fetchone() == role_before


def test_concurrent_inits_all_succeed(settings: Settings) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            init_database(settings)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []


def test_unpublishing_bumps_the_generation(settings: Settings, owner_conn: psycopg.Connection[Any]) -> None:
    _drop(owner_conn)
    _publish(owner_conn, settings, f"{SCHEMA}.gone", ("x",))
    before = _generation(owner_conn)
    with owner_conn.transaction():
        unpublish_table(owner_conn, f"{SCHEMA}.gone")
    assert _generation(owner_conn) == before + 1
    _drop(owner_conn)


async def test_pin_translates_again_for_a_table_replaced_after_translation(
    settings: Settings, owner_conn: psycopg.Connection[Any], query_dsn: str, pool: AsyncConnectionPool[Any]
) -> None:
    """The replace commits between translation and execution, keeping one name with another type."""
    _publish(owner_conn, settings, f"{SCHEMA}.pinned", ("x", "y"))
    owner_conn.execute(sql.SQL("INSERT INTO {} VALUES (1, 2)").format(sql.Identifier(SCHEMA, "pinned")))
    before = load_tap_schema(owner_conn)
    adql = f"SELECT * FROM {SCHEMA}.pinned"
    first = translate(adql, before)
    with owner_conn.transaction():  # what ingest --mode replace does, in one transaction
        unpublish_table(owner_conn, f"{SCHEMA}.pinned")
        owner_conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(SCHEMA, "pinned")))
        owner_conn.execute(sql.SQL("CREATE TABLE {} (x text)").format(sql.Identifier(SCHEMA, "pinned")))
        owner_conn.execute(sql.SQL("INSERT INTO {} VALUES ('new')").format(sql.Identifier(SCHEMA, "pinned")))
        publish_table(owner_conn, Table(SCHEMA, f"{SCHEMA}.pinned", columns=(
            Column(f"{SCHEMA}.pinned", "x", "char", arraysize="*"),)), settings.query_role)
    async with AsyncConnectionPool(query_dsn, min_size=1, max_size=1, configure=configure_query_connection) as qpool:
        gate = QueryGate(qpool, GateLimits(active=1, slow=0, per_client=1, queue_wait_s=10))
        stream = await start(gate, first.sql, first.columns, adql=adql, maxrec=10, timeout_s=10,
                             pin=pin_metadata(before, first, lambda s: translate(adql, s)))
        try:
            rows = [row async for batch in stream.batches() for row in batch]
        finally:
            await stream.close()
    assert [c.name for c in stream.columns] == ["x"]
    assert rows == [("new",)]


def test_init_republishes_a_declared_table_unpublished_by_hand(settings: Settings,
                                                                owner_conn: psycopg.Connection[Any]) -> None:
    owner_conn.execute("DELETE FROM tap_schema.tables WHERE table_name = 'badcal.valid_stars'")
    init_database(settings)
    assert load_tap_schema(owner_conn).table("badcal.valid_stars") is not None
