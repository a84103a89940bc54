"""The ADQL syntax tree: what the parser produces and the compiler consumes.

Nodes are small frozen dataclasses with the 1-based ``line``/``column`` of their first token, so every
error can point at the user's text. Left-associative chains (``a + b - c``, ``x AND y AND z``) are
flat tuples, so long queries do not make deep trees.
"""

from __future__ import annotations

from dataclasses import dataclass

from jmmctap.tapschema import Identifier

__all__ = [
    "AllColumns",
    "Arith",
    "Between",
    "BoolOp",
    "Call",
    "Case",
    "Cast",
    "ColumnRef",
    "Comparison",
    "CountStar",
    "DerivedColumn",
    "DerivedTable",
    "Exists",
    "Expr",
    "FromItem",
    "InList",
    "InSubquery",
    "IsNull",
    "Join",
    "Like",
    "Literal",
    "Name",
    "Not",
    "OrderItem",
    "QualifiedStar",
    "Query",
    "QueryBody",
    "ScalarSubquery",
    "Select",
    "SelectItem",
    "SetOperation",
    "TableName",
    "Unary",
    "WithQuery",
]


@dataclass(frozen=True, slots=True)
class Name:
    """An identifier with its position."""

    ident: Identifier
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Literal:
    """``kind`` is ``number``, ``string`` or ``null``; ``text`` the token (string: without quotes)."""

    kind: str
    text: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class ColumnRef:
    parts: tuple[Name, ...]
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Call:
    """A function call; ``name`` as written, ``quantifier`` DISTINCT/ALL (aggregates only)."""

    name: str
    args: tuple[Expr, ...]
    quantifier: str | None
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class CountStar:
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Cast:
    """``target`` upper-case words (``DOUBLE PRECISION``), ``length`` for CHAR(n)/VARCHAR(n)."""

    operand: Expr
    target: str
    length: int | None
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Case:
    operand: Expr | None
    whens: tuple[tuple[Expr, Expr], ...]
    default: Expr | None
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class ScalarSubquery:
    query: Query
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Unary:
    """``op`` is ``-`` or ``+``."""

    op: str
    operand: Expr
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Arith:
    """``first op1 x1 op2 x2 ...`` at one precedence level; ops among ``+ - * / ||``."""

    first: Expr
    rest: tuple[tuple[str, Expr], ...]
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class BoolOp:
    """``op`` is ``AND`` or ``OR``."""

    op: str
    operands: tuple[Expr, ...]
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Comparison:
    """``op`` normalised: ``=``, ``<>``, ``<``, ``>``, ``<=``, ``>=``."""

    op: str
    left: Expr
    right: Expr
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Between:
    negated: bool
    operand: Expr
    low: Expr
    high: Expr
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class InList:
    negated: bool
    operand: Expr
    items: tuple[Expr, ...]
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class InSubquery:
    negated: bool
    operand: Expr
    query: Query
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Like:
    negated: bool
    case_insensitive: bool
    operand: Expr
    pattern: Expr
    escape: Expr | None
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class IsNull:
    negated: bool
    operand: Expr
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Exists:
    query: Query
    line: int
    column: int


Expr = (
    Literal | ColumnRef | Call | CountStar | Cast | Case | ScalarSubquery | Unary | Arith | BoolOp | Not
    | Comparison | Between | InList | InSubquery | Like | IsNull | Exists
)


@dataclass(frozen=True, slots=True)
class DerivedColumn:
    expr: Expr
    alias: Name | None
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class QualifiedStar:
    """``t.*`` (``qualifier`` are the name parts before ``.*``)."""

    qualifier: tuple[Name, ...]
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class AllColumns:
    """``SELECT *``."""

    line: int
    column: int


SelectItem = DerivedColumn | QualifiedStar


@dataclass(frozen=True, slots=True)
class TableName:
    parts: tuple[Name, ...]
    alias: Name | None
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class DerivedTable:
    query: Query
    alias: Name
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Join:
    """``kind`` INNER, LEFT, RIGHT, FULL or CROSS; at most one of ``on``/``using``."""

    kind: str
    natural: bool
    left: FromItem
    right: FromItem
    on: Expr | None
    using: tuple[Name, ...] | None
    line: int
    column: int


FromItem = TableName | DerivedTable | Join


@dataclass(frozen=True, slots=True)
class Select:
    """One SELECT ... FROM ... [WHERE] [GROUP BY] [HAVING]; ``items`` is ``AllColumns`` for ``*``."""

    quantifier: str | None
    top: int | None
    items: tuple[SelectItem, ...] | AllColumns
    from_items: tuple[FromItem, ...]
    where: Expr | None
    group_by: tuple[Expr, ...]
    having: Expr | None
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class SetOperation:
    """``op`` UNION, EXCEPT or INTERSECT."""

    op: str
    all: bool
    left: QueryBody
    right: QueryBody
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class OrderItem:
    expr: Expr
    descending: bool
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class WithQuery:
    name: Name
    query: Query
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Query:
    """A query expression: [WITH] body [ORDER BY] [OFFSET]; a parenthesised operand is a Query too."""

    with_queries: tuple[WithQuery, ...]
    body: QueryBody
    order_by: tuple[OrderItem, ...]
    offset: int | None
    line: int
    column: int


QueryBody = Select | SetOperation | Query
