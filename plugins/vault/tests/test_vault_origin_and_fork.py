"""Logins stay at the configured Vault's origin, error texts never echo what was read,
options are checked when the source is parsed, and a forked child keeps its token."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests.misbehaving import answer, json_body, misbehaving, redirect
from vault_testserver import FakeVault

from bandwidth_credentials import (
    ConfigurationError,
    CredentialsError,
    Resolver,
    SourceNotFoundError,
    SourceUnavailableError,
    parse_source,
)
from bandwidth_credentials.testing import (
    CANARY_PASSWORD,
    CANARY_SECRET,
    check_no_leaks,
    in_forked_child,
)
from bandwidth_credentials_vault import VaultProvider

SECRET_ID = CANARY_SECRET  # the AppRole secret_id is a canary
CREDS = {"BW_ACCOUNT_ID": "920012", "BW_CLIENT_ID": "CLI-1", "BW_CLIENT_SECRET": CANARY_PASSWORD}
READ = ["secret/data/bandwidth/prod"]
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhcHAifQ.c2lnbmF0dXJlLWNhbmFyeQ"


def _approle(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("VAULT_ROLE_ID", "role-1")
    monkeypatch.setenv("VAULT_SECRET_ID", SECRET_ID)
    return "auth=approle"


def _kubernetes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    (tmp_path / "jwt").write_text(JWT)
    return f"auth=kubernetes&role=app&jwt_path={tmp_path / 'jwt'}"


def _jwt(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    (tmp_path / "jwt").write_text(JWT)
    return f"auth=jwt&role=app&jwt_path={tmp_path / 'jwt'}"


def _aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEKEY000001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ID)
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-for-the-signed-login")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return "auth=aws&role=app"


LOGINS: dict[str, Callable[[pytest.MonkeyPatch, Path], str]] = {
    "approle": _approle,
    "kubernetes": _kubernetes,
    "jwt": _jwt,
    "aws": _aws,
}


@pytest.mark.parametrize("status", [307, 308, 302])
@pytest.mark.parametrize("method", sorted(LOGINS))
def test_a_login_never_follows_a_redirect_to_another_origin(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, home: Path, method: str, status: int
) -> None:
    options = LOGINS[method](monkeypatch, tmp_path)
    login = json_body({"auth": {"client_token": "hvs.elsewhere", "lease_duration": 0}})
    with (
        misbehaving(answer(body=login), host="127.0.0.2") as elsewhere,
        misbehaving(redirect(elsewhere.url + "/v1/auth/x/login", status)) as vault,
    ):
        monkeypatch.setenv("VAULT_ADDR", vault.url)
        provider = VaultProvider(parse_source(f"vault:secret/bandwidth/prod?kv=2&{options}"))

        with pytest.raises(CredentialsError) as caught:
            check_no_leaks(provider.fetch, [SECRET_ID, JWT, CANARY_PASSWORD])

    assert elsewhere.requests == []  # not the body, not even a connection's request line
    assert len(vault.requests) == 1
    assert isinstance(caught.value, SourceUnavailableError)
    message = str(caught.value)
    assert f"redirected the request to another origin (HTTP {status}" in message
    assert "http://127.0.0.2:" in message
    assert "Vault at http://127.0.0.1:" in message


def test_a_redirect_within_the_same_origin_is_still_followed(
    monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    secret = json_body({"data": {"data": CREDS, "metadata": {"version": 1}}})
    monkeypatch.setenv("VAULT_TOKEN", "hvs.token")
    lookup = json_body({"data": {"ttl": 0}})
    with misbehaving(
        answer(body=lookup), redirect("/v1/secret/data/bandwidth/prod2", 307), answer(body=secret)
    ) as vault:
        monkeypatch.setenv("VAULT_ADDR", vault.url)

        fetched = VaultProvider(parse_source("vault:secret/bandwidth/prod?kv=2")).fetch()

    assert fetched.values["BW_CLIENT_SECRET"] == CANARY_PASSWORD
    assert [r.target for r in vault.requests][-1] == "/v1/secret/data/bandwidth/prod2"


def _deleted(version: object, when: object) -> bytes:
    metadata = {"version": version, "deletion_time": when, "destroyed": False}
    return json_body({"data": {"data": None, "metadata": metadata}})


@pytest.mark.parametrize(
    ("version", "when", "shown"),
    [
        (3, CANARY_PASSWORD, "version 3 of secret/data/bandwidth/prod was deleted;"),
        (CANARY_PASSWORD, "2026-12-06T10:00:00Z", "the requested version of secret/data/"),
        (
            3,
            "2026-12-06T10:00:00.123456789Z",
            "version 3 of secret/data/bandwidth/prod was deleted at 2026-12-06T10:00:00.1",
        ),
    ],
    ids=["time-holds-a-value", "version-holds-a-value", "well-formed"],
)
def test_a_deleted_answer_after_a_read_never_echoes_a_value_read(
    monkeypatch: pytest.MonkeyPatch,
    home: Path,
    caplog: pytest.LogCaptureFixture,
    version: object,
    when: object,
    shown: str,
) -> None:
    secret = json_body({"data": {"data": CREDS, "metadata": {"version": 3}}})
    monkeypatch.setenv("VAULT_TOKEN", "hvs.token")
    lookup = json_body({"data": {"ttl": 0}})
    deleted = answer(404, _deleted(version, when))
    with misbehaving(answer(body=lookup), answer(body=secret), deleted) as vault:
        monkeypatch.setenv("VAULT_ADDR", vault.url)
        resolver = Resolver(["vault:secret/bandwidth/prod?kv=2&ttl=1"])
        resolver.get_auth("voice")  # a successful read: the values are known now

        with pytest.raises(SourceNotFoundError) as caught:
            check_no_leaks(resolver.reload, [CANARY_PASSWORD])

    assert shown in str(caught.value)
    assert CANARY_PASSWORD not in caplog.text


@pytest.mark.parametrize(
    "query",
    [
        "namespace=team%0D%0Aforged: line",
        "namespace=a%0Ab",
        "namespace=%0D%0A",  # only a line break: not a blank (default) value
        "role=a%00b",
        "mount=approle%0A&auth=approle",
        "jwt_path=/x%0A/y&auth=jwt",
    ],
)
def test_option_values_with_control_characters_fail_when_the_source_is_parsed(query: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        VaultProvider(parse_source(f"vault:secret/bandwidth/prod?{query}"))

    message = str(caught.value)
    assert "holds a control or invisible character" in message
    assert message.isprintable()
    assert "forged" not in message


def test_a_vault_namespace_variable_with_a_line_break_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, fake_env: FakeVault
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", "hvs.token")
    monkeypatch.setenv("VAULT_NAMESPACE", "team\r\nforged: line")
    provider = VaultProvider(parse_source("vault:secret/bandwidth/prod"))

    with pytest.raises(ConfigurationError) as caught:
        provider.fetch()

    assert "VAULT_NAMESPACE holds a control" in str(caught.value)
    assert "forged" not in str(caught.value)
    assert fake_env.calls("") == []


def test_a_forked_child_keeps_the_token_of_a_single_use_secret_id(
    monkeypatch: pytest.MonkeyPatch, fake_env: FakeVault
) -> None:
    fake_env.put("secret", "bandwidth/prod", CREDS)
    fake_env.add_approle("role-1", SECRET_ID, READ, ttl=3600)
    monkeypatch.setenv("VAULT_ROLE_ID", "role-1")
    monkeypatch.setenv("VAULT_SECRET_ID", SECRET_ID)
    resolver = Resolver(["vault:secret/bandwidth/prod?auth=approle"])
    resolver.get_auth("voice")  # the parent logs in (gunicorn --preload)
    fake_env.approles["approle"]["role-1"].credentials.clear()  # the secret_id was single-use

    def worker() -> str | None:
        resolver.reload()  # a worker's first refresh: a fetch of its own
        return resolver.get_auth("voice").account_id

    outcome = in_forked_child(worker)

    assert outcome == "920012"
    assert len(fake_env.calls("auth/approle/login")) == 1  # no second login in the child
    assert len(fake_env.calls("secret/data/bandwidth/prod")) == 2


def test_after_fork_a_rejected_token_still_means_one_new_login(
    monkeypatch: pytest.MonkeyPatch, fake_env: FakeVault
) -> None:
    fake_env.put("secret", "bandwidth/prod", CREDS)
    fake_env.add_approle("role-1", SECRET_ID, READ, ttl=3600)
    monkeypatch.setenv("VAULT_ROLE_ID", "role-1")
    monkeypatch.setenv("VAULT_SECRET_ID", SECRET_ID)
    provider = VaultProvider(parse_source("vault:secret/bandwidth/prod?auth=approle"))
    provider.fetch()
    [read] = fake_env.calls("secret/data/")

    provider.after_fork()
    assert read.token is not None
    fake_env.revoke(read.token)  # the token is no longer usable: now a login is due
    fetched = provider.fetch()

    assert fetched.values["BW_CLIENT_SECRET"] == CANARY_PASSWORD
    assert len(fake_env.calls("auth/approle/login")) == 2
