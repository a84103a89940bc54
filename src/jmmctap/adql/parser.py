"""Parse ADQL text into the syntax tree of ``jmmctap.adql.syntax``, with helpful syntax errors."""

from __future__ import annotations

import functools
from typing import Any

from lark import Lark, Token, Transformer, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput
from lark.exceptions import UnexpectedToken

from jmmctap.adql import syntax as s
from jmmctap.adql.grammar import GRAMMAR, KEYWORDS
from jmmctap.adql.limits import Limits, check_length, checked_tokens
from jmmctap.adql.registry import RESERVED_WORDS
from jmmctap.errors import AdqlError
from jmmctap.tapschema import Identifier

__all__ = ["RESERVED_WORDS", "parse"]

_TOKEN_NAMES = {
    "IDENT": "a name", "DELIMITED": 'a "quoted name"', "NUMBER": "a number", "STRING": "a 'string'",
    "COMP_OP": "a comparison operator", "STAR": "'*'", "LPAR": "'('", "RPAR": "')'", "COMMA": "','",
    "DOT": "'.'", "PLUS": "'+'", "MINUS": "'-'", "SLASH": "'/'", "SEMICOLON": "';'", "$END": "end of query",
    "CONCAT": "'||'", "HEX": "a number",
}

_INT8_MAX = 2**63 - 1
_KEYWORD_SET = frozenset(KEYWORDS)
DEFAULT_LIMITS = Limits()

_EXCERPT_WIDTH = 80
"""Characters of the offending line shown under a syntax error."""

_CURLY_QUOTES = "\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u00b4\u0060"


@functools.cache
def _lark() -> Lark:
    return Lark(GRAMMAR, parser="lalr", lexer="basic", maybe_placeholders=False, transformer=_ToSyntax())


def parse(text: str, limits: Limits = DEFAULT_LIMITS) -> s.Query:
    """Parse one ADQL query, within the size budgets of ``limits``.

    Raises
    ------
    AdqlError
        With line, column, the offending token, what was expected and a likely fix; or naming the
        budget the query exceeds.
    """
    if "\x00" in text:
        position = text.index("\x00")
        line = text.count("\n", 0, position) + 1
        raise AdqlError("the query contains a NUL character", line, position - text.rfind("\n", 0, position))
    if not text.strip():
        raise AdqlError("the query is empty", 1, 1)
    check_length(text, limits)
    try:
        interactive = _lark().parse_interactive(text)
        # the budgets are checked on each token before the parser takes it: one lexing pass for both
        for _ in checked_tokens(interactive.iter_parse(), limits, _KEYWORD_SET):
            pass
        result: s.Query = interactive.feed_eof()  # type: ignore[no-untyped-call]
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    except _NameError as exc:
        raise AdqlError(exc.args[0], exc.args[1], exc.args[2]) from None
    return result


# -- syntax errors ----------------------------------------------------------------------------


def _syntax_error(text: str, exc: UnexpectedInput) -> AdqlError:
    line, column = exc.line, exc.column
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        line, column = _end_position(text)
        found = "end of query"
    elif isinstance(exc, UnexpectedCharacters):
        found = repr(text[exc.pos_in_stream]) if exc.pos_in_stream is not None else "character"
    else:
        assert isinstance(exc, UnexpectedToken)
        found = repr(str(exc.token))
    expected = _expected(exc)
    message = f"syntax error at line {line}, column {column}: unexpected {found}"
    if expected:
        message += f"; expected {expected}"
    hint = _hint(text, exc)
    if hint:
        message += f". {hint}"
    return AdqlError(message + "\n" + _excerpt(text, line, column), line, column)


def _end_position(text: str) -> tuple[int, int]:
    stripped = text.rstrip()
    line = stripped.count("\n") + 1
    return line, len(stripped) - (stripped.rfind("\n") + 1) + 1


def _expected(exc: UnexpectedInput) -> str:
    names = getattr(exc, "expected", None) or getattr(exc, "allowed", None) or set()
    words = sorted({_TOKEN_NAMES.get(n, n if n in KEYWORDS else n.lower()) for n in names if n != "DELIMITED"})
    if len(words) > 8:
        words = [*words[:8], "..."]
    return ", ".join(words)


def _hint(text: str, exc: UnexpectedInput) -> str:
    if isinstance(exc, UnexpectedCharacters):
        char = text[exc.pos_in_stream] if exc.pos_in_stream is not None else ""
        if char in _CURLY_QUOTES:
            return "Typographic quotes (pasted from a PDF?) are not ADQL: use straight ' for strings and \" for names"
        if char == "%":
            return "ADQL has no % operator: use MOD(x, y)"
        if char == ":":
            return "ADQL has no :: cast: use CAST(x AS type)"
        if char in "[]{}&^~":
            return f"{char!r} is not an ADQL operator"
        if char == '"':
            return 'a delimited name cannot be empty or unterminated'
        if char == "'":
            return "the string literal is not terminated (write '' for a quote inside a string)"
        return "only ASCII letters, digits and _ can form a name; quote other names with double quotes"
    if not isinstance(exc, UnexpectedToken):
        return ""
    token = exc.token
    value = str(token)
    expected = exc.expected or set()
    if token.type in KEYWORDS and ({"IDENT", "DELIMITED"} & expected):
        return f'{value.upper()} is a reserved word; to use it as a name write it in double quotes: "{value.lower()}"'
    previous = text[: token.start_pos or 0].rstrip().rsplit(None, 1)
    if previous and previous[-1].upper() == "LIMIT":
        return "LIMIT is not ADQL: write SELECT TOP n ..."
    if token.type == "IDENT" and (token.start_pos or 0) == len(text) - len(text.lstrip()):
        return "an ADQL query starts with SELECT or WITH (ADQL is read-only)"
    if token.type == "SEMICOLON" or value == ";":
        return "only one query is allowed"
    return ""


def _excerpt(text: str, line: int, column: int) -> str:
    lines = text.splitlines() or [""]
    source = lines[min(line, len(lines)) - 1]
    start = max(0, column - 1 - _EXCERPT_WIDTH // 2)
    shown = source[start: start + _EXCERPT_WIDTH]
    before, after = ("..." if start else ""), ("..." if start + _EXCERPT_WIDTH < len(source) else "")
    return f"  {before}{shown}{after}\n  {' ' * (len(before) + column - 1 - start)}^"


# -- tree to syntax -------------------------------------------------------------------------


class _NameError(Exception):
    """A reserved word used as a name (raised inside the transformer, turned into AdqlError)."""


def _at(children: Any) -> tuple[int, int]:
    """Line and column of the first token under ``children``."""
    first = children[0] if isinstance(children, (list, tuple)) and children else children
    if isinstance(first, Token):
        return first.line or 0, first.column or 0
    if isinstance(first, tuple):
        return _at(first[1] if len(first) == 2 and isinstance(first[0], str) else first)
    return getattr(first, "line", 0), getattr(first, "column", 0)


def _keyword(child: Any, *words: str) -> bool:
    return isinstance(child, Token) and child.type in words


def _nodes(children: list[Any]) -> list[Any]:
    return [c for c in children if not (isinstance(c, Token) and c.type in KEYWORDS)]


def _checked(name: s.Name) -> s.Name:
    if not name.ident.delimited and name.ident.text.upper() in RESERVED_WORDS:
        word = name.ident.text
        raise _NameError(
            f'{word.upper()} is a reserved word in ADQL (line {name.line}, column {name.column}); to use it as a name'
            f' write it in double quotes: "{word.lower()}"', name.line, name.column,
        )
    return name


def _int(token: Token, what: str) -> int:
    if not str(token).isdigit():
        raise _NameError(f"{what} needs an unsigned integer, not {token!s}", token.line, token.column)
    return int(str(token))


class _ToSyntax(Transformer):  # type: ignore[type-arg]
    """Builds ``syntax`` nodes while the LALR parser reduces (no parse tree, no recursion)."""

    # names
    def ident(self, ch: list[Token]) -> s.Name:
        token = ch[0]
        return s.Name(Identifier.parse(str(token)), token.line or 0, token.column or 0)

    def name_path(self, ch: list[Any]) -> tuple[s.Name, ...]:
        if len(ch) == 1:
            return (_checked(ch[0]),)
        return (*ch[0], _checked(ch[1]))

    def alias(self, ch: list[Any]) -> tuple[str, s.Name]:
        return ("alias", _checked(_nodes(ch)[0]))

    # queries
    def start(self, ch: list[Any]) -> s.Query:
        query: s.Query = ch[0]
        return query

    def query(self, ch: list[Any]) -> s.Query:
        parts: dict[str, Any] = dict(c for c in ch if isinstance(c, tuple))
        body = next(c for c in ch if not isinstance(c, tuple))
        return s.Query(parts.get("with", ()), body, parts.get("order", ()), parts.get("offset"),
                       *_at(ch))

    def with_clause(self, ch: list[Any]) -> tuple[str, tuple[s.WithQuery, ...]]:
        return ("with", tuple(_nodes(ch)))

    def with_query(self, ch: list[Any]) -> s.WithQuery:
        name, query = _nodes(ch)
        return s.WithQuery(_checked(name), query, *_at(ch))

    def subquery(self, ch: list[Any]) -> s.Query:
        query: s.Query = ch[0]
        return query

    def _set(self, op: str, ch: list[Any]) -> s.SetOperation:
        nodes = _nodes(ch)
        quantifier = next((c[1] for c in nodes if isinstance(c, tuple)), None)
        left, right = (c for c in nodes if not isinstance(c, tuple))
        return s.SetOperation(op, quantifier == "ALL", left, right, *_at(ch))

    def set_union(self, ch: list[Any]) -> s.SetOperation:
        return self._set("UNION", ch)

    def set_except(self, ch: list[Any]) -> s.SetOperation:
        return self._set("EXCEPT", ch)

    def set_intersect(self, ch: list[Any]) -> s.SetOperation:
        return self._set("INTERSECT", ch)

    def set_quantifier(self, ch: list[Token]) -> tuple[str, str]:
        return ("quantifier", ch[0].type)

    def top(self, ch: list[Any]) -> tuple[str, int]:
        return ("top", _int(ch[-1], "TOP"))

    def offset_clause(self, ch: list[Any]) -> tuple[str, int]:
        return ("offset", _int(ch[-1], "OFFSET"))

    def select_core(self, ch: list[Any]) -> s.Select:
        parts = dict(_nodes(ch))
        return s.Select(parts.get("quantifier"), parts.get("top"), parts["items"], parts["from"], parts.get("where"),
                        parts.get("group", ()), parts.get("having"), *_at(ch))

    def select_all(self, ch: list[Any]) -> tuple[str, s.AllColumns]:
        return ("items", s.AllColumns(*_at(ch)))

    def select_list(self, ch: list[Any]) -> tuple[str, tuple[s.SelectItem, ...]]:
        return ("items", tuple(ch))

    def derived_column(self, ch: list[Any]) -> s.DerivedColumn:
        alias = ch[1][1] if len(ch) > 1 else None
        return s.DerivedColumn(ch[0], alias, *_at(ch))

    def qualified_star(self, ch: list[Any]) -> s.QualifiedStar:
        return s.QualifiedStar(ch[0], *_at(ch))

    def from_clause(self, ch: list[Any]) -> tuple[str, tuple[s.FromItem, ...]]:
        return ("from", tuple(_nodes(ch)))

    def where_clause(self, ch: list[Any]) -> tuple[str, s.Expr]:
        return ("where", _nodes(ch)[0])

    def group_by(self, ch: list[Any]) -> tuple[str, tuple[s.Expr, ...]]:
        return ("group", tuple(_nodes(ch)))

    def having(self, ch: list[Any]) -> tuple[str, s.Expr]:
        return ("having", _nodes(ch)[0])

    def order_by(self, ch: list[Any]) -> tuple[str, tuple[s.OrderItem, ...]]:
        return ("order", tuple(_nodes(ch)))

    def order_item(self, ch: list[Any]) -> s.OrderItem:
        return s.OrderItem(ch[0], _keyword(ch[-1], "DESC"), *_at(ch))

    # FROM
    def table_name(self, ch: list[Any]) -> s.TableName:
        alias = ch[1][1] if len(ch) > 1 else None
        return s.TableName(ch[0], alias, *_at(ch))

    def derived_table(self, ch: list[Any]) -> s.DerivedTable:
        return s.DerivedTable(ch[0], ch[1][1], *_at(ch))

    def paren_join(self, ch: list[Any]) -> s.Join:
        join: s.Join = ch[0]
        return join

    def join_type(self, ch: list[Token]) -> tuple[str, str]:
        return ("kind", ch[0].type)

    def join_on(self, ch: list[Any]) -> tuple[str, s.Expr]:
        return ("on", _nodes(ch)[0])

    def join_using(self, ch: list[Any]) -> tuple[str, tuple[s.Name, ...]]:
        return ("using", tuple(_checked(n) for n in _nodes(ch)))

    def joined_table(self, ch: list[Any]) -> s.Join:
        natural = any(_keyword(c, "NATURAL") for c in ch)
        nodes = _nodes(ch)
        parts: dict[str, Any] = dict(c for c in nodes if isinstance(c, tuple))
        left, right = (c for c in nodes if not isinstance(c, tuple))
        return s.Join(parts.get("kind", "INNER"), natural, left, right, parts.get("on"), parts.get("using"),
                      *_at(ch))

    def cross_join(self, ch: list[Any]) -> s.Join:
        left, right = _nodes(ch)
        return s.Join("CROSS", False, left, right, None, None, *_at(ch))

    # conditions
    def expr(self, ch: list[Any]) -> s.BoolOp:
        return s.BoolOp("OR", tuple(_nodes(ch)), *_at(ch))

    def and_expr(self, ch: list[Any]) -> s.BoolOp:
        return s.BoolOp("AND", tuple(_nodes(ch)), *_at(ch))

    def not_(self, ch: list[Any]) -> s.Not:
        return s.Not(_nodes(ch)[0], *_at(ch))

    def comparison(self, ch: list[Any]) -> s.Comparison:
        left, op, right = ch
        return s.Comparison("<>" if op == "!=" else str(op), left, right, *_at(ch))

    def between(self, ch: list[Any]) -> s.Between:
        operand, low, high = _nodes(ch)
        return s.Between(_keyword(ch[1], "NOT"), operand, low, high, *_at(ch))

    def in_list(self, ch: list[Any]) -> s.InList:
        nodes = _nodes(ch)
        return s.InList(_keyword(ch[1], "NOT"), nodes[0], tuple(nodes[1:]), *_at(ch))

    def in_subquery(self, ch: list[Any]) -> s.InSubquery:
        operand, query = _nodes(ch)
        return s.InSubquery(_keyword(ch[1], "NOT"), operand, query, *_at(ch))

    def _like(self, insensitive: bool, ch: list[Any]) -> s.Like:
        nodes = _nodes(ch)
        escape = nodes[2] if len(nodes) > 2 else None
        return s.Like(_keyword(ch[1], "NOT"), insensitive, nodes[0], nodes[1], escape, *_at(ch))

    def like(self, ch: list[Any]) -> s.Like:
        return self._like(False, ch)

    def ilike(self, ch: list[Any]) -> s.Like:
        return self._like(True, ch)

    def is_null(self, ch: list[Any]) -> s.IsNull:
        return s.IsNull(any(_keyword(c, "NOT") for c in ch), ch[0], *_at(ch))

    def exists(self, ch: list[Any]) -> s.Exists:
        return s.Exists(_nodes(ch)[0], *_at(ch))

    # values
    def _arith(self, ch: list[Any]) -> s.Arith:
        rest = tuple((str(ch[i]), ch[i + 1]) for i in range(1, len(ch), 2))
        return s.Arith(ch[0], rest, *_at(ch))

    concat = sum = product = _arith

    def neg(self, ch: list[Any]) -> s.Unary:
        return s.Unary("-", ch[1], *_at(ch))

    def pos(self, ch: list[Any]) -> s.Unary:
        return s.Unary("+", ch[1], *_at(ch))

    def number(self, ch: list[Token]) -> s.Literal:
        return s.Literal("number", str(ch[0]), *_at(ch))

    def hex_number(self, ch: list[Token]) -> s.Literal:
        value = int(str(ch[0])[2:], 16)  # ADQL 2.1 §2.1.8: an integer (SMALLINT, INTEGER or BIGINT)
        if value > _INT8_MAX:
            raise _NameError(f"the hexadecimal literal {ch[0]!s} is larger than the largest BIGINT", *_at(ch))
        return s.Literal("number", str(value), *_at(ch))

    def string(self, ch: list[Token]) -> s.Literal:
        return s.Literal("string", str(ch[0])[1:-1].replace("''", "'"), *_at(ch))

    def null(self, ch: list[Token]) -> s.Literal:
        return s.Literal("null", "NULL", *_at(ch))

    def column_ref(self, ch: list[Any]) -> s.ColumnRef:
        return s.ColumnRef(ch[0], *_at(ch))

    def call(self, ch: list[Any]) -> s.Call:
        name: s.Name = ch[0]
        quantifier = next((c[1] for c in ch[1:] if isinstance(c, tuple)), None)
        args = tuple(c for c in ch[1:] if not isinstance(c, tuple))
        return s.Call(str(name.ident) if name.ident.delimited else name.ident.text, args, quantifier,
                      *_at(ch))

    def count_star(self, ch: list[Any]) -> s.Expr:
        name: s.Name = ch[0]
        if name.ident.delimited or name.ident.text.upper() != "COUNT":
            raise _NameError(f"only COUNT accepts * as its argument, not {name.ident.text}", *_at(ch))
        return s.CountStar(*_at(ch))

    def cast(self, ch: list[Any]) -> s.Cast:
        words = [str(c).upper() for c in ch if isinstance(c, Token) and c.type == "IDENT"]
        length = next((_int(c, "the length") for c in ch if isinstance(c, Token) and c.type == "NUMBER"), None)
        operand = next(c for c in ch if not isinstance(c, Token))
        return s.Cast(operand, " ".join(words), length, *_at(ch))

    def when_clause(self, ch: list[Any]) -> tuple[s.Expr, s.Expr]:
        condition, value = _nodes(ch)
        return (condition, value)

    def case(self, ch: list[Any]) -> s.Case:
        operand = None if isinstance(ch[1], tuple) else ch[1]
        whens = tuple(c for c in ch if isinstance(c, tuple))
        default = ch[-2] if _keyword(ch[-3], "ELSE") else None
        return s.Case(operand, whens, default, *_at(ch))

    def scalar_subquery(self, ch: list[Any]) -> s.ScalarSubquery:
        return s.ScalarSubquery(ch[0], *_at(ch))
