"""Acceptance of issue 12 item 2 (real server process, real cluster): an ingest is visible to queries
the moment it returns, and a ``--mode replace`` that changes the columns never shows a concurrent
reader an error (it gets the old table and metadata, or the new ones)."""

from __future__ import annotations

import io
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from astropy.io.votable import parse

from jmmctap.db.connect import conninfos
from jmmctap.ingest import ingest_files
from jmmctap.settings import Settings
from tests.conftest import server_env
from tests.ingest.conftest import drop_schema
from tests.test_cli import run_cli

SCHEMA = "ryw_test"


@dataclass(frozen=True)
class Variant:
    """One column layout of the replaced table: (name, VOTable datatype, arraysize) and a row count."""

    fields: tuple[tuple[str, str, str | None], ...]
    rows: int


VARIANTS = (
    Variant((("id", "long", None), ("v", "int", None), ("a", "double", None)), 30),
    Variant((("id", "long", None), ("v", "char", "*"), ("b", "double", None), ("c", "boolean", None)), 40),
    # same names as the first, other types: old SQL still runs on the new table, with other types
    Variant((("id", "long", None), ("v", "char", "*"), ("a", "char", "*")), 50),
)


def _cell(datatype: str, i: int) -> str:
    return {"long": str(i), "int": str(i * 3), "double": f"{i * 0.5}", "char": f"s{i}",
            "boolean": "T" if i % 2 else "F"}[datatype]


def write_variant(path: Path, variant: Variant) -> Path:
    """A TABLEDATA VOTable with the variant's columns."""
    fields = "".join(
        f'<FIELD name="{n}" datatype="{t}"{f" arraysize={chr(34)}{a}{chr(34)}" if a else ""}/>'
        for n, t, a in variant.fields
    )
    rows = "".join("<TR>" + "".join(f"<TD>{_cell(t, i)}</TD>" for _, t, _ in variant.fields) + "</TR>"
                   for i in range(variant.rows))
    path.write_text('<?xml version="1.0"?><VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">'
                    f"<RESOURCE><TABLE>{fields}<DATA><TABLEDATA>{rows}</TABLEDATA></DATA></TABLE></RESOURCE>"
                    "</VOTABLE>")
    return path


@pytest.fixture
def clean_schema(owner_conn: psycopg.Connection[Any]) -> Iterator[str]:
    drop_schema(owner_conn, SCHEMA)
    yield SCHEMA
    drop_schema(owner_conn, SCHEMA)


def query(client: httpx.Client, base: str, adql: str, fmt: str = "csv") -> httpx.Response:
    return client.post(f"{base}/sync", data={"LANG": "ADQL", "QUERY": adql, "RESPONSEFORMAT": fmt})


@pytest.mark.slow
def test_a_table_is_queryable_as_soon_as_ingest_returns(settings: Settings, live_server: str, clean_schema: str,
                                                         tmp_path: Path) -> None:
    env = server_env(settings)
    with httpx.Client(timeout=30) as client:
        for i in range(20):
            variant = Variant(VARIANTS[0].fields, 5 + i)
            path = write_variant(tmp_path / f"t{i}.vot", variant)
            result = run_cli("ingest", str(path), "--table", f"{clean_schema}.t{i}", env=env)
            assert result.returncode == 0, result.stderr
            # at once (well within 10 ms of the command's exit), no retry, no sleep
            response = query(client, live_server, f"SELECT COUNT(*) AS n FROM {clean_schema}.t{i}")
            assert response.status_code == 200, response.text
            assert response.text.split() == ["n", str(variant.rows)]


def _error_message(body: bytes) -> str:
    """The QUERY_STATUS text of a DALI error document."""
    text = body.decode(errors="replace")
    start = text.find('value="ERROR">')
    return text[start + 14: text.find("<", start + 14)] if start >= 0 else text[-200:]


def _check_answer(body: bytes) -> Variant:
    """The variant a BINARY2 answer is complete for (columns, types and rows); fails on anything else."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        votable = parse(io.BytesIO(body))
    statuses = [info.value for resource in votable.resources for info in resource.infos
                if info.name == "QUERY_STATUS"]
    assert statuses == ["OK"], statuses
    table = votable.get_first_table()
    layout = tuple((f.name, f.datatype, f.arraysize) for f in table.fields)
    matching = [v for v in VARIANTS
                if tuple((n, t) for n, t, _ in v.fields) == tuple((n, t) for n, t, _ in layout)]
    assert len(matching) == 1, layout
    assert len(table.array) == matching[0].rows
    return matching[0]


@pytest.mark.slow
def test_replacing_with_other_columns_never_shows_readers_an_error(
    settings: Settings, live_server: str, clean_schema: str, tmp_path: Path
) -> None:
    files = [write_variant(tmp_path / f"v{i}.vot", v) for i, v in enumerate(VARIANTS)]
    table = f"{clean_schema}.swapped"
    owner = conninfos(settings).owner
    ingest_files(owner, [files[0]], table, query_role=settings.query_role)
    stop = threading.Event()
    answers: list[tuple[int, bytes]] = []
    lock = threading.Lock()

    def read() -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                response = query(client, live_server, f"SELECT * FROM {table}", fmt="votable")
                with lock:
                    answers.append((response.status_code, response.content))

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    try:
        for i in range(50):
            ingest_files(owner, [files[(i + 1) % len(files)]], table, mode="replace", query_role=settings.query_role)
            time.sleep(0.01)  # let the readers interleave with the next swap
    finally:
        stop.set()
        for reader in readers:
            reader.join(timeout=60)
    failures = {(status, _error_message(body)) for status, body in answers if status != 200}
    assert failures == set()
    seen = {_check_answer(body) for _, body in answers}
    assert len(answers) > 50
    assert len(seen) >= 2  # the readers really saw the table change
