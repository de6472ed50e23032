"""Reading KV secrets: engine detection, KV v1 and v2, pinned, deleted and destroyed versions."""

from __future__ import annotations

import pytest
from vault_backends import Backend, FakeBackend
from vault_testserver import FakeVault

from bandwidth_credentials import (
    ConfigurationError,
    Fetched,
    Resolver,
    SourceAccessDeniedError,
    SourceFormatError,
    SourceNotFoundError,
    parse_source,
)
from bandwidth_credentials_vault import VaultProvider

CREDS = {"accountId": "920012", "username": "jdoe", "password": "pw-one"}


def fetch(uri: str) -> Fetched:
    return VaultProvider(parse_source(uri)).fetch()


def use_token(monkeypatch: pytest.MonkeyPatch, backend: Backend, *paths: str) -> None:
    monkeypatch.setenv("VAULT_TOKEN", backend.token(list(paths)))


def test_kv2_secret_is_read_with_its_version(
    vault_env: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = vault_env.fresh()
    vault_env.put(vault_env.kv2, path, {"username": "old", "password": "old-pw"})
    vault_env.put(vault_env.kv2, path, CREDS)
    use_token(monkeypatch, vault_env, f"{vault_env.kv2}/data/{path}")

    fetched = VaultProvider(parse_source(f"vault:{vault_env.kv2}/{path}")).fetch()

    assert dict(fetched.values) == CREDS
    assert fetched.version == "2"


def test_kv1_secret_is_read_without_a_version(
    vault_env: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = vault_env.fresh()
    vault_env.put(vault_env.kv1, path, CREDS)
    use_token(monkeypatch, vault_env, f"{vault_env.kv1}/{path}")

    fetched = VaultProvider(parse_source(f"vault:{vault_env.kv1}/{path}")).fetch()

    assert dict(fetched.values) == CREDS
    assert fetched.version is None


@pytest.mark.parametrize(("kv", "mount_attr"), [("2", "kv2"), ("1", "kv1")])
def test_kv_option_skips_engine_detection(
    vault_env: Backend, monkeypatch: pytest.MonkeyPatch, kv: str, mount_attr: str
) -> None:
    mount = getattr(vault_env, mount_attr)
    path = vault_env.fresh()
    vault_env.put(mount, path, CREDS)
    logical = f"{mount}/data/{path}" if kv == "2" else f"{mount}/{path}"
    use_token(monkeypatch, vault_env, logical)

    fetched = VaultProvider(parse_source(f"vault:{mount}/{path}?kv={kv}")).fetch()

    assert dict(fetched.values) == CREDS
    if isinstance(vault_env, FakeBackend):
        assert vault_env.vault.calls("sys/internal/ui/mounts") == []


def test_pinned_version_reads_that_version(
    vault_env: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = vault_env.fresh()
    vault_env.put(vault_env.kv2, path, {"password": "first"})
    vault_env.put(vault_env.kv2, path, {"password": "second"})
    use_token(monkeypatch, vault_env, f"{vault_env.kv2}/data/{path}")

    fetched = VaultProvider(parse_source(f"vault:{vault_env.kv2}/{path}?version=1")).fetch()

    assert dict(fetched.values) == {"password": "first"}
    assert fetched.version == "1"


@pytest.mark.parametrize(
    ("action", "pin", "expected"),
    [
        ("delete", True, "was deleted at"),
        ("destroy", True, "was destroyed"),
        ("delete", False, "was deleted at"),
        ("destroy", False, "was destroyed"),
    ],
)
def test_deleted_or_destroyed_version_is_a_clear_error(
    vault_env: Backend, monkeypatch: pytest.MonkeyPatch, action: str, pin: bool, expected: str
) -> None:
    path = vault_env.fresh()
    version = vault_env.put(vault_env.kv2, path, CREDS)
    assert version is not None
    getattr(vault_env, f"{action}_version")(vault_env.kv2, path, version)
    use_token(monkeypatch, vault_env, f"{vault_env.kv2}/data/{path}")
    uri = f"vault:{vault_env.kv2}/{path}" + (f"?version={version}" if pin else "")

    with pytest.raises(SourceNotFoundError) as caught:
        fetch(uri)

    message = str(caught.value)
    assert expected in message
    assert f"version {version} of {vault_env.kv2}/data/{path}" in message
    assert caught.value.source == parse_source(uri).uri


@pytest.mark.parametrize(
    ("suffix", "expected"),
    [("", "no secret at"), ("?version=7", "(version 7)")],
)
def test_missing_secret_or_version_is_not_found(
    vault_env: Backend, monkeypatch: pytest.MonkeyPatch, suffix: str, expected: str
) -> None:
    path = vault_env.fresh()
    if suffix:
        vault_env.put(vault_env.kv2, path, CREDS)
    use_token(monkeypatch, vault_env, f"{vault_env.kv2}/data/{path}")

    with pytest.raises(SourceNotFoundError) as caught:
        fetch(f"vault:{vault_env.kv2}/{path}{suffix}")

    assert expected in str(caught.value)
    assert f"{vault_env.kv2}/data/{path}" in str(caught.value)


def test_permission_denied_names_path_address_and_auth_method(
    vault_env: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = vault_env.fresh()
    vault_env.put(vault_env.kv2, path, CREDS)
    use_token(monkeypatch, vault_env, f"{vault_env.kv2}/data/some-other-path")

    with pytest.raises(SourceAccessDeniedError) as caught:
        fetch(f"vault:{vault_env.kv2}/{path}")

    message = str(caught.value)
    assert f"reading {vault_env.kv2}/data/{path}" in message
    assert "permission denied" in message
    assert f"Vault at {vault_env.addr}" in message
    assert "auth=token" in message


def test_unknown_mount_is_denied_by_the_preflight(
    vault_env: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_token(monkeypatch, vault_env, f"{vault_env.kv2}/data/x")

    with pytest.raises(SourceAccessDeniedError) as caught:
        fetch("vault:no-such-mount-here/bandwidth")

    assert "no such mount" in str(caught.value)
    assert "sys/internal/ui/mounts" in str(caught.value)


def test_nested_and_numeric_values_pass_through(
    vault_env: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = vault_env.fresh()
    data = {"accountId": 920012, "voice": {"username": "v", "password": "vp"}}
    vault_env.put(vault_env.kv2, path, data)
    use_token(monkeypatch, vault_env, f"{vault_env.kv2}/data/{path}")

    fetched = VaultProvider(parse_source(f"vault:{vault_env.kv2}/{path}")).fetch()

    assert dict(fetched.values) == data


def test_get_auth_reports_the_uri_and_kv_version_as_provenance(
    vault_env: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = vault_env.fresh()
    vault_env.put(vault_env.kv2, path, {"password": "old"})
    vault_env.put(vault_env.kv2, path, CREDS)
    use_token(monkeypatch, vault_env, f"{vault_env.kv2}/data/{path}")
    uri = f"vault:{vault_env.kv2}/{path}"

    voice = Resolver([uri]).get_auth("voice")

    assert voice.account_id == "920012"
    assert voice.provenance["password"].source == uri
    assert voice.provenance["password"].version == "2"


# -- test-server only: layouts a shared real Vault should not be asked to create ------


def test_mount_with_several_segments_is_found_by_the_preflight(
    fake_env: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_env.enable_kv("team/kv", 2)
    fake_env.put("team/kv", "bandwidth/prod", CREDS)
    monkeypatch.setenv("VAULT_TOKEN", fake_env.issue_token(["team/kv/data/bandwidth/prod"]))

    fetched = fetch("vault:team/kv/bandwidth/prod")

    assert dict(fetched.values) == CREDS
    assert [c.path for c in fake_env.calls("team/")] == ["team/kv/data/bandwidth/prod"]


def test_vault_without_the_preflight_endpoint_is_read_as_kv1(
    fake_env: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_env.put("kv1", "bandwidth", CREDS)
    fake_env.fail("sys/internal/ui/mounts/", 404, [])
    monkeypatch.setenv("VAULT_TOKEN", fake_env.root_token)

    fetched = fetch("vault:kv1/bandwidth")

    assert dict(fetched.values) == CREDS
    assert [c.path for c in fake_env.calls("kv1/")] == ["kv1/bandwidth"]


def test_non_kv_engine_is_a_format_error(
    fake_env: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_env.enable_engine("pki", "pki")
    monkeypatch.setenv("VAULT_TOKEN", fake_env.root_token)

    with pytest.raises(SourceFormatError) as caught:
        fetch("vault:pki/issue/web")

    assert "pki secrets engine, not a KV one" in str(caught.value)


def test_version_on_a_kv1_mount_is_a_format_error(
    fake_env: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_env.put("kv1", "bandwidth", CREDS)
    monkeypatch.setenv("VAULT_TOKEN", fake_env.root_token)

    with pytest.raises(SourceFormatError) as caught:
        fetch("vault:kv1/bandwidth?version=2")

    assert "KV version 1" in str(caught.value)
    assert fake_env.calls("kv1/") == []


def test_secret_path_naming_only_the_mount_is_a_format_error(
    fake_env: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_env.enable_kv("team/kv", 2)
    monkeypatch.setenv("VAULT_TOKEN", fake_env.root_token)

    with pytest.raises(SourceFormatError) as caught:
        fetch("vault:team/kv")

    assert "names the mount team/kv/" in str(caught.value)


# -- configuration ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("vault:secret", "expected vault:MOUNT/PATH"),
        ("vault:", "expected vault:MOUNT/PATH"),
        ("vault:secret/bw?kv=3", "'kv' must be 1 or 2"),
        ("vault:secret/bw?version=0", "'version' must be a KV version number"),
        ("vault:secret/bw?version=latest", "'version' must be a KV version number"),
        ("vault:secret/bw?kv=1&version=2", "needs a KV version 2 engine"),
        ("vault:secret/bw?auth=ldap", "'auth' must be one of"),
        ("vault:secret/bw?auth=kubernetes", "auth=kubernetes needs ?role=NAME"),
        (
            "vault:secret/bw?role=app",
            "option 'role' does not apply to auth=token (it reads VAULT_TOKEN or "
            "~/.vault-token); it is for auth=kubernetes, jwt, aws",
        ),
        (
            "vault:secret/bw?mount=x",
            "option 'mount' does not apply to auth=token (it reads VAULT_TOKEN or "
            "~/.vault-token); it is for auth=approle, kubernetes, jwt, aws",
        ),
        (
            "vault:secret/bw?auth=approle&role=x",
            "option 'role' does not apply to auth=approle (it reads VAULT_ROLE_ID and "
            "VAULT_SECRET_ID); it is for auth=kubernetes, jwt, aws",
        ),
        (
            "vault:secret/bw?auth=kubernetes&region=eu-west-1",
            "option 'region' does not apply to auth=kubernetes; it is for auth=aws",
        ),
        ("vault:secret/bw?auth=approle&mount=/", "'mount' must name the auth method's mount"),
        ("vault:secret/bw?timeout=0", "'timeout' must be greater than 0"),
        ("vault:secret/bw?timeout=soon", "'timeout' must be a number"),
        ("vault:secret/bw?regoin=eu-west-1", "unknown option(s) regoin"),
    ],
)
def test_bad_uri_is_a_configuration_error_before_any_request(uri: str, expected: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        VaultProvider(parse_source(uri))

    assert expected in str(caught.value)
    assert caught.value.source == parse_source(uri).uri


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("VAULT_ADDR", "", "VAULT_ADDR is not set"),
        ("VAULT_ADDR", "vault.internal:8200", "must be an http:// or https:// URL"),
        ("VAULT_ADDR", "ftp://vault.internal", "must be an http:// or https:// URL"),
    ],
)
def test_bad_vault_addr_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    monkeypatch.setenv("VAULT_TOKEN", "t")

    with pytest.raises(ConfigurationError) as caught:
        fetch("vault:secret/bw")

    assert expected in str(caught.value)
