"""The access control commands of ``jmmctap``: ``grant``, ``collection``, ``delegation``, ``datapi``.

They only parse arguments and call ``acl.store`` on an owner connection (STYLE §7); ``register`` adds
them to the main parser and its command table (``jmmctap.cli``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import psycopg

from jmmctap.acl import store
from jmmctap.settings import Settings

__all__ = ["register"]

Command = Callable[[argparse.Namespace, Settings], int]


@contextmanager
def _owner_connection(settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    from jmmctap.db import migrate
    from jmmctap.db.connect import connect, conninfos

    migrate.init_database(settings)  # idempotent; applies pending migrations like every command
    with connect(conninfos(settings).owner) as conn:
        yield conn


def _grant(args: argparse.Namespace, settings: Settings) -> int:
    with _owner_connection(settings) as conn:
        name, published = store.resolve_table_name(conn, args.table)
        if args.public:
            changed = store.make_table_public(conn, name)
            print(f"{name}: public" + ("" if changed else " (it had no grant)"))
            return 0
        if args.group:
            groups = store.grant_table(conn, name, args.group)
            note = "" if published else " (not published yet: it will be private from its first ingest)"
            print(f"{name}: readable by group(s) {', '.join(groups)} only{note}")
            return 0
        groups = store.table_groups(conn, name)
        print(f"{name}: " + (f"readable by group(s) {', '.join(groups)} only" if groups else "public"))
    return 0


def _collection(args: argparse.Namespace, settings: Settings) -> int:
    with _owner_connection(settings) as conn:
        if args.action == "list":
            for c in store.list_collections(conn):
                print(_describe(c))
            return 0
        groups = [] if args.clear_groups else args.group
        collection = store.set_collection(conn, args.name, private=args.private, embargo_months=args.embargo_months,
                                          groups=groups)
        print(_describe(collection))
        if collection.private and not collection.groups:
            print(f"note: no group may read {collection.name}; only its data PIs and their co-Is see its rows")
    return 0


def _describe(c: store.Collection) -> str:
    groups = f", groups {', '.join(c.groups)}" if c.groups else ""
    return f"{c.name}: {'private' if c.private else 'public'}, embargo {c.embargo_months} months{groups}"


def _delegation(args: argparse.Namespace, settings: Settings) -> int:
    with _owner_connection(settings) as conn:
        if args.action == "list":
            for d in store.list_delegations(conn, args.pi):
                print(f"{d.pi} -> {d.coi}: {d.scope}")
            return 0
        catalog = store.resolve_table_name(conn, args.catalog)[0] if args.catalog else None
        delegation = store.Delegation(args.pi, args.coi, args.collection, args.progid, args.proposal_subid, catalog)
        if args.action == "add":
            added = store.add_delegation(conn, delegation)
            print(f"{delegation.coi} sees the rows of data PI {delegation.pi} ({delegation.scope})"
                  + ("" if added else "; already so"))
            return 0
        if not store.remove_delegation(conn, delegation):
            print(f"no such delegation: {delegation.pi} -> {delegation.coi} ({delegation.scope})")
            return 1
        print(f"removed: {delegation.pi} -> {delegation.coi} ({delegation.scope})")
    return 0


def _datapi(args: argparse.Namespace, settings: Settings) -> int:
    with _owner_connection(settings) as conn:
        if args.action == "list":
            for user, datapi in store.list_data_pis(conn, args.user):
                print(f"{user}: {datapi}")
            return 0
        if args.action == "add":
            store.add_data_pi(conn, args.user, args.datapi)
            print(f"{args.user} is the data PI written {args.datapi!r} in ivoa.obscore")
            return 0
        if not store.remove_data_pi(conn, args.user, args.datapi):
            print(f"{args.user} had no data PI name {args.datapi!r}")
            return 1
        print(f"{args.user} is no longer the data PI written {args.datapi!r}")
    return 0


def register(sub: Any, commands: MutableMapping[str, Command]) -> None:
    """Add the access control commands to ``sub`` (the main parser's subparsers) and to ``commands``."""
    grant = sub.add_parser("grant", help="make a table readable by some groups only, or public again")
    grant.add_argument("table", metavar="SCHEMA.TABLE")
    who = grant.add_mutually_exclusive_group()
    who.add_argument("--group", action="append", metavar="G", help="a group that may read it (repeatable)")
    who.add_argument("--public", action="store_true", help="remove every grant: everyone may read it")
    commands["grant"] = _grant

    collection = sub.add_parser("collection", help="access rules of ivoa.obscore collections")
    actions = collection.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="the collections with access rules")
    setter = actions.add_parser("set", help="create or change a collection's rules")
    setter.add_argument("name", metavar="NAME", help="obs_collection value")
    privacy = setter.add_mutually_exclusive_group()
    privacy.add_argument("--private", dest="private", action="store_true", default=None,
                         help="rows visible to the collection's groups, data PIs and their co-Is only")
    privacy.add_argument("--public", dest="private", action="store_false", help="rows visible to everyone")
    setter.add_argument("--embargo-months", type=int, metavar="N",
                        help="proprietary period of the files after the observation (default 24)")
    groups = setter.add_mutually_exclusive_group()
    groups.add_argument("--group", action="append", metavar="G",
                        help="a group that may see a private collection (repeatable; replaces the list)")
    groups.add_argument("--clear-groups", action="store_true", help="no group may see it")
    commands["collection"] = _collection

    delegation = sub.add_parser("delegation", help="data PIs letting co-Is see their ivoa.obscore rows")
    actions = delegation.add_subparsers(dest="action", required=True)
    for action, text in (("add", "let COI see the rows of data PI PI"), ("remove", "remove that delegation")):
        parser = actions.add_parser(action, help=text)
        parser.add_argument("pi", metavar="PI", help="user name of the data PI")
        parser.add_argument("coi", metavar="COI", help="user name of the co-I")
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--collection", metavar="C", help="only the PI's rows of this collection")
        scope.add_argument("--progid", metavar="P", help="only the PI's rows of this programme")
        scope.add_argument("--proposal-subid", metavar="S", help="only the PI's rows of this proposal_subid")
        scope.add_argument("--catalog", metavar="SCHEMA.TABLE",
                           help="only changing the PI's rows of this catalog (catalog API; no ivoa.obscore right)")
    lister = actions.add_parser("list", help="the delegations")
    lister.add_argument("--pi", help="of this PI only")
    commands["delegation"] = _delegation

    datapi = sub.add_parser("datapi", help="the names of a user in ivoa.obscore.datapi (its own name counts)")
    actions = datapi.add_subparsers(dest="action", required=True)
    for action in ("add", "remove"):
        parser = actions.add_parser(action, help=f"{action} a data PI name of a user")
        parser.add_argument("user", metavar="USER")
        parser.add_argument("datapi", metavar="DATAPI", help="as written in ivoa.obscore.datapi")
    lister = actions.add_parser("list", help="the data PI names")
    lister.add_argument("user", nargs="?", metavar="USER")
    commands["datapi"] = _datapi
