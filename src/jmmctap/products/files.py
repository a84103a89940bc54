"""Find the product file (or its quick look) a request asks for, once PostgreSQL says the caller may have it.

A stored file is refused with 401 to an anonymous caller (with the accounts' ``WWW-Authenticate``, so that
clients with credentials send them) and 403 to a user when one of the granules it holds is under embargo
or in a private collection the user may not see (``products.file_access``, sql/0030). An unknown key, or
a file name that is not the one the file was ingested under, is 404: the URL is stable, not guessable by name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jmmctap.accounts.credentials import CHALLENGES
from jmmctap.auth import Principal
from jmmctap.db.pools import Pools
from jmmctap.errors import AuthenticationError, ForbiddenError, NotFoundError, ServiceError
from jmmctap.products.access import FileAccess, read_file_access
from jmmctap.products.catalog import PREVIEW_MEDIA_TYPE
from jmmctap.products.preview import preview_of
from jmmctap.products.store import SHA256_PATTERN, ProductStore

__all__ = ["ServedFile", "find_preview", "find_product"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServedFile:
    """A local file to send: its path, media type, name for ``Content-Disposition`` and SHA-256 (None: unknown)."""

    path: Path
    media_type: str
    file_name: str
    sha256: str | None
    etag: str


async def find_product(pools: Pools, store: ProductStore, principal: Principal, sha256: str, file_name: str,
                       at: datetime | None, *, label: str, client: str) -> ServedFile:
    """The stored file ``/products/{sha256}/{file_name}`` for ``principal``.

    Raises
    ------
    NotFoundError
        No granule holds this file under this name.
    AuthenticationError, ForbiddenError
        The file is closed to the caller (anonymous: 401; a user: 403).
    """
    access = await _checked_access(pools, principal, sha256, at, label=label, client=client)
    if file_name not in access.file_names:
        raise NotFoundError(f"no product file {file_name!r} with this checksum")
    path = store.local_path(sha256)
    if path is None:
        log.error("product file %s (%s) is in the database but not in the store %r", sha256, file_name, store)
        raise ServiceError("the product file is missing from the store; it has been logged")
    return ServedFile(path, access.media_type or "application/octet-stream", file_name, sha256, f'"{sha256}"')


async def find_preview(pools: Pools, store: ProductStore, principal: Principal, sha256: str, at: datetime | None,
                       *, label: str, client: str) -> ServedFile:
    """The quick-look PNG of stored product ``sha256``, rendered on first request (same access as the file).

    Raises
    ------
    NotFoundError, AuthenticationError, ForbiddenError
        As ``find_product``.
    """
    access = await _checked_access(pools, principal, sha256, at, label=label, client=client)
    path = await preview_of(store, sha256)
    if path is None:
        log.error("product file %s is in the database but not in the store %r", sha256, store)
        raise ServiceError("the product file is missing from the store; it has been logged")
    name = access.file_names[0].rsplit(".", 1)[0] if access.file_names else sha256
    return ServedFile(path, PREVIEW_MEDIA_TYPE, f"{name}.png", None, f'"{sha256}-preview"')


async def _checked_access(pools: Pools, principal: Principal, sha256: str, at: datetime | None, *,
                          label: str, client: str) -> FileAccess:
    if not SHA256_PATTERN.fullmatch(sha256):
        raise NotFoundError("no such product file (not a SHA-256)")
    access = await read_file_access(pools, principal, sha256, at, label=label, client=client)
    if access.access == "unknown":
        raise NotFoundError("no such product file")
    if access.access == "closed":
        if principal.anonymous:
            raise AuthenticationError("this file is under embargo or private: log in", CHALLENGES)
        raise ForbiddenError(f"{principal} may not have this file (embargo or private collection)")
    return access
