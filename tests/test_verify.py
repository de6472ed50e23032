"""``verify()`` and ``bwcreds check --online`` against loopback token and account servers."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from bandwidth_credentials import Resolver, Verification, verify
from bandwidth_credentials.testing import check_no_leaks, connect_proxy, today_is

from .misbehaving import answer, misbehaving
from .oauth_servers import CLIENT_ID, CLIENT_SECRET, AccountServer, TokenServer, serve
from .test_cli import bwcreds

#: A day Bandwidth still accepted API users (the Basic checks below send them).
BEFORE_DECOMMISSION = (2026, 11, 30)
PASSWORD = "canary-api-user-password-5e"


@pytest.fixture
def account_server() -> Iterator[AccountServer]:
    """The account resource for API user ``jdoe`` / PASSWORD on account 920012."""
    server = AccountServer("jdoe", PASSWORD, "920012")
    with serve(server) as url:
        server.url = url
        yield server


def oauth_env(server: TokenServer, **extra: str) -> dict[str, str]:
    return {
        "BW_ACCOUNT_ID": "920012",
        "BW_CLIENT_ID": CLIENT_ID,
        "BW_CLIENT_SECRET": CLIENT_SECRET,
        "BW_TOKEN_URL": server.url,
        **extra,
    }


def basic_env(server: AccountServer, password: str = PASSWORD) -> dict[str, str]:
    return {
        "BW_ACCOUNT_ID": "920012",
        "BW_USERNAME": "jdoe",
        "BW_PASSWORD": password,
        "BW_NUMBERS_BASE_URL": f"{server.url}/api/accounts/920012",
    }


def set_env(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for key, value in values.items():
        monkeypatch.setenv(key, value)


def by_service(results: list[Verification]) -> dict[str, Verification]:
    return {result.service: result for result in results}


def test_oauth_accepted_every_service_ready_with_the_claims(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    set_env(monkeypatch, oauth_env(token_server))
    token_server.claims = {"accounts": ["920012"], "roles": ["HTTP Voice"], "express": False}

    results = verify(resolver=Resolver(["env"]))

    assert [r.outcome for r in results] == ["verified"] * 8
    assert all(r.ready for r in results)
    assert results[0].claims is not None
    assert results[0].claims.roles == ("HTTP Voice",)
    assert token_server.requests == 1


@pytest.mark.parametrize(("mode", "status"), [("401", 401), ("400", 400)])
def test_oauth_refused_is_not_ready(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer, mode: str, status: int
) -> None:
    set_env(monkeypatch, oauth_env(token_server))
    token_server.mode = mode

    results = verify(["voice", "sms"], resolver=Resolver(["env"]))

    assert [(r.service, r.outcome, r.status, r.ready) for r in results] == [
        ("voice", "refused", status, False),
        ("messaging", "refused", status, False),
    ]
    assert "refused" in results[0].detail


def test_a_build_account_is_not_ready_for_messaging_numbers_and_toll_free_verification(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    set_env(monkeypatch, oauth_env(token_server))
    token_server.claims = {"accounts": ["920012"], "express": True}

    results = by_service(verify(resolver=Resolver(["env"])))

    not_ready = {name for name, result in results.items() if not result.ready}
    assert not_ready == {"messaging", "numbers", "toll-free-verification"}
    assert results["messaging"].outcome == "unavailable"
    assert "Build account is voice only" in results["numbers"].detail
    assert results["voice"].outcome == "verified"


def test_an_account_not_in_the_token_is_not_ready(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    set_env(monkeypatch, oauth_env(token_server, BW_ACCOUNT_ID="7777777"))
    token_server.claims = {"accounts": ["920012"]}

    [voice] = verify(["voice"], resolver=Resolver(["env"]))

    assert (voice.ready, voice.outcome) == (False, "unavailable")
    assert "account 7777777 is not among the access token's accounts (920012)" in voice.detail


@pytest.mark.parametrize(
    ("password", "forbidden", "status", "outcome"),
    [
        (PASSWORD, False, 200, "verified"),
        ("wrong-password", False, 401, "refused"),
        (PASSWORD, True, 403, "refused"),
    ],
)
def test_basic_is_checked_with_one_get_of_the_account_resource(
    monkeypatch: pytest.MonkeyPatch,
    account_server: AccountServer,
    password: str,
    forbidden: bool,
    status: int,
    outcome: str,
) -> None:
    set_env(monkeypatch, basic_env(account_server, password))
    account_server.forbidden = forbidden
    resolver = Resolver(["env"])
    with pytest.warns(FutureWarning):
        resolver.get_auth("voice")

    with today_is(BEFORE_DECOMMISSION):
        results = verify(resolver=resolver)

    assert {(r.outcome, r.status) for r in results} == {(outcome, status)}
    assert all(r.ready is (status == 200) for r in results)
    assert [(m, p) for m, p, _ in account_server.requests] == [("GET", "/api/accounts/920012")]


def test_basic_other_answers_are_unverified(
    monkeypatch: pytest.MonkeyPatch, account_server: AccountServer
) -> None:
    set_env(monkeypatch, basic_env(account_server))
    account_server.status = 302
    resolver = Resolver(["env"])
    with pytest.warns(FutureWarning):
        resolver.get_auth("voice")

    [numbers] = verify(["numbers"], resolver=resolver)

    assert (numbers.ready, numbers.outcome, numbers.status) == (False, "unverified", 302)
    assert len(account_server.requests) == 1  # the redirect was not followed


def test_unresolved_services_say_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BW_ACCOUNT_ID", "920012")

    [voice] = verify(["voice"], resolver=Resolver(["env"]))

    assert (voice.ready, voice.outcome) == (False, "unresolved")
    assert "no credentials for the voice API" in voice.detail


@pytest.mark.parametrize("kind", ["oauth", "discovered", "basic", "basic-refused"])
def test_verify_leaks_no_secret(
    monkeypatch: pytest.MonkeyPatch,
    token_server: TokenServer,
    account_server: AccountServer,
    kind: str,
) -> None:
    if kind.startswith("basic"):
        set_env(monkeypatch, basic_env(account_server))
        account_server.forbidden = kind == "basic-refused"
    else:
        set_env(monkeypatch, oauth_env(token_server))
        if kind == "discovered":
            monkeypatch.delenv("BW_ACCOUNT_ID")
    token_server.claims = {"accounts": ["920012"]}
    resolver = Resolver(["env"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the Basic notice, shown once
        resolver.get_auth("voice")

    results = check_no_leaks(lambda: verify(resolver=resolver), [CLIENT_SECRET, PASSWORD])

    assert {r.account_id for r in results} == {"920012"}
    for token in token_server.issued:
        assert token not in repr(results)


# -- the command ------------------------------------------------------------------------


def test_check_online_oauth_json(token_server: TokenServer) -> None:
    token_server.claims = {"accounts": ["920012"], "roles": ["HTTP Voice"], "express": True}

    result = bwcreds("check", "--online", "--json", "--sources", "env", env=oauth_env(token_server))

    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    services = {entry["service"]: entry for entry in document["services"]}
    assert document["online"] is True
    assert services["voice"]["ready"] is True
    assert services["voice"]["token"] == {
        "accounts": ["920012"],
        "roles": ["HTTP Voice"],
        "build": True,
        "expires_at": None,
    }
    assert services["messaging"]["outcome"] == "unavailable"
    for secret in (CLIENT_SECRET, *token_server.issued):
        assert secret not in result.stdout + result.stderr


def test_check_online_oauth_table(token_server: TokenServer) -> None:
    token_server.claims = {"accounts": ["920012"], "roles": ["HTTP Voice"]}

    result = bwcreds("check", "--online", "voice", "--sources", "env", env=oauth_env(token_server))

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["SERVICE", "READY", "ACCOUNT", "CHECK", "DETAIL"]
    assert lines[1].split()[:4] == ["voice", "yes", "920012", "verified"]
    assert "accounts 920012 (configured); roles HTTP Voice; Build account: no" in result.stdout
    assert token_server.issued[0] not in result.stdout + result.stderr


def test_check_online_oauth_refused_exits_1(token_server: TokenServer) -> None:
    token_server.mode = "401"

    result = bwcreds("check", "--online", "voice", "--sources", "env", env=oauth_env(token_server))

    assert result.returncode == 1
    assert result.stdout.splitlines()[1].split()[:4] == ["voice", "NO", "920012", "refused"]
    assert CLIENT_SECRET not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("password", "code", "outcome"), [(PASSWORD, 0, "verified"), ("bad-password", 1, "refused")]
)
def test_check_online_basic(
    account_server: AccountServer, password: str, code: int, outcome: str
) -> None:
    env = {**basic_env(account_server, password), "BANDWIDTH_CREDENTIALS_TODAY": "2026-11-30"}

    result = bwcreds("check", "--online", "--json", "--sources", "env", env=env)

    assert result.returncode == code, result.stderr
    document = json.loads(result.stdout)
    assert {entry["outcome"] for entry in document["services"]} == {outcome}
    assert any("Bandwidth decommission" in note for note in document["notes"])
    assert len(account_server.requests) == 1
    assert password not in result.stdout + result.stderr


def test_check_online_configuration_error_exits_2() -> None:
    result = bwcreds("check", "--online", "--sources", "nosuch:x")

    assert result.returncode == 2
    assert "configuration error" in result.stderr


def test_basic_credentials_never_go_to_a_numbers_host_set_in_another_source(
    monkeypatch: pytest.MonkeyPatch, account_server: AccountServer, tmp_path: Path
) -> None:
    with misbehaving(answer(200, b"<AccountResponse/>"), host="127.0.0.2") as elsewhere:
        (tmp_path / ".env").write_text(
            "BW_USERNAME=other\nBW_PASSWORD=other-password\n"
            f"BW_NUMBERS_BASE_URL={elsewhere.url}/api/accounts/920012\n",
            encoding="utf-8",
        )
        set_env(
            monkeypatch,
            {
                "BW_ACCOUNT_ID": "920012",
                "BW_VOICE_USERNAME": "jdoe",
                "BW_VOICE_PASSWORD": PASSWORD,
                "BW_VOICE_BASE_URL": f"{account_server.url}/api/v2/accounts/920012",
            },
        )
        resolver = Resolver(["env", f"dotenv:{tmp_path / '.env'}"])
        with pytest.warns(FutureWarning):
            resolver.get_auth("voice")

        [voice] = verify(["voice"], resolver=resolver)

    assert elsewhere.requests == []
    assert (voice.ready, voice.outcome) == (False, "unverified")
    assert "not checked" in voice.detail


@pytest.mark.parametrize(
    ("today", "steering"),
    [
        ("2026-11-01", {"BW_VOICE_BASE_URL": "{url}/api/v2/accounts/920012"}),
        ("2026-12-07", {"BW_VOICE_BASE_URL": "{url}/api/v2/accounts/920012"}),
        ("2026-11-01", {"BW_VOICE_URL": "{url}"}),
        ("2026-12-07", {"BW_VOICE_URL": "{url}"}),
    ],
)
def test_basic_on_its_own_host_is_never_checked_at_bandwidths_account_url(
    account_server: AccountServer, today: str, steering: dict[str, str]
) -> None:
    # Numbers holds the same pair from the same source, but its URL is only Bandwidth's
    # default: voice, pointed at a host of its own, has no account URL beside it.
    with connect_proxy() as proxy:
        env = {
            "BW_ACCOUNT_ID": "920012",
            "BW_USERNAME": "jdoe",
            "BW_PASSWORD": PASSWORD,
            **{key: value.format(url=account_server.url) for key, value in steering.items()},
            "BANDWIDTH_CREDENTIALS_TODAY": today,
            "HTTPS_PROXY": proxy.url,
            "NO_PROXY": "",
        }

        result = bwcreds("check", "--online", "--json", "voice", "--sources", "env", env=env)

        contacted = proxy.connects + proxy.refused
    assert result.returncode == 1, result.stderr
    [voice] = json.loads(result.stdout)["services"]
    assert (voice["ready"], voice["outcome"]) == (False, "unverified")
    assert "not checked" in voice["detail"]
    assert "decommissioned" not in voice["detail"]
    assert "reason" not in voice
    assert contacted == []
    assert account_server.requests == []
    assert PASSWORD not in result.stdout + result.stderr


def test_online_json_gives_the_offline_reason_for_basic_bound_for_bandwidth() -> None:
    env = {
        "BW_ACCOUNT_ID": "920012",
        "BW_USERNAME": "jdoe",
        "BW_PASSWORD": PASSWORD,
        "BANDWIDTH_CREDENTIALS_TODAY": "2026-12-07",
    }

    online = bwcreds("check", "--online", "--json", "voice", "--sources", "env", env=env)
    offline = bwcreds("check", "--json", "voice", "--sources", "env", env=env)

    assert online.returncode == offline.returncode == 1, online.stderr + offline.stderr
    [checked] = json.loads(online.stdout)["services"]
    [judged] = json.loads(offline.stdout)["services"]
    assert checked["outcome"] == "unavailable"
    assert checked["reason"] == judged["reason"] == "basic_decommissioned"
