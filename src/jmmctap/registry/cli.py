"""The ``jmmctap registry`` commands: ``show [IDENTIFIER]`` prints a record, ``list`` every record's header.

They only parse arguments and call the registry's library functions (STYLE §7); ``register`` adds
them to the main parser and its command table (``jmmctap.cli``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, MutableMapping
from typing import Any

from jmmctap.errors import NotFoundError
from jmmctap.settings import Settings

__all__ = ["register"]

Command = Callable[[argparse.Namespace, Settings], int]


def _registry(args: argparse.Namespace, settings: Settings) -> int:
    from jmmctap.context import describe_service
    from jmmctap.db import migrate
    from jmmctap.registry import load_identity
    from jmmctap.registry.oaixml import format_datestamp
    from jmmctap.registry.records import write_record
    from jmmctap.registry.service import read_snapshot

    identity = load_identity(settings.registry_file)
    migrate.init_database(settings)  # idempotent; applies pending migrations like every command
    service, snapshot = asyncio.run(read_snapshot(identity, settings, describe_service(settings)))
    if not settings.public_url:
        print("jmmctap: warning: JMMCTAP_PUBLIC_URL is not set: the records give this machine's address "
              f"({service.root_url}); set it before registering", file=sys.stderr)
    if args.action == "list":
        for entry in snapshot.entries:
            kind = "deleted" if entry.record is None else entry.stamp.resource_type
            print(f"{format_datestamp(entry.datestamp)}  {kind:20}  {entry.identifier}")
        return 0
    identifier = args.identifier or identity.identifier(identity.registry.key)
    found = snapshot.find(identifier)
    if found is None:
        raise NotFoundError(f"no record has the identifier {identifier!r}; 'jmmctap registry list' shows them")
    if found.record is None:
        print(f"{found.identifier}: deleted on {format_datestamp(found.datestamp)} (kept as a deleted record)")
        return 0
    sys.stdout.write(write_record(found.record, found.stamp.created, found.stamp.updated).decode())
    return 0


def register(sub: Any, commands: MutableMapping[str, Command]) -> None:
    """Add ``registry show|list`` to ``sub`` (the main parser's subparsers) and to ``commands``."""
    registry = sub.add_parser("registry", help="the VOResource records the publishing registry (/oai) serves")
    actions = registry.add_subparsers(dest="action", required=True)
    show = actions.add_parser("show", help="print a record (default: the registry's own, to register at the RofR)")
    show.add_argument("identifier", nargs="?", metavar="IDENTIFIER", help="IVOA identifier, e.g. ivo://jmmc.fr/tap")
    actions.add_parser("list", help="datestamp, type and identifier of every record, deleted ones included")
    commands["registry"] = _registry
