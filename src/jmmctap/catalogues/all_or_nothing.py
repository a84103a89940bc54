"""Read every file of a load before storing any: all problems reported at once, nothing stored if one exists.

Shared by the loaders that refuse a whole call for one bad file or row (``ingest-plan``, ``ingest-chara``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from jmmctap.errors import UsageError

__all__ = ["read_all_or_refuse"]

T = TypeVar("T")


def read_all_or_refuse(paths: Iterable[Path], read: Callable[[Path], Sequence[T]], key: Callable[[T], str],
                       source: Callable[[T], str], *, what: str, same: str) -> list[T]:
    """The items ``read`` finds in every path, or ``UsageError`` naming every unreadable file and duplicate.

    ``key`` identifies an item (two with the same key are "the same ``same``"), ``source`` says where it
    came from; ``what`` names the load in the refusal ("plan refused, nothing stored: …").
    """
    items: list[T] = []
    problems: list[str] = []
    for path in paths:
        try:
            items += read(path)
        except UsageError as exc:
            problems.append(exc.message)
    seen: dict[str, str] = {}
    for item in items:
        if key(item) in seen:
            problems.append(f"{source(item)}: the same {same} as {seen[key(item)]}")
        seen[key(item)] = source(item)
    if problems:
        raise UsageError(f"{what} refused, nothing stored: " + " | ".join(problems))
    return items
