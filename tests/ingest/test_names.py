"""Column names: regular ADQL names kept, others delimited, PostgreSQL limits handled with a record."""

from __future__ import annotations

from jmmctap.ingest.names import assign_column_names, is_regular_identifier


def test_regular_names_are_kept_with_their_case() -> None:
    assert [n.adql for n in assign_column_names(["RAJ2000", "ra", "e_Vmag"])] == ["RAJ2000", "ra", "e_Vmag"]


def test_irregular_and_reserved_names_become_delimited() -> None:
    names = assign_column_names(["B-V", "2MASS", "DATE", "size", 'a"b'])
    assert [n.adql for n in names] == ['"B-V"', '"2MASS"', '"DATE"', '"size"', '"a""b"']
    assert [n.db for n in names] == ["B-V", "2MASS", "DATE", "size", 'a"b']
    assert not any(n.renamed for n in names)


def test_clashing_names_are_renamed_and_keep_the_original() -> None:
    names = assign_column_names(["ra", "RA", "xmin", "", "x" * 70])
    assert [n.db for n in names[:4]] == ["ra", "RA_2", "xmin_2", "col4"]
    assert len(names[4].db.encode()) == 63 and names[4].original == "x" * 70
    assert all(n.renamed for n in names[1:])


def test_reserved_words_are_not_regular() -> None:
    assert not is_regular_identifier("select")
    assert is_regular_identifier("selection")
