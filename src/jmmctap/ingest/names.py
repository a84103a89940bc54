"""ADQL-valid column names for source FIELD names, keeping the original.

A FIELD name that is a regular ADQL identifier (ADQL 2.1 §2.1.3: a letter, then letters, digits or
``_``) and not a reserved word is kept as is (``RAJ2000``). Anything else (``B-V``, ``2MASS``,
``DATE``, ``size``) becomes a delimited identifier, stored in TAP_SCHEMA with its quotes
(``"B-V"``), the PostgreSQL column being the same text without quotes. A name is changed only when
PostgreSQL cannot hold it (longer than 63 bytes, a system column name, a duplicate); the original is
then kept in ``tap_schema.column_origins``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from jmmctap.adql.registry import RESERVED_WORDS
from jmmctap.tapschema.model import Identifier

__all__ = ["ADQL_RESERVED_WORDS", "ColumnName", "assign_column_names", "is_regular_identifier"]

ADQL_RESERVED_WORDS = RESERVED_WORDS
"""Exactly the words the ADQL parser refuses as bare names: a column so named is published quoted."""

PG_MAX_NAME_BYTES = 63
"""PostgreSQL truncates identifiers longer than NAMEDATALEN - 1 bytes."""

_PG_SYSTEM_COLUMNS = frozenset({"tableoid", "xmin", "cmin", "xmax", "cmax", "ctid"})
_REGULAR = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class ColumnName:
    """The TAP_SCHEMA name of a column, its PostgreSQL name and the name in the file."""

    adql: str
    """As in TAP_SCHEMA.columns.column_name: regular, or delimited with its quotes."""
    db: str
    """The PostgreSQL column name (no quotes, case kept)."""
    original: str

    @property
    def renamed(self) -> bool:
        return self.db != self.original


def is_regular_identifier(name: str) -> bool:
    """True when ``name`` can be written in ADQL without quotes."""
    return bool(_REGULAR.match(name)) and name.upper() not in ADQL_RESERVED_WORDS


def assign_column_names(originals: Sequence[str]) -> list[ColumnName]:
    """Give every source column a unique ADQL/PostgreSQL name, in order."""
    taken: set[str] = set()
    folded: set[str] = set()
    names = []
    for index, original in enumerate(originals):
        db = _fit_postgres(original.strip() or f"col{index + 1}")
        candidate, n = db, 1
        while candidate in taken or candidate.casefold() in folded or candidate.lower() in _PG_SYSTEM_COLUMNS:
            n += 1
            suffix = f"_{n}"
            candidate = _fit_postgres(db, reserve=len(suffix)) + suffix
        taken.add(candidate)
        folded.add(candidate.casefold())
        adql = candidate if is_regular_identifier(candidate) else str(Identifier(candidate, delimited=True))
        names.append(ColumnName(adql=adql, db=candidate, original=original))
    return names


def _fit_postgres(name: str, reserve: int = 0) -> str:
    limit = PG_MAX_NAME_BYTES - reserve
    encoded = name.encode()
    if len(encoded) <= limit:
        return name
    return encoded[:limit].decode(errors="ignore")
