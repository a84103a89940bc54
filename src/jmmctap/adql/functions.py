"""ADQL math, string, aggregate, COALESCE/IN_UNIT functions and the declared UDFs, as ``Function`` entries.

``FUNCTIONS`` lists them (geometry ones are in ``jmmctap.adql.geometry``); ``jmmctap.adql.registry``
gathers both into the one table of functions a query may name. Anything else — ``version()``,
``pg_sleep()``, ``current_setting()`` — is an unknown function. CAST is syntax, compiled here too.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from jmmctap.adql import syntax as s
from jmmctap.adql.literals import require_int_literal, require_literal_string
from jmmctap.adql.scope import error_at
from jmmctap.adql.signature import UDF_FEATURE_TYPE, Function, Handler, Signature, feature_type
from jmmctap.adql.sqltext import float_literal
from jmmctap.adql.types import Kind, Value, widen

if TYPE_CHECKING:
    from jmmctap.adql.expressions import ExpressionCompiler

__all__ = ["FUNCTIONS", "UDF_SCHEMA", "as_float", "compile_cast"]

UDF_SCHEMA = "jmmctap_adql"
"""PostgreSQL schema of the helper functions of migration 0003 (the query role may EXECUTE them)."""

_DOUBLE = "DOUBLE PRECISION"
_STRING = "VARCHAR(*)"


def as_float(value: Value) -> str:
    """SQL of a numeric value as double precision (avoids numeric overloads of PostgreSQL functions)."""
    if value.kind in (Kind.DOUBLE, Kind.REAL):
        return value.sql
    return f"CAST({value.sql} AS double precision)"


def _combined(args: list[Value], sql: str, kind: Kind, name: str, **extra: object) -> Value:
    return Value(sql, kind, name=name, aggregate=any(a.aggregate for a in args),
                 constant=all(a.constant for a in args), **extra)  # type: ignore[arg-type]


def _one(params: tuple[str, ...], result: str) -> tuple[Signature, ...]:
    return (Signature(params, result),)


# -- math (ADQL 2.1 §2.3) -----------------------------------------------------------------------

_FLOAT_FUNCTIONS = {
    "ACOS": "acos", "ASIN": "asin", "ATAN": "atan", "COS": "cos", "COT": "cot", "SIN": "sin", "TAN": "tan",
    "DEGREES": "degrees", "RADIANS": "radians", "EXP": "exp", "SQRT": "sqrt", "LOG": "ln", "LOG10": "log",
    "CEILING": "ceil", "FLOOR": "floor",
}


def _float_function(adql: str, pg: str) -> Handler:
    def compile_call(ctx: ExpressionCompiler, call: s.Call) -> Value:
        arg = ctx.numeric(call.args[0], f"the argument of {adql}")
        return _combined([arg], f"{pg}({as_float(arg)})", Kind.DOUBLE, adql.lower())

    return compile_call


def _abs(ctx: ExpressionCompiler, call: s.Call) -> Value:
    arg = ctx.numeric(call.args[0], "the argument of ABS")
    return arg.derived(f"abs({arg.sql})", arg.kind if arg.kind is not Kind.NULL else Kind.DOUBLE, name="abs",
                       number=abs(arg.number) if arg.number is not None else None)


def _atan2(ctx: ExpressionCompiler, call: s.Call) -> Value:
    y, x = (ctx.numeric(a, "an argument of ATAN2") for a in call.args)
    return _combined([y, x], f"atan2({as_float(y)}, {as_float(x)})", Kind.DOUBLE, "atan2")


def _power(ctx: ExpressionCompiler, call: s.Call) -> Value:
    x, y = (ctx.numeric(a, "an argument of POWER") for a in call.args)
    return _combined([x, y], f"power({as_float(x)}, {as_float(y)})", Kind.DOUBLE, "power")


def _mod(ctx: ExpressionCompiler, call: s.Call) -> Value:
    x, y = (ctx.numeric(a, "an argument of MOD") for a in call.args)
    if x.kind.integer and y.kind.integer:
        return _combined([x, y], f"mod({x.sql}, {y.sql})", widen(x.kind, y.kind), "mod")
    # PostgreSQL has no mod(float8, float8)
    sql = f"CAST(mod(CAST({x.sql} AS numeric), CAST({y.sql} AS numeric)) AS double precision)"
    return _combined([x, y], sql, Kind.DOUBLE, "mod")


def _pi(ctx: ExpressionCompiler, call: s.Call) -> Value:
    return Value("pi()", Kind.DOUBLE, name="pi", constant=True)


def _rand(ctx: ExpressionCompiler, call: s.Call) -> Value:
    if call.args:
        require_int_literal(call.args[0], "the seed of RAND")  # ADQL leaves seed semantics undefined
    return Value("random()", Kind.DOUBLE, name="rand")


_MAX_ROUNDING_DIGITS = 1000
"""ROUND/TRUNCATE digits are clamped to this: PostgreSQL wants an int4, and no double has digits further out."""


def _rounding(adql: str, pg: str) -> Handler:
    def compile_call(ctx: ExpressionCompiler, call: s.Call) -> Value:
        arg = ctx.numeric(call.args[0], f"the first argument of {adql}")
        digits = require_int_literal(call.args[1], f"the second argument of {adql}") if len(call.args) > 1 else 0
        # beyond 1000 digits either way a double or a bigint is unchanged (or 0): same answer, valid SQL
        digits = max(-_MAX_ROUNDING_DIGITS, min(_MAX_ROUNDING_DIGITS, digits))
        # PostgreSQL has round/trunc(x, n) for numeric only; numeric rounds halves away from zero
        inner = f"{pg}(CAST({arg.sql} AS numeric), {digits})"
        if arg.kind.integer:
            return arg.derived(f"CAST({inner} AS bigint)", Kind.BIGINT, name=adql.lower())
        return arg.derived(f"CAST({inner} AS double precision)", Kind.DOUBLE, name=adql.lower())

    return compile_call


# -- strings (features-adql-string) -------------------------------------------------------------


def _case_fold(adql: str) -> Handler:
    def compile_call(ctx: ExpressionCompiler, call: s.Call) -> Value:
        arg = ctx.string(call.args[0], f"the argument of {adql}")
        return arg.derived(f"{adql.lower()}({arg.sql})", Kind.STRING, name=adql.lower())

    return compile_call


# -- aggregates -----------------------------------------------------------------------------------


def _aggregate(adql: str) -> Handler:
    def compile_call(ctx: ExpressionCompiler, call: s.Call) -> Value:
        arg = ctx.aggregate_argument(call.args[0], adql, call.line, call.column)
        distinct = "DISTINCT " if call.quantifier == "DISTINCT" else ""
        inner = f"{distinct}{arg.sql}"
        if adql == "COUNT":
            return Value(f"count({inner})", Kind.BIGINT, name="count", aggregate=True)
        if adql in ("MIN", "MAX"):
            if arg.kind.geometry or arg.kind in (Kind.BOOLEAN, Kind.ARRAY, Kind.BINARY):
                raise error_at(f"{adql} does not apply to {arg.kind.value} values", call.line, call.column)
            kind = arg.kind if arg.kind is not Kind.NULL else Kind.STRING
            return Value(f"{adql.lower()}({inner})", kind, name=adql.lower(), meta=arg.meta, aggregate=True)
        if not (arg.kind.numeric or arg.kind is Kind.NULL):
            raise error_at(f"{adql} needs a numeric argument, not {arg.kind.value}", call.line, call.column)
        if adql == "AVG":
            sql = f"avg({inner})" if arg.kind in (Kind.REAL, Kind.DOUBLE) else f"CAST(avg({inner}) AS double precision)"
            return Value(sql, Kind.DOUBLE, name="avg", meta=arg.meta, aggregate=True)
        if arg.kind in (Kind.REAL, Kind.DOUBLE):
            return Value(f"sum({inner})", arg.kind, name="sum", meta=arg.meta, aggregate=True)
        # sum(int2/int4) is bigint, sum(int8) numeric: keep it an integer
        return Value(f"CAST(sum({inner}) AS bigint)", Kind.BIGINT, name="sum", meta=arg.meta, aggregate=True)

    return compile_call


# -- COALESCE, CAST, IN_UNIT ----------------------------------------------------------------------


def _coalesce(ctx: ExpressionCompiler, call: s.Call) -> Value:
    if not call.args:
        raise error_at("COALESCE needs at least one argument", call.line, call.column)
    args = [ctx.value(a) for a in call.args]
    kind = ctx.common_kind(list(zip(args, call.args, strict=True)), "COALESCE arguments")
    if kind.geometry:
        raise error_at("COALESCE does not apply to geometries", call.line, call.column)
    return _combined(args, f"COALESCE({', '.join(a.sql for a in args)})", kind, "coalesce", meta=args[0].meta)


_CAST_TARGETS = {
    "SMALLINT": ("smallint", Kind.SMALLINT), "INTEGER": ("integer", Kind.INTEGER), "BIGINT": ("bigint", Kind.BIGINT),
    "REAL": ("real", Kind.REAL), "DOUBLE PRECISION": ("double precision", Kind.DOUBLE),
    "CHAR": ("char", Kind.STRING), "VARCHAR": ("varchar", Kind.STRING), "TIMESTAMP": ("timestamp", Kind.TIMESTAMP),
}

_MAX_STRING_LENGTH = 10_485_760
"""PostgreSQL's largest CHAR/VARCHAR length."""


def compile_cast(ctx: ExpressionCompiler, node: s.Cast) -> Value:
    """CAST (ADQL 2.1 §4.7): numeric, character and TIMESTAMP targets."""
    target = _CAST_TARGETS.get(node.target)
    if target is None:
        known = ", ".join(_CAST_TARGETS)
        raise error_at(f"cannot CAST to {node.target or '?'}: the supported targets are {known}", node.line,
                       node.column)
    pg, kind = target
    if node.length is not None and kind is not Kind.STRING:
        raise error_at(f"{node.target} takes no length", node.line, node.column)
    if node.length is not None and not 1 <= node.length <= _MAX_STRING_LENGTH:
        raise error_at(f"the length of {node.target} must be between 1 and {_MAX_STRING_LENGTH}", node.line,
                       node.column)
    operand = ctx.value(node.operand)
    if operand.kind.geometry or operand.kind in (Kind.ARRAY, Kind.BINARY):
        raise error_at(f"cannot CAST a {operand.kind.value} value", node.line, node.column)
    if kind is Kind.TIMESTAMP and operand.kind not in (Kind.STRING, Kind.TIMESTAMP, Kind.NULL):
        raise error_at(f"cannot CAST {operand.kind.value} to TIMESTAMP (only strings)", node.line, node.column)
    if kind.numeric and operand.kind is Kind.TIMESTAMP:
        raise error_at(f"cannot CAST a TIMESTAMP to {node.target}", node.line, node.column)
    source = operand.sql
    if kind is Kind.STRING:
        if operand.kind is Kind.TIMESTAMP:  # DALI form: 2016-03-14T15:09:26.535
            source = f"replace(CAST({operand.sql} AS text), ' ', 'T')"
        pg = f"{pg}({node.length})" if node.length is not None else "text"
    return operand.derived(f"CAST({source} AS {pg})", kind, name=operand.name if operand.exact else "cast",
                           number=None)


def _in_unit(ctx: ExpressionCompiler, call: s.Call) -> Value:
    """IN_UNIT (ADQL 2.1 §4.9): conversion factor computed here with astropy from the column's unit."""
    value = ctx.numeric(call.args[0], "the first argument of IN_UNIT")
    target = require_literal_string(call.args[1], "the unit of IN_UNIT")
    source = value.unit or (value.meta.unit if value.meta is not None else None)
    if not source:
        raise error_at("IN_UNIT needs a value with a known unit (a column with a unit in TAP_SCHEMA)",
                       call.args[0].line, call.args[0].column)
    factor = _conversion_factor(source, target, call)
    return value.derived(f"({as_float(value)} * {float_literal(factor)})", Kind.DOUBLE, name="in_unit",
                         unit=target, number=None)


def _conversion_factor(source: str, target: str, call: s.Call) -> float:
    from astropy import units

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            src = units.Unit(source, format="vounit", parse_strict="raise")
        except ValueError:
            raise error_at(f"the unit {source!r} of the value is not a VOUnit", call.line, call.column) from None
        try:
            dst = units.Unit(target, format="vounit", parse_strict="raise")
        except ValueError:
            raise error_at(f"{target!r} is not a valid VOUnit", call.args[1].line, call.args[1].column) from None
        try:
            return float(src.to(dst))
        except units.UnitsError:
            raise error_at(f"cannot convert {source} to {target}", call.line, call.column) from None


# -- user-defined functions (UDF catalogue / RegTAP 1.2 §9.2) -----------------------------------


def _udf(adql: str, arguments: tuple[str, ...]) -> Handler:
    def compile_call(ctx: ExpressionCompiler, call: s.Call) -> Value:
        args = []
        for expr, kind in zip(call.args, arguments, strict=True):
            if kind == "string":
                args.append(ctx.string(expr, f"an argument of {adql}").sql)
            else:
                args.append(as_float(ctx.numeric(expr, f"an argument of {adql}")))
        return Value(f"{UDF_SCHEMA}.{adql.lower()}({', '.join(args)})", Kind.INTEGER, name=adql.lower())

    return compile_call


def _string_agg(ctx: ExpressionCompiler, call: s.Call) -> Value:
    value = ctx.aggregate_argument(call.args[0], "IVO_STRING_AGG", call.line, call.column)
    if value.kind.geometry:
        raise error_at("IVO_STRING_AGG does not apply to geometries", call.line, call.column)
    delimiter = ctx.string(call.args[1], "the delimiter of IVO_STRING_AGG")
    distinct = "DISTINCT " if call.quantifier == "DISTINCT" else ""
    return Value(f"COALESCE(string_agg({distinct}CAST({value.sql} AS text), {delimiter.sql}), '')", Kind.STRING,
                 name="ivo_string_agg", aggregate=True)


# -- the table ----------------------------------------------------------------------------------


def _math(name: str, params: tuple[str, ...], compile_call: Handler, *emits: str) -> Function:
    return Function(name, _one(params, _DOUBLE), compile_call, frozenset(emits))


def _udf_entry(name: str, params: tuple[str, ...], result: str, compile_call: Handler, description: str,
               *emits: str, aggregate: bool = False) -> Function:
    return Function(name, _one(params, result), compile_call, frozenset(emits) or frozenset({
        f"{UDF_SCHEMA}.{name.lower()}"}), UDF_FEATURE_TYPE, description, aggregate)


_X = (f"x {_DOUBLE}",)
_STRING_FEATURE = feature_type("adql-string")

FUNCTIONS: tuple[Function, ...] = (
    *(_math(adql, _X, _float_function(adql, pg), pg) for adql, pg in _FLOAT_FUNCTIONS.items()),
    _math("ABS", _X, _abs, "abs"),
    _math("ATAN2", (f"y {_DOUBLE}", f"x {_DOUBLE}"), _atan2, "atan2"),
    _math("POWER", (f"x {_DOUBLE}", f"y {_DOUBLE}"), _power, "power"),
    _math("MOD", (f"x {_DOUBLE}", f"y {_DOUBLE}"), _mod, "mod"),
    _math("PI", (), _pi, "pi"),
    Function("RAND", (Signature((), _DOUBLE), Signature(("seed INTEGER",), _DOUBLE)), _rand, frozenset({"random"})),
    Function("ROUND", (Signature(_X, _DOUBLE), Signature((*_X, "digits INTEGER"), _DOUBLE)),
             _rounding("ROUND", "round"), frozenset({"round"})),
    Function("TRUNCATE", (Signature(_X, _DOUBLE), Signature((*_X, "digits INTEGER"), _DOUBLE)),
             _rounding("TRUNCATE", "trunc"), frozenset({"trunc"})),
    Function("LOWER", _one((f"s {_STRING}",), _STRING), _case_fold("LOWER"), frozenset({"lower"}), _STRING_FEATURE,
             "lower-case a string (Unicode-aware)"),
    Function("UPPER", _one((f"s {_STRING}",), _STRING), _case_fold("UPPER"), frozenset({"upper"}), _STRING_FEATURE,
             "upper-case a string (Unicode-aware)"),
    *(Function(name, _one(("x ANY",), "ANY"), _aggregate(name), frozenset({name.lower()}), aggregate=True)
      for name in ("AVG", "MIN", "MAX", "SUM", "COUNT")),
    Function("COALESCE", (Signature(("x ANY",), "ANY", repeat=1),), _coalesce, frozenset({"coalesce"}),
             feature_type("adql-conditional"), "first non-NULL argument"),
    Function("IN_UNIT", _one((f"x {_DOUBLE}", f"unit {_STRING}"), _DOUBLE), _in_unit, frozenset(),
             feature_type("adql-unit"), "IN_UNIT(column, 'vounit'): the value converted from the column's unit"),
    _udf_entry("IVO_HASWORD", (f"haystack {_STRING}", f"needle {_STRING}"), "INTEGER",
               _udf("IVO_HASWORD", ("string", "string")),
               "1 if needle is a word (English stemming, case-insensitive) of haystack, else 0"
               " (RegTAP 1.2 section 9.2)"),
    _udf_entry("IVO_NOCASEMATCH", (f"value {_STRING}", f"pattern {_STRING}"), "INTEGER",
               _udf("IVO_NOCASEMATCH", ("string", "string")),
               "1 if value matches the LIKE pattern ignoring case, else 0 (RegTAP 1.2 section 9.2)"),
    _udf_entry("IVO_HASHLIST_HAS", (f"hashlist {_STRING}", f"item {_STRING}"), "INTEGER",
               _udf("IVO_HASHLIST_HAS", ("string", "string")),
               "1 if item is one of the #-separated words of hashlist, ignoring case, else 0"
               " (RegTAP 1.2 section 9.2)"),
    _udf_entry("IVO_STRING_AGG", (f"expr {_STRING}", f"delimiter {_STRING}"), _STRING, _string_agg,
               "aggregate: the non-NULL values joined by delimiter, '' for none (RegTAP 1.2 section 9.2)",
               "string_agg", "coalesce", aggregate=True),
    _udf_entry("IVO_INTERVAL_OVERLAPS", tuple(f"{p} {_DOUBLE}" for p in ("low1", "high1", "low2", "high2")),
               "INTEGER", _udf("IVO_INTERVAL_OVERLAPS", ("number",) * 4),
               "1 if the closed intervals [low1, high1] and [low2, high2] overlap, else 0 (UDF catalogue)"),
)
"""The non-geometric functions, in the order the capabilities list them."""
