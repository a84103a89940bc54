"""The portal in a real headless browser (Debian's Chromium driven by Playwright), as an astronomer uses it.

Screenshots of each step are kept as test artefacts in ``$JMMCTAP_TEST_ARTEFACTS/portal`` (default
``test-artefacts/portal`` in the repository). ``make test`` installs Chromium
(``scripts/install-system-deps.sh test``); without it these tests are skipped and say why.
"""

from __future__ import annotations

import io
import os
import queue
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from astropy.io.votable import parse_single_table
from playwright.sync_api import Browser, Page, sync_playwright

from jmmctap.settings import Settings
from tests.conftest import free_port, server_env, spawn_server, stop_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ACHERNAR_NAMES = {"ACHERNAR", "ALP_ERI", "ALF_ERI", "HD10144", "HD_10144", "HR472", "HR_472"}
"""Names of Achernar in the sample files, upper-cased."""
ARTEFACTS = Path(os.environ.get("JMMCTAP_TEST_ARTEFACTS", Path(__file__).parents[2] / "test-artefacts")) / "portal"

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="Chromium is not installed: scripts/install-system-deps.sh test installs it"),
    pytest.mark.usefixtures("samples"),
]


@pytest.fixture(scope="module")
def site(settings: Settings, samples: None) -> Iterator[str]:
    """A real ``jmmctap serve`` on the sample data; yields its root URL."""
    port = free_port()
    process = spawn_server(server_env(settings), port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(process)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def _shot(page: Page, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=False)


def _column(page: Page, name: str) -> list[str]:
    headers = [h.strip() for h in page.locator("table.results thead th a").all_inner_texts()]
    index = headers.index(name)
    return [row.locator("td").nth(index).inner_text() for row in page.locator("table.results tbody tr").all()]


def test_from_the_landing_page_a_name_search_finds_achernars_pionier_products_and_downloads_them(
        site: str, page: Page) -> None:
    page.goto(site + "/")
    _shot(page, "1-landing")
    page.get_by_role("link", name="OiDB data products (ObsCore)").first.click()
    page.get_by_label("Target name or coordinates").fill("Achernar")
    page.get_by_label("Instrument").fill("PIONIER")
    page.get_by_role("button", name="Search").click()
    page.wait_for_selector("#results")
    _shot(page, "2-obscore-achernar")
    instruments = _column(page, "instrument_name")
    assert instruments and all("PIONIER" in i for i in instruments)
    # the cone finds Achernar under every name its files give it
    assert {t.upper().replace(" ", "_") for t in _column(page, "target_name")} <= ACHERNAR_NAMES
    preview = page.locator("a.preview").first
    preview_url = preview.get_attribute("href")
    assert preview_url is not None and preview_url.startswith("/previews/")
    with page.expect_response(lambda r: r.url.endswith(preview_url)) as opened:
        preview.click()
    assert opened.value.ok and opened.value.headers["content-type"] == "image/png"
    _shot(page, "2b-preview")
    page.go_back()
    page.wait_for_selector("#results")
    href = page.get_by_role("link", name="VOTable", exact=True).get_attribute("href")
    assert href is not None
    download = page.request.get(href)
    assert download.ok and download.headers["content-type"].startswith("application/x-votable+xml")
    table = parse_single_table(io.BytesIO(download.body())).to_table()
    assert len(table) == len(instruments)


def test_a_jsdc_search_by_diameter_range(site: str, page: Page) -> None:
    page.goto(site + "/search/jsdc")
    page.get_by_label("Limb-darkened disk diameter minimum").fill("1")
    page.get_by_label("Limb-darkened disk diameter maximum").fill("3")
    page.get_by_role("button", name="Search").click()
    page.wait_for_selector("#results")
    _shot(page, "3-jsdc-diameters")
    diameters = [float(v) for v in _column(page, "LDD")]
    assert diameters and all(1 <= d <= 3 for d in diameters)
    assert "LDD >= 1.0" in page.locator("#adql").inner_text()  # the form shows the ADQL it ran


def test_an_example_runs_from_the_adql_page(site: str, page: Page) -> None:
    page.goto(site + "/adql")
    example = page.locator("a.example").first
    expected = example.get_attribute("data-query")
    example.click()
    assert page.locator("#query").input_value().strip() == (expected or "").strip()
    page.get_by_role("button", name="Run").click()
    page.wait_for_selector("#results")
    _shot(page, "4-adql-example")
    assert page.locator("table.results tbody tr").count() > 0


def test_bad_adql_is_marked_at_its_line_and_column(site: str, page: Page) -> None:
    page.goto(site + "/adql")
    page.locator("#query").fill("SELECT TOP 3\n  Name\nFROM jsdc.jsdc_v2 WHERE LDD >> 2")
    page.get_by_role("button", name="Run").click()
    page.wait_for_selector("#error")
    _shot(page, "5-adql-error")
    assert "line 3, column 30" in page.locator("#error").inner_text()
    assert page.locator("#error-line").inner_text() == "FROM jsdc.jsdc_v2 WHERE LDD >> 2"
    # the cursor is put on the offending character: line 3, column 30
    start = page.evaluate("document.getElementById('query').selectionStart")
    assert start == len("SELECT TOP 3\n  Name\n") + 29


class _ConsentingUser:
    """The hub's web-profile consent dialog, answered yes by the test (and what it was asked, kept)."""

    def __init__(self) -> None:
        self.queue_request: queue.Queue[Any]
        self.queue_result: queue.Queue[bool]
        self.asked: list[Any] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._answer, daemon=True)
        self._thread.start()

    def _answer(self) -> None:
        while not self._stop.is_set():
            try:
                request = self.queue_request.get(timeout=0.05)
            except (AttributeError, queue.Empty):  # the hub has not set its queues yet
                time.sleep(0.05)
                continue
            self.asked.append(request)
            self.queue_result.put(True)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


def test_send_to_topcat_broadcasts_the_votable_url_over_samp(site: str, page: Page,
                                                               tmp_path: Path) -> None:
    """A real SAMP hub (pyvo.samp, with the Web Profile) and a real receiving client, as TOPCAT would be."""
    from pyvo.samp import SAMPHubServer, SAMPIntegratedClient

    user = _ConsentingUser()
    hub = SAMPHubServer(web_profile=True, web_profile_dialog=user, mode="multiple",
                        lockfile=str(tmp_path / "samp.lock"))
    try:
        hub.start()
    except OSError as exc:  # the Web Profile's port 21012 is fixed by the standard
        user.stop()
        pytest.skip(f"cannot start a SAMP hub with the Web Profile here: {exc}")
    received: list[dict[str, Any]] = []
    receiver = SAMPIntegratedClient(name="receiver (as TOPCAT)")
    try:
        receiver.connect(hub=hub)
        receiver.bind_receive_notification(
            "table.load.votable", lambda private_key, sender_id, mtype, params, extra: received.append(params))
        page.goto(site + "/search/jsdc?run=1&LDD_min=1&LDD_max=3")
        page.get_by_role("button", name="Send to TOPCAT / Aspro2 (SAMP)").click()
        page.wait_for_function("document.querySelector('.samp-status').textContent === 'Sent.'", timeout=20_000)
        _shot(page, "6-samp-sent")
        deadline = time.monotonic() + 10
        while not received and time.monotonic() < deadline:
            time.sleep(0.1)
        assert received, "the receiving client got no table.load.votable"
        url = received[0]["url"]
        assert url.startswith(site + "/tap/sync?") and "FORMAT=votable" in url
        assert user.asked and "jmmctap portal" in str(user.asked[0])
        assert parse_single_table(io.BytesIO(httpx.get(url, timeout=30).content)).to_table()["LDD"].min() >= 1
    finally:
        if receiver.is_connected:
            receiver.disconnect()
        hub.stop()
        user.stop()
