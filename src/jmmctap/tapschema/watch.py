"""Keep a server's ``TapSchema`` warm: LISTEN for the change notification of sql/0006 and reload.

Correctness does not depend on it: each query checks the TAP_SCHEMA generation (``live.py``).
This only spares the first query after a change the reload.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import psycopg

from jmmctap.tapschema.load import load_tap_schema_async
from jmmctap.tapschema.model import TapSchema

__all__ = ["CHANNEL", "watch_tap_schema"]

log = logging.getLogger(__name__)

CHANNEL = "jmmctap_tap_schema"
"""NOTIFY channel raised by the triggers on the TAP_SCHEMA tables."""

_SETTLE_S = 0.1
"""Pause after a notification so that a burst of them (several ingests) costs one reload."""

_RETRY_S = 2.0


async def watch_tap_schema(conninfo: str, on_change: Callable[[TapSchema], None]) -> None:
    """Run until cancelled: reload TAP_SCHEMA after every change and hand it to ``on_change``.

    The first reload happens right after LISTEN, so no change between the server's initial load
    and the start of the watch is missed. A lost connection is retried.
    """
    while True:
        try:
            # Not ``async with``: when the server stops, the task is cancelled in an anyio scope that cancels
            # every later await too, so the rollback of the connection's __aexit__ could be cancelled in turn
            # and skip the close (a leaked connection). close() never waits.
            conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
            try:
                await conn.execute(f"LISTEN {CHANNEL}")
                on_change(await load_tap_schema_async(conn))
                while True:
                    # One notification at a time: the generator holds the connection, and the
                    # reload needs it.
                    async for _ in conn.notifies(stop_after=1):
                        pass
                    await asyncio.sleep(_SETTLE_S)
                    on_change(await load_tap_schema_async(conn))
            finally:
                await conn.close()
        except psycopg.Error as exc:
            log.warning("TAP_SCHEMA watch interrupted (%s); retrying", exc)
            await asyncio.sleep(_RETRY_S)
