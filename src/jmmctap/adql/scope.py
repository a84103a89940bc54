"""Name resolution: the relations of a FROM clause and how column references bind to them."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

from jmmctap.adql.syntax import Name
from jmmctap.adql.types import Value
from jmmctap.errors import AdqlError
from jmmctap.tapschema import Identifier, Table

__all__ = ["RelColumn", "Relation", "Scope", "did_you_mean", "error_at"]


def error_at(message: str, line: int, column: int) -> AdqlError:
    """An AdqlError whose text also names the position."""
    return AdqlError(f"{message} (line {line}, column {column})", line, column)


def did_you_mean(word: str, candidates: Sequence[str]) -> str:
    """`` Did you mean 'x'?`` for the closest candidates, or an empty string."""
    lowered = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=3, cutoff=0.6)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(lowered[c]) for c in close) + "?"


@dataclass(frozen=True, slots=True)
class RelColumn:
    """A column a relation exposes: how ADQL names it and the value a reference to it gives."""

    ident: Identifier
    value: Value


@dataclass(slots=True)
class Relation:
    """One FROM item: a published table, a derived table or a WITH query."""

    alias: Identifier | None
    table: Table | None
    label: str
    columns: list[RelColumn]
    _by_key: dict[str, list[RelColumn]] | None = None

    def matches(self, qualifier: Sequence[Name]) -> bool:
        """Whether ``qualifier`` (``alias``, ``table`` or ``schema.table``) designates this relation."""
        if self.alias is not None:
            return len(qualifier) == 1 and qualifier[0].ident.matches(self.alias)
        if self.table is None:
            return False
        stored = self.table.parts
        if not qualifier[-1].ident.matches(stored[-1]):
            return False
        if len(qualifier) >= 2:
            schema = stored[-2] if len(stored) > 1 else Identifier.parse(self.table.schema_name)
            return qualifier[-2].ident.matches(schema)
        return True

    def find(self, ident: Identifier) -> list[RelColumn]:
        if self._by_key is None:  # built on the first lookup: most relations are looked up several times
            self._by_key = {}
            for column in self.columns:
                self._by_key.setdefault(column.ident.text.casefold(), []).append(column)
        # every match has the same case-folded text (Identifier.matches); only those candidates are tried
        found = [c for c in self._by_key.get(ident.text.casefold(), ()) if ident.matches(c.ident)]
        if len(found) > 1 and ident.delimited:
            found = [c for c in found if c.ident.text == ident.text] or found
        return found


@dataclass(slots=True)
class Scope:
    """The names visible in one query level; ``parent`` is the enclosing query (correlation)."""

    relations: list[Relation] = field(default_factory=list)
    merged: list[RelColumn] = field(default_factory=list)
    parent: Scope | None = None
    star: list[RelColumn] = field(default_factory=list)
    """The columns of ``SELECT *``, in order (USING/NATURAL columns once)."""
    aliases: list[tuple[str, str]] = field(default_factory=list)
    """(SQL alias, label) of each relation, to detect duplicate names in one FROM."""

    def resolve(self, parts: Sequence[Name]) -> Value:
        """The value of a column reference ``[qualifier.]column``.

        Raises
        ------
        AdqlError
            Unknown or ambiguous names, with position and suggestions.
        """
        scope: Scope | None = self
        while scope is not None:
            found = scope._resolve_here(parts)
            if found is not None:
                return found
            scope = scope.parent
        raise self._unknown(parts)

    def _resolve_here(self, parts: Sequence[Name]) -> Value | None:
        name = parts[-1]
        if len(parts) == 1:
            merged = [c for c in self.merged if name.ident.matches(c.ident)]
            if merged:
                return merged[-1].value
            found = [(r, c) for r in self.relations for c in r.find(name.ident)]
            if len(found) > 1:
                where = ", ".join(sorted({r.label for r, _ in found}))
                raise error_at(f"column {name.ident} is ambiguous: it exists in {where}; qualify it", name.line,
                               name.column)
            return found[0][1].value if found else None
        relations = [r for r in self.relations if r.matches(parts[:-1])]
        if not relations:
            return None
        if len(relations) > 1:
            raise error_at(f"{'.'.join(str(p.ident) for p in parts[:-1])} is ambiguous; use an alias (AS ...)",
                           parts[0].line, parts[0].column)
        columns = relations[0].find(name.ident)
        if len(columns) > 1:
            raise error_at(f"column {name.ident} is ambiguous in {relations[0].label}", name.line, name.column)
        if not columns:
            hint = did_you_mean(name.ident.text, [c.ident.text for c in relations[0].columns])
            raise error_at(f"{relations[0].label} has no column {name.ident}.{hint}", name.line, name.column)
        return columns[0].value

    def _unknown(self, parts: Sequence[Name]) -> AdqlError:
        name = parts[-1]
        if len(parts) > 1:
            qualifier = ".".join(str(p.ident) for p in parts[:-1])
            labels = [r.alias.text if r.alias else r.label for r in self._all_relations()]
            hint = did_you_mean(qualifier, labels)
            return error_at(f"unknown table or alias {qualifier} in column reference.{hint}", parts[0].line,
                            parts[0].column)
        hint = did_you_mean(name.ident.text, [c.ident.text for r in self._all_relations() for c in r.columns])
        return error_at(f"unknown column {name.ident}.{hint}", name.line, name.column)

    def _all_relations(self) -> list[Relation]:
        scope: Scope | None = self
        relations: list[Relation] = []
        while scope is not None:
            relations.extend(scope.relations)
            scope = scope.parent
        return relations
