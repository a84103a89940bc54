"""BadCal reports on a real server: submitted by users, published only once a moderator (API or CLI) accepts them.

The public view is the cone search ``/scs/badcal`` and TAP on ``badcal.valid_stars``; each test reports a star at
a position of its own, far from the samples, so that the cone holds only what the test published.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest
import pyvo
from astropy.io.votable import parse
from lxml import etree

from jmmctap.settings import Settings
from tests.conftest import server_env
from tests.submissions.conftest import LiveServer
from tests.support.accounts import TestAccount
from tests.test_cli import run_cli

MODERATORS = "badcal-moderators"

REPORT = {
    "name": "HD 999999", "position": {"ra": 201.2345, "dec": -63.4321}, "obs_date": "2024-05-01T03:20:00Z",
    "interferometer": "VLTI", "insname": "PIONIER", "baseline": "A0-G1", "wavelength": 1.65,
    "user_affiliation": "OCA", "user_comment": "visibilities of a binary",
}


def _cone(root: str, ra: float, dec: float) -> list[dict[str, Any]]:
    """The rows of ``/scs/badcal`` within 10 arcsec, as name → value."""
    response = httpx.get(f"{root}/scs/badcal", params={"RA": ra, "DEC": dec, "SR": 10 / 3600})
    assert response.status_code == 200, response.text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = parse(io.BytesIO(response.content)).get_first_table().to_table()
    return [{name: row[name] for name in table.colnames} for row in table]


def _submit(root: str, account: TestAccount | None, report: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{root}/badcal/reports", json=report, auth=account.basic if account else None)


def _decide(root: str, account: TestAccount, report_id: int, decision: str, note: str = "") -> httpx.Response:
    return httpx.post(f"{root}/badcal/reports/{report_id}/{decision}", json={"note": note} if note else None,
                      auth=account.basic)


def _error(response: httpx.Response) -> str:
    info = etree.fromstring(response.content).find(".//{*}INFO[@name='QUERY_STATUS']")
    assert info is not None and info.get("value") == "ERROR"
    return info.text or ""


def test_a_report_reaches_the_cone_search_only_once_a_moderator_accepts_it(
        submission_server: LiveServer, make_account: Callable[..., TestAccount],
        badcal_reports: psycopg.Connection[Any]) -> None:
    root = submission_server.root
    reporter, moderator = make_account(), make_account(groups=[MODERATORS])

    submitted = _submit(root, reporter, REPORT)

    assert submitted.status_code == 201, submitted.text
    report = submitted.json()
    assert (report["status"], report["submitted_by"], report["user_name"]) == ("pending", reporter.name, reporter.name)
    assert report["obs_date"] == "2024-05-01T03:20:00"  # UTC, as the table stores it
    assert submitted.headers["Location"].endswith(f"/badcal/reports/{report['id']}")
    assert _cone(root, 201.2345, -63.4321) == []
    assert _decide(root, reporter, report["id"], "accept").status_code == 403  # a reporter is no moderator

    accepted = _decide(root, moderator, report["id"], "accept", "confirmed by the night log")

    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted" and accepted.json()["moderated_by"] == moderator.name
    [row] = _cone(root, 201.2345, -63.4321)
    assert len(pyvo.dal.SCSService(f"{root}/scs/badcal?").search(pos=(201.2345, -63.4321), radius=0.001)) == 1
    assert {k: row[k] for k in ("name", "interferometer", "insname", "baseline", "user_name", "user_affiliation",
                                "user_comment")} == {
        "name": "HD 999999", "interferometer": "VLTI", "insname": "PIONIER", "baseline": "A0-G1",
        "user_name": reporter.name, "user_affiliation": "OCA", "user_comment": "visibilities of a binary"}
    assert row["id"] == accepted.json()["star_id"] and abs(row["wavelength"] - 1.65) < 1e-9
    assert str(row["obs_date"]).startswith("2024-05-01T03:20:00")
    assert str(row["sub_date"]).startswith(report["sub_date"][:19])
    tap = httpx.post(f"{root}/tap/sync", data={"QUERY": f"SELECT name FROM badcal.valid_stars WHERE id = {row['id']}",
                                               "FORMAT": "csv"})
    assert tap.text.splitlines() == ["name", "HD 999999"]


def test_a_rejected_report_never_appears_and_a_withdrawn_one_disappears(
        submission_server: LiveServer, make_account: Callable[..., TestAccount],
        badcal_reports: psycopg.Connection[Any]) -> None:
    root = submission_server.root
    reporter, moderator = make_account(), make_account(groups=[MODERATORS])
    rejected = _submit(root, reporter, REPORT | {"position": [12.5, 34.5]}).json()
    withdrawn = _submit(root, reporter, REPORT | {"position": [13.5, 35.5]}).json()

    assert _decide(root, moderator, rejected["id"], "reject", "a typo in the name").json()["status"] == "rejected"
    assert _decide(root, moderator, withdrawn["id"], "accept").status_code == 200
    assert len(_cone(root, 13.5, 35.5)) == 1
    assert _decide(root, moderator, withdrawn["id"], "reject").json()["star_id"] is None

    assert _cone(root, 12.5, 34.5) == [] and _cone(root, 13.5, 35.5) == []
    mine = httpx.get(f"{root}/badcal/reports/{rejected['id']}", auth=reporter.basic).json()
    assert (mine["status"], mine["moderation_note"]) == ("rejected", "a typo in the name")


def test_the_cli_lists_pending_reports_and_accepts_or_rejects_them(
        submission_server: LiveServer, settings: Settings, make_account: Callable[..., TestAccount],
        badcal_reports: psycopg.Connection[Any]) -> None:
    root = submission_server.root
    reporter = make_account()
    kept = _submit(root, reporter, REPORT | {"name": "HD 1", "position": [100.25, 20.25]}).json()
    dropped = _submit(root, reporter, REPORT | {"name": "HD 2", "position": [101.25, 21.25]}).json()
    env = server_env(settings)

    pending = run_cli("badcal", "pending", env=env)
    assert pending.returncode == 0, pending.stderr
    assert f"#{kept['id']} pending: HD 1" in pending.stdout and f"#{dropped['id']} pending: HD 2" in pending.stdout

    accepted = run_cli("badcal", "accept", str(kept["id"]), env=env)
    rejected = run_cli("badcal", "reject", str(dropped["id"]), "--note", "not a calibrator problem", env=env)

    assert accepted.returncode == 0 and f"#{kept['id']} accepted as badcal.valid_stars id" in accepted.stdout
    assert rejected.returncode == 0 and f"#{dropped['id']} rejected" in rejected.stdout
    assert [row["name"] for row in _cone(root, 100.25, 20.25)] == ["HD 1"]
    assert _cone(root, 101.25, 21.25) == []
    assert "no pending BadCal report" in run_cli("badcal", "pending", env=env).stdout
    unknown = run_cli("badcal", "accept", "999999999", env=env)
    assert unknown.returncode == 1 and "no BadCal report 999999999" in unknown.stderr


def test_reports_need_a_login_and_stay_between_their_submitter_and_the_moderators(
        submission_server: LiveServer, make_account: Callable[..., TestAccount],
        badcal_reports: psycopg.Connection[Any]) -> None:
    root = submission_server.root
    reporter, other, moderator = make_account(), make_account(), make_account(groups=[MODERATORS])
    anonymous = _submit(root, None, REPORT)
    assert anonymous.status_code == 401 and "Basic" in anonymous.headers["WWW-Authenticate"]
    report = _submit(root, reporter, REPORT).json()

    assert httpx.get(f"{root}/badcal/reports/{report['id']}", auth=other.basic).status_code == 404
    assert httpx.get(f"{root}/badcal/reports", auth=other.basic).json() == []
    assert [r["id"] for r in httpx.get(f"{root}/badcal/reports", auth=reporter.basic).json()] == [report["id"]]
    pending = httpx.get(f"{root}/badcal/reports", params={"status": "pending"}, auth=moderator.basic).json()
    assert report["id"] in [r["id"] for r in pending]
    assert httpx.get(f"{root}/badcal/reports", auth=None).status_code == 401


def test_a_form_submission_is_a_report_too(
        submission_server: LiveServer, make_account: Callable[..., TestAccount],
        badcal_reports: psycopg.Connection[Any]) -> None:
    response = httpx.post(f"{submission_server.root}/badcal/reports", auth=make_account().basic,
                          data={"name": "HD 5", "ra": "5.5", "dec": "-5.5", "wavelength": "2.2",
                                "user_name": "A. Observer"})
    assert response.status_code == 201, response.text
    assert (response.json()["ra"], response.json()["wavelength"], response.json()["user_name"]) == (5.5, 2.2,
                                                                                                    "A. Observer")


@pytest.mark.parametrize(("body", "says"), [
    ({k: v for k, v in REPORT.items() if k != "name"}, "name is required"),
    (REPORT | {"position": {"ra": 361, "dec": 0}}, "ra must be between 0 and 360"),
    (REPORT | {"position": None, "ra": 10}, "ra and dec are required"),
    (REPORT | {"colour": "red"}, "unknown field(s) colour"),
    (REPORT | {"obs_date": "yesterday"}, "obs_date must be an ISO 8601 date"),
    (REPORT | {"wavelength": -1}, "wavelength must be positive"),
    (REPORT | {"user_comment": "x" * 5000}, "user_comment is longer than 4000 characters"),
    ([REPORT], "the body must be a JSON object"),
])
def test_a_bad_report_is_refused_with_the_reason(
        submission_server: LiveServer, make_account: Callable[..., TestAccount],
        badcal_reports: psycopg.Connection[Any], body: Any, says: str) -> None:
    response = httpx.post(f"{submission_server.root}/badcal/reports", json=body, auth=make_account().basic)
    assert response.status_code == 400
    assert says in _error(response)
    assert badcal_reports.execute("SELECT count(*) FROM jmmctap_submissions.badcal_report").fetchone() == (0,)
