"""The database results store: results and uploads in chunks, served with ranges and codings, gone with their job."""

from __future__ import annotations

import gzip
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from astropy.io.votable import parse_single_table
from lxml import etree
from psycopg_pool import AsyncConnectionPool

from jmmctap.app import create_app
from jmmctap.errors import JobStateError
from jmmctap.settings import Settings
from jmmctap.uws.dbfiles import CHUNK_BYTES, DatabaseResultStore
from jmmctap.uws.models import ExecutionPhase
from jmmctap.uws.store import JobStore
from tests.uws.conftest import make_job, read_stored

UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"
UPLOAD = (b'<VOTABLE version="1.4"><RESOURCE><TABLE><FIELD name="n" datatype="int"/>'
          b"<DATA><TABLEDATA><TR><TD>7</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>")
BIG = "SELECT TOP 300000 a.n, b.label FROM testdata.numbers AS a, testdata.numbers AS b"
"""A result of several chunks (about 3 MB as CSV)."""


async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@pytest.fixture
async def db_client(uws_settings: Settings, tmp_path: Path, store: JobStore) -> AsyncIterator[httpx.AsyncClient]:
    """One job slot, results in the database (and a results directory that must stay empty)."""
    configured = replace(uws_settings, results_dir=tmp_path / "results", results_store="database", async_workers=1)
    async for client in _client(configured):
        yield client


async def _count(pool: AsyncConnectionPool[Any], job_id: str) -> tuple[int, int]:
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT (SELECT count(*) FROM uws.stored_file WHERE job_id = %s),"
                                    " (SELECT count(*) FROM uws.stored_chunk WHERE job_id = %s)", [job_id, job_id])
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def _run(client: httpx.AsyncClient, data: dict[str, str], files: Any = None) -> tuple[str, int]:
    created = await client.post("/tap/async", data={"LANG": "ADQL", "PHASE": "RUN", **data}, files=files)
    assert created.status_code == 303
    url = created.headers["location"].removeprefix("http://testserver")
    for _ in range(30):
        job = etree.fromstring((await client.get(url, params={"WAIT": "10"})).content)
        if job.findtext(f"{UWS}phase") not in ("PENDING", "QUEUED", "EXECUTING"):
            assert job.findtext(f"{UWS}phase") == "COMPLETED", etree.tostring(job)
            return url, int(job.find(f"{UWS}results/{UWS}result").get("size"))
    raise AssertionError("the job did not finish")


async def test_a_result_and_its_upload_live_in_the_database_and_go_with_the_job(
    db_client: httpx.AsyncClient, owner_pool: AsyncConnectionPool[Any], tmp_path: Path
) -> None:
    url, size = await _run(db_client, {"QUERY": "SELECT n FROM TAP_UPLOAD.t", "UPLOAD": "t,param:f"},
                           files={"f": ("t.xml", UPLOAD)})
    job_id = url.rsplit("/", 1)[1]
    as_stored = await db_client.get(url + "/results/result", headers={"Accept-Encoding": "gzip"})
    assert as_stored.headers["content-encoding"] == "gzip" and as_stored.headers["vary"] == "Accept-Encoding"
    plain = await db_client.get(url + "/results/result", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert int(plain.headers["content-length"]) == size == len(plain.content)
    assert list(parse_single_table(io.BytesIO(plain.content)).array["n"]) == [7]
    assert (await db_client.get(url + "/parameters/f")).content == UPLOAD
    assert await _count(owner_pool, job_id) == (2, 2)  # the result and the upload, one chunk each
    assert not (tmp_path / "results").exists()  # no disk involved
    assert (await db_client.delete(url)).status_code == 303
    assert await _count(owner_pool, job_id) == (0, 0)


async def test_ranges_of_a_result_of_several_chunks(uws_settings: Settings, tmp_path: Path, store: JobStore) -> None:
    configured = replace(uws_settings, results_dir=tmp_path, results_store="database", async_workers=1, gzip_level=0)
    async for client in _client(configured):
        url, size = await _run(client, {"QUERY": BIG, "RESPONSEFORMAT": "csv", "MAXREC": "400000"})
        whole = await client.get(url + "/results/result")
        assert whole.status_code == 200 and len(whole.content) == size > 2 * CHUNK_BYTES
        assert whole.headers["accept-ranges"] == "bytes" and whole.content.count(b"\n") == 300001
        etag = whole.headers["etag"]
        for header, start, end in [(f"bytes={CHUNK_BYTES - 10}-{CHUNK_BYTES + 9}", CHUNK_BYTES - 10, CHUNK_BYTES + 10),
                                   ("bytes=5-", 5, size), ("bytes=-100", size - 100, size), ("bytes=0-0", 0, 1)]:
            part = await client.get(url + "/results/result", headers={"Range": header})
            assert part.status_code == 206 and part.content == whole.content[start:end], header
            assert part.headers["content-range"] == f"bytes {start}-{end - 1}/{size}"
        assert (await client.get(url + "/results/result", headers={"Range": f"bytes={size}-"})).status_code == 416
        stale = await client.get(url + "/results/result", headers={"Range": "bytes=0-9", "If-Range": '"other"'})
        assert stale.status_code == 200 and stale.content == whole.content
        fresh = await client.get(url + "/results/result", headers={"Range": "bytes=0-9", "If-Range": etag})
        assert fresh.status_code == 206 and fresh.content == whole.content[:10]


async def test_a_gzipped_result_of_several_chunks_is_decompressed_for_plain_clients(
    uws_settings: Settings, tmp_path: Path, store: JobStore
) -> None:
    configured = replace(uws_settings, results_dir=tmp_path, results_store="database", async_workers=1)
    async for client in _client(configured):
        query = "SELECT TOP 700000 a.n, b.n AS m, b.label FROM testdata.numbers AS a, testdata.numbers AS b"
        url, size = await _run(client, {"QUERY": query, "RESPONSEFORMAT": "votable/td", "MAXREC": "800000"})
        async with client.stream("GET", url + "/results/result", headers={"Accept-Encoding": "gzip"}) as response:
            assert response.headers["content-encoding"] == "gzip"
            as_stored = b"".join([chunk async for chunk in response.aiter_raw()])
        plain = await client.get(url + "/results/result", headers={"Accept-Encoding": "identity"})
        assert len(as_stored) > CHUNK_BYTES  # several chunks of gzip stream
        assert len(plain.content) == size and gzip.decompress(as_stored) == plain.content


async def test_a_result_being_written_goes_when_its_job_is_aborted(
    store: JobStore, owner_pool: AsyncConnectionPool[Any]
) -> None:
    results = DatabaseResultStore(owner_pool)
    job = make_job(ExecutionPhase.EXECUTING)
    await store.insert(job)
    with pytest.raises(JobStateError):
        async with results.result_writer(job.job_id, gzipped=False) as writer:
            await writer.write(b"x" * (2 * CHUNK_BYTES + 5))
            assert await _count(owner_pool, job.job_id) == (1, 2)
            await store.abort(job.job_id)  # the trigger deletes it, in the abort's transaction
            assert await _count(owner_pool, job.job_id) == (0, 0)
            await writer.write(b"y" * CHUNK_BYTES)  # the next chunk finds no file: the job was stopped
    assert await _count(owner_pool, job.job_id) == (0, 0)


async def test_a_result_is_written_only_for_an_executing_job(
    store: JobStore, owner_pool: AsyncConnectionPool[Any]
) -> None:
    results = DatabaseResultStore(owner_pool)
    job = make_job(ExecutionPhase.QUEUED)
    await store.insert(job)
    with pytest.raises(JobStateError):
        async with results.result_writer(job.job_id, gzipped=False):
            pass
    assert await _count(owner_pool, job.job_id) == (0, 0)


async def test_an_unpublished_result_is_discarded_and_a_published_one_goes_with_expiry(
    store: JobStore, owner_pool: AsyncConnectionPool[Any]
) -> None:
    results = DatabaseResultStore(owner_pool)
    job = make_job(ExecutionPhase.EXECUTING)
    await store.insert(job)
    with pytest.raises(RuntimeError):
        async with results.result_writer(job.job_id, gzipped=False) as writer:
            await writer.write(b"partial")
            raise RuntimeError("the query failed")
    assert await _count(owner_pool, job.job_id) == (0, 0)
    async with results.result_writer(job.job_id, gzipped=True) as writer:
        await writer.write(b"z" * (CHUNK_BYTES + 1))
        assert await writer.publish() == CHUNK_BYTES + 1
    assert await read_stored(results, job.job_id) == b"z" * (CHUNK_BYTES + 1)
    async with owner_pool.connection() as conn:
        await conn.execute("UPDATE uws.job SET destruction = now() - interval '1 s' WHERE job_id = %s", [job.job_id])
    assert [s.job_id for s in await store.delete_expired()] == [job.job_id]
    assert await _count(owner_pool, job.job_id) == (0, 0)


async def test_uploads_of_a_job_never_created_are_swept(store: JobStore, owner_pool: AsyncConnectionPool[Any]) -> None:
    results = DatabaseResultStore(owner_pool)
    kept = make_job()
    await store.insert(kept)
    await results.save_upload(kept.job_id, "t", io.BytesIO(UPLOAD), 10_000)
    await results.save_upload("never-created", "t", io.BytesIO(UPLOAD), 10_000)
    async with owner_pool.connection() as conn:
        await conn.execute("UPDATE uws.stored_file SET created = now() - interval '2 hours'")
    await results.remove_orphans(store.existing)
    assert await _count(owner_pool, "never-created") == (0, 0)
    assert await read_stored(results, kept.job_id, "t") == UPLOAD
    await results.save_upload("never-created", "t", io.BytesIO(UPLOAD), 10_000)
    await results.remove_orphans(store.existing)  # a young one may be a job being created
    assert await _count(owner_pool, "never-created") == (1, 1)
    await results.remove("never-created")
