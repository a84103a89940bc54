"""``jmmctap catalog expose|unexpose|list|audit``: which tables the catalog API edits, and what it changed.

Only parses arguments and calls ``catalogs.declarations`` on an owner connection (STYLE §7); ``register``
adds the command to the main parser and its command table (``jmmctap.cli``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, MutableMapping
from typing import Any

import orjson

from jmmctap.catalogs import declarations
from jmmctap.settings import Settings

__all__ = ["register"]

Command = Callable[[argparse.Namespace, Settings], int]


def _catalog(args: argparse.Namespace, settings: Settings) -> int:
    from jmmctap.db import migrate
    from jmmctap.db.connect import connect, conninfos

    migrate.init_database(settings)  # idempotent; applies pending migrations like every command
    with connect(conninfos(settings).owner) as conn:
        if args.action == "expose":
            found = declarations.expose_catalog(conn, args.table, args.key, args.pi_column)
            print(f"{found.table_name}: a catalog, key {found.key_column}, PI column(s) {', '.join(found.pi_columns)}")
        elif args.action == "unexpose":
            print(f"{declarations.unexpose_catalog(conn, args.table)}: no longer a catalog (rows and audit kept)")
        elif args.action == "list":
            for c in declarations.list_catalogs(conn):
                print(f"{c.table_name}: key {c.key_column}, PI column(s) {', '.join(c.pi_columns)}")
        else:
            table = None if args.table is None else declarations.resolve_table_name(conn, args.table)[0]
            for e in declarations.list_audit(conn, table, args.limit):
                print(f"{e.changed_at.isoformat()} {e.user_name} {e.action} {e.table_name}"
                      f"{'' if e.row_key is None else ' ' + e.row_key}: {_json(e.old_values)} -> {_json(e.new_values)}")
    return 0


def _json(value: Any) -> str:
    return "-" if value is None else orjson.dumps(value).decode()


def register(sub: Any, commands: MutableMapping[str, Command]) -> None:
    """Add ``catalog`` to ``sub`` (the main parser's subparsers) and to ``commands``."""
    catalog = sub.add_parser("catalog", help="tables whose rows their PIs edit over HTTP (catalog API, a2p2)")
    actions = catalog.add_subparsers(dest="action", required=True)
    expose = actions.add_parser("expose", help="make a published table a catalog (or change its declaration)")
    expose.add_argument("table", metavar="SCHEMA.TABLE")
    expose.add_argument("--key", required=True, metavar="COL",
                        help="the column naming a row in URLs and payloads (unique; an index is added if needed)")
    expose.add_argument("--pi-column", required=True, action="append", metavar="COL",
                        help="a column holding the row's PI names, '/'-separated (repeatable: piname, piname2)")
    unexpose = actions.add_parser("unexpose", help="stop exposing a table through the catalog API")
    unexpose.add_argument("table", metavar="SCHEMA.TABLE")
    actions.add_parser("list", help="the catalogs")
    audit = actions.add_parser("audit", help="the latest changes made through the catalog API, newest first")
    audit.add_argument("table", nargs="?", metavar="SCHEMA.TABLE", help="of this catalog only")
    audit.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    commands["catalog"] = _catalog
