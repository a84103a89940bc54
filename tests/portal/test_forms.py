"""Search forms come from TAP_SCHEMA's UCDs; what users type reaches ADQL only as checked literals."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from jmmctap.adql import translate
from jmmctap.errors import UsageError
from jmmctap.portal.forms import FAMILIES, Position, build_form, form_adql
from jmmctap.portal.search import parse_coordinates
from jmmctap.tapschema import TapSchema
from jmmctap.tapschema.load import load_tap_schema


@pytest.fixture(scope="module")
def schema(settings: Any) -> TapSchema:
    from jmmctap.db.connect import conninfos

    with psycopg.connect(conninfos(settings).owner) as conn:
        return load_tap_schema(conn)


def _form(schema: TapSchema, key: str) -> Any:
    family = next(f for f in FAMILIES if f.key == key)
    table = schema.table(family.table)
    assert table is not None
    return build_form(key, family.title, table)


def test_obscore_form_offers_cone_name_instrument_programme_dates_and_calibration_level(schema: TapSchema) -> None:
    form = _form(schema, "obscore")
    assert (form.ra.name, form.dec.name) == ("s_ra", "s_dec")
    fields = {f.key: f for f in form.fields}
    assert fields["name"].columns[0].name == "target_name"
    assert fields["instrument"].columns[0].name == "instrument_name"
    assert fields["programme"].columns[0].name == "progid"
    assert [c.name for c in fields["date"].columns] == ["t_min", "t_max"]
    assert fields["calib"].choices == ("0", "1", "2", "3")


def test_jsdc_form_offers_ranges_of_its_principal_diameters_and_magnitudes(schema: TapSchema) -> None:
    form = _form(schema, "jsdc")
    ranges = [f.columns[0].name for f in form.fields if f.kind == "range"]
    assert "LDD" in ranges and "Vmag" in ranges
    assert all(f.columns[0].principal for f in form.fields if f.kind == "range")
    assert "e_LDD" not in ranges  # an error column is not a quantity to search on


def test_obsportal_name_field_is_a_text_column_not_the_target_id(schema: TapSchema) -> None:
    form = _form(schema, "obsportal")
    name = next(f for f in form.fields if f.key == "name")
    assert name.columns[0].name == "target_name"


@pytest.mark.parametrize("key", [f.key for f in FAMILIES])
def test_every_filled_form_translates(schema: TapSchema, key: str) -> None:
    form = _form(schema, key)
    values = {"name": "alf Eri", "instrument": "PIONIER", "programme": "094.D-0123", "date_min": "2014-01-01",
              "date_max": "2016-12-31", "calib": "2"}
    values.update({f"{f.key}_min": "1" for f in form.fields if f.kind == "range"})
    adql = form_adql(form, values, Position(24.43, -57.24, "test"), 1 / 60, order=form.table.columns[0].name,
                     descending=True, offset=50)
    translation = translate(adql, schema)
    assert "OFFSET 50" in adql and "DESC" in adql
    assert translation.sql


def test_typed_text_cannot_leave_its_string_literal(schema: TapSchema) -> None:
    form = _form(schema, "obscore")
    adql = form_adql(form, {"name": "x' OR 1=1 --", "instrument": "50%_\\"}, None, 0)
    assert "ILIKE '%x''%OR%1=1%--%'" in adql  # the quote doubled; spaces match any separator
    assert "ILIKE '%50%'" in adql  # LIKE's own wildcards typed by the user are dropped
    translate(adql, schema)


@pytest.mark.parametrize(("values", "message"), [
    ({"LDD_min": "big"}, "not a number"),
    ({"LDD_max": "1e"}, "not a number"),
])
def test_a_bad_range_value_is_refused_with_its_field(schema: TapSchema, values: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        form_adql(_form(schema, "jsdc"), values, None, 0)


def test_a_calibration_level_outside_the_choices_is_refused(schema: TapSchema) -> None:
    with pytest.raises(UsageError, match="Calibration level"):
        form_adql(_form(schema, "obscore"), {"calib": "1 OR 1=1"}, None, 0)


def test_dates_bound_the_end_and_start_columns_in_mjd(schema: TapSchema) -> None:
    adql = form_adql(_form(schema, "obscore"), {"date_min": "2014-09-21", "date_max": "2014-09-21"}, None, 0)
    assert "t_max >= 56921.0" in adql  # MJD of 2014-09-21
    assert "t_min < 56922.0" in adql   # the whole last day


def test_sorting_on_an_unknown_column_is_refused(schema: TapSchema) -> None:
    with pytest.raises(UsageError, match="cannot sort"):
        form_adql(_form(schema, "jsdc"), {}, None, 0, order="nope; DROP")


@pytest.mark.parametrize(("text", "ra", "dec"), [
    ("24.428882 -57.23684", 24.428882, -57.23684),
    ("24.43, -57.24", 24.43, -57.24),
    ("01:37:42.85 -57:14:12.3", 24.428542, -57.236750),
    ("01h37m42.85s -57d14m12.3s", 24.428542, -57.236750),
])
def test_coordinates_are_read_in_degrees_or_sexagesimal(text: str, ra: float, dec: float) -> None:
    position = parse_coordinates(text)
    assert position is not None
    assert position.ra == pytest.approx(ra, abs=1e-5) and position.dec == pytest.approx(dec, abs=1e-5)


def test_a_name_is_not_mistaken_for_coordinates() -> None:
    assert parse_coordinates("Achernar") is None
    assert parse_coordinates("HD 10144") is None


def test_coordinates_out_of_range_are_refused() -> None:
    with pytest.raises(UsageError, match="out of range"):
        parse_coordinates("400 12")
