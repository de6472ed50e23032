"""``--account-id`` on ``check``, ``check --online``, ``explain`` and ``exec``, and
``check --online`` for a token that lists several accounts, against a loopback token
endpoint issuing JWTs."""

from __future__ import annotations

import json

import pytest

from .oauth_servers import CLIENT_ID, CLIENT_SECRET, TokenServer
from .test_cli import bwcreds
from .test_exec import child_report, clean_env, digest, run_exec

TWO = {"accounts": ["920012", "920013"], "roles": ["HTTP Voice"], "express": False}


def oauth(server: TokenServer, **extra: str) -> dict[str, str]:
    return {
        "BW_CLIENT_ID": CLIENT_ID,
        "BW_CLIENT_SECRET": CLIENT_SECRET,
        "BW_TOKEN_URL": server.url,
        **extra,
    }


def test_online_check_lists_every_account_and_marks_the_configured_one(
    token_server: TokenServer,
) -> None:
    token_server.claims = TWO
    env = oauth(token_server, BW_ACCOUNT_ID="920013")

    result = bwcreds("check", "--online", "voice", "--sources", "env", env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].split()[:4] == ["voice", "yes", "920013", "verified"]
    assert (
        "accounts 920012, 920013 (configured); roles HTTP Voice; Build account: no" in result.stdout
    )


def test_offline_check_takes_the_account_and_asks_nothing(token_server: TokenServer) -> None:
    token_server.claims = TWO
    env = oauth(token_server)

    table = bwcreds("check", "voice", "--account-id", "920013", "--sources", "env", env=env)
    document = bwcreds(
        "check", "--json", "voice", "--account-id", "920013", "--sources", "env", env=env
    )

    assert token_server.requests == 0
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[1].endswith("; account 920013 from --account-id")
    assert "checked against the access token's accounts by bwcreds check --online" in table.stdout
    [voice] = json.loads(document.stdout)["services"]
    assert voice["account_id"] == "920013"
    assert voice["base_url"] == "https://voice.bandwidth.com/api/v2/accounts/920013"
    assert voice["account_from"] == "--account-id"


@pytest.mark.parametrize(("account", "code"), [("920013", 0), ("777", 1)])
def test_online_check_checks_the_account_against_the_token(
    token_server: TokenServer, account: str, code: int
) -> None:
    token_server.claims = TWO
    env = oauth(token_server, BW_ACCOUNT_ID="920012")

    result = bwcreds(
        "check", "--online", "voice", "--account-id", account, "--sources", "env", env=env
    )

    assert result.returncode == code, result.stdout + result.stderr
    row = result.stdout.splitlines()[1].split()
    if code == 0:
        assert row[:4] == ["voice", "yes", "920013", "(--account-id)"]
        assert "accounts 920012, 920013 (--account-id);" in result.stdout
    else:
        assert row[:2] == ["voice", "NO"]
        assert "account 777 is not among the accounts of the access token" in result.stdout
        assert "(920012, 920013)" in result.stdout
    assert token_server.requests == 1


@pytest.mark.parametrize(("online", "account", "code"), [(False, "777", 0), (True, "777", 1)])
def test_explain_shows_the_chosen_account(
    token_server: TokenServer, online: bool, account: str, code: int
) -> None:
    token_server.claims = TWO
    args = ["explain", "--account-id", account, "--sources", "env", *(["--online"] * online)]

    result = bwcreds(*args, env=oauth(token_server))

    assert result.returncode == code, result.stdout + result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert ["voice", "account_id", "--account-id", account] in [row[:4] for row in rows]
    assert token_server.requests == (1 if online else 0)


@pytest.mark.parametrize(("account", "started"), [("920013", True), ("777", False)])
def test_exec_gives_the_command_the_chosen_account(
    token_server: TokenServer, account: str, started: bool
) -> None:
    token_server.claims = TWO
    env = clean_env(**oauth(token_server, BW_ACCOUNT_ID="920012"))

    result, _ = run_exec("--service", "voice", "--account-id", account, "--sources", "env", env=env)

    if started:
        assert result.returncode == 0, result.stderr
        report = child_report(result)["env"]
        assert report["BW_ACCOUNT_ID"] == digest("920013")  # type: ignore[index]
    else:
        assert result.returncode == 1
        assert "was not started" in result.stderr
        assert "(920012, 920013)" in result.stderr
    assert CLIENT_SECRET not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--account-id", "u-1"],
        ["check", "--online", "--account-id", "u-1"],
        ["explain", "--account-id", "u-1"],
        ["token", "--account-id", "u-1"],
        ["exec", "--account-id", "u-1", "--", "true"],
    ],
)
def test_an_account_id_that_is_not_numeric_is_a_configuration_error(
    token_server: TokenServer, args: list[str]
) -> None:
    result = bwcreds(*args, "--sources", "env", env=oauth(token_server, BW_ACCOUNT_ID="1"))

    assert result.returncode == 2, result.stdout + result.stderr
    assert "--account-id" in result.stderr
    assert token_server.requests == 0
