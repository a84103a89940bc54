"""Compile ADQL value expressions and conditions to PostgreSQL, with type checks and inference."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from jmmctap.adql import syntax as s
from jmmctap.adql.functions import compile_cast
from jmmctap.adql.geometry import MAX_CIRCLE_RADIUS_DEG, point_in_circle
from jmmctap.adql.limits import Deadline
from jmmctap.adql.registry import FUNCTION_BY_NAME
from jmmctap.adql.scope import Scope, did_you_mean, error_at
from jmmctap.adql.sqltext import string_literal
from jmmctap.adql.types import Kind, Value, widen

__all__ = ["ExpressionCompiler"]

_INT4_MAX = 2**31 - 1
_INT8_MAX = 2**63 - 1
_DIGITS = re.compile(r"\d+")


class ExpressionCompiler:
    """Expression half of the translator; ``QueryCompiler`` adds queries and FROM clauses.

    ``scope`` holds the visible names, ``clause`` the clause being compiled (aggregate checks).
    """

    def __init__(self, deadline: Deadline | None = None) -> None:
        self.deadline = deadline
        self.scope = Scope()
        self.clause = "SELECT"
        self.in_aggregate = False
        self.leakproof_joins = False
        """Set once a table under row-level security is read: crossmatch circles must be LEAKPROOF."""

    # implemented by QueryCompiler
    def subquery(self, query: s.Query) -> tuple[str, list[Value]]:
        raise NotImplementedError

    # -- entry points --------------------------------------------------------------------

    def value(self, expr: s.Expr) -> Value:
        """Compile an expression that must be a value (not a condition)."""
        result = self.any(expr)
        if result.kind is Kind.CONDITION:
            raise error_at("a condition cannot be used as a value here", expr.line, expr.column)
        return result

    def any(self, expr: s.Expr) -> Value:
        """Compile an expression, value or condition."""
        if self.deadline is not None:
            self.deadline.check()
        return _DISPATCH[type(expr)](self, expr)

    def condition(self, expr: s.Expr) -> str:
        """Compile a search condition (WHERE, ON, HAVING, AND/OR/NOT operands)."""
        result = self.any(expr)
        if result.kind in (Kind.CONDITION, Kind.BOOLEAN, Kind.NULL):
            return result.sql
        if result.predicate is not None:
            raise error_at(f"{result.name.upper()}(...) is a number: compare it, e.g. {result.name.upper()}(...) = 1",
                           expr.line, expr.column)
        raise error_at("a condition is expected here (e.g. a comparison), not a value", expr.line, expr.column)

    def numeric(self, expr: s.Expr, what: str) -> Value:
        result = self.value(expr)
        if not (result.kind.numeric or result.kind is Kind.NULL):
            raise error_at(f"{what} must be numeric, not {result.kind.value}", expr.line, expr.column)
        return result

    def string(self, expr: s.Expr, what: str) -> Value:
        result = self.value(expr)
        if result.kind not in (Kind.STRING, Kind.NULL):
            raise error_at(f"{what} must be a string, not {result.kind.value}", expr.line, expr.column)
        return result

    def geometry(self, expr: s.Expr, what: str, kinds: tuple[Kind, ...] = (Kind.POINT, Kind.CIRCLE, Kind.POLYGON)
                 ) -> Value:
        result = self.value(expr)
        if result.kind not in kinds:
            expected = " or ".join(k.value for k in kinds)
            raise error_at(f"{what} must be a {expected}, not {result.kind.value}", expr.line, expr.column)
        return result

    def aggregate_argument(self, expr: s.Expr, function: str, line: int, column: int) -> Value:
        """Compile the argument of an aggregate, refusing aggregates where SQL forbids them."""
        if self.clause in ("WHERE", "ON", "GROUP BY"):
            raise error_at(f"aggregate function {function} is not allowed in {self.clause}", line, column)
        if self.in_aggregate:
            raise error_at(f"aggregate function {function} cannot be nested in another aggregate", line, column)
        self.in_aggregate = True
        try:
            return self.value(expr)
        finally:
            self.in_aggregate = False

    def check_aggregate_allowed(self, function: str, line: int, column: int) -> None:
        if self.clause in ("WHERE", "ON", "GROUP BY"):
            raise error_at(f"aggregate function {function} is not allowed in {self.clause}", line, column)

    # -- leaves ----------------------------------------------------------------------------

    def _literal(self, lit: s.Literal) -> Value:
        if lit.kind == "string":
            try:
                return Value(string_literal(lit.text), Kind.STRING, constant=True)
            except ValueError:
                raise error_at("a string cannot contain a NUL character", lit.line, lit.column) from None
        if lit.kind == "null":
            return Value("NULL", Kind.NULL, constant=True)
        text = lit.text
        if _DIGITS.fullmatch(text):
            number = int(text)
            if number <= _INT4_MAX:
                return Value(str(number), Kind.INTEGER, constant=True, number=number)
            if number <= _INT8_MAX:
                return Value(str(number), Kind.BIGINT, constant=True, number=number)
        return Value(f"{text}::float8", Kind.DOUBLE, constant=True, number=float(text))

    def _column(self, ref: s.ColumnRef) -> Value:
        return self.scope.resolve(ref.parts)

    def _count_star(self, node: s.CountStar) -> Value:
        self.check_aggregate_allowed("COUNT", node.line, node.column)
        if self.in_aggregate:
            raise error_at("COUNT(*) cannot be nested in another aggregate", node.line, node.column)
        return Value("count(*)", Kind.BIGINT, name="count", aggregate=True)

    def _call(self, call: s.Call) -> Value:
        function = FUNCTION_BY_NAME.get(call.name.upper())
        if function is None:
            hint = did_you_mean(call.name, sorted(FUNCTION_BY_NAME))
            raise error_at(f"unknown function {call.name}: ADQL 2.1 functions and the declared user-defined functions"
                           f" only.{hint}", call.line, call.column)
        if call.quantifier is not None and not function.aggregate:
            raise error_at(f"{call.quantifier} is only allowed in aggregate functions", call.line, call.column)
        function.check_arity(call)
        return function.compile(self, call)

    # -- arithmetic ----------------------------------------------------------------------

    def _unary(self, node: s.Unary) -> Value:
        operand = self.numeric(node.operand, f"the operand of unary {node.op}")
        if node.op == "+":
            return operand
        number = -operand.number if operand.number is not None else None
        return operand.derived(f"(-{operand.sql})", number=number)

    def _arith(self, node: s.Arith) -> Value:
        if node.rest[0][0] == "||":
            parts = [self.string(node.first, "an operand of ||")]
            parts += [self.string(operand, "an operand of ||") for _, operand in node.rest]
            return Value("(" + " || ".join(p.sql for p in parts) + ")", Kind.STRING,
                         aggregate=any(p.aggregate for p in parts), constant=all(p.constant for p in parts))
        first = self.numeric(node.first, "an arithmetic operand")
        sql, kind, number = [first.sql], first.kind, first.number
        aggregate, constant = first.aggregate, first.constant
        for op, operand_expr in node.rest:
            operand = self.numeric(operand_expr, "an arithmetic operand")
            sql += (op, operand.sql)  # joined once: linear in the number of operands
            kind = widen(kind, operand.kind)
            number = _fold(number, op, operand.number)
            aggregate, constant = aggregate or operand.aggregate, constant and operand.constant
        return Value("(" + " ".join(sql) + ")", kind, aggregate=aggregate, constant=constant, number=number)

    # -- conditions ------------------------------------------------------------------------

    def _bool(self, node: s.BoolOp) -> Value:
        parts = [self.condition(operand) for operand in node.operands]
        return Value("(" + f" {node.op} ".join(parts) + ")", Kind.CONDITION)

    def _not(self, node: s.Not) -> Value:
        return Value(f"(NOT {self.condition(node.operand)})", Kind.CONDITION)

    def _comparison(self, node: s.Comparison) -> Value:
        left, right = self.value(node.left), self.value(node.right)
        rewritten = (_predicate_rewrite(node.op, left, right)
                     or _distance_rewrite(node.op, left, right, leakproof=self.leakproof_joins))
        if rewritten is not None:
            return Value(rewritten, Kind.CONDITION, aggregate=left.aggregate or right.aggregate)
        left, right = self._comparable(left, right, node, ordering=node.op not in ("=", "<>"))
        return Value(f"({left.sql} {node.op} {right.sql})", Kind.CONDITION)

    def _comparable(self, left: Value, right: Value, node: Any, *, ordering: bool = True) -> tuple[Value, Value]:
        """Check that two values can be compared; casts booleans compared with numbers to 0/1."""
        a, b = left.kind, right.kind
        if Kind.NULL in (a, b) or Kind.UNKNOWN in (a, b) or (a.numeric and b.numeric) or a is b:
            if a.geometry and ordering:
                raise error_at(f"{a.value} values can only be compared with = or <>", node.line, node.column)
            return left, right
        if {a, b} == {Kind.TIMESTAMP, Kind.STRING}:
            return left, right
        if a is Kind.BOOLEAN and b.numeric:
            return left.derived(f"CAST({left.sql} AS integer)", Kind.INTEGER), right
        if b is Kind.BOOLEAN and a.numeric:
            return left, right.derived(f"CAST({right.sql} AS integer)", Kind.INTEGER)
        if Kind.BOOLEAN in (a, b) and Kind.STRING in (a, b) and (left.constant or right.constant):
            return left, right
        raise error_at(f"cannot compare {a.value} with {b.value}", node.line, node.column)

    def _between(self, node: s.Between) -> Value:
        operand, low, high = self.value(node.operand), self.value(node.low), self.value(node.high)
        self._comparable(operand, low, node)
        self._comparable(operand, high, node)
        keyword = "NOT BETWEEN" if node.negated else "BETWEEN"
        return Value(f"({operand.sql} {keyword} {low.sql} AND {high.sql})", Kind.CONDITION)

    def _in_list(self, node: s.InList) -> Value:
        operand = self.value(node.operand)
        items = []
        for item_expr in node.items:
            item = self.value(item_expr)
            self._comparable(operand, item, item_expr, ordering=False)
            items.append(item.sql)
        keyword = "NOT IN" if node.negated else "IN"
        return Value(f"({operand.sql} {keyword} ({', '.join(items)}))", Kind.CONDITION)

    def _in_subquery(self, node: s.InSubquery) -> Value:
        operand = self.value(node.operand)
        sql, columns = self.subquery(node.query)
        if len(columns) != 1:
            raise error_at(f"the subquery of IN must return one column, not {len(columns)}", node.query.line,
                           node.query.column)
        self._comparable(operand, columns[0], node, ordering=False)
        keyword = "NOT IN" if node.negated else "IN"
        return Value(f"({operand.sql} {keyword} ({sql}))", Kind.CONDITION)

    def _like(self, node: s.Like) -> Value:
        operand = self.string(node.operand, "the value of LIKE")
        pattern = self.string(node.pattern, "the pattern of LIKE")
        escape = "''"
        if node.escape is not None:
            if not (isinstance(node.escape, s.Literal) and node.escape.kind == "string" and len(node.escape.text) == 1):
                raise error_at("ESCAPE needs a one-character string literal", node.escape.line, node.escape.column)
            escape = string_literal(node.escape.text)
        keyword = ("NOT " if node.negated else "") + ("ILIKE" if node.case_insensitive else "LIKE")
        # PostgreSQL's default escape is a backslash; ADQL (SQL-92) has no default escape character
        return Value(f"({operand.sql} {keyword} {pattern.sql} ESCAPE {escape})", Kind.CONDITION)

    def _is_null(self, node: s.IsNull) -> Value:
        operand = self.value(node.operand)
        return Value(f"({operand.sql} IS {'NOT ' if node.negated else ''}NULL)", Kind.CONDITION)

    def _exists(self, node: s.Exists) -> Value:
        sql, _ = self.subquery(node.query)
        return Value(f"(EXISTS ({sql}))", Kind.CONDITION)

    # -- other value forms -----------------------------------------------------------------

    def _scalar_subquery(self, node: s.ScalarSubquery) -> Value:
        sql, columns = self.subquery(node.query)
        if len(columns) != 1:
            raise error_at(f"a subquery used as a value must return one column, not {len(columns)}", node.line,
                           node.column)
        column = columns[0]
        return Value(f"({sql})", column.kind, name=column.name, meta=column.meta)

    def _cast(self, node: s.Cast) -> Value:
        return compile_cast(self, node)

    def _case(self, node: s.Case) -> Value:
        operand = self.value(node.operand) if node.operand is not None else None
        parts, results = ["CASE"], []
        if operand is not None:
            parts.append(operand.sql)
        for when_expr, then_expr in node.whens:
            if operand is not None:
                when = self.value(when_expr)
                self._comparable(operand, when, when_expr, ordering=False)
                when_sql = when.sql
            else:
                when_sql = self.condition(when_expr)
            result = self.value(then_expr)
            results.append((result, then_expr))
            parts += ["WHEN", when_sql, "THEN", result.sql]
        if node.default is not None:
            default = self.value(node.default)
            results.append((default, node.default))
            parts += ["ELSE", default.sql]
        parts.append("END")
        kind = self.common_kind(results, "CASE results")
        return Value("(" + " ".join(parts) + ")", kind, name="case",
                     aggregate=any(r.aggregate for r, _ in results))

    def common_kind(self, values: list[tuple[Value, Any]], what: str) -> Kind:
        """The kind of a COALESCE/CASE/UNION column: all alike, numbers widened (ADQL 2.1 §4.8)."""
        kind = Kind.NULL
        for value, expr in values:
            if value.kind is Kind.NULL or value.kind is kind:
                continue
            if kind is Kind.NULL:
                kind = value.kind
            elif kind.numeric and value.kind.numeric:
                kind = widen(kind, value.kind)
            elif {kind, value.kind} == {Kind.TIMESTAMP, Kind.STRING} and value.constant:
                continue
            else:
                raise error_at(f"{what} must all have the same type ({kind.value} and {value.kind.value})",
                               expr.line, expr.column)
        return kind


def _fold(left: float | None, op: str, right: float | None) -> float | None:
    """Constant folding of literal arithmetic (for checks such as a circle radius)."""
    if left is None or right is None:
        return None
    if op == "+":
        result = left + right
    elif op == "-":
        result = left - right
    elif op == "*":
        result = left * right
    else:
        return left / right if right else None
    # beyond BIGINT the value only matters approximately; a float stops 1e9 * 1e9 * ... growing without bound
    return float(result) if isinstance(result, int) and abs(result) > _INT8_MAX else result


def _predicate_rewrite(op: str, left: Value, right: Value) -> str | None:
    """``CONTAINS(a, b) = 1`` → ``a <@ b`` (a bare boolean, so a GiST index can serve it)."""
    if op not in ("=", "<>"):
        return None
    for function, other in ((left, right), (right, left)):
        if function.predicate is not None and other.number in (0, 1) and other.constant:
            positive = (other.number == 1) == (op == "=")
            return function.predicate if positive else f"(NOT {function.predicate})"
    return None


def _distance_rewrite(op: str, left: Value, right: Value, *, leakproof: bool) -> str | None:
    """``DISTANCE(p, q) < r`` → ``p <@ scircle(q, radians(r))`` (ADQL 2.1 §4.2.7: make it fast), both ways
    round when both points vary (``geometry.point_in_circle``).

    Only for a constant radius pgsphere accepts; ``<@`` includes the boundary, which a strict
    ``<`` excludes — a difference below the floating-point resolution of the distance itself.
    """
    if left.distance is not None and op in ("<", "<="):
        distance, radius = left.distance, right
    elif right.distance is not None and op in (">", ">="):
        distance, radius = right.distance, left
    else:
        return None
    if radius.number is None or not 0 <= radius.number <= MAX_CIRCLE_RADIUS_DEG:
        return None
    point, centre, centre_varies = distance
    return point_in_circle(point, centre, radius.sql, centre_varies=centre_varies, leakproof=leakproof)


_DISPATCH: dict[type, Callable[[ExpressionCompiler, Any], Value]] = {
    s.Literal: ExpressionCompiler._literal,
    s.ColumnRef: ExpressionCompiler._column,
    s.Call: ExpressionCompiler._call,
    s.CountStar: ExpressionCompiler._count_star,
    s.Cast: ExpressionCompiler._cast,
    s.Case: ExpressionCompiler._case,
    s.ScalarSubquery: ExpressionCompiler._scalar_subquery,
    s.Unary: ExpressionCompiler._unary,
    s.Arith: ExpressionCompiler._arith,
    s.BoolOp: ExpressionCompiler._bool,
    s.Not: ExpressionCompiler._not,
    s.Comparison: ExpressionCompiler._comparison,
    s.Between: ExpressionCompiler._between,
    s.InList: ExpressionCompiler._in_list,
    s.InSubquery: ExpressionCompiler._in_subquery,
    s.Like: ExpressionCompiler._like,
    s.IsNull: ExpressionCompiler._is_null,
    s.Exists: ExpressionCompiler._exists,
}
