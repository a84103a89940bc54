"""Compile ADQL queries: WITH, set operations, SELECT lists, FROM/JOIN binding to TAP_SCHEMA, ORDER BY, TOP/OFFSET."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from jmmctap.adql import syntax as s
from jmmctap.adql.expressions import ExpressionCompiler
from jmmctap.adql.functions import UDF_SCHEMA
from jmmctap.adql.limits import Deadline
from jmmctap.adql.scope import Relation, RelColumn, Scope, did_you_mean, error_at
from jmmctap.adql.sqltext import quote_identifier as q
from jmmctap.adql.types import Kind, Value, column_meta, is_region_column, kind_of_column, result_column
from jmmctap.errors import AdqlError
from jmmctap.results import ResultColumn
from jmmctap.tapschema import Identifier, Table, TapSchema

__all__ = ["MAX_COLUMNS", "Compiled", "Output", "QueryCompiler"]

MAX_COLUMNS = 1664
"""Most columns one SELECT may have: PostgreSQL's limit on a target list."""

_REGULAR = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_GEOMETRY_OUTPUT = {Kind.POINT: "point_array", Kind.CIRCLE: "circle_array", Kind.POLYGON: "polygon_array"}
_JOIN_SQL = {"INNER": "JOIN", "LEFT": "LEFT OUTER JOIN", "RIGHT": "RIGHT OUTER JOIN", "FULL": "FULL OUTER JOIN"}


@dataclass(frozen=True, slots=True)
class Output:
    """One output column of a compiled query: its ADQL name, its SQL name and what it holds."""

    ident: Identifier
    name: str
    value: Value


@dataclass(frozen=True, slots=True)
class Compiled:
    sql: str
    outputs: list[Output]


@dataclass(frozen=True, slots=True)
class _Cte:
    ident: Identifier
    compiled: Compiled


@dataclass(frozen=True, slots=True)
class _Item:
    """A compiled FROM item: its SQL and its columns in ``SELECT *`` order."""

    sql: str
    columns: list[RelColumn]


def _rel_columns(outputs: Sequence[Output], sql_alias: str) -> list[RelColumn]:
    """The columns a FROM item exposes: each output as ``alias.name``, no longer a constant or predicate."""
    return [
        RelColumn(o.ident, replace(o.value, sql=f"{sql_alias}.{q(o.name)}", name=o.name, aggregate=False,
                                   constant=False, predicate=None, distance=None, circle=None, number=None,
                                   position=None))
        for o in outputs
    ]


def _table_outputs(table: Table) -> list[Output]:
    return [
        Output(c.identifier, c.identifier.text,
               Value("", kind_of_column(c.datatype, c.arraysize, c.xtype), name=c.identifier.text,
                     meta=column_meta(c), exact=True))
        for c in table.columns
    ]


class _TableColumns:
    """The outputs and columns of published tables by alias, built once per table and alias.

    Building them is most of the work of binding a wide table (the JSDC has 98 columns), and the same
    tables come back with the same aliases in query after query. Keyed by identity: a ``TapSchema``
    copy is immutable, and a new copy (new metadata) has new ``Table`` objects.
    """

    _MAX_ENTRIES = 2048

    def __init__(self) -> None:
        self._entries: dict[tuple[int, str], tuple[Table, list[Output], list[RelColumn]]] = {}

    def get(self, table: Table, sql_alias: str) -> tuple[list[Output], list[RelColumn]]:
        key = (id(table), sql_alias)
        entry = self._entries.get(key)
        if entry is None or entry[0] is not table:
            outputs = _table_outputs(table)
            entry = (table, outputs, _rel_columns(outputs, sql_alias))
            if len(self._entries) >= self._MAX_ENTRIES:
                self._entries.clear()  # plain and bounded: a refill costs one binding per table
            self._entries[key] = entry
        return entry[1], entry[2]


_TABLE_COLUMNS = _TableColumns()
"""Shared by all translations (the values are immutable; threads only add whole entries)."""


class QueryCompiler(ExpressionCompiler):
    """Translate one parsed query; ``tables`` collects the TAP_SCHEMA tables it reads."""

    def __init__(self, tap_schema: TapSchema, extra_tables: Sequence[Table] = (),
                 deadline: Deadline | None = None) -> None:
        super().__init__(deadline)
        self.tap_schema = tap_schema
        self.uploads = TapSchema((), tuple(extra_tables)) if extra_tables else None
        self.tables: set[str] = set()
        self.ctes: list[_Cte] = []

    def main(self, query: s.Query) -> tuple[str, list[ResultColumn]]:
        """SQL and result columns of the whole query."""
        compiled = self.query(query, final=True, main=True, parent=None)
        return compiled.sql, [result_column(o.name, o.value) for o in compiled.outputs]

    def subquery(self, query: s.Query) -> tuple[str, list[Value]]:
        compiled = self.query(query, final=False, main=False, parent=self.scope)
        return compiled.sql, [o.value for o in compiled.outputs]

    # -- query expressions -------------------------------------------------------------------

    def query(self, query: s.Query, *, final: bool, main: bool, parent: Scope | None) -> Compiled:
        prefix = ""
        if query.with_queries:
            if not main:
                raise error_at("WITH is only allowed at the start of the main query (ADQL 2.1 §4.5)", query.line,
                               query.column)
            prefix = self._with(query.with_queries)
        if isinstance(query.body, s.Select):
            compiled = self._select(query.body, query.order_by, query.offset, final, parent)
        else:
            body = self._operand(query.body, final, parent)
            order = self._set_order(query.order_by, body.outputs)
            offset = f" OFFSET {query.offset}" if query.offset is not None else ""
            compiled = Compiled(body.sql + order + offset, body.outputs)
        return Compiled(prefix + compiled.sql, compiled.outputs)

    def _with(self, queries: tuple[s.WithQuery, ...]) -> str:
        parts = []
        for with_query in queries:
            ident = with_query.name.ident
            if any(ident.matches(c.ident) for c in self.ctes):
                raise error_at(f"WITH query {ident} is defined twice", with_query.line, with_query.column)
            compiled = self.query(with_query.query, final=False, main=False, parent=None)
            self.ctes.append(_Cte(ident, compiled))
            parts.append(f"{q(ident.text)} AS ({compiled.sql})")
        return "WITH " + ", ".join(parts) + " "

    def _operand(self, body: s.QueryBody, final: bool, parent: Scope | None) -> Compiled:
        if isinstance(body, s.Select):
            return self._select(body, (), None, final, parent)
        if isinstance(body, s.Query):
            return self.query(body, final=final, main=False, parent=parent)
        left = self._operand(body.left, final, parent)
        right = self._operand(body.right, final, parent)
        if len(left.outputs) != len(right.outputs):
            raise error_at(f"the operands of {body.op} have {len(left.outputs)} and {len(right.outputs)} columns;"
                           " they must have the same number (ADQL 2.1 §4.6)", body.line, body.column)
        kinds = []
        for a, b in zip(left.outputs, right.outputs, strict=True):
            kinds.append(self.common_kind([(a.value, body), (b.value, body)], f"the columns {a.name} of {body.op}"))
        left, right = self._cast_outputs(left, kinds), self._cast_outputs(right, kinds)
        outputs = [replace(o, value=replace(o.value, kind=k)) for o, k in zip(left.outputs, kinds, strict=True)]
        sql = f"({left.sql}) {body.op}{' ALL' if body.all else ''} ({right.sql})"
        return Compiled(sql, outputs)

    def _cast_outputs(self, compiled: Compiled, kinds: list[Kind]) -> Compiled:
        """Wrap an operand whose column types differ from the set operation's (int vs double...)."""
        if all(o.value.kind in (k, Kind.NULL) or not k.numeric for o, k in zip(compiled.outputs, kinds, strict=True)):
            return compiled
        columns = []
        for output, kind in zip(compiled.outputs, kinds, strict=True):
            ref = f'"_s".{q(output.name)}'
            columns.append(f"CAST({ref} AS {kind.value.lower()}) AS {q(output.name)}" if output.value.kind is not kind
                           else f"{ref} AS {q(output.name)}")
        return Compiled(f"SELECT {', '.join(columns)} FROM ({compiled.sql}) AS \"_s\"", compiled.outputs)

    def _set_order(self, items: tuple[s.OrderItem, ...], outputs: list[Output]) -> str:
        if not items:
            return ""
        terms = []
        for item in items:
            term = self._output_reference(item.expr, outputs)
            if term is None:
                raise error_at("ORDER BY after UNION/EXCEPT/INTERSECT accepts output column names or numbers only",
                               item.line, item.column)
            terms.append(term + (" DESC" if item.descending else ""))
        return " ORDER BY " + ", ".join(terms)

    @staticmethod
    def _output_reference(expr: s.Expr, outputs: list[Output], clause: str = "ORDER BY") -> str | None:
        """An ORDER/GROUP BY ordinal or output column name, as SQL; None if it is another expression."""
        if isinstance(expr, s.Literal) and expr.kind == "number" and expr.text.isdigit():
            ordinal = int(expr.text)
            if not 1 <= ordinal <= len(outputs):
                raise error_at(f"{clause} {ordinal}: there are {len(outputs)} output columns, numbered from 1",
                               expr.line, expr.column)
            return str(ordinal)
        if isinstance(expr, s.ColumnRef) and len(expr.parts) == 1:
            found = [o for o in outputs if expr.parts[0].ident.matches(o.ident)]
            if len(found) > 1:
                raise error_at(f"{expr.parts[0].ident} names several output columns", expr.line, expr.column)
            if found:
                return q(found[0].name)
        return None

    # -- SELECT ------------------------------------------------------------------------------

    def _select(self, select: s.Select, order_by: tuple[s.OrderItem, ...], offset: int | None, final: bool,
                parent: Scope | None) -> Compiled:
        saved = self.scope, self.clause
        self.scope = Scope(parent=parent)
        try:
            return self._select_in_scope(select, order_by, offset, final)
        finally:
            self.scope, self.clause = saved

    def _select_in_scope(self, select: s.Select, order_by: tuple[s.OrderItem, ...], offset: int | None,
                         final: bool) -> Compiled:
        from_sql = ", ".join(self._from_item(item).sql for item in select.from_items)
        self._check_duplicate_aliases(select)
        self.clause = "SELECT"
        outputs = self._select_list(select)
        if len(outputs) > MAX_COLUMNS:
            raise error_at(f"this SELECT has {len(outputs)} columns; a query can have at most {MAX_COLUMNS}"
                           " (PostgreSQL)", select.line, select.column)
        if final:
            outputs = _unique_names(outputs)
        parts = ["SELECT"]
        if select.quantifier == "DISTINCT":
            parts.append("DISTINCT")
        parts.append(", ".join(_output_sql(o, final) for o in outputs))
        parts.append(f"FROM {from_sql}")
        if select.where is not None:
            self.clause = "WHERE"
            parts.append(f"WHERE {self.condition(select.where)}")
        if select.group_by:
            self.clause = "GROUP BY"
            parts.append("GROUP BY " + ", ".join(self._group_term(e, outputs) for e in select.group_by))
        if select.having is not None:
            self.clause = "HAVING"
            parts.append(f"HAVING {self.condition(select.having)}")
        if order_by:
            self.clause = "ORDER BY"
            parts.append("ORDER BY " + ", ".join(self._order_term(i, outputs) for i in order_by))
        if select.top is not None:
            parts.append(f"LIMIT {select.top}")
        if offset is not None:
            parts.append(f"OFFSET {offset}")
        return Compiled(" ".join(parts), outputs)

    def _select_list(self, select: s.Select) -> list[Output]:
        if isinstance(select.items, s.AllColumns):
            return [_column_output(c) for c in self.scope.star]
        outputs: list[Output] = []
        for item in select.items:
            if isinstance(item, s.QualifiedStar):
                relations = [r for r in self.scope.relations if r.matches(item.qualifier)]
                if not relations:
                    name = ".".join(str(p.ident) for p in item.qualifier)
                    raise error_at(f"unknown table or alias {name} in {name}.*", item.line, item.column)
                outputs.extend(_column_output(c) for c in relations[0].columns)
                continue
            value = self.value(item.expr)
            if item.alias is not None:
                outputs.append(Output(item.alias.ident, item.alias.ident.text, value))
            else:
                outputs.append(Output(_ident_for(value.name), value.name, value))
        return outputs

    def _group_term(self, expr: s.Expr, outputs: list[Output]) -> str:
        if isinstance(expr, s.Literal):  # PostgreSQL reads an integer as an output column number
            reference = self._output_reference(expr, outputs, "GROUP BY") if expr.text.isdigit() else None
            if reference is None:
                raise error_at("GROUP BY needs a column or an expression, not a constant", expr.line, expr.column)
            return reference
        try:
            value = self.value(expr)
        except AdqlError:
            reference = self._output_reference(expr, outputs) if isinstance(expr, s.ColumnRef) else None
            if reference is None:
                raise
            return reference
        if value.kind.geometry:  # pgsphere types have no equality operator PostgreSQL can group with
            raise error_at(f"cannot GROUP BY a {value.kind.value}; group by its coordinates", expr.line, expr.column)
        return value.sql

    def _order_term(self, item: s.OrderItem, outputs: list[Output]) -> str:
        term = self._output_reference(item.expr, outputs)
        if term is None and isinstance(item.expr, s.Literal):
            raise error_at("ORDER BY needs an output column, its number or an expression, not a constant",
                           item.line, item.column)
        if term is None:
            value = self.value(item.expr)
            if value.kind.geometry:
                raise error_at(f"cannot ORDER BY a {value.kind.value}", item.line, item.column)
            term = value.sql
        return term + (" DESC" if item.descending else "")

    # -- FROM ------------------------------------------------------------------------------

    def _from_item(self, item: s.FromItem) -> _Item:
        compiled = self._from_part(item)
        self.scope.star.extend(compiled.columns)
        return compiled

    def _from_part(self, item: s.FromItem) -> _Item:
        if isinstance(item, s.TableName):
            return self._table(item)
        if isinstance(item, s.DerivedTable):
            compiled = self.query(item.query, final=False, main=False, parent=self.scope.parent)
            alias = item.alias.ident
            return self._relation(f"({compiled.sql}) AS {q(alias.text)}", alias, None, f"subquery {alias}",
                                  q(alias.text), compiled.outputs)
        return self._join(item)

    def _relation(self, sql: str, alias: Identifier | None, table: Table | None, label: str, sql_alias: str,
                  outputs: list[Output], columns: list[RelColumn] | None = None) -> _Item:
        if columns is None:
            columns = _rel_columns(outputs, sql_alias)
        self.scope.relations.append(Relation(alias, table, label, columns))
        self.scope.aliases.append((sql_alias, label))
        return _Item(sql, columns)

    def _table(self, item: s.TableName) -> _Item:
        parts = [p.ident for p in item.parts]
        alias = item.alias.ident if item.alias is not None else None
        if len(parts) == 1:
            cte = next((c for c in self.ctes if parts[0].matches(c.ident)), None)
            if cte is not None:
                sql_alias = q((alias or cte.ident).text)
                sql = q(cte.ident.text) + (f" AS {sql_alias}" if alias is not None else "")
                return self._relation(sql, alias or cte.ident, None, cte.ident.text, sql_alias, cte.compiled.outputs)
        table = self._find_table(item)
        self.tables.add(table.name)
        self.leakproof_joins |= table.name in self.tap_schema.row_secured
        sql_alias = q(alias.text) if alias is not None else q(table.db_table)
        sql = f"{q(table.db_schema)}.{q(table.db_table)}" + (f" AS {sql_alias}" if alias is not None else "")
        outputs, columns = _TABLE_COLUMNS.get(table, sql_alias)
        return self._relation(sql, alias, table if alias is None else None, table.name, sql_alias, outputs, columns)

    def _find_table(self, item: s.TableName) -> Table:
        parts = [p.ident for p in item.parts]
        if len(parts) > 3:
            raise error_at("a table name has at most three parts (catalog.schema.table)", item.line, item.column)
        found = self.tap_schema.find_tables(parts)
        if self.uploads is not None:
            found += self.uploads.find_tables(parts)
        name = ".".join(str(p) for p in parts)
        if not found:
            names = list(self.tap_schema.names()) + ([t.name for t in self.uploads.tables] if self.uploads else [])
            hint = did_you_mean(name, names) or did_you_mean(parts[-1].text, [n.split(".")[-1] for n in names])
            raise error_at(f"unknown table {name}: not published in TAP_SCHEMA.{hint}", item.line, item.column)
        if len(found) > 1:
            choices = ", ".join(t.name for t in found)
            raise error_at(f"table name {name} is ambiguous ({choices}): qualify it with its schema", item.line,
                           item.column)
        return found[0]

    def _join(self, join: s.Join) -> _Item:
        left = self._from_part(join.left)
        right = self._from_part(join.right)
        right_sql = f"({right.sql})" if isinstance(join.right, s.Join) else right.sql
        if join.kind == "CROSS":
            return _Item(f"{left.sql} CROSS JOIN {right_sql}", left.columns + right.columns)
        keyword = _JOIN_SQL[join.kind]
        if join.on is not None:
            saved = self.clause
            self.clause = "ON"
            condition = self.condition(join.on)
            self.clause = saved
            return _Item(f"{left.sql} {keyword} {right_sql} ON {condition}", left.columns + right.columns)
        if join.using is not None:
            pairs = [self._using_pair(name, left.columns, right.columns) for name in join.using]
        elif join.natural:
            pairs = [(lc, rc) for lc in left.columns for rc in right.columns if _same_name(lc.ident, rc.ident)]
        else:
            raise error_at("JOIN needs ON or USING (or write NATURAL JOIN or CROSS JOIN)", join.line, join.column)
        condition = " AND ".join(f"{lc.value.sql} = {rc.value.sql}" for lc, rc in pairs) or "TRUE"
        merged = [self._merged(join.kind, lc, rc) for lc, rc in pairs]
        self.scope.merged.extend(merged)
        used_left = {id(lc) for lc, _ in pairs}
        used_right = {id(rc) for _, rc in pairs}
        columns = merged + [c for c in left.columns if id(c) not in used_left]
        columns += [c for c in right.columns if id(c) not in used_right]
        return _Item(f"{left.sql} {keyword} {right_sql} ON {condition}", columns)

    @staticmethod
    def _using_pair(name: s.Name, left: list[RelColumn], right: list[RelColumn]) -> tuple[RelColumn, RelColumn]:
        pair = []
        for side, columns in (("left", left), ("right", right)):
            found = [c for c in columns if name.ident.matches(c.ident)]
            if len(found) != 1:
                problem = "no" if not found else "more than one"
                raise error_at(f"USING ({name.ident}): the {side} side has {problem} column of that name", name.line,
                               name.column)
            pair.append(found[0])
        return pair[0], pair[1]

    @staticmethod
    def _merged(kind: str, left: RelColumn, right: RelColumn) -> RelColumn:
        if kind == "RIGHT":
            return right
        if kind == "FULL":
            sql = f"COALESCE({left.value.sql}, {right.value.sql})"
            return RelColumn(left.ident, replace(left.value, sql=sql, exact=False))
        return left

    def _check_duplicate_aliases(self, select: s.Select) -> None:
        seen: dict[str, str] = {}
        for sql_alias, label in self.scope.aliases:
            if sql_alias in seen:
                raise error_at(f"{label} and {seen[sql_alias]} have the same name in FROM: give them different"
                               " aliases (AS ...)", select.line, select.column)
            seen[sql_alias] = label


def _same_name(a: Identifier, b: Identifier) -> bool:
    return a.matches(b) or b.matches(a)


def _ident_for(name: str) -> Identifier:
    return Identifier(name, delimited=not _REGULAR.fullmatch(name))


def _column_output(column: RelColumn) -> Output:
    return Output(column.ident, column.ident.text, column.value)


def _output_sql(output: Output, final: bool) -> str:
    value = output.value
    sql = value.sql
    if final and value.kind in _GEOMETRY_OUTPUT:
        sql = f"{UDF_SCHEMA}.{_GEOMETRY_OUTPUT[value.kind]}({sql})"
        if is_region_column(value):  # declared char/adql:REGION in TAP_SCHEMA (TAP 1.0 style): STC-S text
            sql = f"('Polygon ICRS ' || array_to_string({sql}, ' '))"
    return f"{sql} AS {q(output.name)}"


def _unique_names(outputs: list[Output]) -> list[Output]:
    """Final column names unique (as ADQL names compare): later duplicates get ``_2``, ``_3``...

    Names are bucketed by case-folded text (names that match always fold alike), so a query with
    1,000 columns named ``id`` costs linear time, not cubic.
    """
    originals = _Names(o.ident for o in outputs)
    placed = _Names()
    next_suffix: dict[str, int] = {}
    result: list[Output] = []
    for output in outputs:
        if placed.clashes(output.ident):
            n = next_suffix.get(output.name, 2)
            while any(names.clashes(_ident_for(f"{output.name}_{n}")) for names in (placed, originals)):
                n += 1
            next_suffix[output.name] = n + 1
            name = f"{output.name}_{n}"
            output = Output(_ident_for(name), name, output.value)
        placed.add(output.ident)
        result.append(output)
    return result


class _Names:
    """A set of identifiers, asked whether a name designates one of them."""

    def __init__(self, idents: Iterable[Identifier] = ()) -> None:
        self._buckets: dict[str, list[Identifier]] = {}
        for ident in idents:
            self.add(ident)

    def add(self, ident: Identifier) -> None:
        self._buckets.setdefault(ident.text.casefold(), []).append(ident)

    def clashes(self, ident: Identifier) -> bool:
        return any(_same_name(ident, other) for other in self._buckets.get(ident.text.casefold(), ()))
