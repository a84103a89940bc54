"""The ``sync-eso`` service: harvest the ESO archive's interferometric exposures into obsportal, resumably.

A run asks the archive's TAP service for the ``dbo.raw`` rows of the VLTI instruments changed after
the checkpoint (``last_mod_date``, then ``dp_id``: keyset pages), fetches each one's header and stores
it with the same code as ``ingest-eso`` (``store_eso_headers``). Each exposure is stored, recorded and
the checkpoint advanced in one transaction: a run killed at any moment loses nothing, and the next
one starts after the last exposure committed, so nothing is fetched or stored twice. One run at a
time, whichever process starts it: a session advisory lock (``eso_sync_store.lock_sync``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from tqdm import tqdm

from jmmctap.catalogues.eso_archive import ArchiveRow, Checkpoint, EsoArchive
from jmmctap.catalogues.eso_ingest import OBSPORTAL_TABLES, store_eso_headers
from jmmctap.catalogues.eso_sync_store import (
    SyncRun,
    advance_checkpoint,
    finish_run,
    handled_before,
    lock_sync,
    read_checkpoint,
    record_exposure,
    start_run,
)
from jmmctap.catalogues.obscore_l0 import derive_l0_granules
from jmmctap.catalogues.obsportal_store import publish_stations
from jmmctap.catalogues.targets import DEFAULT_RADIUS_ARCSEC
from jmmctap.db.connect import connect, conninfos
from jmmctap.errors import ConflictError, JmmctapError, NotFoundError, ServiceUnavailableError, UsageError
from jmmctap.ingest.loader import log_ingest
from jmmctap.settings import Settings
from jmmctap.tapschema.publish import refresh_row_counts

__all__ = ["SyncOptions", "keep_eso_synced", "sync_eso"]

log = logging.getLogger(__name__)

_COUNTED_TABLES = (*OBSPORTAL_TABLES, "ivoa.obscore")
"""Tables whose TAP_SCHEMA row counts a run refreshes when it stored something."""


@dataclass(frozen=True)
class SyncOptions:
    """How one run goes besides the settings."""

    radius_arcsec: float = DEFAULT_RADIUS_ARCSEC
    """Target grouping and JSDC matching radius, as ``ingest-eso --radius``."""
    progress: bool = False
    """Show a progress bar on stderr (a terminal)."""
    stop: threading.Event | None = None
    """Set by another thread to end the run after the exposure in hand (a server shutting down)."""


def sync_eso(settings: Settings, options: SyncOptions = SyncOptions(), archive: EsoArchive | None = None) -> SyncRun:
    """Run one sync to the end of the archive's changes (or until stopped, or the archive fails).

    Parameters
    ----------
    settings
        The process's settings (database, ``eso_*`` URLs and bounds).
    options
        Radius, progress bar, stop flag.
    archive
        The archive client (default: ``EsoArchive(settings)``, closed at the end).

    Returns
    -------
    SyncRun
        The run as recorded: status ``ok``, or ``error`` with the reason it stopped early.

    Raises
    ------
    ConflictError
        Another sync is running.
    """
    client = archive or EsoArchive(settings)
    try:
        with connect(conninfos(settings).owner, autocommit=True) as conn:
            lock_sync(conn)
            with conn.transaction():
                publish_stations(conn)
            checkpoint = read_checkpoint(conn)
            run_id = start_run(conn, checkpoint)
            started = datetime.now(UTC)
            error: str | None = None
            stored = 0
            try:
                stored = _run(conn, client, settings, options, run_id, checkpoint)
            except ServiceUnavailableError as exc:
                error = exc.message
            except BaseException as exc:  # recorded, then raised: the run must not stay 'running'
                with contextlib.suppress(psycopg.Error):  # a lost connection: the next run marks it interrupted
                    finish_run(conn, run_id, f"{type(exc).__name__}: {exc}")
                raise
            if options.stop is not None and options.stop.is_set() and error is None:
                error = "stopped before the end: the process is shutting down"
            with conn.transaction():
                if stored:
                    refresh_row_counts(conn, _COUNTED_TABLES)
                    log_ingest(conn, "obsportal.exposures", "update", [settings.eso_tap_url], [""], stored, started)
                run = finish_run(conn, run_id, error)
    finally:
        if archive is None:
            client.close()
    return run


def _run(conn: psycopg.Connection[Any], archive: EsoArchive, settings: Settings, options: SyncOptions, run_id: int,
         checkpoint: Checkpoint) -> int:
    """Handle every changed exposure page by page; returns how many were inserted or updated."""
    bar = None
    if options.progress:
        bar = tqdm(total=archive.count_changed(checkpoint), unit="exp", desc="sync-eso", dynamic_ncols=True)
    stored = 0
    try:
        while True:
            rows = archive.changed_rows(checkpoint)
            for row in rows:
                if options.stop is not None and options.stop.is_set():
                    return stored
                stored += _sync_exposure(conn, archive, run_id, row, options.radius_arcsec)
                checkpoint = Checkpoint(row.last_mod_date, row.dp_id)
                if bar is not None:
                    bar.update()
            if len(rows) < settings.eso_sync_page_size:
                return stored
    finally:
        if bar is not None:
            bar.close()


def _sync_exposure(conn: psycopg.Connection[Any], archive: EsoArchive, run_id: int, row: ArchiveRow,
                   radius_arcsec: float) -> int:
    """Fetch, store and record one exposure in one transaction; 1 when it was inserted or updated."""
    if handled_before(conn, row):  # already in at this last_mod_date: move on without fetching it again
        with conn.transaction():
            advance_checkpoint(conn, row)
        return 0
    try:
        source = archive.header(row.dp_id)
    except (NotFoundError, UsageError) as exc:  # permanent: recorded as failed, tried again if the row changes
        with conn.transaction():
            record_exposure(conn, run_id, row, "failed", exc.message)
        log.warning("sync-eso: %s", exc.message)
        return 0
    with conn.transaction():
        report = store_eso_headers(conn, [source], radius_arcsec, derive_l0=derive_l0_granules)
        if report.rejected:
            record_exposure(conn, run_id, row, "failed", report.rejected[0][1])
            return 0
        outcome = "inserted" if report.inserted else "updated" if report.updated else "unchanged"
        record_exposure(conn, run_id, row, outcome)
    return 0 if outcome == "unchanged" else 1


async def keep_eso_synced(settings: Settings) -> None:
    """Run until cancelled: a sync every ``eso_sync_interval_s`` seconds (``serve`` and ``worker``).

    Each process of the database may run it: the sync lock lets one run at a time, and the others
    skip their turn. A failed run is logged and the next one resumes where it stopped.
    """
    stop = threading.Event()
    try:
        while True:
            await asyncio.to_thread(_scheduled_sync, settings, stop)
            await asyncio.sleep(settings.eso_sync_interval_s)
    finally:
        stop.set()  # a run in its thread ends after the exposure in hand


def _scheduled_sync(settings: Settings, stop: threading.Event) -> None:
    try:
        run = sync_eso(settings, SyncOptions(stop=stop))
    except ConflictError:
        log.info("sync-eso: skipped, another process is syncing")
        return
    except (JmmctapError, psycopg.Error, OSError) as exc:
        log.warning("sync-eso failed: %s", exc)
        return
    log.info("sync-eso: %s, %d added, %d updated, %d unchanged, %d failed%s", run.status, run.added, run.updated,
             run.unchanged, run.failed, f" ({run.last_error})" if run.last_error else "")
