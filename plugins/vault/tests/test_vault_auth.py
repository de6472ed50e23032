"""Logging in (token, AppRole, Kubernetes, JWT) and keeping the Vault token alive."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from vault_backends import Backend
from vault_testserver import FakeVault

from bandwidth_credentials import (
    SourceAccessDeniedError,
    SourceAuthenticationError,
    parse_source,
)
from bandwidth_credentials.testing import FakeClock
from bandwidth_credentials_vault import VaultProvider
from bandwidth_credentials_vault._config import DEFAULT_JWT_PATH

CREDS = {"accountId": "920012", "username": "jdoe", "password": "pw"}
READ = ["secret/data/bandwidth/prod"]
URI = "vault:secret/bandwidth/prod"


@pytest.fixture
def stored(fake_env: FakeVault) -> FakeVault:
    fake_env.put("secret", "bandwidth/prod", CREDS)
    return fake_env


def provider(uri: str = URI) -> tuple[VaultProvider, FakeClock]:
    made = VaultProvider(parse_source(uri))
    clock = FakeClock()
    made._clock = clock
    return made, clock


def tokens_used(vault: FakeVault, prefix: str = "secret/data/") -> list[str | None]:
    return [call.token for call in vault.calls(prefix)]


# -- token ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("in_env", "in_file", "expected"),
    [
        ("env-token", None, "env-token"),
        (None, "file-token\n", "file-token"),
        ("env-token", "file-token\n", "env-token"),
    ],
)
def test_token_comes_from_vault_token_then_the_home_file(
    stored: FakeVault,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    in_env: str | None,
    in_file: str | None,
    expected: str,
) -> None:
    for value in ("env-token", "file-token"):
        stored.issue_token(READ, value=value)
    if in_env:
        monkeypatch.setenv("VAULT_TOKEN", in_env)
    if in_file:
        (home / ".vault-token").write_text(in_file)

    fetched = provider()[0].fetch()

    assert dict(fetched.values) == CREDS
    assert tokens_used(stored) == [expected]


def test_no_token_anywhere_is_an_authentication_error(stored: FakeVault) -> None:
    with pytest.raises(SourceAuthenticationError) as caught:
        provider()[0].fetch()

    assert "no Vault token: set VAULT_TOKEN" in str(caught.value)
    assert stored.calls("") == []


def test_renewable_token_is_renewed_once_half_its_ttl_is_gone(
    stored: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = stored.issue_token(READ, ttl=3600, renewable=True)
    monkeypatch.setenv("VAULT_TOKEN", token)
    source, clock = provider()
    source.fetch()
    clock.now += 100

    source.fetch()
    renewed_early = stored.tokens[token].renewals
    clock.now += 1900
    source.fetch()

    assert renewed_early == 0
    assert stored.tokens[token].renewals == 1
    assert len(stored.calls("auth/token/renew-self")) == 1
    assert tokens_used(stored) == [token, token, token]


def test_expiring_token_that_cannot_be_renewed_is_read_again_from_its_source(
    stored: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = stored.issue_token(READ, ttl=600, renewable=False)
    second = stored.issue_token(READ, ttl=600, renewable=False)
    monkeypatch.setenv("VAULT_TOKEN", first)
    source, clock = provider()
    source.fetch()
    monkeypatch.setenv("VAULT_TOKEN", second)  # as an agent rewriting the token
    clock.now += 590

    source.fetch()

    assert tokens_used(stored) == [first, second]
    assert stored.calls("auth/token/renew-self") == []


def test_revoked_token_with_no_replacement_is_an_authentication_error(
    stored: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = stored.issue_token(READ, ttl=3600, renewable=True)
    monkeypatch.setenv("VAULT_TOKEN", token)
    source, _ = provider()
    source.fetch()
    stored.revoke(token)

    with pytest.raises(SourceAuthenticationError) as caught:
        source.fetch()

    assert "the token from VAULT_TOKEN is invalid, expired or revoked" in str(caught.value)


@pytest.mark.parametrize("in_file", [False, True])
def test_invalid_token_is_an_authentication_error_not_access_denied(
    stored: FakeVault, home: Path, monkeypatch: pytest.MonkeyPatch, in_file: bool
) -> None:
    if in_file:
        (home / ".vault-token").write_text("hvs.never-issued\n")
    else:
        monkeypatch.setenv("VAULT_TOKEN", "hvs.never-issued")

    with pytest.raises(SourceAuthenticationError) as caught:
        provider()[0].fetch()

    origin = "~/.vault-token" if in_file else "VAULT_TOKEN"
    message = str(caught.value)
    assert f"the token from {origin} is invalid, expired or revoked" in message
    assert "auth/token/lookup-self" in message
    assert stored.calls("secret/data/") == []


def test_read_denied_to_a_live_token_without_lookup_permission_is_access_denied(
    stored: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", stored.issue_token(["secret/data/elsewhere"]))
    stored.fail("auth/token/lookup-self", 403, ["permission denied"])

    with pytest.raises(SourceAccessDeniedError) as caught:
        provider()[0].fetch()

    assert "permission denied" in str(caught.value)
    assert len(stored.calls("auth/token/lookup-self")) == 2


def test_revoked_token_is_replaced_by_a_rotated_one(
    stored: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = stored.issue_token(READ, ttl=3600)
    new = stored.issue_token(READ, ttl=3600)
    monkeypatch.setenv("VAULT_TOKEN", old)
    source, _ = provider()
    source.fetch()
    stored.revoke(old)
    monkeypatch.setenv("VAULT_TOKEN", new)

    fetched = source.fetch()

    assert dict(fetched.values) == CREDS
    assert tokens_used(stored) == [old, old, new]


def test_token_without_lookup_permission_still_reads(
    stored: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", stored.issue_token(READ))
    stored.fail("auth/token/lookup-self", 403, ["permission denied"])

    fetched = provider()[0].fetch()

    assert dict(fetched.values) == CREDS


def test_closed_provider_connects_and_logs_in_again(
    stored: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    approle_env(stored, monkeypatch)
    source, _ = provider(URI + "?auth=approle")
    source.fetch()
    source.close()

    fetched = source.fetch()

    assert dict(fetched.values) == CREDS
    assert len(stored.calls("auth/approle/login")) == 2
    assert None not in tokens_used(stored)


# -- AppRole ---------------------------------------------------------------------


def test_approle_logs_in_against_either_vault(
    vault_env: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = vault_env.fresh()
    vault_env.put(vault_env.kv2, path, CREDS)
    mount, role_id, secret_id = vault_env.approle([f"{vault_env.kv2}/data/{path}"])
    monkeypatch.setenv("VAULT_ROLE_ID", role_id)
    monkeypatch.setenv("VAULT_SECRET_ID", secret_id)

    fetched = provider(f"vault:{vault_env.kv2}/{path}?auth=approle&mount={mount}")[0].fetch()

    assert dict(fetched.values) == CREDS


def approle_env(
    vault: FakeVault,
    monkeypatch: pytest.MonkeyPatch,
    ttl: int = 3600,
    renewable: bool = True,
    mount: str = "approle",
) -> None:
    vault.add_approle("role-1", "secret-1", READ, ttl=ttl, renewable=renewable, mount=mount)
    monkeypatch.setenv("VAULT_ROLE_ID", "role-1")
    monkeypatch.setenv("VAULT_SECRET_ID", "secret-1")


def test_approle_login_is_reused_between_fetches(
    stored: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    approle_env(stored, monkeypatch)
    source, clock = provider(URI + "?auth=approle")

    source.fetch()
    clock.now += 300
    source.fetch()

    logins = stored.calls("auth/approle/login")
    assert len(logins) == 1
    assert logins[0].body == {"role_id": "role-1", "secret_id": "secret-1"}
    assert logins[0].token is None
    assert len(set(tokens_used(stored))) == 1


def test_approle_on_a_custom_mount(stored: FakeVault, monkeypatch: pytest.MonkeyPatch) -> None:
    approle_env(stored, monkeypatch, mount="ci/approle")

    fetched = provider(URI + "?auth=approle&mount=ci/approle")[0].fetch()

    assert dict(fetched.values) == CREDS
    assert len(stored.calls("auth/ci/approle/login")) == 1


def test_approle_secret_id_file_is_read_again_at_every_login(
    stored: FakeVault, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stored.add_approle("role-1", "secret-1", READ)
    stored.approles["approle"]["role-1"].credentials.add("secret-2")
    secret_file = tmp_path / "secret-id"
    secret_file.write_text("secret-1\n")
    monkeypatch.setenv("VAULT_ROLE_ID", "role-1")
    monkeypatch.setenv("VAULT_SECRET_ID_FILE", str(secret_file))
    source, _ = provider(URI + "?auth=approle")
    source.fetch()
    secret_file.write_text("secret-2\n")
    stored.revoke(stored.calls("secret/data/")[0].token or "")

    source.fetch()

    bodies = [call.body for call in stored.calls("auth/approle/login")]
    assert bodies == [
        {"role_id": "role-1", "secret_id": "secret-1"},
        {"role_id": "role-1", "secret_id": "secret-2"},
    ]


def test_expiring_token_that_cannot_be_renewed_means_a_new_login(
    stored: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    approle_env(stored, monkeypatch, ttl=900, renewable=False)
    source, clock = provider(URI + "?auth=approle")
    source.fetch()
    clock.now += 800

    source.fetch()

    assert len(stored.calls("auth/approle/login")) == 2
    assert stored.calls("auth/token/renew-self") == []
    first, second = tokens_used(stored)
    assert first != second


def test_renewable_login_token_is_renewed_not_replaced(
    stored: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    approle_env(stored, monkeypatch, ttl=900, renewable=True)
    source, clock = provider(URI + "?auth=approle")
    source.fetch()
    clock.now += 800

    source.fetch()

    assert len(stored.calls("auth/approle/login")) == 1
    assert len(stored.calls("auth/token/renew-self")) == 1


@pytest.mark.parametrize(
    "ttl",
    [int("9" * 401), 10**12, -5, 0, "3600", None, [3600]],
    ids=["401-digits", "ten-to-the-twelve", "negative", "zero", "text", "null", "list"],
)
def test_an_odd_lease_duration_in_a_login_answer_still_reads(
    stored: FakeVault, monkeypatch: pytest.MonkeyPatch, ttl: object
) -> None:
    """Vault's ``lease_duration`` is data: a number too large for a float, or no number at
    all, is a token of unknown or capped lifetime, not a foreign OverflowError."""
    approle_env(stored, monkeypatch, ttl=ttl, renewable=True)  # type: ignore[arg-type]
    source, clock = provider(URI + "?auth=approle")

    first = source.fetch()
    clock.now += 3600
    second = source.fetch()

    assert dict(first.values) == dict(second.values) == CREDS
    assert len(stored.calls("auth/approle/login")) == 1


def test_a_renewal_logs_the_seconds_read_never_vaults_text(
    stored: FakeVault, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    approle_env(stored, monkeypatch, ttl=900, renewable=True)
    source, clock = provider(URI + "?auth=approle")
    source.fetch()
    for token in stored.tokens.values():
        token.period = "1\n\x1b[31mWARNING forged line"  # type: ignore[assignment]
    clock.now += 800
    caplog.set_level(logging.DEBUG, logger="bandwidth_credentials")

    source.fetch()

    assert len(stored.calls("auth/token/renew-self")) == 1
    messages = [record.getMessage() for record in caplog.records]
    assert any("renewed the Vault token" in message for message in messages)
    assert [m for m in messages if "forged" in m or "\n" in m or "\x1b" in m] == []


def test_refused_renewal_falls_back_to_a_new_login(
    stored: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    approle_env(stored, monkeypatch, ttl=900, renewable=True)
    source, clock = provider(URI + "?auth=approle")
    source.fetch()
    stored.fail("auth/token/renew-self", 403, ["permission denied"])
    clock.now += 800

    fetched = source.fetch()

    assert dict(fetched.values) == CREDS
    assert len(stored.calls("auth/approle/login")) == 2


def test_revoked_login_token_means_one_new_login(
    stored: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    approle_env(stored, monkeypatch)
    source, _ = provider(URI + "?auth=approle")
    source.fetch()
    stored.revoke(tokens_used(stored)[0] or "")

    fetched = source.fetch()

    assert dict(fetched.values) == CREDS
    assert len(stored.calls("auth/approle/login")) == 2


def test_token_rejected_again_after_a_new_login_fails_without_looping(
    stored: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    approle_env(stored, monkeypatch)
    source, _ = provider(URI + "?auth=approle")
    source.fetch()
    stored.fail("secret/data/", 403, ["permission denied"], times=5)
    stored.fail("auth/token/lookup-self", 403, ["permission denied"], times=5)

    with pytest.raises(SourceAuthenticationError) as caught:
        source.fetch()

    assert "rejected too" in str(caught.value)
    assert len(stored.calls("auth/approle/login")) == 2
    assert len(stored.calls("secret/data/")) == 3


def test_denied_path_with_a_live_token_is_access_denied_not_a_new_login(
    stored: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored.add_approle("role-1", "secret-1", ["secret/data/elsewhere"])
    monkeypatch.setenv("VAULT_ROLE_ID", "role-1")
    monkeypatch.setenv("VAULT_SECRET_ID", "secret-1")

    with pytest.raises(SourceAccessDeniedError) as caught:
        provider(URI + "?auth=approle")[0].fetch()

    assert "auth=approle" in str(caught.value)
    assert len(stored.calls("auth/approle/login")) == 1


def test_bad_approle_secret_is_an_authentication_error(
    stored: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored.add_approle("role-1", "secret-1", READ)
    monkeypatch.setenv("VAULT_ROLE_ID", "role-1")
    monkeypatch.setenv("VAULT_SECRET_ID", "wrong")

    with pytest.raises(SourceAuthenticationError) as caught:
        provider(URI + "?auth=approle")[0].fetch()

    message = str(caught.value)
    assert "logging in at auth/approle/login failed (400: invalid role or secret ID)" in message
    assert f"Vault at {stored.addr}, auth=approle" in message
    assert len(stored.calls("auth/approle/login")) == 1


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"VAULT_SECRET_ID": "s"}, "auth=approle needs VAULT_ROLE_ID"),
        ({"VAULT_ROLE_ID": "r"}, "needs VAULT_SECRET_ID or VAULT_SECRET_ID_FILE"),
        ({"VAULT_ROLE_ID": "r", "VAULT_SECRET_ID_FILE": "/nonexistent/sid"}, "does not exist"),
    ],
)
def test_missing_approle_credentials_are_named(
    stored: FakeVault, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(SourceAuthenticationError) as caught:
        provider(URI + "?auth=approle")[0].fetch()

    assert expected in str(caught.value)
    assert stored.calls("auth/") == []


# -- Kubernetes and JWT --------------------------------------------------------------


def test_kubernetes_jwt_is_read_again_at_every_login(stored: FakeVault, tmp_path: Path) -> None:
    jwt_file = tmp_path / "token"
    jwt_file.write_text("jwt-one")
    stored.add_k8s_role("bw-app", ["jwt-one", "jwt-two"], READ)
    source, _ = provider(URI + f"?auth=kubernetes&role=bw-app&jwt_path={jwt_file}")
    source.fetch()
    jwt_file.write_text("jwt-two")  # the kubelet rotated the projected token
    stored.revoke(tokens_used(stored)[0] or "")

    fetched = source.fetch()

    assert dict(fetched.values) == CREDS
    bodies = [call.body for call in stored.calls("auth/kubernetes/login")]
    assert bodies == [{"role": "bw-app", "jwt": "jwt-one"}, {"role": "bw-app", "jwt": "jwt-two"}]


def test_kubernetes_reads_the_pod_service_account_token_by_default() -> None:
    source = VaultProvider(parse_source(URI + "?auth=kubernetes&role=bw-app"))

    assert source.spec.jwt_path == DEFAULT_JWT_PATH
    assert DEFAULT_JWT_PATH == "/var/run/secrets/kubernetes.io/serviceaccount/token"
    assert source.spec.auth_mount == "kubernetes"


@pytest.mark.parametrize(
    ("auth", "role", "jwt", "expected"),
    [
        ("kubernetes", "bw-app", "forged", "failed (403: permission denied)"),
        ("kubernetes", "nope", "good", 'failed (400: invalid role name "nope")'),
        ("jwt", "ci", "forged", "failed (400: error validating token: invalid signature)"),
        ("jwt", "nope", "good", 'failed (400: role "nope" could not be found)'),
    ],
)
def test_rejected_jwt_login_is_an_authentication_error(
    stored: FakeVault, tmp_path: Path, auth: str, role: str, jwt: str, expected: str
) -> None:
    stored.add_k8s_role("bw-app", ["good"], READ)
    stored.add_jwt_role("ci", ["good"], READ)
    jwt_file = tmp_path / "jwt"
    jwt_file.write_text(jwt)

    with pytest.raises(SourceAuthenticationError) as caught:
        provider(URI + f"?auth={auth}&role={role}&jwt_path={jwt_file}")[0].fetch()

    assert expected in str(caught.value)
    assert f"auth/{auth}/login" in str(caught.value)
    assert f"auth={auth}" in str(caught.value)


def test_jwt_login_on_a_custom_mount(stored: FakeVault, tmp_path: Path) -> None:
    stored.add_jwt_role("ci", ["good"], READ, mount="gitlab")
    jwt_file = tmp_path / "jwt"
    jwt_file.write_text("good\n")

    fetched = provider(URI + f"?auth=jwt&role=ci&mount=gitlab&jwt_path={jwt_file}")[0].fetch()

    assert dict(fetched.values) == CREDS
    assert [c.body for c in stored.calls("auth/gitlab/login")] == [{"role": "ci", "jwt": "good"}]


def test_jwt_login_without_a_role_uses_the_mounts_default_role(
    stored: FakeVault, tmp_path: Path
) -> None:
    stored.add_jwt_role("default", ["good"], READ)
    jwt_file = tmp_path / "jwt"
    jwt_file.write_text("good")

    fetched = provider(URI + f"?auth=jwt&jwt_path={jwt_file}")[0].fetch()

    assert dict(fetched.values) == CREDS
    assert [c.body for c in stored.calls("auth/jwt/login")] == [{"jwt": "good"}]


@pytest.mark.parametrize(("content", "expected"), [(None, "does not exist"), ("", "is empty")])
def test_unusable_jwt_file_is_named(
    stored: FakeVault, tmp_path: Path, content: str | None, expected: str
) -> None:
    jwt_file = tmp_path / "jwt"
    if content is not None:
        jwt_file.write_text(content)

    with pytest.raises(SourceAuthenticationError) as caught:
        provider(URI + f"?auth=kubernetes&role=bw-app&jwt_path={jwt_file}")[0].fetch()

    assert f"{jwt_file} {expected}" in str(caught.value)
    assert stored.calls("auth/") == []
