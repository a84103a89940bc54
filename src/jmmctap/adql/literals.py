"""Arguments that must be literals, read at translation time (coordinate systems, REGION, units, digits)."""

from __future__ import annotations

import re

from jmmctap.adql import syntax as s
from jmmctap.adql.scope import error_at

__all__ = ["require_int_literal", "require_literal_string"]

_DIGITS = re.compile(r"\d+")


def require_literal_string(expr: s.Expr, what: str) -> str:
    """The text of a string literal argument (coordinate systems, REGION, IN_UNIT units)."""
    if isinstance(expr, s.Literal) and expr.kind == "string":
        return expr.text
    raise error_at(f"{what} must be a string literal", expr.line, expr.column)


def require_int_literal(expr: s.Expr, what: str) -> int:
    """A signed integer literal argument (ROUND/TRUNCATE digits, RAND seed)."""
    sign = 1
    while isinstance(expr, s.Unary):
        sign = -sign if expr.op == "-" else sign
        expr = expr.operand
    if isinstance(expr, s.Literal) and expr.kind == "number" and _DIGITS.fullmatch(expr.text):
        return sign * int(expr.text)
    raise error_at(f"{what} must be an integer literal", expr.line, expr.column)
