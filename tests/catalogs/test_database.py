"""Defence in depth: what the query role can do with catalogs, whatever SQL reaches it.

The server writes through ``catalog_api``'s SECURITY DEFINER functions; these tests call PostgreSQL directly as
the query role, with and without a signed principal, to show that the database itself enforces the rules.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from jmmctap.acl.principal import read_signer
from jmmctap.auth import Principal
from jmmctap.db.connect import conninfos
from jmmctap.db.migrate import query_conninfo
from jmmctap.settings import Settings
from tests.catalogs.conftest import SPICA
from tests.support.principals import principal_session

CAROL, DAVE = Principal("carol"), Principal("dave")


def _write_session(settings: Settings, principal: Principal, token: str | None = None) -> psycopg.Connection[Any]:
    """A query-role connection in a READ WRITE transaction for ``principal`` (or with a raw ``token``)."""
    infos = conninfos(settings)
    with psycopg.connect(infos.owner) as owner:
        signer, dsn = read_signer(owner), query_conninfo(owner, infos)
    conn = psycopg.connect(dsn)
    conn.execute("SET TRANSACTION READ WRITE")
    if token is None:
        conn.execute(signer.set_local(principal, conn.info.backend_pid))
    else:
        conn.execute("SELECT set_config('jmmctap.principal', %s, true)", [token])
    return conn


def test_the_query_role_cannot_write_a_catalog_table_directly(catalog_settings: Settings, people: Any) -> None:
    with _write_session(catalog_settings, CAROL) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE spica.spica SET priority_pi = 1 WHERE piname = 'Carol PI'")


def test_a_change_without_a_valid_principal_is_refused(catalog_settings: Settings, people: Any) -> None:
    change = [SPICA, Jsonb([{"spicadb_id": 10, "priority_pi": 1}]), False]
    with _write_session(catalog_settings, Principal(None)) as conn, \
            pytest.raises(psycopg.errors.InvalidAuthorizationSpecification):
        conn.execute("SELECT catalog_api.change_rows(%s, %s, %s)", change)
    forged = "v1:1:1:" + b"carol".hex() + "::" + "0" * 64
    with _write_session(catalog_settings, CAROL, token=forged) as conn, \
            pytest.raises(psycopg.errors.InsufficientPrivilege, match="not valid"):
        conn.execute("SELECT catalog_api.change_rows(%s, %s, %s)", change)


def test_a_read_only_transaction_cannot_change_rows_even_through_the_functions(
        catalog_settings: Settings, people: Any) -> None:
    with principal_session(catalog_settings, CAROL) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("SELECT catalog_api.change_rows(%s, %s, false)",
                     [SPICA, Jsonb([{"spicadb_id": 10, "priority_pi": 1}])])


def test_the_audit_is_append_only_even_for_the_owner(catalog_conn: psycopg.Connection[Any]) -> None:
    catalog_conn.execute("INSERT INTO catalog_api.audit (user_name, table_name, action, new_values)"
                         " VALUES ('test', 'spica.spica', 'update', '{}')")
    for statement in ("UPDATE catalog_api.audit SET user_name = 'someone else'", "DELETE FROM catalog_api.audit",
                      "TRUNCATE catalog_api.audit"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            catalog_conn.execute(statement)


def test_a_catalog_delegation_gives_no_right_on_obscore_rows(catalog_settings: Settings,
                                                            catalog_conn: psycopg.Connection[Any]) -> None:
    catalog_conn.execute("INSERT INTO acl.delegation (pi, coi, catalog) VALUES ('carol', 'dave', %s)", [SPICA])
    with principal_session(catalog_settings, DAVE) as conn:
        keys = conn.execute("SELECT acl.pi_keys()::text").fetchone()
    assert keys is not None and "carol" not in keys[0]
    catalog_conn.execute("INSERT INTO acl.delegation (pi, coi) VALUES ('carol', 'dave')")  # all rows: obscore too
    with principal_session(catalog_settings, DAVE) as conn:
        keys = conn.execute("SELECT acl.pi_keys()::text").fetchone()
    assert keys is not None and "carol" in keys[0]
