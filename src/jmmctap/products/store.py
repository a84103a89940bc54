"""The product file store: files kept by the service, named by the SHA-256 of their content.

A file goes in once whatever its name or how often it is ingested (``put``), and its name never changes
with the collection or the granule: the URL ``/products/{sha256}/{file name}`` built on it is stable, and
its ETag and ``Repr-Digest`` are the hash itself. Files derived from a product (its quick-look PNG) are
kept beside it, keyed by the product's hash and a suffix (``put_derived``), so a preview is rendered once.

``ProductStore`` is the seam for another backend: ``DirectoryStore`` (a local or shared directory) is the
one implemented; an S3-compatible store is not (it would implement the same four methods, ``local_path``
becoming a download to a cache or a redirect to a presigned URL).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from jmmctap.settings import Settings

__all__ = [
    "SHA256_PATTERN",
    "DirectoryStore",
    "ProductStore",
    "StoredFile",
    "hash_file",
    "open_product_store",
    "products_directory",
]

SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")
"""A product key: the lower-case hexadecimal SHA-256 of the file."""

_CHUNK_BYTES = 1 << 20
"""Bytes read at a time while hashing or copying."""

_SUFFIX = re.compile(r"[a-z0-9.-]{1,32}")
"""Suffixes of derived files (``preview.png``)."""


@dataclass(frozen=True)
class StoredFile:
    """A file in the store: its key (hex SHA-256), size in bytes and MD5 (OiDB's ``access_md5``)."""

    sha256: str
    size_bytes: int
    md5: str


class ProductStore(Protocol):
    """Where product files live (see the module docstring)."""

    def put(self, source: Path) -> StoredFile:
        """Copy ``source`` into the store (nothing when already there) and describe it."""
        ...

    def local_path(self, sha256: str) -> Path | None:
        """A local file holding the product, None when the store has none of that key."""
        ...

    def put_derived(self, sha256: str, suffix: str, content: bytes) -> Path:
        """Keep ``content`` derived from product ``sha256`` (e.g. ``preview.png``); returns its path."""
        ...

    def derived_path(self, sha256: str, suffix: str) -> Path | None:
        """The derived file when it was kept, else None."""
        ...


def products_directory(settings: Settings) -> Path:
    """The configured ``products_dir``, by default ``$JMMCTAP_HOME/products``."""
    return (settings.products_dir or settings.home / "products").expanduser().absolute()


def open_product_store(settings: Settings) -> DirectoryStore:
    """The store of these settings (the directory is created on first write)."""
    return DirectoryStore(products_directory(settings))


def hash_file(path: Path) -> StoredFile:
    """SHA-256, MD5 and size of a file, read once."""
    sha, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            sha.update(chunk)
            md5.update(chunk)
            size += len(chunk)
    return StoredFile(sha.hexdigest(), size, md5.hexdigest())


class DirectoryStore:
    """Files under ``root/ab/abcdef…`` (two-character fan-out keeps directories small).

    Writes go to a temporary file in the same directory, then ``os.replace``: a reader never sees a partial
    file, and two processes storing the same file at once both succeed with identical content.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def __repr__(self) -> str:
        return f"DirectoryStore({str(self.root)!r})"

    def put(self, source: Path) -> StoredFile:
        stored = hash_file(source)
        target = self._path(stored.sha256)
        if not (target.exists() and target.stat().st_size == stored.size_bytes):
            with source.open("rb") as handle:
                self._write(target, iter(lambda: handle.read(_CHUNK_BYTES), b""))
        return stored

    def local_path(self, sha256: str) -> Path | None:
        path = self._path(sha256)
        return path if path.is_file() else None

    def put_derived(self, sha256: str, suffix: str, content: bytes) -> Path:
        target = self._derived(sha256, suffix)
        self._write(target, iter((content,)))
        return target

    def derived_path(self, sha256: str, suffix: str) -> Path | None:
        path = self._derived(sha256, suffix)
        return path if path.is_file() else None

    def _path(self, sha256: str) -> Path:
        if not SHA256_PATTERN.fullmatch(sha256):
            raise ValueError(f"not a product key: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def _derived(self, sha256: str, suffix: str) -> Path:
        if not _SUFFIX.fullmatch(suffix):
            raise ValueError(f"not a derived file suffix: {suffix!r}")
        path = self._path(sha256)
        return path.with_name(f"{path.name}.{suffix}")

    def _write(self, target: Path, chunks: Iterable[bytes]) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        incoming: Path | None = None
        try:
            with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".incoming-", delete=False) as handle:
                incoming = Path(handle.name)
                for chunk in chunks:
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            incoming.chmod(0o644)
            os.replace(incoming, target)
        except BaseException:
            if incoming is not None:
                incoming.unlink(missing_ok=True)
            raise
