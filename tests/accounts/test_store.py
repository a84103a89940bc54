"""Accounts in the database: only hashes are stored, the query role cannot read them, constraints say why."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from jmmctap.accounts import store
from jmmctap.accounts.tokens import hash_token, new_token, token_hint
from jmmctap.db.connect import conninfos
from jmmctap.errors import IngestError, NotFoundError, UsageError
from jmmctap.ingest.pipeline import parse_target
from jmmctap.settings import Settings
from tests.support.accounts import TestAccount


def _everything_stored(conn: psycopg.Connection[Any]) -> str:
    """Every row of every accounts table, as text."""
    return " ".join(
        str(row) for table in ("users", "groups", "memberships", "tokens")
        for row in conn.execute(f"SELECT row_to_json(t)::text FROM jmmctap_accounts.{table} t").fetchall()
    )


def test_neither_password_nor_token_is_stored_in_clear(
    owner_conn: psycopg.Connection[Any], make_account: Callable[..., TestAccount]
) -> None:
    account = make_account(groups=["team-a"])
    stored = _everything_stored(owner_conn)
    assert account.name in stored
    assert account.password not in stored and account.token not in stored
    assert account.token[len("jmt_"):][:12] not in stored
    row = owner_conn.execute("SELECT password_hash FROM jmmctap_accounts.users WHERE name = %s",
                             [account.name]).fetchone()
    assert row is not None and row[0].startswith("$argon2id$")


def test_a_plain_text_password_cannot_be_stored(owner_conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        owner_conn.execute("INSERT INTO jmmctap_accounts.users (name, password_hash) VALUES ('x', 'hunter2')")


@pytest.mark.parametrize("statement", [
    "SELECT * FROM jmmctap_accounts.users", "SELECT * FROM jmmctap_accounts.tokens",
    "SELECT * FROM jmmctap_accounts.memberships",
])
def test_the_query_role_cannot_read_accounts(query_dsn: str, statement: str) -> None:
    with psycopg.connect(query_dsn) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


def test_the_accounts_schema_is_never_published(owner_conn: psycopg.Connection[Any]) -> None:
    assert owner_conn.execute("SELECT count(*) FROM tap_schema.schemas WHERE schema_name ILIKE 'jmmctap%'"
                              ).fetchone() == (0,)
    with pytest.raises(IngestError, match="reserved"):
        parse_target("jmmctap_accounts.users")  # so neither ingest nor drop can touch it


def test_users_are_unique_and_names_have_no_colon_or_space(owner_conn: psycopg.Connection[Any]) -> None:
    store.add_user(owner_conn, "dup@test.jmmc.fr")
    try:
        with pytest.raises(UsageError, match="already exists"):
            store.add_user(owner_conn, "dup@test.jmmc.fr")
        for bad in ("a:b", "a b", ""):
            with pytest.raises(UsageError, match="invalid user name"):
                store.add_user(owner_conn, bad)
        with pytest.raises(UsageError, match="invalid group name"):
            store.add_user(owner_conn, "ok@test.jmmc.fr", groups=["bad group"])
        assert owner_conn.execute("SELECT count(*) FROM jmmctap_accounts.users WHERE name = 'ok@test.jmmc.fr'"
                                  ).fetchone() == (0,)  # nothing half-done
    finally:
        store.remove_user(owner_conn, "dup@test.jmmc.fr")


def test_groups_gain_and_lose_members(
    owner_conn: psycopg.Connection[Any], make_account: Callable[..., TestAccount]
) -> None:
    a, b = make_account(), make_account()
    store.add_members(owner_conn, "collab-x", [a.name, b.name])
    store.add_members(owner_conn, "collab-x", [a.name])  # already a member: nothing changes
    assert ("collab-x", tuple(sorted([a.name, b.name]))) in store.list_groups(owner_conn)
    store.remove_member(owner_conn, "collab-x", a.name)
    assert ("collab-x", (b.name,)) in store.list_groups(owner_conn)
    with pytest.raises(NotFoundError, match="not a member"):
        store.remove_member(owner_conn, "collab-x", a.name)
    with pytest.raises(NotFoundError, match="no user named 'nobody'"):
        store.add_members(owner_conn, "collab-x", [a.name, "nobody"])
    assert ("collab-x", (b.name,)) in store.list_groups(owner_conn)  # the whole change was refused


def test_removing_a_user_removes_its_tokens_and_memberships(
    owner_conn: psycopg.Connection[Any], make_account: Callable[..., TestAccount]
) -> None:
    account = make_account(groups=["gone-team"])
    store.remove_user(owner_conn, account.name)
    assert owner_conn.execute(
        "SELECT (SELECT count(*) FROM jmmctap_accounts.tokens WHERE user_name = %(n)s),"
        " (SELECT count(*) FROM jmmctap_accounts.memberships WHERE user_name = %(n)s)", {"n": account.name}
    ).fetchone() == (0, 0)
    with pytest.raises(NotFoundError):
        store.remove_user(owner_conn, account.name)


def test_tokens_are_revoked_by_id_or_by_value(
    owner_conn: psycopg.Connection[Any], make_account: Callable[..., TestAccount]
) -> None:
    account = make_account()
    second = new_token()
    second_id = store.create_token(owner_conn, account.name, hash_token(second), token_hint(second), None)
    first_id = store.revoke_token(owner_conn, token_hash=hash_token(account.token))
    assert store.revoke_token(owner_conn, token_id=second_id) == second_id
    listed = store.list_tokens(owner_conn, account.name)
    assert [t.token_id for t in listed] == [first_id, second_id] and all(t.revoked_at for t in listed)
    with pytest.raises(NotFoundError):
        store.revoke_token(owner_conn, token_id=10**9)
    with pytest.raises(NotFoundError):
        store.create_token(owner_conn, "nobody", hash_token(second + "x"), "h", None)


async def test_lookups_tell_expired_revoked_and_note_the_last_use(
    settings: Settings, owner_conn: psycopg.Connection[Any], make_account: Callable[..., TestAccount]
) -> None:
    account = make_account(groups=["team-b"])
    expired = new_token()
    store.create_token(owner_conn, account.name, hash_token(expired), token_hint(expired),
                       datetime.now(UTC) - timedelta(seconds=1))
    async with AsyncConnectionPool(conninfos(settings).owner, min_size=1, open=False,
                                   kwargs={"autocommit": True}) as pool:
        accounts = store.AccountStore(pool)
        user = await accounts.find_user(account.name)
        assert user is not None and user.groups == {"team-b"} and user.password_hash is not None
        assert await accounts.find_user("nobody") is None
        owner = await accounts.find_token(hash_token(account.token))
        assert owner == store.TokenOwner(account.name, frozenset({"team-b"}), disabled=False, expired=False,
                                         revoked=False)
        old = await accounts.find_token(hash_token(expired))
        assert old is not None and old.expired
        assert await accounts.find_token(hash_token(new_token())) is None
    last_used = {t.hint: t.last_used_at for t in store.list_tokens(owner_conn, account.name)}
    assert last_used[token_hint(account.token)] is not None and last_used[token_hint(expired)] is None
