"""BadCal report files: columns, values, required fields."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from jmmctap.catalogues.badcal import BADCAL_COLUMNS, read_reports
from jmmctap.errors import UsageError
from jmmctap.resources import resource_dir

HEADER = ",".join(BADCAL_COLUMNS)


def test_the_shipped_reports_read_with_types() -> None:
    reports = read_reports(resource_dir("ingest") / "samples" / "badcal" / "example_reports.csv")
    assert [r["id"] for r in reports] == [1, 2, 3]
    assert isinstance(reports[0]["obs_date"], datetime) and reports[0]["wavelength"] == 1.65


def test_a_missing_submission_date_becomes_now(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(HEADER + "\n7,HD 1,1.5,-2.5,,,,,,,,,\n")
    (report,) = read_reports(path)
    assert report["sub_date"] is not None and report["obs_date"] is None and report["ra"] == 1.5


@pytest.mark.parametrize(("line", "message"), [
    ("x,HD 1,1,2,,,,,,,,,", "line 2"),
    ("1,HD 1,one,2,,,,,,,,,", "line 2"),
    ("1,,1,2,,,,,,,,,", "required"),
    ("1,HD 1,1,2,yesterday,,,,,,,,", "line 2"),
])
def test_bad_values_are_reported_with_their_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "r.csv"
    path.write_text(HEADER + "\n" + line + "\n")
    with pytest.raises(UsageError, match=message):
        read_reports(path)


def test_missing_columns_are_named(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("id,name,ra\n1,a,2\n")
    with pytest.raises(UsageError, match="dec"):
        read_reports(path)
