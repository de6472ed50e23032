"""No token, secret id, JWT or secret value in any error, chained cause, log record or warning."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from vault_leak_harness import everything_said
from vault_testserver import FakeVault

from bandwidth_credentials import CredentialsError, Resolver, parse_source
from bandwidth_credentials.testing import CANARY_PASSWORD, CANARY_SECRET
from bandwidth_credentials_vault import VaultProvider

TOKEN = "hvs.canary-token-3d9f1b77-DO-NOT-LEAK"
SECRET_ID = "canary-secret-id-81c2e6aa-DO-NOT-LEAK"
ROLE_ID = "canary-role-id-0b4dd0c1-DO-NOT-LEAK"
JWT = "eyJcanary-jwt-5a7e9c3f-DO-NOT-LEAK"
CANARIES = (TOKEN, SECRET_ID, ROLE_ID, JWT, CANARY_PASSWORD, CANARY_SECRET)
READ = ["secret/data/bandwidth/prod"]
URI = "vault:secret/bandwidth/prod"
VALUES = {
    "accountId": "920012",
    "username": "jdoe",
    "password": CANARY_PASSWORD,
    "apiToken": "tok",
    "apiSecret": CANARY_SECRET,
}

Setup = Callable[[FakeVault, pytest.MonkeyPatch, Path], str]


def with_token(vault: FakeVault, monkeypatch: pytest.MonkeyPatch, ttl: int = 3600) -> None:
    vault.issue_token(READ, ttl=ttl, renewable=True, value=TOKEN)
    monkeypatch.setenv("VAULT_TOKEN", TOKEN)


def with_approle(vault: FakeVault, monkeypatch: pytest.MonkeyPatch) -> None:
    vault.add_approle(ROLE_ID, SECRET_ID, READ)
    monkeypatch.setenv("VAULT_ROLE_ID", ROLE_ID)
    monkeypatch.setenv("VAULT_SECRET_ID", SECRET_ID)


def approle_refused_echoing_the_secret_id(
    vault: FakeVault, monkeypatch: pytest.MonkeyPatch, tmp: Path
) -> str:
    with_approle(vault, monkeypatch)
    vault.fail("auth/approle/login", 400, [f"invalid secret id {SECRET_ID} for {ROLE_ID}"])
    return URI + "?auth=approle"


def approle_login_server_error_echoing_the_secret_id(
    vault: FakeVault, monkeypatch: pytest.MonkeyPatch, tmp: Path
) -> str:
    with_approle(vault, monkeypatch)
    vault.fail("auth/approle/login", 500, [f"storage failed on {SECRET_ID}"], times=5)
    return URI + "?auth=approle"


def kubernetes_refused_echoing_the_jwt(
    vault: FakeVault, monkeypatch: pytest.MonkeyPatch, tmp: Path
) -> str:
    (tmp / "jwt").write_text(JWT)
    vault.add_k8s_role("bw-app", [JWT], READ)
    vault.fail("auth/kubernetes/login", 403, [f"JWT {JWT} failed review"])
    return URI + f"?auth=kubernetes&role=bw-app&jwt_path={tmp / 'jwt'}"


def jwt_refused_echoing_the_jwt(
    vault: FakeVault, monkeypatch: pytest.MonkeyPatch, tmp: Path
) -> str:
    (tmp / "jwt").write_text(JWT)
    vault.add_jwt_role("ci", ["other"], READ)
    vault.fail("auth/jwt/login", 400, [f"error validating token {JWT}"])
    return URI + f"?auth=jwt&role=ci&jwt_path={tmp / 'jwt'}"


def read_denied_echoing_the_token(
    vault: FakeVault, monkeypatch: pytest.MonkeyPatch, tmp: Path
) -> str:
    with_token(vault, monkeypatch)
    vault.fail("secret/data/", 403, [f"token {TOKEN} has no policy for this path"])
    return URI


def preflight_denied_echoing_the_token(
    vault: FakeVault, monkeypatch: pytest.MonkeyPatch, tmp: Path
) -> str:
    with_token(vault, monkeypatch)
    vault.fail("sys/internal/ui/mounts/", 403, [f"denied for {TOKEN}"])
    return URI


def lookup_failing_echoing_the_token(
    vault: FakeVault, monkeypatch: pytest.MonkeyPatch, tmp: Path
) -> str:
    with_token(vault, monkeypatch)
    vault.fail("auth/token/lookup-self", 502, [f"upstream saw {TOKEN}"], times=5)
    return URI


def revoked_token(vault: FakeVault, monkeypatch: pytest.MonkeyPatch, tmp: Path) -> str:
    monkeypatch.setenv("VAULT_TOKEN", TOKEN)  # never issued, or revoked
    return URI


def sealed(vault: FakeVault, monkeypatch: pytest.MonkeyPatch, tmp: Path) -> str:
    with_token(vault, monkeypatch)
    vault.sealed = True
    return URI


def deleted_version(vault: FakeVault, monkeypatch: pytest.MonkeyPatch, tmp: Path) -> str:
    with_token(vault, monkeypatch)
    vault.delete_version("secret", "bandwidth/prod", 1)
    return URI


def missing_secret(vault: FakeVault, monkeypatch: pytest.MonkeyPatch, tmp: Path) -> str:
    with_token(vault, monkeypatch)
    return "vault:secret/bandwidth/absent"


def server_error_on_read(vault: FakeVault, monkeypatch: pytest.MonkeyPatch, tmp: Path) -> str:
    with_token(vault, monkeypatch)
    vault.fail("secret/data/", 500, [f"internal error for {TOKEN}"], times=5)
    return URI


SCENARIOS: list[Setup] = [
    approle_refused_echoing_the_secret_id,
    approle_login_server_error_echoing_the_secret_id,
    kubernetes_refused_echoing_the_jwt,
    jwt_refused_echoing_the_jwt,
    read_denied_echoing_the_token,
    preflight_denied_echoing_the_token,
    lookup_failing_echoing_the_token,
    revoked_token,
    sealed,
    deleted_version,
    missing_secret,
    server_error_on_read,
]


@pytest.mark.parametrize("setup", SCENARIOS, ids=lambda f: f.__name__)
def test_failures_never_show_a_secret(
    fake_env: FakeVault,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    no_backoff: list[float],
    setup: Setup,
) -> None:
    fake_env.put("secret", "bandwidth/prod", VALUES)
    uri = setup(fake_env, monkeypatch, tmp_path)
    caplog.set_level(logging.DEBUG)
    source = VaultProvider(parse_source(uri))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(CredentialsError) as error:
            source.fetch()

    said = everything_said(error.value, caplog, caught) + repr(source)
    for canary in CANARIES:
        assert canary not in said
    assert error.value.__cause__ is None
    assert error.value.__context__ is None
    assert parse_source(uri).uri in str(error.value)


def test_vault_error_text_is_kept_with_secrets_cut_out(
    fake_env: FakeVault, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_env.put("secret", "bandwidth/prod", VALUES)
    uri = approle_refused_echoing_the_secret_id(fake_env, monkeypatch, tmp_path)

    with pytest.raises(CredentialsError) as error:
        VaultProvider(parse_source(uri)).fetch()

    assert "invalid secret id [redacted] for [redacted]" in str(error.value)


def test_successful_resolution_logs_no_secret(
    fake_env: FakeVault,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_env.put("secret", "bandwidth/prod", VALUES)
    with_approle(fake_env, monkeypatch)
    caplog.set_level(logging.DEBUG)
    resolver = Resolver([URI + "?auth=approle"])

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        voice = resolver.get_auth("voice")
        resolver.reload()

    said = everything_said(None, caplog, caught) + repr(resolver) + repr(voice) + str(voice)
    assert caplog.records  # the run is logged, just without secrets
    for canary in CANARIES:
        assert canary not in said
