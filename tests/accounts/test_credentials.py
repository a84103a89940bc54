"""The Authorization header: Basic and Bearer are read, anything else is refused rather than ignored."""

from __future__ import annotations

import base64

import pytest

from jmmctap.accounts.credentials import (
    CHALLENGES,
    BasicCredentials,
    BearerCredentials,
    parse_authorization,
)
from jmmctap.errors import AuthenticationError


def _basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


def test_no_header_is_no_credentials() -> None:
    assert parse_authorization(None) is None


def test_basic_splits_at_the_first_colon_so_passwords_may_contain_colons() -> None:
    assert parse_authorization(_basic("alice@jmmc.fr:pa:ss")) == BasicCredentials("alice@jmmc.fr", "pa:ss")


def test_basic_is_utf8_and_the_scheme_is_case_insensitive() -> None:
    header = "basic " + base64.b64encode("zoé:mot de passé".encode()).decode()
    assert parse_authorization(header) == BasicCredentials("zoé", "mot de passé")


def test_bearer_gives_the_token() -> None:
    assert parse_authorization("Bearer jmt_abc") == BearerCredentials("jmt_abc")


@pytest.mark.parametrize("header", [
    "Basic !!!notbase64", _basic("no-colon"), "Basic", "Bearer", "Digest username=x", "Negotiate abc",
    "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
])
def test_malformed_or_unsupported_credentials_are_refused_with_both_challenges(header: str) -> None:
    with pytest.raises(AuthenticationError) as refused:
        parse_authorization(header)
    assert refused.value.http_status == 401
    assert refused.value.http_headers["WWW-Authenticate"] == CHALLENGES
    assert CHALLENGES.startswith('Basic realm="jmmc account"') and "Bearer" in CHALLENGES


def test_secrets_never_show_in_a_repr() -> None:
    assert "s3cret" not in repr(BasicCredentials("alice", "s3cret"))
    assert "jmt_" not in repr(BearerCredentials("jmt_secret"))
