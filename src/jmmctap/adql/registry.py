"""The one table of ADQL functions, and what is derived from it: binding, SQL allow-list, reserved words.

Each module that implements functions lists them as ``Function`` entries (``functions``, ``geometry``);
this module gathers them (compare sqlglot's ``FUNCTION_BY_NAME``). The translator binds calls
through ``FUNCTION_BY_NAME``, ``features`` declares the optional ones in ``/tap/capabilities``,
``SQL_FUNCTIONS`` is what the emitted SQL may call, and ``RESERVED_WORDS`` is what the parser refuses
as a bare name and the ingester therefore quotes.
"""

from __future__ import annotations

from jmmctap.adql import functions, geometry
from jmmctap.adql.signature import Function

__all__ = ["ALL_FUNCTIONS", "FUNCTION_BY_NAME", "RESERVED_WORDS", "SQL92_RESERVED_WORDS", "SQL_FUNCTIONS"]

ALL_FUNCTIONS: tuple[Function, ...] = (*geometry.FUNCTIONS, *functions.FUNCTIONS)
"""Every function a query may name; anything else is an unknown function."""

FUNCTION_BY_NAME: dict[str, Function] = {function.name: function for function in ALL_FUNCTIONS}
"""Upper-case ADQL name → function."""

_COMPILER_SQL = frozenset({
    "spoint", "radians", "scircle",  # column positions, DISTANCE(...) < r rewritten as a cone
    f"{functions.UDF_SCHEMA}.join_circle",  # ... or as a crossmatch
    "coalesce",  # FULL JOIN ... USING
    "replace",  # CAST(timestamp AS VARCHAR): DALI form
    "array_to_string", f"{functions.UDF_SCHEMA}.point_array", f"{functions.UDF_SCHEMA}.circle_array",
    f"{functions.UDF_SCHEMA}.polygon_array",  # geometry output columns
})
"""PostgreSQL functions the compiler itself writes, outside any ADQL function."""

SQL_FUNCTIONS: frozenset[str] = _COMPILER_SQL.union(*(function.emits for function in ALL_FUNCTIONS))
"""Every PostgreSQL function (bare or schema-qualified) the translator may emit."""


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


SQL92_RESERVED_WORDS = _words("""
ABSOLUTE ACTION ADD ALL ALLOCATE ALTER AND ANY ARE AS ASC ASSERTION AT AUTHORIZATION AVG BEGIN BETWEEN BIT
BIT_LENGTH BOTH BY CASCADE CASCADED CASE CAST CATALOG CHAR CHARACTER CHAR_LENGTH CHARACTER_LENGTH CHECK CLOSE
COALESCE COLLATE COLLATION COLUMN COMMIT CONNECT CONNECTION CONSTRAINT CONSTRAINTS CONTINUE CONVERT
CORRESPONDING COUNT CREATE CROSS CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER CURSOR DATE
DAY DEALLOCATE DECIMAL DECLARE DEFAULT DEFERRABLE DEFERRED DELETE DESC DESCRIBE DESCRIPTOR DIAGNOSTICS
DISCONNECT DISTINCT DOMAIN DOUBLE DROP ELSE END END-EXEC ESCAPE EXCEPT EXCEPTION EXEC EXECUTE EXISTS EXTERNAL
EXTRACT FALSE FETCH FIRST FLOAT FOR FOREIGN FOUND FROM FULL GET GLOBAL GO GOTO GRANT GROUP HAVING HOUR IDENTITY
IMMEDIATE IN INDICATOR INITIALLY INNER INPUT INSENSITIVE INSERT INT INTEGER INTERSECT INTERVAL INTO IS
ISOLATION JOIN KEY LANGUAGE LAST LEADING LEFT LEVEL LIKE LOCAL LOWER MATCH MAX MIN MINUTE MODULE MONTH NAMES
NATIONAL NATURAL NCHAR NEXT NO NOT NULL NULLIF NUMERIC OCTET_LENGTH OF ON ONLY OPEN OPTION OR ORDER OUTER
OUTPUT OVERLAPS PAD PARTIAL POSITION PRECISION PREPARE PRESERVE PRIMARY PRIOR PRIVILEGES PROCEDURE PUBLIC READ
REAL REFERENCES RELATIVE RESTRICT REVOKE RIGHT ROLLBACK ROWS SCHEMA SCROLL SECOND SECTION SELECT SESSION
SESSION_USER SET SIZE SMALLINT SOME SPACE SQL SQLCODE SQLERROR SQLSTATE SUBSTRING SUM SYSTEM_USER TABLE
TEMPORARY THEN TIME TIMESTAMP TIMEZONE_HOUR TIMEZONE_MINUTE TO TRAILING TRANSACTION TRANSLATE TRANSLATION TRIM
TRUE UNION UNIQUE UNKNOWN UPDATE UPPER USAGE USER USING VALUE VALUES VARCHAR VARYING VIEW WHEN WHENEVER WHERE
WITH WORK WRITE YEAR ZONE
""")
"""SQL-92 reserved words (ADQL 2.1 §2.1.3)."""

_ADQL_SYNTAX_WORDS = _words("TOP OFFSET ILIKE BIGINT")
"""ADQL reserved words of the grammar rather than functions (§2.1.4: cardinality, ILIKE, the CAST type BIGINT)."""

RESERVED_WORDS: frozenset[str] = SQL92_RESERVED_WORDS | _ADQL_SYNTAX_WORDS | {
    function.name for function in ALL_FUNCTIONS if not function.udf
}
"""Upper-case words that cannot be regular identifiers: SQL-92's, ADQL's syntax and every standard function's."""
