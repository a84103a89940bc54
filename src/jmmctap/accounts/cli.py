"""``jmmctap user|group|token …``: administer accounts (parses arguments, calls ``store`` and friends)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from jmmctap.errors import UsageError
from jmmctap.settings import Settings

__all__ = ["DEFAULT_TOKEN_DAYS", "register"]

Command = Callable[[argparse.Namespace, Settings], int]

DEFAULT_TOKEN_DAYS = 365
"""Lifetime of a token when ``--expires-days`` is not given."""


def register(sub: Any) -> dict[str, Command]:
    """Add the ``user``, ``group`` and ``token`` commands to ``sub`` (argparse subparsers); returns their runners."""
    user = sub.add_parser("user", help="manage user accounts").add_subparsers(dest="action", required=True)
    add = user.add_parser("add", help="create a user")
    add.add_argument("name", help="login (JMMC accounts: the e-mail address)")
    add.add_argument("--email", help="contact address")
    add.add_argument("--group", action="append", default=[], metavar="G", help="join group G (repeatable)")
    add.add_argument("--password-stdin", action="store_true",
                     help="read a password from the first line of standard input (default: no local password:"
                          " tokens, or the account service)")
    user.add_parser("list", help="list users, their groups and tokens")
    user.add_parser("remove", help="delete a user, its memberships and tokens").add_argument("name")
    password = user.add_parser("set-password", help="replace (or, without --password-stdin, remove) a local password")
    password.add_argument("name")
    password.add_argument("--password-stdin", action="store_true", help="read the password from standard input")

    group = sub.add_parser("group", help="manage groups").add_subparsers(dest="action", required=True)
    members = group.add_parser("add", help="create a group if needed and add members to it")
    members.add_argument("group")
    members.add_argument("users", nargs="*", metavar="USER")
    remove = group.add_parser("remove-member", help="take a user out of a group")
    remove.add_argument("group")
    remove.add_argument("user")
    group.add_parser("list", help="list groups and their members")

    token = sub.add_parser("token", help="manage personal API tokens").add_subparsers(dest="action", required=True)
    create = token.add_parser("create", help="create a token for a user; prints only the token")
    create.add_argument("name", help="the user")
    create.add_argument("--expires-days", type=int, default=DEFAULT_TOKEN_DAYS,
                        help=f"days before the token expires (default {DEFAULT_TOKEN_DAYS}; 0: never)")
    token.add_parser("revoke", help="revoke a token").add_argument("token", help="the token itself, or its id")
    token.add_parser("list", help="list a user's tokens (ids, not the tokens)").add_argument("name")
    return {"user": _user, "group": _group, "token": _token}


@contextmanager
def _owner_connection(settings: Settings) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    from jmmctap.db import migrate
    from jmmctap.db.connect import connect, conninfos

    migrate.init_database(settings)  # idempotent; the accounts schema exists afterwards
    with connect(conninfos(settings).owner) as conn:
        yield conn


def _read_password(wanted: bool) -> str | None:
    if not wanted:
        return None
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise UsageError("--password-stdin: standard input gave an empty password")
    return password


def _user(args: argparse.Namespace, settings: Settings) -> int:
    from jmmctap.accounts import passwords, store

    with _owner_connection(settings) as conn:
        if args.action == "add":
            password = _read_password(args.password_stdin)
            hashed = None if password is None else passwords.hash_password(password)
            store.add_user(conn, args.name, email=args.email, password_hash=hashed, groups=args.group)
            print(f"user {args.name} created" + (f" in {', '.join(args.group)}" if args.group else ""))
        elif args.action == "set-password":
            password = _read_password(args.password_stdin)
            store.set_password(conn, args.name, None if password is None else passwords.hash_password(password))
            print(f"user {args.name}: password {'set' if password else 'removed'}")
        elif args.action == "remove":
            store.remove_user(conn, args.name)
            print(f"user {args.name} removed")
        else:
            for u in store.list_users(conn):
                print("\t".join([
                    u.name, u.email or "-", ",".join(u.groups) or "-",
                    "password" if u.has_password else "no-password", f"tokens={u.active_tokens}",
                    f"created={u.created_at:%Y-%m-%d}", *(["disabled"] if u.disabled else []),
                ]))
    return 0


def _group(args: argparse.Namespace, settings: Settings) -> int:
    from jmmctap.accounts import store

    with _owner_connection(settings) as conn:
        if args.action == "add":
            store.add_members(conn, args.group, args.users)
            print(f"group {args.group}: {', '.join(args.users) or 'no one'} added")
        elif args.action == "remove-member":
            store.remove_member(conn, args.group, args.user)
            print(f"group {args.group}: {args.user} removed")
        else:
            for name, users in store.list_groups(conn):
                print(f"{name}\t{','.join(users) or '-'}")
    return 0


def _token(args: argparse.Namespace, settings: Settings) -> int:
    from jmmctap.accounts import store, tokens

    with _owner_connection(settings) as conn:
        if args.action == "create":
            if args.expires_days < 0:
                raise UsageError("--expires-days must be 0 (never) or more")
            expires = datetime.now(UTC) + timedelta(days=args.expires_days) if args.expires_days else None
            token = tokens.new_token()
            store.create_token(conn, args.name, tokens.hash_token(token), tokens.token_hint(token), expires)
            print(token)  # alone on stdout, so that scripts can capture it
        elif args.action == "revoke":
            if tokens.looks_like_token(args.token):
                token_id = store.revoke_token(conn, token_hash=tokens.hash_token(args.token))
            elif args.token.isdigit():
                token_id = store.revoke_token(conn, token_id=int(args.token))
            else:
                raise UsageError(f"{args.token!r} is neither a token ({tokens.TOKEN_PREFIX}…) nor a token id")
            print(f"token {token_id} revoked")
        else:
            for t in store.list_tokens(conn, args.name):
                state = ("revoked" if t.revoked_at else
                         "expired" if t.expires_at and t.expires_at <= datetime.now(UTC) else "active")
                print("\t".join([
                    str(t.token_id), t.hint, state, f"created={t.created_at:%Y-%m-%d}",
                    f"expires={t.expires_at:%Y-%m-%d}" if t.expires_at else "expires=never",
                    f"last-used={t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "last-used=never",
                ]))
    return 0
