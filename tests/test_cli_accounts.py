"""``--account-id`` on ``check``, ``check --online``, ``explain`` and ``exec``, and
``check --online`` for a token that lists several accounts, against a loopback token
endpoint issuing JWTs."""

from __future__ import annotations

import json

import pytest

from bandwidth_credentials._cli import main

from .oauth_servers import CLIENT_ID, CLIENT_SECRET, TokenServer
from .test_accounts import NOT_ACCOUNT_IDS
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


@pytest.mark.parametrize("value", NOT_ACCOUNT_IDS.values(), ids=NOT_ACCOUNT_IDS.keys())
def test_every_command_refuses_what_is_not_an_account_id_without_quoting_it(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    token_server: TokenServer,
    value: str,
) -> None:
    token_server.claims = TWO
    for name, setting in oauth(token_server, BW_ACCOUNT_ID="920012").items():
        monkeypatch.setenv(name, setting)

    for command in (
        ["check"],
        ["check", "--json"],
        ["check", "--online"],
        ["explain"],
        ["explain", "--online"],
        ["token"],
        ["token", "--json"],
        ["exec", "--", "true"],
    ):
        code = main([*command[:1], "--account-id", value, "--sources", "env", *command[1:]])
        out, err = capsys.readouterr()
        assert code == 2, (command, out, err)
        assert "--account-id" in err
        assert value not in out + err
        assert len(err) < 400
    monkeypatch.setenv("BW_ACCOUNT_ID", value)
    assert main(["check", "voice", "--sources", "env"]) == 1
    out, err = capsys.readouterr()
    assert value not in out + err
    assert token_server.requests == 0


def test_every_command_reads_the_account_id_as_bw_account_id_is_read(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    token_server: TokenServer,
) -> None:
    token_server.claims = TWO
    for name, setting in oauth(token_server).items():
        monkeypatch.setenv(name, setting)
    spelled = " 920013 "

    assert main(["check", "--json", "voice", "--account-id", spelled, "--sources", "env"]) == 0
    [voice] = json.loads(capsys.readouterr().out)["services"]
    assert voice["account_id"] == "920013"
    assert main(["explain", "--json", "--account-id", spelled, "--sources", "env"]) == 0
    explained = json.loads(capsys.readouterr().out)
    [voice_explained] = [e for e in explained["services"] if e["service"] == "voice"]
    assert voice_explained["fields"][0] == {
        "field": "account_id",
        "source": "--account-id",
        "key": "920013",
        "version": None,
    }
    assert token_server.requests == 0  # offline: nothing asked
    assert main(["check", "--online", "voice", "--account-id", spelled, "--sources", "env"]) == 0
    assert "920013 (--account-id)" in capsys.readouterr().out
    assert main(["token", "--account-id", spelled, "--sources", "env"]) == 0
    assert capsys.readouterr().out == token_server.issued[0] + "\n"
    result, _ = run_exec(
        "--service",
        "voice",
        "--account-id",
        spelled,
        "--sources",
        "env",
        env=clean_env(**oauth(token_server)),
    )
    assert result.returncode == 0, result.stderr
    assert child_report(result)["env"]["BW_ACCOUNT_ID"] == digest("920013")  # type: ignore[index]


def test_exec_refuses_a_bad_account_id_before_asking_for_a_token(
    token_server: TokenServer,
) -> None:
    token_server.claims = {"accounts": ["920012"]}

    result, _ = run_exec(
        "--account-id", "../x", "--sources", "env", env=clean_env(**oauth(token_server))
    )

    assert result.returncode == 2
    assert "--account-id" in result.stderr
    assert token_server.requests == 0


@pytest.mark.parametrize("as_json", [False, True], ids=["table", "json"])
def test_online_check_takes_the_account_when_none_is_configured(
    token_server: TokenServer, as_json: bool
) -> None:
    token_server.claims = TWO
    env = oauth(token_server)  # client credentials, no account id anywhere
    json_flag = ["--json"] if as_json else []

    result = bwcreds(
        "check",
        "--online",
        *json_flag,
        "voice",
        "--account-id",
        "920013",
        "--sources",
        "env",
        env=env,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    if as_json:
        [voice] = json.loads(result.stdout)["services"]
        assert (voice["ready"], voice["account_id"]) == (True, "920013")
    else:
        assert result.stdout.splitlines()[1].split()[:4] == [
            "voice",
            "yes",
            "920013",
            "(--account-id)",
        ]
        assert "accounts 920012, 920013 (--account-id)" in result.stdout
    assert token_server.requests == 1


#: Text `explain --online` (and `check --online`) when no service can use the token's
#: accounts: each service says why, and the token's accounts, roles and Build flag show.
UNUSABLE = {
    "several-none-configured": ({}, [], "the access token lists accounts 920012, 920013"),
    "account-not-listed": (
        {"BW_ACCOUNT_ID": "920012"},
        ["--account-id", "920099"],
        "account 920099 is not among the accounts of the access token",
    ),
}


@pytest.mark.parametrize("command", ["explain", "check"])
@pytest.mark.parametrize(("extra", "args", "reason"), UNUSABLE.values(), ids=UNUSABLE.keys())
def test_online_text_says_why_and_shows_the_token_when_no_service_is_ready(
    token_server: TokenServer, command: str, extra: dict[str, str], args: list[str], reason: str
) -> None:
    token_server.claims = TWO

    result = bwcreds(
        command, "--online", *args, "--sources", "env", env=oauth(token_server, **extra)
    )

    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    token_section = lines[lines.index("access token:") + 1]
    assert token_section == "  - accounts 920012, 920013; roles HTTP Voice; Build account: no"
    for service in ("voice", "toll-free-verification", "endpoints"):
        [why] = [line for line in lines if line.lstrip(" -").startswith(f"{service}: ")]
        assert reason in why
        assert "920012, 920013" in why
    assert CLIENT_SECRET not in result.stdout + result.stderr
