"""A running server sees tables published after it started."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
from asgi_lifespan import LifespanManager

from jmmctap.app import create_app
from jmmctap.context import context_of
from jmmctap.settings import Settings
from jmmctap.tapschema import Column, Schema, Table
from jmmctap.tapschema.publish import publish_schema, publish_table, unpublish_table


async def test_published_table_appears_in_the_running_app(
    settings: Settings, owner_conn: psycopg.Connection[Any]
) -> None:
    app = create_app(settings)
    async with LifespanManager(app):
        assert context_of(app).tap_schema.schema.table("watched.t") is None
        with owner_conn.transaction():
            publish_schema(owner_conn, Schema("watched", "test schema"), settings.query_role)
            owner_conn.execute("CREATE TABLE watched.t (x int)")
            publish_table(owner_conn, Table("watched", "watched.t", columns=(Column("watched.t", "x", "int"),)),
                          settings.query_role)
        for _ in range(50):
            if context_of(app).tap_schema.schema.table("watched.t") is not None:
                break
            await asyncio.sleep(0.1)
        assert context_of(app).tap_schema.schema.table("watched.t") is not None
        with owner_conn.transaction():
            unpublish_table(owner_conn, "watched.t")
            owner_conn.execute("DROP TABLE watched.t")
            owner_conn.execute("DELETE FROM tap_schema.schemas WHERE schema_name = 'watched'")
            owner_conn.execute("DROP SCHEMA watched")
        for _ in range(50):
            if context_of(app).tap_schema.schema.table("watched.t") is None:
                break
            await asyncio.sleep(0.1)
        assert context_of(app).tap_schema.schema.table("watched.t") is None
