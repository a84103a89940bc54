"""The submission commands of ``jmmctap``: ``badcal pending|accept|reject`` and ``writer add|remove|list``.

They only parse arguments and call the stores on an owner connection (STYLE §7); ``register`` adds them to
the main parser and its command table (``jmmctap.cli``).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import psycopg

from jmmctap.acl import writers
from jmmctap.settings import Settings
from jmmctap.submissions import badcal_store
from jmmctap.submissions.badcal_store import ReportRecord

__all__ = ["register"]

Command = Callable[[argparse.Namespace, Settings], int]


@contextmanager
def _owner_connection(settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    from jmmctap.db import migrate
    from jmmctap.db.connect import connect, conninfos

    migrate.init_database(settings)  # idempotent; applies pending migrations like every command
    with connect(conninfos(settings).owner, autocommit=True) as conn:
        yield conn


def _badcal(args: argparse.Namespace, settings: Settings) -> int:
    from jmmctap.db import migrate
    from jmmctap.db.connect import conninfos

    migrate.init_database(settings)
    records = asyncio.run(_moderate(conninfos(settings).owner, args))
    for record in records:
        print(_describe(record))
    if args.action == "pending" and not records:
        print("no pending BadCal report")
    return 0


async def _moderate(conninfo: str, args: argparse.Namespace) -> list[ReportRecord]:
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        if args.action == "pending":
            return await badcal_store.list_reports(conn, status="pending")
        moderator = f"cli:{_os_user()}"
        decide = badcal_store.accept_report if args.action == "accept" else badcal_store.reject_report
        return [await decide(conn, report_id, moderator, args.note) for report_id in args.ids]


def _describe(r: ReportRecord) -> str:
    star = r.report
    observed = f", {star.interferometer or '?'}/{star.insname or '?'}" if star.interferometer or star.insname else ""
    published = f" as badcal.valid_stars id {r.star_id}" if r.star_id is not None else ""
    return (f"#{r.report_id} {r.status}{published}: {star.name} (ra {star.ra:.6f}, dec {star.dec:.6f}){observed};"
            f" by {r.submitted_by} on {r.sub_date:%Y-%m-%d %H:%M}" + (f": {star.user_comment}" if star.user_comment
                                                                     else ""))


def _writer(args: argparse.Namespace, settings: Settings) -> int:
    with _owner_connection(settings) as conn:
        if args.action == "list":
            for schema, group in writers.list_writers(conn):
                print(f"{schema}: {group}")
            return 0
        if args.action == "add":
            added = writers.add_writer(conn, args.schema, args.group)
            print(f"members of {args.group} may upload tables into {args.schema}" + ("" if added else "; already so"))
            return 0
        if not writers.remove_writer(conn, args.schema, args.group):
            print(f"{args.group} had no upload right on {args.schema}")
            return 1
        print(f"members of {args.group} may no longer upload tables into {args.schema}")
    return 0


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def register(sub: Any, commands: MutableMapping[str, Command]) -> None:
    """Add the submission commands to ``sub`` (the main parser's subparsers) and to ``commands``."""
    badcal = sub.add_parser("badcal", help="moderate the BadCal reports users submit (POST /badcal/reports)")
    actions = badcal.add_subparsers(dest="action", required=True)
    actions.add_parser("pending", help="the reports waiting for a decision")
    for action, text in (("accept", "publish in badcal.valid_stars (TAP, /scs/badcal)"),
                         ("reject", "never publish (withdraws an accepted report)")):
        parser = actions.add_parser(action, help=text)
        parser.add_argument("ids", nargs="+", type=int, metavar="ID", help="report number (as `pending` lists it)")
        parser.add_argument("--note", help="why, kept with the report")
    commands["badcal"] = _badcal

    writer = sub.add_parser("writer", help="groups that may upload tables (PUT /tables) into a schema")
    actions = writer.add_subparsers(dest="action", required=True)
    for action, text in (("add", "let GROUP upload tables into SCHEMA"), ("remove", "take that right back")):
        parser = actions.add_parser(action, help=text)
        parser.add_argument("schema", metavar="SCHEMA", help="PostgreSQL schema name")
        parser.add_argument("group", metavar="GROUP")
    actions.add_parser("list", help="every upload right (a user's own user_<login> schema needs none)")
    commands["writer"] = _writer
