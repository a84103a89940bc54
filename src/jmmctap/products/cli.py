"""The ``jmmctap products`` commands: ``relink`` (access URLs after a change of public URL), ``document``.

They only parse arguments and call ``products.catalog`` on an owner connection (STYLE §7).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, MutableMapping
from typing import Any

from jmmctap.products import catalog
from jmmctap.settings import Settings

__all__ = ["register"]

Command = Callable[[argparse.Namespace, Settings], int]


def _products(args: argparse.Namespace, settings: Settings) -> int:
    from jmmctap.db import migrate
    from jmmctap.db.connect import connect, conninfos

    migrate.init_database(settings)
    with connect(conninfos(settings).owner) as conn:
        if args.action == "relink":
            root = catalog.public_root(settings)
            print(f"{catalog.relink_products(conn, root)} granules now point at {root}/products/")
            return 0
        with conn.transaction():
            catalog.set_documentation(conn, args.collection, None if args.remove else args.url)
        print(f"{args.collection}: " + ("no documentation" if args.remove else f"documented at {args.url}"))
    return 0


def register(sub: Any, commands: MutableMapping[str, Command]) -> None:
    """Add ``products`` to ``sub`` (the main parser's subparsers) and to ``commands``."""
    products = sub.add_parser("products", help="product files kept by the service")
    actions = products.add_subparsers(dest="action", required=True)
    actions.add_parser("relink", help="point the access_url of every kept file at JMMCTAP_PUBLIC_URL")
    document = actions.add_parser("document", help="the documentation page of a collection (DataLink)")
    document.add_argument("collection", metavar="COLLECTION", help="obs_collection value")
    which = document.add_mutually_exclusive_group(required=True)
    which.add_argument("url", nargs="?", metavar="URL", help="http(s) URL of its documentation")
    which.add_argument("--remove", action="store_true", help="remove its documentation link")
    commands["products"] = _products
