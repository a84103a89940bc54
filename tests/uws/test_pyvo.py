"""pyvo against a live server: run_async (with MAXREC), the explicit job life cycle, an upload crossmatch."""

from __future__ import annotations

import gc
import io
from collections.abc import Iterator

import numpy as np
import pytest
import requests
from astropy.io import fits
from astropy.table import Table
from pyvo.dal import TAPService

# pyvo's submit_job posts with stream=True and never closes the redirected response: its socket is
# only reclaimed by the garbage collector, which the ``tap`` fixture runs while this filter applies
pytestmark = [pytest.mark.usefixtures("testdata"), pytest.mark.filterwarnings("ignore:unclosed:ResourceWarning")]

NUMBERS = "SELECT TOP 10 n, label FROM testdata.numbers ORDER BY n"


@pytest.fixture
def tap(live_server: str) -> Iterator[TAPService]:
    """A pyvo service whose HTTP session is closed, and leaked responses collected, at the end."""
    with requests.Session() as session:
        yield TAPService(live_server, session=session)
    gc.collect()


def test_run_async_returns_the_rows(tap: TAPService) -> None:
    result = tap.run_async(NUMBERS)
    assert list(result.to_table()["n"]) == list(range(1, 11))


def test_run_async_honours_maxrec_and_reports_overflow(tap: TAPService) -> None:
    result = tap.run_async(NUMBERS, maxrec=3)  # pyvo only warns when fewer rows than MAXREC came back
    assert list(result.to_table()["n"]) == [1, 2, 3]
    assert result.query_status == "OVERFLOW"


def test_submit_wait_fetch_delete(tap: TAPService) -> None:
    service = tap
    job = service.submit_job(NUMBERS, runid="pyvo-story")
    assert job.phase == "PENDING"
    job.run()
    job.wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=30)
    assert job.phase == "COMPLETED"
    assert len(job.fetch_result().to_table()) == 10
    assert service.get_job_list(phases=["COMPLETED"], last=20) == []  # anonymous jobs are listed to no one
    url = job.url
    job.delete()
    assert requests.get(url, timeout=10).status_code == 404


def test_async_upload_crossmatch_with_contains(tap: TAPService) -> None:
    # testdata.numbers row n sits at ra = 0.018 n, dec = (0.37 n mod 170) - 85
    wanted = np.array([7, 1234, 19999])
    targets = Table({"target": wanted, "ra": (wanted * 0.018) % 360, "dec": ((wanted * 0.37) % 170) - 85})
    query = ("SELECT t.target, n.n FROM TAP_UPLOAD.t AS t JOIN testdata.numbers AS n"
             " ON 1 = CONTAINS(POINT('ICRS', n.ra, n.dec), CIRCLE('ICRS', t.ra, t.dec, 1e-4)) ORDER BY t.target")
    result = tap.run_async(query, uploads={"t": targets}).to_table()
    assert list(result["target"]) == list(wanted)
    assert list(result["n"]) == list(wanted)


def test_sync_upload_crossmatch_with_contains(tap: TAPService) -> None:
    wanted = np.array([42, 4242])
    targets = Table({"target": wanted, "ra": (wanted * 0.018) % 360, "dec": ((wanted * 0.37) % 170) - 85})
    query = ("SELECT t.target, n.n FROM TAP_UPLOAD.t AS t JOIN testdata.numbers AS n"
             " ON 1 = CONTAINS(POINT('ICRS', n.ra, n.dec), CIRCLE('ICRS', t.ra, t.dec, 1e-4)) ORDER BY t.target")
    result = tap.run_sync(query, uploads={"t": targets}).to_table()
    assert list(result["target"]) == list(wanted) and list(result["n"]) == list(wanted)


def test_an_async_fits_result_reads_with_astropy(tap: TAPService) -> None:
    # pyvo's fetch_result parses VOTable only: the job runs through pyvo, the FITS file is read by astropy
    job = tap.submit_job("SELECT n, x, label FROM testdata.numbers ORDER BY n", maxrec=1234, responseformat="fits")
    job.run()
    job.wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=30)
    assert job.phase == "COMPLETED"
    response = requests.get(job.result_uri, timeout=30)
    assert response.headers["content-type"] == "application/fits"
    with fits.open(io.BytesIO(response.content)) as hdus:
        hdus.verify("exception")
        assert hdus[1].header["QSTATUS"] == "OVERFLOW"
        table = Table.read(hdus, hdu=1)
    assert list(table["n"]) == list(range(1, 1235))
    assert str(table["x"].unit) == "m" and table["label"][0] == "n1"
    job.delete()
