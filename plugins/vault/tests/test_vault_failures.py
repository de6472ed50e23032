"""Vault unavailable, throttled, failing or slow; TLS settings; namespaces."""

from __future__ import annotations

import os
import socket
import warnings
from pathlib import Path

import pytest
from vault_testserver import FakeVault

import bandwidth_credentials_vault._calls as calls_module
from bandwidth_credentials import (
    ConfigurationError,
    CredentialNotFoundError,
    Fetched,
    Resolver,
    SourceAccessDeniedError,
    SourceFormatError,
    SourceNotFoundError,
    SourceUnavailableError,
    parse_source,
)
from bandwidth_credentials_vault import VaultInsecureWarning, VaultProvider

CREDS = {"accountId": "920012", "username": "jdoe", "password": "pw"}
URI = "vault:secret/bandwidth/prod"


@pytest.fixture
def stored(fake_env: FakeVault, monkeypatch: pytest.MonkeyPatch) -> FakeVault:
    fake_env.put("secret", "bandwidth/prod", CREDS)
    monkeypatch.setenv("VAULT_TOKEN", fake_env.issue_token(["secret/data/bandwidth/prod"]))
    return fake_env


def fetch(uri: str = URI) -> Fetched:
    return VaultProvider(parse_source(uri)).fetch()


@pytest.mark.parametrize(
    ("drawn", "waits"),
    [(b"\x00", [0.125, 0.25]), (b"\xff", [0.25, 0.5]), (b"\x80", [0.1875, 0.375])],
    ids=["bottom", "top", "middle"],
)
def test_retry_waits_carry_the_librarys_jitter_drawn_from_os_urandom(
    stored: FakeVault, monkeypatch: pytest.MonkeyPatch, drawn: bytes, waits: list[float]
) -> None:
    # One source of jitter for the core and every plugin: the refresh policy's, read from
    # os.urandom (never the random module, whose state a SnapStart restore or a fork
    # shares), a random half to all of each doubling window.
    waited: list[float] = []
    monkeypatch.setattr(calls_module, "_sleep", waited.append)
    stored.fail("secret/data/", 503, ["try again"], times=2)
    monkeypatch.setattr(os, "urandom", lambda n: drawn * n)

    fetched = fetch()

    monkeypatch.undo()
    assert dict(fetched.values) == CREDS
    assert waited == pytest.approx(waits, abs=0.002)


@pytest.mark.parametrize(
    ("switch", "expected"),
    [
        ("sealed", "Vault is sealed"),
        ("standby", "local node not active but active cluster node not found"),
    ],
)
def test_sealed_or_standby_vault_is_unavailable_after_bounded_retries(
    stored: FakeVault, no_backoff: list[float], switch: str, expected: str
) -> None:
    setattr(stored, switch, True)

    with pytest.raises(SourceUnavailableError) as caught:
        fetch()

    message = str(caught.value)
    assert f"Vault is sealed, standby or down (503: {expected})" in message
    assert f"Vault at {stored.addr}" in message
    assert len(stored.calls("auth/token/lookup-self")) == 3
    assert no_backoff == [0.25, 0.5]


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_transient_errors_are_retried_then_succeed(
    stored: FakeVault, no_backoff: list[float], status: int
) -> None:
    stored.fail("secret/data/", status, ["try again"], times=2)

    fetched = VaultProvider(parse_source(URI)).fetch()

    assert dict(fetched.values) == CREDS
    assert len(stored.calls("secret/data/")) == 3
    assert no_backoff == [0.25, 0.5]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (500, "Vault failed (500: boom)"),
        (502, "Vault failed (502: boom)"),
        (429, "Vault is rate limiting (429: boom)"),
    ],
)
def test_persistent_server_errors_give_up_after_three_attempts(
    stored: FakeVault, no_backoff: list[float], status: int, expected: str
) -> None:
    stored.fail("secret/data/", status, ["boom"], times=10)

    with pytest.raises(SourceUnavailableError) as caught:
        fetch()

    assert expected in str(caught.value)
    assert "reading secret/data/bandwidth/prod" in str(caught.value)
    assert len(stored.calls("secret/data/")) == 3


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, SourceFormatError),
        (403, SourceAccessDeniedError),
        (404, SourceNotFoundError),
        (405, SourceFormatError),
    ],
)
def test_client_errors_are_not_retried(
    stored: FakeVault, no_backoff: list[float], status: int, error: type[Exception]
) -> None:
    stored.fail("secret/data/", status, ["no"], times=10)

    with pytest.raises(error):
        fetch()

    assert len(stored.calls("secret/data/")) == 1
    assert no_backoff == []


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_vault_is_unavailable_after_bounded_retries(
    monkeypatch: pytest.MonkeyPatch, home: Path, no_backoff: list[float]
) -> None:
    addr = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("VAULT_ADDR", addr)
    monkeypatch.setenv("VAULT_TOKEN", "t")

    with pytest.raises(SourceUnavailableError) as caught:
        fetch()

    assert "cannot connect (Connection refused)" in str(caught.value)
    assert f"Vault at {addr}" in str(caught.value)
    assert no_backoff == [0.25, 0.5]


def test_vault_that_does_not_answer_times_out_without_retrying(
    stored: FakeVault, no_backoff: list[float]
) -> None:
    stored.hang_prefix = "secret/data/"

    with pytest.raises(SourceUnavailableError) as caught:
        fetch(URI + "?timeout=0.2")

    assert "no complete answer within 0.2 s (timed out)" in str(caught.value)
    assert no_backoff == []


def test_optional_unavailable_vault_is_skipped(stored: FakeVault, no_backoff: list[float]) -> None:
    stored.sealed = True
    resolver = Resolver([URI + "?optional=true"])

    with pytest.raises(CredentialNotFoundError):
        resolver.get_auth("voice")

    assert "Vault is sealed" in resolver.skipped()[0]


def test_tls_handshake_failure_is_reported_and_not_retried(
    stored: FakeVault, monkeypatch: pytest.MonkeyPatch, no_backoff: list[float]
) -> None:
    monkeypatch.setenv("VAULT_ADDR", stored.addr.replace("http://", "https://"))

    with pytest.raises(SourceUnavailableError) as caught:
        fetch()

    assert "TLS handshake failed" in str(caught.value)
    assert no_backoff == []


def test_skip_verify_is_honoured_with_a_warning(
    stored: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_SKIP_VERIFY", "true")
    source = VaultProvider(parse_source(URI))

    with pytest.warns(VaultInsecureWarning, match="TLS certificate of .* is not verified"):
        fetched = source.fetch()

    assert dict(fetched.values) == CREDS
    assert source._sessions.get().client.adapter._kwargs["verify"] is False


def test_tls_is_verified_by_default(stored: FakeVault) -> None:
    source = VaultProvider(parse_source(URI))

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        source.fetch()

    assert source._sessions.get().client.adapter._kwargs["verify"] is True


def test_ca_and_client_certificate_files_are_passed_to_the_http_client(
    stored: FakeVault, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("ca.pem", "client.pem", "client.key"):
        (tmp_path / name).write_text("not used over plain http")
    monkeypatch.setenv("VAULT_CACERT", str(tmp_path / "ca.pem"))
    monkeypatch.setenv("VAULT_CLIENT_CERT", str(tmp_path / "client.pem"))
    monkeypatch.setenv("VAULT_CLIENT_KEY", str(tmp_path / "client.key"))
    source = VaultProvider(parse_source(URI))

    source.fetch()

    kwargs = source._sessions.get().client.adapter._kwargs
    assert kwargs["verify"] == str(tmp_path / "ca.pem")
    assert kwargs["cert"] == (str(tmp_path / "client.pem"), str(tmp_path / "client.key"))
    assert kwargs["timeout"] == 10.0


def test_ca_directory_is_passed_to_the_http_client(
    stored: FakeVault, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VAULT_CAPATH", str(tmp_path))
    source = VaultProvider(parse_source(URI))

    source.fetch()

    assert source._sessions.get().client.adapter._kwargs["verify"] == str(tmp_path)


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        ("VAULT_CACERT", "which is not a file"),
        ("VAULT_CAPATH", "which is not a directory"),
        ("VAULT_CLIENT_CERT", "which is not a file"),
        ("VAULT_CLIENT_KEY", "VAULT_CLIENT_KEY is set without VAULT_CLIENT_CERT"),
    ],
)
def test_tls_files_that_do_not_exist_are_configuration_errors(
    stored: FakeVault, monkeypatch: pytest.MonkeyPatch, variable: str, expected: str
) -> None:
    monkeypatch.setenv(variable, "/nonexistent/tls-file")

    with pytest.raises(ConfigurationError) as caught:
        fetch()

    assert expected in str(caught.value)
    assert stored.calls("") == []


# -- namespaces ----------------------------------------------------------------------


@pytest.fixture
def in_namespace(fake_env: FakeVault, monkeypatch: pytest.MonkeyPatch) -> FakeVault:
    fake_env.enable_kv("secret", 2, namespace="team-a")
    fake_env.put("secret", "bandwidth/prod", CREDS, namespace="team-a")
    monkeypatch.setenv("VAULT_TOKEN", fake_env.issue_token(["secret/data/bandwidth/prod"]))
    return fake_env


@pytest.mark.parametrize(
    ("env", "option"),
    [("team-a", ""), (None, "?namespace=team-a"), ("team-b", "?namespace=team-a/")],
)
def test_namespace_is_sent_on_every_request(
    in_namespace: FakeVault, monkeypatch: pytest.MonkeyPatch, env: str | None, option: str
) -> None:
    if env:
        monkeypatch.setenv("VAULT_NAMESPACE", env)

    fetched = fetch(URI + option)

    assert dict(fetched.values) == CREDS
    assert {call.namespace for call in in_namespace.calls("")} == {"team-a"}


def test_wrong_namespace_is_named_in_the_error(
    in_namespace: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_NAMESPACE", "team-b")

    with pytest.raises(SourceAccessDeniedError) as caught:
        fetch()

    assert "namespace=team-b" in str(caught.value)
