"""Acceptance: STILTS taplint finds no error or failure in any stage, ObsLocTAP (LOC) included.

The server also publishes every real VOTable ``jmmctap ingest`` accepts (``votable_tables``: bits,
complex numbers, multidimensional arrays, other services' ObsCore...), so the metadata and query
stages (MDQ reads one row of every table) check the FIELDs and values of every ingested column type.
Warnings are printed (``pytest -s`` or the failure output) so they can be fixed or explained in the
README; only E (error) reports fail the test, and the YAR1 warnings (``arraysize="1"``, deprecated
since VOTable 1.3 Erratum 3) too. The LOC stage reads ivoa.obsplan with planned rows (the shipped Aspro2 OBs)
and performed ones (the shipped CHARA night log), so its value checks have rows of both kinds to look at.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest

from jmmctap.catalogues.chara_ingest import ingest_chara_files
from jmmctap.catalogues.obsplan_ingest import ingest_plan_files
from jmmctap.db.connect import conninfos
from jmmctap.settings import Settings
from tests.support.shared import SAMPLES
from tests.support.votables import wait_until_served

TAPLINT_STAGES = (
    "TMV", "TME", "TMS", "TMC", "CPV", "CAP", "AVV", "QGE", "QPO", "MDQ", "QAS", "UWS", "UPL", "OBS", "LOC", "EXA",
)
"""taplint stages that must report no error: all of taplint 3.4.7's."""

TAPLINT_TIMEOUT_S = 600
"""Upper bound of one taplint run; the stages above take seconds."""


def run_taplint(tap_url: str, stages: tuple[str, ...]) -> dict[str, Any]:
    """Run ``stilts taplint`` on ``tap_url`` and return its JSON report (infos included: the queries it made)."""
    stilts = shutil.which("stilts")
    if stilts is None:
        pytest.fail("stilts is not installed: apt-get install stilts (make test does it when run as root)")
    command = [stilts, "taplint", f"tapurl={tap_url}", f"stages={' '.join(stages)}", "report=EWFI",
               "format=json", "maxrepeat=1000", "truncate=400"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=TAPLINT_TIMEOUT_S, check=False)
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"taplint did not produce a JSON report (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    return report


def report_lines(report: dict[str, Any], level: str) -> list[str]:
    """``E-CAP-CPT1 text``-style lines of one report level (ERROR, WARNING, FAILURE)."""
    return [
        f"{level[0]}-{section['code']}-{item['code']} {item['text']}"
        for section in report.get("sections", [])
        for item in section.get("reports", [])
        if item.get("level") == level
    ]


@pytest.fixture(scope="module")
def obsplan_rows(settings: Settings) -> None:
    """Planned and performed rows in ivoa.obsplan (idempotent loads of the shipped plan and night log)."""
    with psycopg.connect(conninfos(settings).owner, autocommit=True) as conn:
        ingest_plan_files(conn, sorted((SAMPLES / "plan").glob("*.obx")))
        ingest_chara_files(conn, sorted((SAMPLES / "chara").glob("*.csv")))


@pytest.fixture(scope="module")
def taplint_report(live_server: str, votable_tables: dict[Path, str], obsplan_rows: None) -> dict[str, Any]:
    wait_until_served(live_server, list(votable_tables.values()))
    return run_taplint(live_server, TAPLINT_STAGES)


@pytest.mark.slow
def test_taplint_reports_no_error(taplint_report: dict[str, Any]) -> None:
    errors = report_lines(taplint_report, "ERROR")
    for line in report_lines(taplint_report, "WARNING") + report_lines(taplint_report, "FAILURE"):
        print(line)
    assert not errors, "taplint errors:\n" + "\n".join(errors)


@pytest.mark.slow
def test_taplint_finds_no_deprecated_arraysize_one(taplint_report: dict[str, Any]) -> None:
    warnings = [line for line in report_lines(taplint_report, "WARNING") if "-YAR1 " in line]
    assert not warnings, "arraysize=\"1\" in results:\n" + "\n".join(warnings)


@pytest.mark.slow
def test_taplint_read_every_ingested_table(taplint_report: dict[str, Any], votable_tables: dict[Path, str]) -> None:
    queried = {line.rpartition(" FROM ")[2] for line in report_lines(taplint_report, "INFO")
               if line.startswith("I-MDQ-QSUB ")}
    missing = set(votable_tables.values()) - queried
    assert votable_tables and not missing, f"MDQ did not query: {sorted(missing)}"


@pytest.mark.slow
def test_taplint_checked_the_obsplan_values(taplint_report: dict[str, Any]) -> None:
    # LOC's value and NULL checks are queries on ivoa.obsplan (a missing table would be F-LOC-NOTP instead)
    queries = [line for line in report_lines(taplint_report, "INFO") if line.startswith("I-LOC-")]
    assert any("execution_status" in line and "ivoa.obsplan" in line for line in queries), queries


@pytest.mark.slow
def test_taplint_ran_every_stage(taplint_report: dict[str, Any]) -> None:
    # a stage taplint skipped (or could not reach) would pass silently otherwise
    ran = {section["code"] for section in taplint_report.get("sections", [])}
    missing = set(TAPLINT_STAGES) - ran
    failures = report_lines(taplint_report, "FAILURE")
    assert not missing and not failures, f"stages not run: {sorted(missing)}; failures: {failures}"
