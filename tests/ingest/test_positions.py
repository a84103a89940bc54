"""Sexagesimal parsing and main-position detection."""

from __future__ import annotations

import pytest

from jmmctap.ingest.columns import map_fields
from jmmctap.ingest.model import FieldSpec
from jmmctap.ingest.positions import find_positions, parse_sexagesimal
from jmmctap.ingest.values import CellError


def test_hours_and_degrees_are_converted() -> None:
    assert parse_sexagesimal("12 30 00", hours=True) == pytest.approx(187.5)
    assert parse_sexagesimal("-00:30:00", hours=False) == pytest.approx(-0.5)
    assert parse_sexagesimal("00h42m43.98s", hours=True) == pytest.approx(15 * (42 / 60 + 43.98 / 3600))
    assert parse_sexagesimal(None, hours=True) is None


def test_garbage_is_refused() -> None:
    with pytest.raises(CellError):
        parse_sexagesimal("twelve", hours=True)


def test_ucd_wins_over_names() -> None:
    fields = [FieldSpec("ra", "double", unit="deg"), FieldSpec("dec", "double", unit="deg"),
              FieldSpec("RA_ICRS", "double", unit="deg", ucd="pos.eq.ra;meta.main"),
              FieldSpec("DE_ICRS", "double", unit="deg", ucd="pos.eq.dec;meta.main")]
    positions = find_positions("s.t", map_fields("s.t", fields))
    assert positions.ra is not None and positions.ra.name.db == "RA_ICRS"
    assert positions.dec is not None and positions.dec.column.indexed


def test_no_position_without_degrees() -> None:
    fields = [FieldSpec("ra", "double", unit="rad"), FieldSpec("dec", "double", unit="rad")]
    assert find_positions("s.t", map_fields("s.t", fields)).ra is None
