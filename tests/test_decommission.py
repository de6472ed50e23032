"""API users (HTTP Basic) after Bandwidth decommissioned them on 2026-12-02: every path that
judges Basic credentials (check, explain, exec, a 401 from Bandwidth) follows one rule, on
the date the library's calendar gives, for Bandwidth's hosts only."""

from __future__ import annotations

import json
import logging
import socket
import ssl
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bandwidth_credentials import BasicDeprecationWarning, CredentialNotFoundError, Resolver
from bandwidth_credentials._cli import main
from bandwidth_credentials._decommission import bandwidth_host, decommissioned
from bandwidth_credentials.testing import reset, today_is

from .misbehaving import Received, Server, _read_request, misbehaving
from .test_exec import child_report, clean_env, run_exec

BEFORE, ON, AFTER = (2026, 12, 1), (2026, 12, 2), (2026, 12, 6)
API_USER = {"BW_ACCOUNT_ID": "920012", "BW_USERNAME": "jdoe", "BW_PASSWORD": "canary-pw-51"}
TOKEN_PAIR = {"BW_ACCOUNT_ID": "920012", "BW_API_TOKEN": "tok", "BW_API_SECRET": "canary-sec"}
OAUTH = {"BW_ACCOUNT_ID": "920012", "BW_CLIENT_ID": "CLI-1", "BW_CLIENT_SECRET": "canary-cs"}
NOT_READY = "API user (Basic): decommissioned by Bandwidth on 2026-12-02"

# (case, variables, day, service, ready, reason)
CASES = [
    ("api-user-before", API_USER, BEFORE, "voice", True, None),
    ("api-user-on", API_USER, ON, "voice", False, NOT_READY),
    ("api-user-after", API_USER, AFTER, "numbers", False, NOT_READY),
    (
        "messaging-token-after",
        TOKEN_PAIR,
        AFTER,
        "messaging",
        False,
        "Messaging API token (Basic): decommissioned by Bandwidth on 2026-12-02",
    ),
    ("bandwidth-test-hosts", {**API_USER, "BW_ENVIRONMENT": "test"}, AFTER, "voice", False, None),
    (
        "own-test-host",
        {**API_USER, "BW_VOICE_BASE_URL": "http://127.0.0.1:9/voice"},
        AFTER,
        "voice",
        True,
        None,
    ),
    ("oauth-after", OAUTH, AFTER, "voice", True, None),
    *[
        (f"host-{name}", {**API_USER, "BW_VOICE_BASE_URL": url}, AFTER, "voice", ours, reason)
        for name, url, ours, reason in [
            ("upper-case-trailing-dot", "https://VOICE.BANDWIDTH.COM./v2", False, NOT_READY),
            ("suffix-look-alike", "https://voice.bandwidth.com.evil.test/v2", True, None),
            ("prefix-look-alike", "https://evilbandwidth.com/v2", True, None),
            # A look-alike in its IDNA form (a host name other than ASCII is refused as a
            # configured URL: see test_trust_rules).
            ("homoglyph", "https://voice.xn--bndwidth-16g.com/v2", True, None),
        ]
    ],
    ("oauth-and-api-user", {**API_USER, **OAUTH}, AFTER, "voice", True, None),
]


def _env(monkeypatch: pytest.MonkeyPatch, variables: dict[str, str]) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize(
    ("variables", "day", "service", "ready", "reason"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_check_and_explain_judge_basic_by_date_and_host(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variables: dict[str, str],
    day: tuple[int, int, int],
    service: str,
    ready: bool,
    reason: str | None,
) -> None:
    _env(monkeypatch, variables)

    with today_is(day):
        check_code = main(["check", "--json", service, "--sources", "env"])
        document = json.loads(capsys.readouterr().out)
        table_code = main(["check", service, "--sources", "env"])
        table = capsys.readouterr().out
        explain_code = main(["explain", "--json", "--sources", "env"])
        explained = json.loads(capsys.readouterr().out)

    [entry] = document["services"]
    [explained_entry] = [e for e in explained["services"] if e["service"] == service]
    assert entry["ready"] is ready
    assert explained_entry["ready"] is ready
    assert check_code == table_code == (0 if ready else 1)
    assert explain_code == (0 if ready and explained["ready"] else 1)
    if not ready:
        assert entry["reason"] == explained_entry["reason"] == "basic_decommissioned"
        assert table.splitlines()[1].split()[:3] == [service, "NO", "basic"]
        assert "BW_CLIENT_ID" in table
    if reason is not None:
        assert entry["error"] == reason
        assert f"{service}: {reason}" in table
    for value in variables.values():
        if value.startswith("canary"):
            assert value not in table


@pytest.mark.parametrize(
    ("kind", "url", "day", "expected"),
    [
        ("api_user", "https://voice.bandwidth.com/api/v2/accounts/1", (2026, 12, 1), None),
        ("api_user", "https://voice.bandwidth.com/api/v2/accounts/1", (2026, 12, 2), NOT_READY),
        (
            "api_user",
            "https://test.dashboard.bandwidth.com/api/accounts/1",
            (2030, 1, 1),
            NOT_READY,
        ),
        ("api_user", "https://voice.bandwidth.com.example.net/v2", (2030, 1, 1), None),
        ("api_user", "https://gateway.internal/bandwidth.com", (2030, 1, 1), None),
        ("oauth", "https://voice.bandwidth.com/api/v2/accounts/1", (2030, 1, 1), None),
        ("api_user", "https://bandwidth.com@127.0.0.1/", (2030, 1, 1), None),
        ("api_user", "https://127.0.0.1@bandwidth.com/", (2030, 1, 1), NOT_READY),
        ("api_user", "https://xn--bandwidth-com/", (2030, 1, 1), None),
        ("api_user", "https://voice.bandwidth\uff61com/", (2030, 1, 1), NOT_READY),
        ("api_user", "https://voice.bandwidth.com\u3002/", (2030, 1, 1), NOT_READY),
        ("api_user", "https://voice.bandwidth\u3002com.evil.test/", (2030, 1, 1), None),
    ],
)
def test_the_rule(kind: str, url: str, day: tuple[int, int, int], expected: str | None) -> None:
    assert decommissioned(kind, url, day) == expected


def test_bandwidth_hosts_are_bandwidth_com_and_below() -> None:
    assert bandwidth_host("https://BANDWIDTH.com./x")
    assert bandwidth_host("https://messaging.bandwidth.com")
    assert not bandwidth_host("https://notbandwidth.com")
    assert not bandwidth_host("http://[::1")


def test_get_auth_still_returns_basic_with_the_one_time_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _env(monkeypatch, API_USER)

    with today_is(AFTER), pytest.warns(BasicDeprecationWarning, match="decommissioned"):
        voice = Resolver(["env"]).get_auth("voice")

    assert voice.scheme == "basic"
    assert voice.username == "jdoe"


# -- a 401 from Bandwidth's host, over real HTTP ------------------------------------------


@contextmanager
def bandwidth_stand_in(tls: ssl.SSLContext) -> Iterator[tuple[Server, list[Received]]]:
    """A forward proxy that, for ``CONNECT`` to any host, ends the TLS itself (a test CA's
    certificate for ``*.bandwidth.com``) and answers every request 401, as Bandwidth
    answers an API user since 2026-12-02. Nothing is resolved or sent beyond loopback."""
    seen: list[Received] = []

    def act(conn: socket.socket, request: Received, server: Server) -> None:
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        inner = tls.wrap_socket(conn, server_side=True)
        asked = _read_request(inner)
        if asked is not None:
            seen.append(asked)
            inner.sendall(
                b"HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
            )
        inner.close()

    with misbehaving(act) as server:
        yield server, seen  # the proxy, and what reached "Bandwidth" through its tunnels


@pytest.mark.parametrize(("day", "logged"), [(BEFORE, False), (AFTER, True)])
def test_a_401_from_bandwidth_to_basic_names_the_decommissioning(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    day: tuple[int, int, int],
    logged: bool,
) -> None:
    trustme = pytest.importorskip("trustme")
    httpx = pytest.importorskip("httpx")
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("*.bandwidth.com").configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    _env(monkeypatch, API_USER)
    reset()  # nothing reported yet in this process
    caplog.set_level(logging.DEBUG, logger="bandwidth_credentials")

    with today_is(day), bandwidth_stand_in(server_tls) as (proxy, seen):
        with pytest.warns(BasicDeprecationWarning):
            voice = Resolver(["env"]).get_auth("voice")
        with httpx.Client(proxy=proxy.url, verify=client_tls, timeout=10) as client:
            response = client.get(voice.url("calls"), auth=voice.httpx_auth())
            client.get(voice.url("calls"), auth=voice.httpx_auth())

    assert response.status_code == 401
    assert len(seen) == 2  # reloading gave the same pair: no retry, the 401 is the answer
    assert seen[0].headers["authorization"].startswith("Basic ")
    assert proxy.requests[0].target == "voice.bandwidth.com:443"
    records = [r for r in caplog.records if "decommissioned" in r.getMessage()]
    if not logged:
        assert records == []
        return
    [record] = records  # once per service, however many 401s
    message = record.getMessage()
    assert record.levelno == logging.ERROR
    assert "voice: HTTP 401 from Bandwidth for API user (Basic) credentials" in message
    assert "Account > API Credentials" in message
    assert "BW_CLIENT_ID and BW_CLIENT_SECRET" in message
    assert "canary-pw-51" not in caplog.text


def test_reset_forgets_that_a_refusal_was_reported(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _env(monkeypatch, API_USER)
    reset()  # nothing reported yet in this process
    caplog.set_level(logging.ERROR, logger="bandwidth_credentials")
    with today_is(AFTER), pytest.warns(BasicDeprecationWarning):
        voice = Resolver(["env"]).get_auth("voice")

    with today_is(AFTER):
        voice.invalidate()
        voice.invalidate()
        reset()
        voice.invalidate()

    assert len([r for r in caplog.records if "decommissioned" in r.getMessage()]) == 2


# -- exec -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variables", "notice"),
    [
        (API_USER, "Bandwidth decommissioned API user credentials (HTTP Basic) on 2026-12-02"),
        (OAUTH, None),
    ],
)
def test_exec_writes_the_notice_when_it_passes_basic_credentials(
    variables: dict[str, str], notice: str | None
) -> None:
    env = clean_env(BANDWIDTH_CREDENTIALS_TODAY="2026-12-06", **variables)

    result, _ = run_exec("--service", "voice", "--sources", "env", env=env)

    assert result.returncode == 0, result.stderr
    assert child_report(result)["env"]["BW_ACCOUNT_ID"] is not None  # type: ignore[index]
    if notice is None:
        assert "HTTP Basic" not in result.stderr
    else:
        assert "bwcreds exec: passing HTTP Basic credentials (voice" in result.stderr
        assert notice in result.stderr
    assert "canary" not in result.stderr


# -- what a "missing credentials" message offers -----------------------------------------


@pytest.mark.parametrize(
    ("day", "service", "offered"),
    [
        (BEFORE, "voice", "client_id+client_secret, access_token, username+password"),
        (ON, "voice", "client_id+client_secret, access_token"),
        (AFTER, "numbers", "client_id+client_secret, access_token"),
        (
            BEFORE,
            "messaging",
            "client_id+client_secret, access_token, api_token+api_secret, username+password",
        ),
        (AFTER, "messaging", "client_id+client_secret, access_token"),
    ],
)
def test_missing_credentials_offer_basic_only_before_the_decommissioning(
    monkeypatch: pytest.MonkeyPatch, day: tuple[int, int, int], service: str, offered: str
) -> None:
    monkeypatch.setenv("BW_ACCOUNT_ID", "920012")

    with today_is(day), pytest.raises(CredentialNotFoundError) as caught:
        Resolver(["env"]).get_auth(service)

    assert f"missing credentials (one of {offered});" in str(caught.value)


# -- check --online: what is sent to Bandwidth, and what is called ready ---------------


@pytest.mark.parametrize(
    ("day", "own_voice_host", "sent", "outcome"),
    [
        (BEFORE, False, 1, "refused"),
        (ON, False, 0, "unavailable"),
        # Voice bound for a host of your own, with no account URL beside its credentials:
        # not checked at all (Bandwidth's account URL is not where they were meant to go),
        # and not called decommissioned (they are not bound for Bandwidth).
        (AFTER, True, 0, "unverified"),
        (BEFORE, True, 0, "unverified"),
    ],
)
def test_online_check_sends_no_decommissioned_credentials_to_bandwidth(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    day: tuple[int, int, int],
    own_voice_host: bool,
    sent: int,
    outcome: str,
) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("*.bandwidth.com").configure_cert(server_tls)
    bundle = str(tmp_path / "ca.pem")
    ca.cert_pem.write_to_path(bundle)
    _env(monkeypatch, API_USER)
    monkeypatch.setenv("SSL_CERT_FILE", bundle)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", bundle)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    if own_voice_host:
        monkeypatch.setenv("BW_VOICE_BASE_URL", "https://127.0.0.1:9/voice")

    with today_is(day), bandwidth_stand_in(server_tls) as (proxy, seen):
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BasicDeprecationWarning)
            [result] = Resolver(["env"]).verify(["voice"])

    assert len(seen) == sent
    assert result.ready is False
    assert result.outcome == outcome
    if outcome == "unavailable":
        assert NOT_READY in result.detail
        assert "not sent" in result.detail
    if own_voice_host:
        assert "not checked" in result.detail
        assert NOT_READY not in result.detail
    assert "canary-pw-51" not in result.detail


@pytest.mark.parametrize("command", ["check", "explain"])
@pytest.mark.parametrize("account", [[], ["--account-id", "920013"]], ids=["configured", "chosen"])
@pytest.mark.parametrize(
    ("day", "ready"), [(BEFORE, True), (AFTER, False)], ids=["before", "after"]
)
def test_the_rule_holds_for_an_account_chosen_with_account_id(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    account: list[str],
    day: tuple[int, int, int],
    ready: bool,
) -> None:
    _env(monkeypatch, API_USER)

    with today_is(day):
        code = main([command, "--json", *account, "--sources", "env"])
    document = json.loads(capsys.readouterr().out)

    [voice] = [entry for entry in document["services"] if entry["service"] == "voice"]
    assert voice["ready"] is ready
    assert code == (0 if ready else 1)
    if not ready:
        assert voice["reason"] == "basic_decommissioned"
        assert voice["error"] == NOT_READY
