"""The account id from the access token's ``accounts`` claim, and the mismatch warning."""

from __future__ import annotations

import json
import logging

import pytest

from bandwidth_credentials import (
    CredentialNotFoundError,
    Provenance,
    Resolver,
    TokenClaims,
    TokenError,
    _oauth,
)
from bandwidth_credentials.testing import FakeClock, check_no_leaks

from .oauth_servers import CLIENT_ID, CLIENT_SECRET, TokenServer, jwt
from .test_cli import bwcreds


def client_env(monkeypatch: pytest.MonkeyPatch, server: TokenServer, **extra: str) -> None:
    """OAuth client credentials and the loopback token URL, and no account id."""
    values = {
        "BW_CLIENT_ID": CLIENT_ID,
        "BW_CLIENT_SECRET": CLIENT_SECRET,
        "BW_TOKEN_URL": server.url,
        **extra,
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)


def test_the_one_account_in_the_token_is_used_with_one_token_request(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    client_env(monkeypatch, token_server)
    token_server.claims = {"accounts": ["920012"], "roles": ["HTTP Voice"], "express": False}
    resolver = Resolver(["env"])

    voice = resolver.get_auth("voice")
    headers = voice.headers()
    numbers = resolver.get_auth("numbers")

    assert voice.account_id == "920012"
    assert voice.base_url == "https://voice.bandwidth.com/api/v2/accounts/920012"
    assert numbers.base_url == "https://dashboard.bandwidth.com/api/accounts/920012"
    assert headers == {"Authorization": "Bearer " + token_server.issued[0]}
    assert voice.provenance["account_id"] == Provenance(
        f"access token from {token_server.url}", "accounts"
    )
    assert voice.provenance["client_id"] == Provenance("env", "BW_CLIENT_ID")
    assert token_server.requests == 1


def test_discovery_keeps_an_explicit_base_url_and_the_environment(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    client_env(
        monkeypatch,
        token_server,
        BW_ENVIRONMENT="test",
        BW_VOICE_BASE_URL="http://127.0.0.1:9/voice",
    )
    token_server.claims = {"accounts": ["5500"]}
    resolver = Resolver(["env"])

    voice = resolver.get_auth("voice")
    lookup = resolver.get_auth("lookup")

    assert voice.base_url == "http://127.0.0.1:9/voice"
    assert voice.account_id == "5500"
    assert lookup.base_url == "https://test.api.bandwidth.com/v2/accounts/5500"


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        (
            {"accounts": ["111", "222"]},
            "the access token lists accounts 111, 222; set BW_ACCOUNT_ID",
        ),
        ({"roles": ["HTTP Voice"]}, "the access token lists no accounts"),
        ({"accounts": []}, "the access token lists no accounts"),
        (None, "is not a JWT, so it names no account; set BW_ACCOUNT_ID"),
    ],
)
def test_no_single_account_in_the_token_is_a_missing_account_error(
    monkeypatch: pytest.MonkeyPatch,
    token_server: TokenServer,
    claims: dict[str, object] | None,
    expected: str,
) -> None:
    client_env(monkeypatch, token_server)
    token_server.claims = claims
    resolver = Resolver(["env"])

    with pytest.raises(CredentialNotFoundError) as caught:
        resolver.get_auth("voice")

    assert expected in str(caught.value)
    assert caught.value.missing == ("account_id",)
    assert caught.value.service == "voice"
    assert token_server.requests == 1  # one token for every service


def test_a_configured_account_id_means_no_token_request_while_resolving(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    client_env(monkeypatch, token_server, BW_ACCOUNT_ID="920012")
    token_server.claims = {"accounts": ["920012"]}

    voice = Resolver(["env"]).get_auth("voice")

    assert voice.provenance["account_id"] == Provenance("env", "BW_ACCOUNT_ID")
    assert token_server.requests == 0


def test_a_failing_token_endpoint_fails_only_the_services_waiting_for_it(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    client_env(monkeypatch, token_server, BW_MESSAGING_ACCOUNT_ID="920012")
    token_server.mode = "401"
    resolver = Resolver(["env"])

    messaging = resolver.get_auth("messaging")
    with pytest.raises(TokenError) as caught:
        resolver.get_auth("voice")

    assert messaging.account_id == "920012"
    assert caught.value.status == 401
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


def test_discovery_is_retried_after_a_token_failure(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    client_env(monkeypatch, token_server)
    clock = FakeClock(100.0)
    monkeypatch.setattr(_oauth, "clock", clock)  # the token backoff's clock too
    resolver = Resolver(["env"], clock=clock, inline=True)
    token_server.mode = "500"
    with pytest.raises(TokenError):
        resolver.get_auth("voice")
    token_server.mode = "ok"
    token_server.claims = {"accounts": ["920012"]}

    failed_requests = token_server.requests

    with pytest.raises(TokenError):
        resolver.get_auth("voice")  # within the retry delay: the failure is served
    requests_meanwhile = token_server.requests
    clock.now += 3.0
    voice = resolver.get_auth("voice")

    assert requests_meanwhile == failed_requests
    assert voice.account_id == "920012"
    assert token_server.requests == failed_requests + 1


def test_a_configured_account_not_in_the_token_is_warned_about_once(
    monkeypatch: pytest.MonkeyPatch,
    token_server: TokenServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client_env(monkeypatch, token_server, BW_ACCOUNT_ID="7777777")
    token_server.claims = {"accounts": ["920012", "920013"]}
    resolver = Resolver(["env"])
    caplog.set_level(logging.WARNING, logger="bandwidth_credentials")

    for service in ("voice", "messaging", "numbers", "voice"):
        resolver.get_auth(service).headers()

    warned = [r.getMessage() for r in caplog.records if "not among" in r.getMessage()]
    assert len(warned) == 1
    assert "7777777 (env BW_ACCOUNT_ID)" in warned[0]
    assert "920012, 920013" in warned[0]
    assert CLIENT_SECRET not in caplog.text


def test_an_account_in_the_token_is_not_warned_about(
    monkeypatch: pytest.MonkeyPatch,
    token_server: TokenServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client_env(monkeypatch, token_server, BW_ACCOUNT_ID="920013")
    token_server.claims = {"accounts": ["920012", "920013"]}
    caplog.set_level(logging.DEBUG, logger="bandwidth_credentials")

    Resolver(["env"]).get_auth("voice").headers()

    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_token_claims_without_the_token(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    client_env(monkeypatch, token_server, BW_ACCOUNT_ID="920012")
    token_server.claims = {"accounts": ["920012"], "roles": ["a", "b"], "express": True, "exp": 9}
    voice = Resolver(["env"]).get_auth("voice")

    claims = voice.token_claims()
    voice.headers()

    assert claims == TokenClaims(("920012",), ("a", "b"), True, 9.0)
    assert token_server.requests == 1  # the token read for its claims is the one sent


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"BW_ACCESS_TOKEN": jwt({"accounts": ["1"], "express": False})}, ("1",)),
        ({"BW_ACCESS_TOKEN": "opaque-static-token"}, None),
    ],
)
def test_token_claims_of_a_static_token(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: tuple[str, ...] | None
) -> None:
    for key, value in {"BW_ACCOUNT_ID": "1", **env}.items():
        monkeypatch.setenv(key, value)

    claims = Resolver(["env"]).get_auth("voice").token_claims()

    assert (claims.accounts if claims else None) == expected


def test_token_claims_of_basic_credentials_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"BW_ACCOUNT_ID": "1", "BW_USERNAME": "u", "BW_PASSWORD": "p"}.items():
        monkeypatch.setenv(key, value)
    resolver = Resolver(["env"])

    with pytest.warns(FutureWarning):
        voice = resolver.get_auth("voice")

    assert voice.token_claims() is None


def test_discovery_errors_and_warnings_hold_no_secret(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    client_env(monkeypatch, token_server)
    token_server.claims = {"accounts": ["111", "222"]}

    with pytest.raises(CredentialNotFoundError):
        check_no_leaks(lambda: Resolver(["env"]).get_auth("voice"), [CLIENT_SECRET])

    issued = token_server.issued[0]
    with pytest.raises(CredentialNotFoundError):
        check_no_leaks(lambda: Resolver(["env"]).get_auth("voice"), [CLIENT_SECRET, issued])


def test_offline_check_and_explain_say_the_token_will_name_the_account_and_ask_nothing(
    token_server: TokenServer,
) -> None:
    token_server.claims = {"accounts": ["920012"]}
    env = {
        "BW_CLIENT_ID": CLIENT_ID,
        "BW_CLIENT_SECRET": CLIENT_SECRET,
        "BW_TOKEN_URL": token_server.url,
    }

    check = bwcreds("check", "--json", "voice", "--sources", "env", env=env)
    table = bwcreds("check", "voice", "--sources", "env", env=env)
    explain = bwcreds("explain", "--sources", "env", env=env)

    assert token_server.requests == 0
    assert check.returncode == 0, check.stderr
    [voice] = json.loads(check.stdout)["services"]
    assert voice["ready"] is True
    assert voice["account_from"] == "access token"
    assert voice["account_id"] is None
    assert "account_id" not in voice["sources"]
    row = table.stdout.splitlines()[1]
    assert row.split()[:4] == ["voice", "yes", "bearer", "oauth"]
    assert row.endswith("; account from the access token")
    for output in (table.stdout, explain.stdout):
        assert "taken from the access token when the token lists exactly one account" in output
        assert "set BW_ACCOUNT_ID" in output
    rows = [line.split() for line in explain.stdout.splitlines()]
    assert ["voice", "account_id", "account", "from", "the", "access", "token", "accounts"] in [
        row[:8] for row in rows
    ]


def test_online_check_and_explain_say_the_account_came_from_the_access_token(
    token_server: TokenServer,
) -> None:
    token_server.claims = {"accounts": ["920012"], "roles": ["HTTP Voice"], "express": True}
    env = {
        "BW_CLIENT_ID": CLIENT_ID,
        "BW_CLIENT_SECRET": CLIENT_SECRET,
        "BW_TOKEN_URL": token_server.url,
    }

    check = bwcreds("check", "--online", "voice", "--sources", "env", env=env)
    explain = bwcreds("explain", "--online", "--sources", "env", env=env)
    explain_json = bwcreds("explain", "--online", "--json", "--sources", "env", env=env)

    assert check.returncode == 0, check.stderr
    assert check.stdout.splitlines()[1].split()[:6] == [
        "voice", "yes", "920012", "(from", "the", "access",
    ]  # fmt: skip
    token_line = "accounts 920012 (from the access token); roles HTTP Voice; Build account: yes"
    assert token_line in check.stdout
    assert token_line in explain.stdout
    assert any(token_line in line for line in json.loads(explain_json.stdout)["access_token"])
    rows = [line.split() for line in explain.stdout.splitlines()]
    assert ["voice", "account_id", "access", "token", "from", token_server.url, "accounts"] in [
        row[:7] for row in rows
    ]
    for secret in (CLIENT_SECRET, *token_server.issued):
        assert secret not in check.stdout + check.stderr + explain.stdout + explain.stderr
