"""ADQL name lookup in TAP_SCHEMA: regular identifiers fold case, delimited ones do not."""

from __future__ import annotations

import pytest

from jmmctap.tapschema import Column, Identifier, Schema, Table, TapSchema, split_qualified


def _tap() -> TapSchema:
    stars = Table("cat", "cat.stars", columns=(
        Column("cat.stars", "RAJ2000", "double"),
        Column("cat.stars", '"B-V"', "float"),
        Column("cat.stars", '"size"', "int"),
    ))
    other = Table("other", 'other."Stars"', columns=(Column('other."Stars"', "id", "int"),))
    return TapSchema(schemas=(Schema("cat"), Schema("other")), tables=(stars, other))


def test_split_qualified_keeps_delimited_parts() -> None:
    assert split_qualified('cat."a.b"') == [Identifier("cat"), Identifier("a.b", True)]


@pytest.mark.parametrize("query", ["raj2000", "RAJ2000", "RaJ2000", '"RAJ2000"', '"raj2000"'])
def test_regular_column_found_in_any_case(query: str) -> None:
    stars = _tap().find_tables([Identifier("cat"), Identifier("stars")])[0]
    assert [c.name for c in stars.find_columns(Identifier.parse(query))] == ["RAJ2000"]


def test_delimited_column_needs_its_exact_name() -> None:
    stars = _tap().find_tables(split_qualified("cat.stars"))[0]
    assert [c.db_name for c in stars.find_columns(Identifier.parse('"B-V"'))] == ["B-V"]
    assert stars.find_columns(Identifier.parse('"b-v"')) == []


def test_reserved_word_column_is_found_unquoted_in_lower_case() -> None:
    stars = _tap().find_tables(split_qualified("cat.stars"))[0]
    assert [c.db_name for c in stars.find_columns(Identifier("SIZE"))] == ["size"]


def test_table_lookup_is_case_insensitive_for_regular_names() -> None:
    assert [t.name for t in _tap().find_tables(split_qualified("CAT.STARS"))] == ["cat.stars"]


def test_delimited_table_name() -> None:
    tap = _tap()
    assert [t.name for t in tap.find_tables(split_qualified('other."Stars"'))] == ['other."Stars"']
    assert tap.find_tables(split_qualified('other."stars"')) == []
    stars = tap.table('other."Stars"')
    assert stars is not None and stars.db_table == "Stars"


def test_unqualified_table_name_may_be_ambiguous() -> None:
    tap = _tap()
    third = TapSchema((*tap.schemas, Schema("more")), (*tap.tables, Table("more", "more.STARS")))
    assert [t.name for t in third.find_tables([Identifier("stars")])] == ["cat.stars", "more.STARS"]
