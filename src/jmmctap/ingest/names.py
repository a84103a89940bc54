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

from jmmctap.tapschema.model import Identifier

__all__ = ["ADQL_RESERVED_WORDS", "ColumnName", "assign_column_names", "is_regular_identifier"]

ADQL_RESERVED_WORDS = frozenset({
    "ABS", "ACOS", "AREA", "ASIN", "ATAN", "ATAN2", "BIT_AND", "BIT_NOT", "BIT_OR", "BIT_XOR", "BOX", "CEILING",
    "CENTROID", "CIRCLE", "CONTAINS", "COORD1", "COORD2", "COORDSYS", "COS", "COT", "DEGREES", "DISTANCE", "EXP",
    "FLOOR", "ILIKE", "INTERSECTS", "IN_UNIT", "LOG", "LOG10", "MOD", "PI", "POINT", "POLYGON", "POWER", "RADIANS",
    "REGION", "RAND", "ROUND", "SIN", "SQRT", "TOP", "TAN", "TRUNCATE", "OFFSET", "LOWER", "UPPER", "ABSOLUTE",
    "ACTION", "ADD", "ALL", "ALLOCATE", "ALTER", "AND", "ANY", "ARE", "AS", "ASC", "ASSERTION", "AT",
    "AUTHORIZATION", "AVG", "BEGIN", "BETWEEN", "BIT", "BIT_LENGTH", "BOTH", "BY", "CASCADE", "CASCADED", "CASE",
    "CAST", "CATALOG", "CHAR", "CHARACTER", "CHAR_LENGTH", "CHARACTER_LENGTH", "CHECK", "CLOSE", "COALESCE",
    "COLLATE", "COLLATION", "COLUMN", "COMMIT", "CONNECT", "CONNECTION", "CONSTRAINT", "CONSTRAINTS", "CONTINUE",
    "CONVERT", "CORRESPONDING", "COUNT", "CREATE", "CROSS", "CURRENT", "CURRENT_DATE", "CURRENT_TIME",
    "CURRENT_TIMESTAMP", "CURRENT_USER", "CURSOR", "DATE", "DAY", "DEALLOCATE", "DECIMAL", "DECLARE", "DEFAULT",
    "DEFERRABLE", "DEFERRED", "DELETE", "DESC", "DESCRIBE", "DESCRIPTOR", "DIAGNOSTICS", "DISCONNECT", "DISTINCT",
    "DOMAIN", "DOUBLE", "DROP", "ELSE", "END", "END-EXEC", "ESCAPE", "EXCEPT", "EXCEPTION", "EXEC", "EXECUTE",
    "EXISTS", "EXTERNAL", "EXTRACT", "FALSE", "FETCH", "FIRST", "FLOAT", "FOR", "FOREIGN", "FOUND", "FROM", "FULL",
    "GET", "GLOBAL", "GO", "GOTO", "GRANT", "GROUP", "HAVING", "HOUR", "IDENTITY", "IMMEDIATE", "IN", "INDICATOR",
    "INITIALLY", "INNER", "INPUT", "INSENSITIVE", "INSERT", "INT", "INTEGER", "INTERSECT", "INTERVAL", "INTO", "IS",
    "ISOLATION", "JOIN", "KEY", "LANGUAGE", "LAST", "LEADING", "LEFT", "LEVEL", "LIKE", "LOCAL", "MATCH", "MAX",
    "MIN", "MINUTE", "MODULE", "MONTH", "NAMES", "NATIONAL", "NATURAL", "NCHAR", "NEXT", "NO", "NOT", "NULL",
    "NULLIF", "NUMERIC", "OCTET_LENGTH", "OF", "ON", "ONLY", "OPEN", "OPTION", "OR", "ORDER", "OUTER", "OUTPUT",
    "OVERLAPS", "PAD", "PARTIAL", "POSITION", "PRECISION", "PREPARE", "PRESERVE", "PRIMARY", "PRIOR", "PRIVILEGES",
    "PROCEDURE", "PUBLIC", "READ", "REAL", "REFERENCES", "RELATIVE", "RESTRICT", "REVOKE", "RIGHT", "ROLLBACK",
    "ROWS", "SCHEMA", "SCROLL", "SECOND", "SECTION", "SELECT", "SESSION", "SESSION_USER", "SET", "SIZE", "SMALLINT",
    "SOME", "SPACE", "SQL", "SQLCODE", "SQLERROR", "SQLSTATE", "SUBSTRING", "SUM", "SYSTEM_USER", "TABLE",
    "TEMPORARY", "THEN", "TIME", "TIMESTAMP", "TIMEZONE_HOUR", "TIMEZONE_MINUTE", "TO", "TRAILING", "TRANSACTION",
    "TRANSLATE", "TRANSLATION", "TRIM", "TRUE", "UNION", "UNIQUE", "UNKNOWN", "UPDATE", "USAGE", "USER", "USING",
    "VALUE", "VALUES", "VARCHAR", "VARYING", "VIEW", "WHEN", "WHENEVER", "WHERE", "WITH", "WORK", "WRITE", "YEAR",
    "ZONE",
})
"""ADQL 2.1 §2.1.2 reserved words (ADQL's own and SQL-92's), upper case."""

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
