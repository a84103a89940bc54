"""Size and time budgets of one translation, checked before and while the query is parsed and compiled.

Translation is CPU work in the server process: without a budget one 100 kB query could hold a
worker thread for a minute (issue 13). Each refusal is a 400 that names the setting to raise.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from lark import Token

from jmmctap.errors import AdqlError
from jmmctap.settings import Settings

__all__ = ["Deadline", "Limits", "check_length", "checked_tokens", "limits_of"]


@dataclass(frozen=True)
class Limits:
    """The budgets of one translation; the defaults are those of ``Settings``."""

    max_length: int = 200_000
    """Characters of ADQL text (JMMCTAP_ADQL_MAX_LENGTH)."""
    max_terms: int = 20_000
    """Names and literals in the query (JMMCTAP_ADQL_MAX_TERMS)."""
    max_depth: int = 100
    """Nesting of parentheses, subqueries and prefix operators (JMMCTAP_ADQL_MAX_DEPTH)."""
    time_s: float = 5.0
    """Seconds of translation work (JMMCTAP_ADQL_TIME_BUDGET_S)."""


def limits_of(settings: Settings) -> Limits:
    """The translation budgets the settings give."""
    return Limits(settings.adql_max_length, settings.adql_max_terms, settings.adql_max_depth,
                  settings.adql_time_budget_s)


class Deadline:
    """Raises once the translation has used its time budget (checked between syntax nodes)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.end:
            raise AdqlError(f"query too complex: translating it takes longer than the limit of {self.seconds:g} s"
                            " (JMMCTAP_ADQL_TIME_BUDGET_S)", 1, 1)


_TERMS = frozenset({"NUMBER", "HEX", "STRING", "IDENT", "DELIMITED", "NULL"})
_PREFIX_AFTER = frozenset({"LPAR", "COMMA", "COMP_OP", "PLUS", "MINUS", "STAR", "SLASH", "CONCAT"})
"""After these tokens (and keywords) a + or - is a sign, which nests like a parenthesis."""


def check_length(text: str, limits: Limits) -> None:
    """Refuse a query longer than the length budget, before any parsing."""
    if len(text) > limits.max_length:
        raise AdqlError(f"query too long: {len(text)} characters, more than the limit of {limits.max_length}"
                        " (JMMCTAP_ADQL_MAX_LENGTH)", 1, 1)


def checked_tokens(tokens: Iterable[Token], limits: Limits, keywords: frozenset[str]) -> Iterator[Token]:
    """The tokens, each once checked: refuse too many terms or too deep a nesting (linear, no tree built).

    The parser consumes them as they pass (``parser.parse``), so the query is lexed once and a budget
    is refused at the token that exceeds it. Also refuses a number glued to a name (``0x1g``, ``1e5x``):
    SQL would read the name as an alias and silently answer another question.
    """
    terms = depth = prefix = 0
    previous: Token | None = None
    for token in tokens:
        kind = token.type
        if kind in _TERMS:
            terms += 1
            if terms > limits.max_terms:
                raise AdqlError(f"query too complex: more than the limit of {limits.max_terms} names and literals"
                                f" (JMMCTAP_ADQL_MAX_TERMS)", token.line, token.column)
            if (previous is not None and previous.type in ("NUMBER", "HEX") and previous.end_pos == token.start_pos
                    and kind == "IDENT"):
                raise AdqlError(f"{previous!s}{token!s} is not a number (line {token.line}, column"
                                f" {previous.column}): separate a name from a number with a space",
                                token.line or 1, previous.column or 1)
        if kind == "LPAR":
            depth += 1
        elif kind == "RPAR":
            depth -= 1
        if kind == "NOT" or (kind in ("PLUS", "MINUS") and (previous is None or previous.type in _PREFIX_AFTER
                                                            or previous.type in keywords)):
            prefix += 1
        else:
            prefix = 0
        if depth + prefix > limits.max_depth:
            raise AdqlError(f"query too complex: parentheses, subqueries and signs nest more than the limit of"
                            f" {limits.max_depth} levels (JMMCTAP_ADQL_MAX_DEPTH)", token.line or 1, token.column or 1)
        previous = token
        yield token
