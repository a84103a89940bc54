"""The product store: files named by their SHA-256, written once, derived files beside them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from jmmctap.products.store import DirectoryStore
from tests.products.conftest import ACHERNAR_FILE


def test_a_file_is_kept_once_under_its_sha256(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "products")
    first = store.put(ACHERNAR_FILE)
    again = store.put(ACHERNAR_FILE)
    content = ACHERNAR_FILE.read_bytes()
    assert first == again
    assert first.sha256 == hashlib.sha256(content).hexdigest()
    assert first.md5 == hashlib.md5(content).hexdigest()
    assert first.size_bytes == len(content)
    path = store.local_path(first.sha256)
    assert path is not None and path.read_bytes() == content
    assert [p.name for p in (tmp_path / "products").rglob("*") if p.is_file()] == [first.sha256]


def test_a_copy_under_another_name_is_the_same_product(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "products")
    renamed = tmp_path / "renamed.fits"
    renamed.write_bytes(ACHERNAR_FILE.read_bytes())
    assert store.put(renamed).sha256 == store.put(ACHERNAR_FILE).sha256


def test_derived_files_are_kept_beside_their_product(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path)
    key = store.put(ACHERNAR_FILE).sha256
    assert store.derived_path(key, "preview.png") is None
    written = store.put_derived(key, "preview.png", b"\x89PNG")
    assert store.derived_path(key, "preview.png") == written
    assert written.read_bytes() == b"\x89PNG"


def test_an_unknown_key_has_no_file(tmp_path: Path) -> None:
    assert DirectoryStore(tmp_path).local_path("0" * 64) is None


@pytest.mark.parametrize("key", ["../../etc/passwd", "A" * 64, "0" * 63, ""])
def test_keys_that_are_not_sha256_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="not a product key"):
        DirectoryStore(tmp_path).local_path(key)
