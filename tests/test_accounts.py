"""Several accounts, one credential: ``get_auth(service, account_id=...)`` against a
loopback token endpoint issuing JWTs whose ``accounts`` claim lists several."""

from __future__ import annotations

import asyncio

import pytest

from bandwidth_credentials import (
    CredentialNotFoundError,
    InvalidCredentialsError,
    Resolver,
    TokenError,
    configure,
    get_auth,
)
from bandwidth_credentials import aget_auth as module_aget_auth
from bandwidth_credentials._factory import ACCOUNT_ARGUMENT
from bandwidth_credentials.testing import BASIC_DEPRECATION_FILTER, reset

from .oauth_servers import CLIENT_ID, CLIENT_SECRET, ApiServer, TokenServer, jwt

TWO = {"accounts": ["920012", "920013"], "roles": ["HTTP Voice"], "express": False}


def oauth(monkeypatch: pytest.MonkeyPatch, server: TokenServer, **extra: str) -> None:
    for name, value in {
        "BW_CLIENT_ID": CLIENT_ID,
        "BW_CLIENT_SECRET": CLIENT_SECRET,
        "BW_TOKEN_URL": server.url,
        **extra,
    }.items():
        monkeypatch.setenv(name, value)


def test_another_account_of_the_token_with_one_token_manager(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth(monkeypatch, token_server, BW_ACCOUNT_ID="920012")
    token_server.claims = TWO
    resolver = Resolver(["env"])

    configured = resolver.get_auth("voice")
    other = resolver.get_auth("voice", account_id="920013")
    headers = (configured.headers(), other.headers(), resolver.get_auth("sms", "920013").headers())

    assert configured.account_id == "920012"
    assert other.account_id == "920013"
    assert other.base_url == "https://voice.bandwidth.com/api/v2/accounts/920013"
    assert other.url("calls") == "https://voice.bandwidth.com/api/v2/accounts/920013/calls"
    assert other.provenance["account_id"].source == ACCOUNT_ARGUMENT
    assert (
        headers[0]
        == headers[1]
        == headers[2]
        == {"Authorization": "Bearer " + token_server.issued[0]}
    )
    assert token_server.requests == 1  # one token manager serves every account


def test_an_account_the_token_does_not_list_names_both_and_the_listed_ones(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth(monkeypatch, token_server, BW_ACCOUNT_ID="920012")
    token_server.claims = TWO

    with pytest.raises(CredentialNotFoundError) as caught:
        Resolver(["env"]).get_auth("voice", account_id="777")

    message = str(caught.value)
    assert message.startswith("the voice API cannot use account 777: ")
    assert "account 777 is not among the accounts of the access token" in message
    assert "missing" not in message  # the account was given, not missing
    assert f"for client {CLIENT_ID} (920012, 920013)" in message
    assert caught.value.service == "voice"
    assert caught.value.missing == ("account_id",)
    assert CLIENT_SECRET not in message
    assert token_server.issued[0] not in message


def test_without_a_configured_account_the_caller_chooses_among_several(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth(monkeypatch, token_server)
    token_server.claims = TWO
    resolver = Resolver(["env"])

    with pytest.raises(CredentialNotFoundError, match="lists accounts 920012, 920013"):
        resolver.get_auth("voice")
    chosen = resolver.get_auth("voice", account_id="920013")

    assert chosen.base_url.endswith("/accounts/920013")
    assert chosen.headers() == {"Authorization": "Bearer " + token_server.issued[0]}
    assert token_server.requests == 1


def test_the_configured_account_asked_for_is_the_configured_object(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth(monkeypatch, token_server, BW_ACCOUNT_ID="920012")
    resolver = Resolver(["env"])

    assert resolver.get_auth("voice", "920012") is resolver.get_auth("voice")
    assert token_server.requests == 0  # nothing to check: it is the configured account


def test_per_account_objects_are_cached_and_follow_their_account(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth(monkeypatch, token_server, BW_ACCOUNT_ID="920012")
    token_server.claims = TWO
    resolver = Resolver(["env"])

    first = resolver.get_auth("voice", account_id="920013")
    again = resolver.get_auth("voice", account_id="920013")

    assert again is first
    assert first.current() is first  # not the configured account's object
    assert resolver.get_auth_nowait("voice", "920013") is first
    assert asyncio.run(resolver.aget_auth("voice", account_id="920013")) is first


def test_the_cache_of_accounts_is_bounded(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth(monkeypatch, token_server, BW_ACCOUNT_ID="1")
    token_server.claims = {"roles": ["HTTP Voice"]}  # no accounts claim: nothing to check
    resolver = Resolver(["env"])

    for account in range(1000, 1600):
        resolver.get_auth("voice", account_id=str(account))

    assert 0 < len(resolver._cached.accounts) <= 256  # accounts kept per resolution
    assert resolver.get_auth("voice", "1599").account_id == "1599"


@pytest.mark.parametrize("account", ["u-123", "92 0012", "", "../920012"])
def test_an_account_id_that_is_not_numeric_is_refused(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer, account: str
) -> None:
    oauth(monkeypatch, token_server, BW_ACCOUNT_ID="920012")

    with pytest.raises(InvalidCredentialsError) as caught:
        Resolver(["env"]).get_auth("voice", account_id=account)

    assert caught.value.field == "account_id"
    assert token_server.requests == 0


def test_a_failing_token_endpoint_is_a_token_error(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth(monkeypatch, token_server, BW_ACCOUNT_ID="920012")
    token_server.mode = "401"

    with pytest.raises(TokenError) as caught:
        Resolver(["env"]).get_auth("voice", account_id="920013")

    assert caught.value.status == 401
    assert CLIENT_SECRET not in str(caught.value)


@pytest.mark.filterwarnings(BASIC_DEPRECATION_FILTER)
def test_basic_credentials_take_any_account_with_nothing_to_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {"BW_ACCOUNT_ID": "920012", "BW_USERNAME": "u", "BW_PASSWORD": "p"}.items():
        monkeypatch.setenv(name, value)
    resolver = Resolver(["env"])

    other = resolver.get_auth("numbers", account_id="5500")

    assert other.base_url == "https://dashboard.bandwidth.com/api/accounts/5500"
    assert other.headers() == resolver.get_auth("numbers").headers()
    assert other.token_claims() is None


@pytest.mark.parametrize(
    ("accounts", "account", "ok"),
    [(["1", "2"], "2", True), (["1", "2"], "3", False), ([], "3", True)],
)
def test_a_static_token_is_checked_against_its_own_claim(
    monkeypatch: pytest.MonkeyPatch, accounts: list[str], account: str, ok: bool
) -> None:
    monkeypatch.setenv("BW_ACCOUNT_ID", "1")
    monkeypatch.setenv("BW_ACCESS_TOKEN", jwt({"accounts": accounts}))
    resolver = Resolver(["env"])

    if ok:
        assert resolver.get_auth("voice", account).account_id == account
    else:
        with pytest.raises(CredentialNotFoundError, match="static access token"):
            resolver.get_auth("voice", account)


def test_the_module_functions_take_the_account_too(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth(monkeypatch, token_server, BW_ACCOUNT_ID="920012")
    token_server.claims = TWO
    reset()
    configure(["env"])
    try:
        voice = get_auth("voice", account_id="920013")
        again = get_auth("voice", "920013")
        from_async = asyncio.run(module_aget_auth("voice", account_id="920013"))
    finally:
        reset()

    assert voice.account_id == "920013"
    assert again is voice
    assert from_async is voice


def test_a_401_to_another_account_renews_the_token_and_keeps_the_account(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer, api_server: ApiServer
) -> None:
    httpx = pytest.importorskip("httpx")
    oauth(monkeypatch, token_server, BW_ACCOUNT_ID="920012", BW_API_URL=api_server.url)
    token_server.claims = TWO
    other = Resolver(["env"]).get_auth("lookup", account_id="920013")

    response = httpx.get(other.url("tnlookup"), auth=other.httpx_auth(), timeout=10)

    assert response.status_code == 200
    assert api_server.seen == [
        "Bearer " + token_server.issued[0],
        "Bearer " + token_server.issued[1],
    ]
    assert response.request.url.path == "/v2/accounts/920013/tnlookup"
