"""data_rights tells the truth at the time of the question: released data is public, embargoed data proprietary."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from jmmctap.catalogues.data_rights import keep_data_rights_current, refresh_data_rights
from jmmctap.catalogues.embargo import Embargo
from jmmctap.catalogues.obscore_store import GranuleOptions
from jmmctap.catalogues.oifits_ingest import ingest_oifits_files
from jmmctap.db.connect import conninfos
from jmmctap.settings import Settings
from tests.support.shared import SAMPLES

AMBER = SAMPLES / "oifits" / "AMBER_V838_Mon_2013-04-15_PRODUCT.fits"
MATISSE = SAMPLES / "oifits" / "MATISSE_2018-12-02T062655_HD45677_A0B2J2C1_IR-LM_LOW_Chop_cal_oifits_0.fits"


def _rights(conn: psycopg.Connection[Any], collection: str) -> tuple[str, datetime]:
    row = conn.execute("SELECT data_rights, obs_release_date FROM ivoa.obscore WHERE obs_collection = %s",
                       [collection]).fetchone()
    assert row is not None
    return row[0], row[1]


def test_a_granule_observed_in_2013_under_a_one_year_embargo_is_public_today(
        clean_catalogues: psycopg.Connection[Any]) -> None:
    ingest_oifits_files(clean_catalogues, [AMBER], GranuleOptions("eso", embargo=Embargo(1)))
    rights, release = _rights(clean_catalogues, "eso")
    assert release.date().isoformat() == "2014-04-15" and rights == "public"


def test_an_embargoed_granule_becomes_public_when_its_release_date_passes(
        clean_catalogues: psycopg.Connection[Any]) -> None:
    conn = clean_catalogues
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    ingest_oifits_files(conn, [MATISSE], GranuleOptions("later", embargo=Embargo(1), collection_release=tomorrow))
    assert _rights(conn, "later") == ("proprietary", tomorrow)
    assert refresh_data_rights(conn) == 0  # not yet
    assert refresh_data_rights(conn, at=tomorrow + timedelta(seconds=1)) == 1
    assert _rights(conn, "later")[0] == "public"
    # ingesting it again today puts the truth of today back, in place
    report = ingest_oifits_files(conn, [MATISSE], GranuleOptions("later", embargo=Embargo(1),
                                                                 collection_release=tomorrow))
    assert _rights(conn, "later")[0] == "proprietary" and len(report.granule_ids) == 1


async def test_a_running_server_releases_a_granule_when_its_date_comes(
        clean_catalogues: psycopg.Connection[Any], settings: Settings) -> None:
    conn = clean_catalogues
    ingest_oifits_files(conn, [MATISSE], GranuleOptions("later", collection_release=datetime(2999, 1, 1, tzinfo=UTC)))
    # time passes: the release date is now behind us, the stored rights are stale
    conn.execute("UPDATE ivoa.obscore SET obs_release_date = now() - interval '1 minute'"
                 " WHERE obs_collection = 'later'")
    assert _rights(conn, "later")[0] == "proprietary"
    async with AsyncConnectionPool(conninfos(settings).owner, min_size=1, max_size=1, open=False) as pool:
        await pool.open(wait=True)
        task = asyncio.create_task(keep_data_rights_current(pool))
        try:
            async with asyncio.timeout(30):
                while _rights(conn, "later")[0] != "public":
                    await asyncio.sleep(0.05)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
