"""The ADQL 2.1 grammar (IVOA REC 2023-12-15, Appendix A) in Lark LALR(1) form.

Deliberate departures from the letter of the BNF, all resolved later by the resolver:

- conditions and values share one expression grammar (like PostgreSQL's ``a_expr``), which keeps
  the grammar LALR(1); the resolver checks that WHERE/ON/HAVING get conditions and that values are
  not conditions;
- function calls are generic (``name(args)``): the resolver binds the name against the allow-list,
  so math/geometry function names are not lexer keywords, and the ADQL 2.0 forms (coordinate
  system first argument, BOX, REGION) need no special syntax;
- extensions: scalar subqueries ``(SELECT ...)`` in expressions, ``CROSS JOIN``, ``CASE``, a single
  trailing semicolon.

Every regular identifier that is an SQL-92 or ADQL reserved word is rejected by the parser
(ADQL 2.1 §2.1.3–2.1.4), except as a function name or CAST target.
"""

from __future__ import annotations

__all__ = ["GRAMMAR", "KEYWORDS"]

KEYWORDS: tuple[str, ...] = (
    "ALL", "AND", "AS", "ASC", "BETWEEN", "BY", "CASE", "CAST", "CROSS", "DESC", "DISTINCT", "ELSE",
    "END", "ESCAPE", "EXCEPT", "EXISTS", "FROM", "FULL", "GROUP", "HAVING", "ILIKE", "IN", "INNER",
    "INTERSECT", "IS", "JOIN", "LEFT", "LIKE", "NATURAL", "NOT", "NULL", "OFFSET", "ON", "OR", "ORDER",
    "OUTER", "RIGHT", "SELECT", "THEN", "TOP", "UNION", "USING", "WHEN", "WHERE", "WITH",
)
"""Words the lexer turns into keyword tokens (case-insensitive)."""

_KEYWORD_TERMINALS = "\n".join(f'{word}: "{word.lower()}"i' for word in KEYWORDS)

GRAMMAR = r"""
start: query ";"?

query: with_clause? query_body order_by? offset_clause?

with_clause: WITH with_query ("," with_query)*
with_query: ident AS "(" query ")"

?query_body: query_term
    | query_body UNION set_quantifier? query_term      -> set_union
    | query_body EXCEPT set_quantifier? query_term     -> set_except
?query_term: query_primary
    | query_term INTERSECT set_quantifier? query_primary -> set_intersect
// a parenthesised query read as a query, not as a scalar subquery: same meaning, and LALR(1)
?query_primary.2: select_core
    | subquery

subquery: "(" query ")"

select_core: SELECT set_quantifier? top? select_list from_clause where_clause? group_by? having?
set_quantifier: DISTINCT | ALL
top: TOP NUMBER
select_list: STAR -> select_all
    | select_item ("," select_item)*
select_item: expr alias?                -> derived_column
    | name_path "." STAR                 -> qualified_star
alias: AS? ident

from_clause: FROM table_ref ("," table_ref)*
?table_ref: table_primary
    | joined_table
joined_table: table_ref NATURAL? join_type? JOIN table_primary join_spec?
    | table_ref CROSS JOIN table_primary -> cross_join
join_type: INNER | LEFT OUTER? | RIGHT OUTER? | FULL OUTER?
join_spec: ON expr                       -> join_on
    | USING "(" ident ("," ident)* ")"   -> join_using
table_primary: name_path alias?         -> table_name
    | subquery alias                     -> derived_table
    | "(" joined_table ")"               -> paren_join

where_clause: WHERE expr
group_by: GROUP BY expr ("," expr)*
having: HAVING expr
order_by: ORDER BY order_item ("," order_item)*
order_item: expr (ASC | DESC)?
offset_clause: OFFSET NUMBER

// chains of one precedence level are one rule with a repetition, so the parser builds them in linear time
?expr: and_expr (OR and_expr)*
?and_expr: not_expr (AND not_expr)*
?not_expr: predicate
    | NOT not_expr                       -> not_
?predicate: concat
    | concat COMP_OP concat              -> comparison
    | concat NOT? BETWEEN concat AND concat -> between
    | concat NOT? IN "(" expr ("," expr)* ")" -> in_list
    | concat NOT? IN subquery            -> in_subquery
    | concat NOT? LIKE concat (ESCAPE concat)? -> like
    | concat NOT? ILIKE concat (ESCAPE concat)? -> ilike
    | concat IS NOT? NULL                -> is_null
    | EXISTS subquery                    -> exists
?concat: sum (CONCAT sum)*
?sum: product ((PLUS | MINUS) product)*
?product: unary ((STAR | SLASH) unary)*
?unary: primary
    | MINUS unary                        -> neg
    | PLUS unary                         -> pos
?primary: NUMBER                         -> number
    | HEX                                -> hex_number
    | STRING                             -> string
    | NULL                               -> null
    | name_path                          -> column_ref
    | ident "(" set_quantifier? [expr ("," expr)*] ")" -> call
    | ident "(" STAR ")"                 -> count_star
    | CAST "(" expr AS IDENT+ ["(" NUMBER ")"] ")" -> cast
    | CASE expr? when_clause+ [ELSE expr] END -> case
    | subquery                           -> scalar_subquery
    | "(" expr ")"
when_clause: WHEN expr THEN expr

name_path: ident
    | name_path "." ident
ident: IDENT | DELIMITED

IDENT: /[a-z][a-z0-9_]*/i
DELIMITED: /"(?:[^"]|"")+"/
HEX.2: /0x[0-9a-f]+/i
NUMBER: /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/
STRING: /'(?:[^']|'')*'/
COMP_OP: "<>" | "!=" | "<=" | ">=" | "<" | ">" | "="
STAR: "*"
SLASH: "/"
PLUS: "+"
MINUS: "-"
CONCAT: "||"
COMMENT: /--[^\n]*/
WS: /[ \t\r\n\f]+/
%ignore WS
%ignore COMMENT
""" + _KEYWORD_TERMINALS
"""Lark grammar; build with ``parser="lalr", lexer="basic"``."""
