"""The principal of a query transaction: set by the server only, never read or changed by a query."""

from __future__ import annotations

import re
import time
from typing import Any

import psycopg
import pytest
from starlette.applications import Starlette

from jmmctap.acl.principal import MAX_SKEW_S, PrincipalSigner, read_signer, set_local_principal
from jmmctap.adql import translate
from jmmctap.auth import Principal
from jmmctap.context import context_of
from jmmctap.db.connect import conninfos
from jmmctap.db.gate import GateLimits, QueryGate
from jmmctap.db.migrate import query_conninfo
from jmmctap.errors import AdqlError, UsageError
from jmmctap.query import start
from jmmctap.results import ResultColumn
from jmmctap.settings import Settings
from tests.acl.conftest import ALICE, BOB, PUBLIC_ROWS
from tests.support.pools import open_query_pool
from tests.support.principals import principal_session, query_as
from tests.support.shared import SHARED, needs_shared

ATTACKS = [
    "SELECT set_config('jmmctap.principal', '', true) FROM ivoa.obscore",
    "SELECT TOP 1 current_setting('jmmctap.principal') FROM ivoa.obscore",
    "SELECT TOP 1 current_setting('jmmctap.principal', true) AS p FROM ivoa.obscore",
    "SELECT CAST(current_setting('jmmctap.principal') AS VARCHAR) FROM ivoa.obscore",
    'SELECT "set_config"(\'jmmctap.principal\', \'x\', true) FROM ivoa.obscore',
    'SELECT "current_setting"(\'jmmctap.principal\') FROM ivoa.obscore',
    "SELECT pg_catalog.set_config('jmmctap.principal', 'x', true) FROM ivoa.obscore",
    "SELECT \"pg_catalog\".\"current_setting\"('jmmctap.principal') FROM ivoa.obscore",
    "SET jmmctap.principal = 'x'",
    "SET LOCAL jmmctap.principal TO 'x'; SELECT * FROM ivoa.obscore",
    "SELECT obs_id FROM ivoa.obscore; SET jmmctap.principal = ''",
    "RESET jmmctap.principal",
    "SELECT obs_id FROM ivoa.obscore -- ; SELECT set_config('jmmctap.principal', 'x', false)",
    "SELECT obs_id FROM ivoa.obscore /* */ WHERE 1 = 1 /* ; SET jmmctap.principal = 'x' */",
    "SELECT obs_id FROM ivoa.obscore WHERE obs_collection = 'x'' OR set_config(''jmmctap.principal'', '''', true)"
    " IS NOT NULL OR ''1'' = ''1'",
    'SELECT obs_id AS "x"" FROM ivoa.obscore; SET jmmctap.principal = 1; --" FROM ivoa.obscore',
    "WITH p AS (SELECT set_config('jmmctap.principal', '', true) AS v) SELECT obs_id FROM ivoa.obscore, p",
    "SELECT acl.hidden_collections() FROM ivoa.obscore",
    "SELECT * FROM acl.signing_key",
    'SELECT * FROM "acl"."signing_key"',
    "SELECT obs_id FROM ivoa.obscore WHERE obs_collection IN (SELECT name FROM acl.collection)",
    "SELECT * FROM pg_settings WHERE name = 'jmmctap.principal'",
    "SELECT * FROM pg_catalog.pg_stat_activity",
    "SELECT obs_id FROM ivoa.obscore WHERE set_config('jmmctap.principal', '', true) = ''",
    "EXPLAIN SELECT * FROM ivoa.obscore",
    "SELECT obs_id FROM ivoa.obscore UNION SELECT current_setting('jmmctap.principal') FROM ivoa.obscore",
]
"""ADQL aimed at the principal: functions, statements, comments, quoted names, literals, catalogs."""


def _corpus_security_cases() -> list[str]:
    """The shared corpus's security cases, aimed at ``ivoa.obscore`` instead of its test table."""
    path = SHARED / "conformance" / "cases-public.yaml"
    if not path.exists():
        return []
    import yaml

    cases = yaml.safe_load(path.read_text())["cases"]
    return [c["adql"].replace("conf.stars", "ivoa.obscore").replace("name =", "target_name =")
            .replace("id =", "obs_id =") for c in cases if c["category"] == "security"]


_LITERAL = re.compile(r"E?'(?:[^']|'')*'")
_QUOTED = re.compile(r'"(?:[^"]|"")*"')


def _cells(table: Any) -> list[str]:
    return [str(value) for row in table for value in row]


@pytest.mark.parametrize("adql", ATTACKS)
async def test_no_adql_reads_or_changes_the_principal(acl_app: Starlette, acl_settings: Settings, adql: str) -> None:
    with psycopg.connect(conninfos(acl_settings).owner) as owner:
        token_part = read_signer(owner).token(BOB, 0).split(":")[3]  # bob's name as the token writes it
    try:
        translation = translate(adql, context_of(acl_app).tap_schema.schema)
    except AdqlError:
        translation = None
    if translation is not None:  # what reaches PostgreSQL, literals and quoted names aside, calls none of them
        lowered = _QUOTED.sub('""', _LITERAL.sub("''", translation.sql)).lower()
        assert "set_config" not in lowered and "current_setting" not in lowered and "acl." not in lowered
    try:
        rows = await query_as(acl_app, BOB, adql)
    except UsageError:
        pass
    else:
        assert not any("v1:" in cell or token_part in cell for cell in _cells(rows))
        if "obs_collection" in rows.colnames:
            assert set(map(str, rows["obs_collection"])) <= {"pionier_public"}
    assert int((await query_as(acl_app, BOB, "SELECT COUNT(*) AS n FROM ivoa.obscore"))["n"][0]) == PUBLIC_ROWS


@needs_shared(SHARED / "conformance" / "cases-public.yaml")
@pytest.mark.parametrize("adql", _corpus_security_cases())
async def test_the_security_corpus_never_reaches_private_rows(acl_app: Starlette, adql: str) -> None:
    try:
        rows = await query_as(acl_app, BOB, adql)
    except UsageError:
        return
    assert len(rows) == 0 or "team_private" not in _cells(rows)


def test_sql_that_reached_set_config_cannot_forge_a_principal(acl_settings: Settings) -> None:
    """Defence in depth: a value the server did not sign is refused, so no row of a private collection shows."""
    with psycopg.connect(conninfos(acl_settings).owner) as owner:
        genuine = read_signer(owner)
    forger = PrincipalSigner(b"\x00" * 32)
    with principal_session(acl_settings, BOB) as conn:
        alice_here = genuine.token(ALICE, conn.info.backend_pid)
        tampered = alice_here.replace(b"teamA".hex(), b"teamB".hex())  # another group, signature unchanged
        for token in (forger.token(ALICE, conn.info.backend_pid),  # a key of its own
                      bob_with_groups(genuine, conn.info.backend_pid),  # groups added to a genuine token
                      tampered):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute("SELECT set_config('jmmctap.principal', %s, true)", [token])
                conn.execute("SELECT count(*) FROM ivoa.obscore").fetchone()


def bob_with_groups(signer: PrincipalSigner, pid: int) -> str:
    """Bob's genuine token with teamA's hex added to its groups, signature unchanged."""
    parts = signer.token(BOB, pid).split(":")
    parts[4] = ",".join([*parts[4].split(","), b"teamA".hex()])
    return ":".join(parts)


def test_a_token_is_refused_on_another_backend_or_long_after(acl_settings: Settings) -> None:
    """A genuine token seen elsewhere (``pg_stat_activity`` shows the statement while it runs) is useless."""
    with psycopg.connect(conninfos(acl_settings).owner) as owner:
        signer = read_signer(owner)
    with principal_session(acl_settings, BOB) as conn:
        for token in (signer.token(ALICE, conn.info.backend_pid + 1),
                      signer.token(ALICE, conn.info.backend_pid, now_s=time.time() - 3600)):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(set_local_principal(token))
                conn.execute("SELECT count(*) FROM tap_schema.tables").fetchone()


def test_a_token_is_accepted_within_the_clock_margin_only(acl_settings: Settings) -> None:
    with psycopg.connect(conninfos(acl_settings).owner) as owner:
        signer = read_signer(owner)
    with principal_session(acl_settings, BOB) as conn:
        for age_s, accepted in ((MAX_SKEW_S / 2, True), (-MAX_SKEW_S / 2, True), (MAX_SKEW_S + 30, False)):
            token = signer.token(ALICE, conn.info.backend_pid, now_s=time.time() - age_s)
            if accepted:
                with conn.transaction():
                    conn.execute(set_local_principal(token))
                    assert conn.execute("SELECT count(*) FROM ivoa.obscore").fetchone() == (PUBLIC_ROWS + 2,)
            else:
                with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                    conn.execute(set_local_principal(token))
                    conn.execute("SELECT count(*) FROM ivoa.obscore").fetchone()


def test_resetting_the_principal_only_makes_the_caller_anonymous(acl_settings: Settings) -> None:
    with principal_session(acl_settings, ALICE) as conn:
        assert conn.execute("SELECT count(*) FROM ivoa.obscore").fetchone() == (PUBLIC_ROWS + 2,)
    with principal_session(acl_settings, ALICE) as conn:
        conn.execute("SELECT set_config('jmmctap.principal', '', true)")
        assert conn.execute("SELECT count(*) FROM ivoa.obscore").fetchone() == (PUBLIC_ROWS,)


@pytest.mark.parametrize("statement", [
    "SELECT * FROM acl.signing_key", "SELECT * FROM acl.collection", "SELECT * FROM acl.delegation",
    "SELECT * FROM acl.table_grant", "SELECT * FROM acl.verified_principal()",
    "SELECT acl.public_row_count('ivoa', 'obscore')", "SELECT acl.protect_table('ivoa.obscore')",
    "SELECT * FROM acl.data_pi", "SELECT * FROM jmmctap.secret",
])
def test_the_query_role_cannot_read_the_key_nor_the_rules(acl_settings: Settings, statement: str) -> None:
    with principal_session(acl_settings, BOB) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


async def test_a_query_for_a_user_needs_the_signer(acl_settings: Settings) -> None:
    """No silent fallback to anonymous (or worse) when a caller forgets to pass the signer."""
    with psycopg.connect(conninfos(acl_settings).owner) as owner:
        dsn = query_conninfo(owner, conninfos(acl_settings))
    async with open_query_pool(dsn, 1) as pool:
        gate = QueryGate(pool, GateLimits(active=1, slow=0, per_client=1, queue_wait_s=5))
        with pytest.raises(ValueError, match="signer"):
            await start(gate, "SELECT 1", [ResultColumn("x", "long")], adql="q", maxrec=1, timeout_s=5,
                        principal=Principal("alice"))
        stream = await start(gate, "SELECT count(*) FROM ivoa.obscore", [ResultColumn("x", "long")], adql="q",
                             maxrec=1, timeout_s=5)  # anonymous needs no signature
        assert [row async for batch in stream.batches() for row in batch] == [(PUBLIC_ROWS,)]
