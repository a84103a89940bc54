"""The function allow-list: ADQL math, string, aggregate, CAST/COALESCE/IN_UNIT and the declared UDFs.

Every function a query may name is a key of ``FUNCTIONS`` (geometry ones come from
``jmmctap.adql.geometry``); anything else — ``version()``, ``pg_sleep()``, ``current_setting()`` —
is an unknown function. ``SQL_FUNCTIONS`` lists every PostgreSQL function the emitter can write,
so a test can check that translations call nothing else.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

from jmmctap.adql import syntax as s
from jmmctap.adql.scope import error_at
from jmmctap.adql.sqltext import float_literal
from jmmctap.adql.types import Kind, Value, widen

if TYPE_CHECKING:
    from jmmctap.adql.expressions import ExpressionCompiler

__all__ = ["FUNCTIONS", "SQL_FUNCTIONS", "UDF_SCHEMA", "Handler", "compile_cast"]

Handler = Callable[["ExpressionCompiler", s.Call], Value]

UDF_SCHEMA = "jmmctap_adql"
"""PostgreSQL schema of the helper functions of migration 0003 (the query role may EXECUTE them)."""

FUNCTIONS: dict[str, Handler] = {}
"""Upper-case ADQL function name → compiler of its calls."""

def _words(text: str) -> list[str]:
    return text.split()


SQL_FUNCTIONS: frozenset[str] = frozenset(_words("""
abs ceil floor degrees radians exp ln log mod pi power random round trunc sqrt sin cos tan cot asin acos atan
atan2 lower upper count avg min max sum coalesce string_agg replace array_to_string spoint scircle long lat
area center radius jmmctap_adql.point_array jmmctap_adql.circle_array jmmctap_adql.polygon_array
jmmctap_adql.lon_deg jmmctap_adql.spoly_from_points jmmctap_adql.spoly_centroid jmmctap_adql.box
jmmctap_adql.ivo_hasword jmmctap_adql.ivo_nocasematch jmmctap_adql.ivo_hashlist_has
jmmctap_adql.ivo_interval_overlaps
"""))
"""Every PostgreSQL function (bare or schema-qualified) the translator may emit."""


def register(name: str, *, aggregate: bool = False) -> Callable[[Handler], Handler]:
    """Add a handler to ``FUNCTIONS`` (used by this module and by ``geometry``)."""

    def decorate(handler: Handler) -> Handler:
        handler.aggregate = aggregate  # type: ignore[attr-defined]
        FUNCTIONS[name] = handler
        return handler

    return decorate


def arity(call: s.Call, *counts: int) -> None:
    """Raise unless the call has one of the allowed argument counts."""
    if len(call.args) not in counts:
        wanted = " or ".join(str(c) for c in counts)
        raise error_at(f"{call.name.upper()} takes {wanted} argument{'s' if counts != (1,) else ''},"
                       f" not {len(call.args)}", call.line, call.column)


def as_float(value: Value) -> str:
    """SQL of a numeric value as double precision (avoids numeric overloads of PostgreSQL functions)."""
    if value.kind in (Kind.DOUBLE, Kind.REAL):
        return value.sql
    return f"CAST({value.sql} AS double precision)"


def _combined(args: list[Value], sql: str, kind: Kind, name: str, **extra: object) -> Value:
    return Value(sql, kind, name=name, aggregate=any(a.aggregate for a in args),
                 constant=all(a.constant for a in args), **extra)  # type: ignore[arg-type]


# -- math (ADQL 2.1 §2.3) -----------------------------------------------------------------------

_FLOAT_FUNCTIONS = {
    "ACOS": "acos", "ASIN": "asin", "ATAN": "atan", "COS": "cos", "COT": "cot", "SIN": "sin", "TAN": "tan",
    "DEGREES": "degrees", "RADIANS": "radians", "EXP": "exp", "SQRT": "sqrt", "LOG": "ln", "LOG10": "log",
    "CEILING": "ceil", "FLOOR": "floor",
}


def _float_function(adql: str, pg: str) -> Handler:
    def compile_call(ctx: ExpressionCompiler, call: s.Call) -> Value:
        arity(call, 1)
        arg = ctx.numeric(call.args[0], f"the argument of {adql}")
        return _combined([arg], f"{pg}({as_float(arg)})", Kind.DOUBLE, adql.lower())

    return compile_call


for _adql, _pg in _FLOAT_FUNCTIONS.items():
    register(_adql)(_float_function(_adql, _pg))


@register("ABS")
def _abs(ctx: ExpressionCompiler, call: s.Call) -> Value:
    arity(call, 1)
    arg = ctx.numeric(call.args[0], "the argument of ABS")
    return arg.derived(f"abs({arg.sql})", arg.kind if arg.kind is not Kind.NULL else Kind.DOUBLE, name="abs",
                       number=abs(arg.number) if arg.number is not None else None)


@register("ATAN2")
def _atan2(ctx: ExpressionCompiler, call: s.Call) -> Value:
    arity(call, 2)
    y, x = (ctx.numeric(a, "an argument of ATAN2") for a in call.args)
    return _combined([y, x], f"atan2({as_float(y)}, {as_float(x)})", Kind.DOUBLE, "atan2")


@register("POWER")
def _power(ctx: ExpressionCompiler, call: s.Call) -> Value:
    arity(call, 2)
    x, y = (ctx.numeric(a, "an argument of POWER") for a in call.args)
    return _combined([x, y], f"power({as_float(x)}, {as_float(y)})", Kind.DOUBLE, "power")


@register("MOD")
def _mod(ctx: ExpressionCompiler, call: s.Call) -> Value:
    arity(call, 2)
    x, y = (ctx.numeric(a, "an argument of MOD") for a in call.args)
    if x.kind.integer and y.kind.integer:
        return _combined([x, y], f"mod({x.sql}, {y.sql})", widen(x.kind, y.kind), "mod")
    # PostgreSQL has no mod(float8, float8)
    sql = f"CAST(mod(CAST({x.sql} AS numeric), CAST({y.sql} AS numeric)) AS double precision)"
    return _combined([x, y], sql, Kind.DOUBLE, "mod")


@register("PI")
def _pi(ctx: ExpressionCompiler, call: s.Call) -> Value:
    arity(call, 0)
    return Value("pi()", Kind.DOUBLE, name="pi", constant=True)


@register("RAND")
def _rand(ctx: ExpressionCompiler, call: s.Call) -> Value:
    arity(call, 0, 1)
    if call.args:
        from jmmctap.adql.expressions import require_int_literal

        require_int_literal(call.args[0], "the seed of RAND")  # ADQL leaves seed semantics undefined
    return Value("random()", Kind.DOUBLE, name="rand")


def _rounding(adql: str, pg: str) -> Handler:
    def compile_call(ctx: ExpressionCompiler, call: s.Call) -> Value:
        from jmmctap.adql.expressions import require_int_literal

        arity(call, 1, 2)
        arg = ctx.numeric(call.args[0], f"the first argument of {adql}")
        digits = require_int_literal(call.args[1], f"the second argument of {adql}") if len(call.args) > 1 else 0
        # PostgreSQL has round/trunc(x, n) for numeric only; numeric rounds halves away from zero
        inner = f"{pg}(CAST({arg.sql} AS numeric), {digits})"
        if arg.kind.integer:
            return arg.derived(f"CAST({inner} AS bigint)", Kind.BIGINT, name=adql.lower())
        return arg.derived(f"CAST({inner} AS double precision)", Kind.DOUBLE, name=adql.lower())

    return compile_call


register("ROUND")(_rounding("ROUND", "round"))
register("TRUNCATE")(_rounding("TRUNCATE", "trunc"))


# -- strings (features-adql-string) -------------------------------------------------------------


def _case_fold(adql: str) -> Handler:
    def compile_call(ctx: ExpressionCompiler, call: s.Call) -> Value:
        arity(call, 1)
        arg = ctx.string(call.args[0], f"the argument of {adql}")
        return arg.derived(f"{adql.lower()}({arg.sql})", Kind.STRING, name=adql.lower())

    return compile_call


register("LOWER")(_case_fold("LOWER"))
register("UPPER")(_case_fold("UPPER"))


# -- aggregates -----------------------------------------------------------------------------------


def _aggregate(adql: str) -> Handler:
    def compile_call(ctx: ExpressionCompiler, call: s.Call) -> Value:
        arity(call, 1)
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


for _name in ("AVG", "MIN", "MAX", "SUM", "COUNT"):
    register(_name, aggregate=True)(_aggregate(_name))


# -- COALESCE, CAST, IN_UNIT ----------------------------------------------------------------------


@register("COALESCE")
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


@register("IN_UNIT")
def _in_unit(ctx: ExpressionCompiler, call: s.Call) -> Value:
    """IN_UNIT (ADQL 2.1 §4.9): conversion factor computed here with astropy from the column's unit."""
    from jmmctap.adql.expressions import require_literal_string

    arity(call, 2)
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
        arity(call, len(arguments))
        args = []
        for expr, kind in zip(call.args, arguments, strict=True):
            if kind == "string":
                args.append(ctx.string(expr, f"an argument of {adql}").sql)
            else:
                args.append(as_float(ctx.numeric(expr, f"an argument of {adql}")))
        return Value(f"{UDF_SCHEMA}.{adql.lower()}({', '.join(args)})", Kind.INTEGER, name=adql.lower())

    return compile_call


register("IVO_HASWORD")(_udf("IVO_HASWORD", ("string", "string")))
register("IVO_NOCASEMATCH")(_udf("IVO_NOCASEMATCH", ("string", "string")))
register("IVO_HASHLIST_HAS")(_udf("IVO_HASHLIST_HAS", ("string", "string")))
register("IVO_INTERVAL_OVERLAPS")(_udf("IVO_INTERVAL_OVERLAPS", ("number",) * 4))


@register("IVO_STRING_AGG", aggregate=True)
def _string_agg(ctx: ExpressionCompiler, call: s.Call) -> Value:
    arity(call, 2)
    value = ctx.aggregate_argument(call.args[0], "IVO_STRING_AGG", call.line, call.column)
    if value.kind.geometry:
        raise error_at("IVO_STRING_AGG does not apply to geometries", call.line, call.column)
    delimiter = ctx.string(call.args[1], "the delimiter of IVO_STRING_AGG")
    distinct = "DISTINCT " if call.quantifier == "DISTINCT" else ""
    return Value(f"COALESCE(string_agg({distinct}CAST({value.sql} AS text), {delimiter.sql}), '')", Kind.STRING,
                 name="ivo_string_agg", aggregate=True)
