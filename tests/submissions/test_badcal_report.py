"""Checking a submitted BadCal report: the forms of a position, defaults, dates in UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from jmmctap.errors import UsageError
from jmmctap.submissions.badcal_report import BadcalReport, parse_report


@pytest.mark.parametrize("given", [
    {"name": "HD 1", "ra": 10.5, "dec": -20.25},
    {"name": "HD 1", "ra": "10.5", "dec": "-20.25"},
    {"name": "HD 1", "position": {"ra": 10.5, "dec": -20.25}},
    {"name": "HD 1", "position": [10.5, -20.25]},
    {"name": " HD 1 ", "ra": 370.5 - 360, "dec": -20.25, "user_comment": "  "},
])
def test_every_form_of_a_position_gives_the_same_report(given: dict[str, Any]) -> None:
    assert parse_report(given, "alice") == BadcalReport(name="HD 1", ra=10.5, dec=-20.25, user_name="alice")


def test_a_date_with_an_offset_is_stored_in_utc_and_a_day_alone_is_its_midnight() -> None:
    report = parse_report({"name": "X", "ra": 0, "dec": 0, "obs_date": "2024-05-01T05:00:00+02:00"}, "a")
    assert report.obs_date == datetime(2024, 5, 1, 3, 0)
    assert parse_report({"name": "X", "ra": 0, "dec": 0, "obs_date": "2024-05-01"}, "a").obs_date == datetime(
        2024, 5, 1)


def test_ra_360_is_ra_0() -> None:
    assert parse_report({"name": "X", "ra": 360, "dec": 0}, "a").ra == 0.0


@pytest.mark.parametrize(("given", "says"), [
    ({"name": "X", "ra": True, "dec": 0}, "ra must be a number"),
    ({"name": "X", "ra": "nan", "dec": 0}, "ra must be a finite number"),
    ({"name": "X", "ra": 0, "dec": 91}, "dec must be between -90 and 90"),
    ({"name": "X", "position": "0 0"}, "position must be"),
    ({"name": 3, "ra": 0, "dec": 0}, "name must be text"),
    ({"name": "X\x00", "ra": 0, "dec": 0}, "NUL"),
    ({"name": "X", "ra": 0, "dec": 0, "wavelength": "blue"}, "wavelength must be a number"),
])
def test_a_bad_value_is_refused_with_its_field(given: dict[str, Any], says: str) -> None:
    with pytest.raises(UsageError, match=says.replace("(", r"\(")):
        parse_report(given, "a")
