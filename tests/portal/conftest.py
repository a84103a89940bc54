"""The portal's tests run on the session cluster with the shipped samples loaded."""

from __future__ import annotations

import psycopg
import pytest

from jmmctap.catalogues.samples import load_samples
from jmmctap.db.connect import conninfos
from jmmctap.settings import Settings


@pytest.fixture(scope="module")
def samples(settings: Settings) -> None:
    """Every shipped sample loaded (idempotent: other tests may have emptied a catalogue)."""
    with psycopg.connect(conninfos(settings).owner, autocommit=True) as conn:
        load_samples(conn, settings)
