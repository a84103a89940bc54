"""What one ADQL function is: its name, signatures, SQL compiler, the SQL it may emit and its TAPRegExt feature.

Every function module lists its functions as ``Function`` values; ``jmmctap.adql.registry`` gathers
them into the one table everything else is derived from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jmmctap.adql import syntax as s
from jmmctap.adql.scope import error_at
from jmmctap.adql.types import Value

if TYPE_CHECKING:
    from jmmctap.adql.expressions import ExpressionCompiler

__all__ = ["FEATURE_TYPE_PREFIX", "UDF_FEATURE_TYPE", "Function", "Handler", "Signature", "feature_type"]

Handler = Callable[["ExpressionCompiler", s.Call], Value]
"""Compiles one call of a function (arguments not yet compiled; the argument count already checked)."""

FEATURE_TYPE_PREFIX = "ivo://ivoa.net/std/tapregext#"
"""Lower-case TAPRegExt prefix of the feature-type IVOIDs (ADQL 2.1 §4.1)."""

UDF_FEATURE_TYPE = FEATURE_TYPE_PREFIX + "features-udf"
"""Feature type of user-defined functions (TAPRegExt §2.3)."""


def feature_type(name: str) -> str:
    """The IVOID of the TAPRegExt feature type ``features-<name>``."""
    return f"{FEATURE_TYPE_PREFIX}features-{name}"


@dataclass(frozen=True)
class Signature:
    """One form of a function: ``name TYPE`` parameters, the result type; the last ``repeat`` may repeat."""

    params: tuple[str, ...]
    result: str
    repeat: int = 0

    def accepts(self, count: int) -> bool:
        """Whether a call with ``count`` arguments matches this form."""
        if not self.repeat:
            return count == len(self.params)
        return count >= len(self.params) and (count - len(self.params)) % self.repeat == 0

    def form(self, name: str) -> str:
        """TAPRegExt form syntax: ``name(p1 TYPE, p2 TYPE) -> TYPE``."""
        more = ", ..." if self.repeat else ""
        return f"{name}({', '.join(self.params)}{more}) -> {self.result}"


@dataclass(frozen=True)
class Function:
    """One ADQL function, as the translator binds it and the capabilities declare it."""

    name: str
    """Upper-case ADQL name."""
    signatures: tuple[Signature, ...]
    compile: Handler
    emits: frozenset[str]
    """The PostgreSQL functions its SQL may call (the SQL allow-list is their union)."""
    feature: str | None = None
    """TAPRegExt feature type declaring it; ``None`` for the functions every ADQL service has (§2.3)."""
    description: str = ""
    aggregate: bool = False

    @property
    def udf(self) -> bool:
        """User-defined functions are declared with their signature and are not reserved words."""
        return self.feature == UDF_FEATURE_TYPE

    def check_arity(self, call: s.Call) -> None:
        """Raise unless one signature takes as many arguments as ``call`` has."""
        count = len(call.args)
        if any(sig.accepts(count) for sig in self.signatures):
            return
        counts = sorted({len(sig.params) for sig in self.signatures})
        wanted = " or ".join(str(c) for c in counts)
        if any(sig.repeat for sig in self.signatures):
            wanted = f"at least {counts[0]}"
        plural = "" if wanted == "1" else "s"
        raise error_at(f"{self.name} takes {wanted} argument{plural}, not {count}", call.line, call.column)
