"""``catalogs.values.check_value``: one case per TAP_SCHEMA datatype, accepted and refused."""

from __future__ import annotations

from typing import Any

import pytest

from jmmctap.catalogs.values import check_value
from jmmctap.errors import UsageError
from jmmctap.tapschema import Column


def _column(datatype: str, arraysize: str | None = None, xtype: str | None = None) -> Column:
    return Column("t.t", "c", datatype, arraysize, xtype)


@pytest.mark.parametrize(("column", "value", "written"), [
    (_column("short"), 32767, 32767),
    (_column("short"), "-12", -12),  # JMMC's catalogAPI took numbers as strings
    (_column("int"), 2.0, 2),
    (_column("long"), 2**62, 2**62),
    (_column("unsignedByte"), 255, 255),
    (_column("double"), 1, 1.0),
    (_column("float"), "1.5", 1.5),
    (_column("boolean"), "true", True),
    (_column("boolean"), False, False),
    (_column("char", "8"), "Carol PI", "Carol PI"),
    (_column("unicodeChar", "*"), "é" * 1000, "é" * 1000),
    (_column("char", "8"), "", None),  # VOTable's NULL text, as a2p2 sends it back
    (_column("double"), None, None),
    (_column("char", "*", "timestamp"), "2026-12-05T10:00:00", "2026-12-05T10:00:00"),
    (_column("double", "3"), [1, 2.5, None], [1.0, 2.5, None]),
])
def test_values_of_the_column_type_are_accepted(column: Column, value: Any, written: Any) -> None:
    assert check_value(column, value) == written


@pytest.mark.parametrize(("column", "value", "why"), [
    (_column("short"), 32768, "out of the range of short"),
    (_column("unsignedByte"), -1, "out of the range"),
    (_column("int"), 2.5, "expected an integer"),
    (_column("int"), True, "expected an integer"),
    (_column("int"), "two", "expected an integer"),
    (_column("float"), 1e39, "out of the range of float"),
    (_column("double"), "NaN", "out of the range"),
    (_column("double"), [1.0], "expected a number"),
    (_column("boolean"), "maybe", "true or false"),
    (_column("char", "8"), "Carol PI the first", "at most 8 characters"),
    (_column("char", "8"), 12, "expected a string"),
    (_column("char", "*", "timestamp"), "yesterday", "ISO 8601"),
    (_column("double", "2", "point"), [1.0, 2.0], "cannot be written"),
    (_column("double", "3"), [1, 2, 3, 4], "at most 3 values"),
])
def test_values_of_another_type_or_out_of_range_are_refused_naming_the_column(
        column: Column, value: Any, why: str) -> None:
    with pytest.raises(UsageError) as refused:
        check_value(column, value)
    assert why in refused.value.message and "column c" in refused.value.message
