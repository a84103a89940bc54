"""Which stored file holds each granule (``products.granule_file``), and the public URLs built on it.

``access_url`` of a stored product is an absolute URL kept in ``ivoa.obscore``, built at ingest from
``JMMCTAP_PUBLIC_URL`` (default ``http://HOST:PORT`` of the settings, what ``serve`` binds): ObsCore rows are
copied into files, TOPCAT sessions and papers, so the URL must not depend on how one client reached the
server, and ``ivoa.obscore`` stays a plain table (row-level security, indexes, upserts) rather than a view
computing the URL per request. When the public URL changes, ``relink_products`` (``jmmctap products
relink``) rewrites the stored ones. The DataLink links, written per request, use the request's root.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg

from jmmctap.errors import UsageError
from jmmctap.products.store import ProductStore, StoredFile, open_product_store
from jmmctap.settings import Settings

__all__ = [
    "PREVIEW_MEDIA_TYPE",
    "ProductPublisher",
    "preview_path",
    "product_path",
    "public_root",
    "record_granule_files",
    "relink_products",
    "set_documentation",
]

PREVIEW_MEDIA_TYPE = "image/png"
"""Media type of the quick-look plots."""

_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})
"""Bind addresses that name no host a client could reach."""


def public_root(settings: Settings) -> str:
    """Root URL of the stored products' ``access_url`` (see the module docstring), without a trailing slash."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = socket.getfqdn() if settings.host in _WILDCARD_HOSTS else settings.host
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{settings.port}"


def product_path(sha256: str, file_name: str) -> str:
    """Path of a stored product below the service root: ``/products/{sha256}/{file name}``."""
    return f"/products/{sha256}/{quote(file_name)}"


def preview_path(sha256: str) -> str:
    """Path of a product's quick-look PNG below the service root."""
    return f"/previews/{sha256}.png"


@dataclass(frozen=True)
class ProductPublisher:
    """Keeps ingested files in ``store`` and names them under ``root`` (``public_root``)."""

    store: ProductStore
    root: str

    @classmethod
    def from_settings(cls, settings: Settings) -> ProductPublisher:
        """The store and public root of ``settings``."""
        return cls(open_product_store(settings), public_root(settings))

    def keep(self, path: Path) -> tuple[StoredFile, str]:
        """Store a file; returns it and its public URL (file names keep their case and extension)."""
        stored = self.store.put(path)
        return stored, self.root + product_path(stored.sha256, path.name)


def record_granule_files(conn: psycopg.Connection[Any], granule_ids: Sequence[int], stored: StoredFile,
                         file_name: str, media_type: str) -> None:
    """Tie granules to their stored file (caller's transaction; a re-ingest moves them to the new content)."""
    conn.execute(
        "INSERT INTO products.file (sha256, size_bytes, media_type) VALUES (%s, %s, %s)"
        " ON CONFLICT (sha256) DO NOTHING", [stored.sha256, stored.size_bytes, media_type])
    conn.execute(
        "INSERT INTO products.granule_file (granule_id, sha256, file_name)"
        " SELECT unnest(%s::bigint[]), %s, %s ON CONFLICT (granule_id) DO UPDATE"
        " SET sha256 = excluded.sha256, file_name = excluded.file_name"
        " WHERE (products.granule_file.sha256, products.granule_file.file_name)"
        " IS DISTINCT FROM (excluded.sha256, excluded.file_name)",
        [list(granule_ids), stored.sha256, file_name])


def relink_products(conn: psycopg.Connection[Any], root: str) -> int:
    """Point the ``access_url`` of every stored product at ``root``; returns how many rows changed."""
    rows = conn.execute(
        "SELECT g.granule_id, g.sha256, g.file_name FROM products.granule_file g").fetchall()
    changed = 0
    with conn.transaction():
        for granule_id, sha256, file_name in rows:
            url = root.rstrip("/") + product_path(sha256, file_name)
            cursor = conn.execute(
                "UPDATE ivoa.obscore SET access_url = %s WHERE id = %s AND access_url IS DISTINCT FROM %s",
                [url, granule_id, url])
            changed += cursor.rowcount
    return changed


def set_documentation(conn: psycopg.Connection[Any], collection: str, url: str | None) -> None:
    """Set (or, with None, remove) the documentation page of a collection (its granules' ``#documentation``).

    Raises
    ------
    UsageError
        The URL is not http(s).
    """
    if url is None:
        conn.execute("DELETE FROM products.collection_documentation WHERE collection = %s", [collection])
        return
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"the documentation of a collection must be an http(s) URL, not {url!r}")
    conn.execute(
        "INSERT INTO products.collection_documentation (collection, url) VALUES (%s, %s)"
        " ON CONFLICT (collection) DO UPDATE SET url = excluded.url", [collection, url])
