"""``bwcreds token``: a bearer token on stdout and nowhere else, from a loopback token
endpoint issuing JWTs, in a shell pipeline too."""

from __future__ import annotations

import datetime
import json
import logging
import os
import shutil
import subprocess
import time

import pytest

from bandwidth_credentials import _oauth
from bandwidth_credentials._cli import main
from bandwidth_credentials.testing import FakeClock

from .oauth_servers import CLIENT_ID, CLIENT_SECRET, ApiServer, TokenServer
from .test_cli import BWCREDS, bwcreds

EXP = 1796558400  # 2026-12-06T12:00:00Z


def oauth(server: TokenServer, **extra: str) -> dict[str, str]:
    return {
        "BW_CLIENT_ID": CLIENT_ID,
        "BW_CLIENT_SECRET": CLIENT_SECRET,
        "BW_TOKEN_URL": server.url,
        **extra,
    }


def test_the_token_alone_goes_to_stdout(token_server: TokenServer) -> None:
    token_server.claims = {"accounts": ["920012", "920013"], "exp": EXP}

    result = bwcreds("token", "--sources", "env", env=oauth(token_server))

    assert result.returncode == 0, result.stderr
    assert result.stdout == token_server.issued[0] + "\n"
    assert result.stderr == ""
    assert token_server.requests == 1


def test_json_adds_expiry_accounts_environment_and_token_url(token_server: TokenServer) -> None:
    token_server.claims = {"accounts": ["920012", "920013"], "exp": EXP}

    result = bwcreds("token", "--json", "--sources", "env", env=oauth(token_server))

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document == {
        "access_token": token_server.issued[0],
        "token_type": "Bearer",
        "expires_at": "2026-12-06T12:00:00Z",
        "accounts": ["920012", "920013"],
        "environment": "prod",
        "token_url": token_server.url,
        "client_id": CLIENT_ID,
    }
    expected = datetime.datetime.fromtimestamp(EXP, datetime.timezone.utc)
    assert datetime.datetime.fromisoformat(document["expires_at"].replace("Z", "+00:00")) == (
        expected
    )
    assert CLIENT_SECRET not in result.stdout + result.stderr


def test_a_token_that_is_not_a_jwt_expires_by_expires_in(token_server: TokenServer) -> None:
    token_server.expires_in = 1800
    before = time.time()

    result = bwcreds("token", "--json", "--sources", "env", env=oauth(token_server))

    document = json.loads(result.stdout)
    expires = datetime.datetime.fromisoformat(document["expires_at"].replace("Z", "+00:00"))
    assert document["access_token"] == "token-1"
    assert before + 1800 - 60 <= expires.timestamp() <= time.time() + 1800 + 1
    assert document["accounts"] == []


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_it_works_in_a_shell_pipeline_with_curl(
    token_server: TokenServer, api_server: ApiServer
) -> None:
    token_server.claims = {"accounts": ["920012"]}
    api_server.refuse_first = False
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_"))}
    env.update(oauth(token_server), BWCREDS=BWCREDS, API=api_server.url + "/calls")

    pipeline = 'curl -sS -H "Authorization: Bearer $("$BWCREDS" token --sources env)" "$API"'

    result = subprocess.run(
        ["sh", "-c", pipeline], env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == "[]"
    assert api_server.seen == ["Bearer " + token_server.issued[0]]


def test_the_token_is_in_no_log_record_and_not_on_stderr(
    monkeypatch: pytest.MonkeyPatch,
    token_server: TokenServer,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    token_server.claims = {"accounts": ["920012"]}
    for name, value in oauth(token_server).items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)

    code = main(["token", "--json", "--sources", "env"])

    out, err = capsys.readouterr()
    [token] = token_server.issued
    assert code == 0
    assert token in out
    assert token not in err
    assert token not in caplog.text
    assert all(token not in str(record.args) for record in caplog.records)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"BW_ACCOUNT_ID": "920012", "BW_USERNAME": "jdoe", "BW_PASSWORD": "canary-pw"},
            "use HTTP Basic credentials, which have no access token",
        ),
        (
            {"BW_ACCOUNT_ID": "920012", "BW_ACCESS_TOKEN": "canary-static-token"},
            "use a static access token (BW_ACCESS_TOKEN)",
        ),
        ({}, "no OAuth client credentials: no credentials for the voice API"),
        (
            {
                "BW_ACCOUNT_ID": "92x0012",
                "BW_CLIENT_ID": CLIENT_ID,
                "BW_CLIENT_SECRET": "canary-client-secret",
                "BW_TOKEN_URL": "http://127.0.0.1:9/api/v1/oauth2/token",
            },
            # As check says it: the value, its source and key; not "no OAuth client".
            "bwcreds token: account_id from env (BW_ACCOUNT_ID) for the voice API must be "
            "the numeric Bandwidth account id",
        ),
    ],
    ids=["basic", "static-token", "nothing", "invalid-account-id"],
)
def test_without_client_credentials_it_says_why_and_exits_1(
    env: dict[str, str], expected: str
) -> None:
    result = bwcreds("token", "--sources", "env", env=env)

    assert result.returncode == 1
    assert result.stdout == ""
    assert expected in result.stderr
    assert "canary" not in result.stderr


def test_a_refused_token_request_exits_1_without_secrets(token_server: TokenServer) -> None:
    token_server.mode = "401"

    result = bwcreds("token", "--sources", "env", env=oauth(token_server))

    assert result.returncode == 1
    assert result.stdout == ""
    assert "invalid_client" in result.stderr
    assert CLIENT_ID in result.stderr
    assert CLIENT_SECRET not in result.stderr


# What the token lists (None: an opaque token, not a JWT), the --account-id, the exit code.
ACCOUNT_CASES = {
    "listed": ({"accounts": ["920012", "920013"]}, "920013", 0),
    "not-listed": ({"accounts": ["920012", "920013"]}, "777", 1),
    "a JWT without accounts": ({"roles": ["HTTP Voice"]}, "777", 0),
    "a JWT listing no accounts": ({"accounts": []}, "777", 0),
    "an opaque token": (None, "777", 0),
}


@pytest.mark.parametrize("case", ACCOUNT_CASES)
def test_account_id_must_be_among_the_tokens_accounts_when_it_lists_any(
    token_server: TokenServer, case: str
) -> None:
    token_server.claims, account, code = ACCOUNT_CASES[case]

    result = bwcreds("token", "--account-id", account, "--sources", "env", env=oauth(token_server))

    assert result.returncode == code
    if code:
        assert result.stdout == ""
        assert "account 777 is not among the access token's accounts (920012, 920013)" in (
            result.stderr
        )
    else:
        assert result.stdout == token_server.issued[0] + "\n"


def test_a_bad_account_id_is_a_configuration_error(token_server: TokenServer) -> None:
    result = bwcreds("token", "--account-id", "u-123", "--sources", "env", env=oauth(token_server))

    assert result.returncode == 2
    assert token_server.requests == 0


def test_services_with_different_clients_need_a_service_named(token_server: TokenServer) -> None:
    env = oauth(token_server, BW_VOICE_CLIENT_ID="other-client", BW_VOICE_CLIENT_SECRET="x")

    ambiguous = bwcreds("token", "--sources", "env", env=env)
    chosen = bwcreds("token", "--service", "messaging", "--sources", "env", env=env)

    assert ambiguous.returncode == 1
    assert "name one service" in ambiguous.stderr
    assert "client other-client for voice" in ambiguous.stderr
    assert chosen.returncode == 0, chosen.stderr
    assert chosen.stdout == token_server.issued[0] + "\n"


@pytest.mark.parametrize(
    ("redirect", "why"),
    [("> /dev/full", "No space left on device"), (">&-", "stdout is closed")],
    ids=["full-device", "closed"],
)
def test_a_stdout_that_cannot_take_the_token_is_one_line_and_exit_1(
    token_server: TokenServer, redirect: str, why: str
) -> None:
    if redirect.endswith("/dev/full") and not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    token_server.claims = {"accounts": ["920012"]}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_"))}
    env.update(oauth(token_server), BWCREDS=BWCREDS)

    result = subprocess.run(
        ["sh", "-c", f'"$BWCREDS" token --json --sources env {redirect}'],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert result.stderr.startswith("bwcreds token: could not write the token to stdout")
    assert why in result.stderr
    assert len(result.stderr.splitlines()) == 1  # no traceback
    assert all(token not in result.stderr for token in token_server.issued)


@pytest.mark.parametrize("exp", [-(10**11), -1, 10**400], ids=["before-year-1", "negative", "huge"])
def test_a_token_whose_exp_is_no_time_is_one_line_and_exit_1(
    token_server: TokenServer, exp: int
) -> None:
    token_server.claims = {"accounts": ["920012"], "exp": exp}

    result = bwcreds("token", "--json", "--sources", "env", env=oauth(token_server))

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "exp claim is not a time" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert all(token not in result.stdout + result.stderr for token in token_server.issued)


def test_the_help_says_when_the_account_id_is_checked() -> None:
    result = bwcreds("token", "--help")

    assert " ".join(result.stdout.split()).count("a token that lists none is not checked") == 1


WALL = 1_800_000_000.0  # 2027-01-15T08:00:00Z: the wall clock the token manager reads


def _iso(epoch: float) -> str:
    moment = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


# How the endpoint answers (expires_in, JWT claims or None for an opaque token) and the
# expires_at --json must print: the exp claim, else expires_in from the request, else null.
EXPIRIES: dict[str, tuple[object, dict[str, object] | None, str | None]] = {
    "opaque, expires_in 1800": (1800, None, _iso(WALL + 1800)),
    "opaque, expires_in 5": (5, None, _iso(WALL + 5)),
    # cached the documented minimum (30 s), and printed with what the endpoint said
    "opaque, expires_in 0": (0, None, _iso(WALL)),
    "opaque, no expires_in": (None, None, None),
    "JWT without exp, expires_in 90": (90, {"accounts": ["920012"]}, _iso(WALL + 90)),
    "JWT exp, expires_in 3600": (3600, {"exp": WALL + 600}, _iso(WALL + 600)),
    "JWT exp, no expires_in": (None, {"exp": WALL + 600}, _iso(WALL + 600)),
    "JWT without exp, no expires_in": (None, {"accounts": ["920012"]}, None),
}


@pytest.mark.parametrize("case", EXPIRIES)
def test_json_expires_at_is_what_the_token_or_the_endpoint_said(
    monkeypatch: pytest.MonkeyPatch,
    token_server: TokenServer,
    capsys: pytest.CaptureFixture[str],
    case: str,
) -> None:
    expires_in, claims, expected = EXPIRIES[case]
    monkeypatch.setattr(_oauth, "clock", FakeClock())
    monkeypatch.setattr(_oauth, "wall", lambda: WALL, raising=False)
    token_server.claims = claims
    if expires_in is None:
        token_server.mode = "no_expires"
    else:
        token_server.expires_in = expires_in
    for name, value in oauth(token_server).items():
        monkeypatch.setenv(name, value)

    code = main(["token", "--json", "--sources", "env"])

    out, err = capsys.readouterr()
    document = json.loads(out)
    assert code == 0, err
    assert document["expires_at"] == expected
    if expected is None:
        assert "when it expires is not known" in document["note"]
    else:
        assert "note" not in document


def test_a_token_whose_exp_passed_when_it_was_issued_is_not_printed(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(_oauth, "clock", FakeClock())
    monkeypatch.setattr(_oauth, "wall", lambda: WALL, raising=False)
    token_server.mode = "no_expires"
    token_server.claims = {"accounts": ["920012"], "exp": WALL - 5}
    for name, value in oauth(token_server).items():
        monkeypatch.setenv(name, value)

    code = main(["token", "--json", "--sources", "env"])

    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert "expired (it was given -5 s)" in err
    assert "eyJ" not in err
    assert CLIENT_SECRET not in err
