"""``azure-kv``: the real SecretClient and DefaultAzureCredential over HTTPS to loopback.

The vault is reached under its real-looking hostname through the CONNECT proxy, so the
SDK's challenge flow and its challenge-resource check run exactly as in production.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from azure_identity_endpoint import API_VERSION, IdentityEndpoint
from azure_kv_testserver import RESOURCE, SUFFIX, KeyVaultServer

from bandwidth_credentials import (
    ConfigurationError,
    Resolver,
    SourceAuthenticationError,
    SourceFormatError,
    SourceUnavailableError,
    parse_source,
)
from bandwidth_credentials.testing import CANARY_PASSWORD, ConnectProxy
from bandwidth_credentials_azure.key_vault import KeyVaultProvider

PUBLIC = "https://myvault.vault.azure.net"
VOICE = {"accountId": "920012", "username": "jdoe", "password": CANARY_PASSWORD}


@pytest.fixture
def provider() -> Iterator[Callable[[str], KeyVaultProvider]]:
    """Build providers for URIs; every one is closed after the test."""
    made: list[KeyVaultProvider] = []

    def build(uri: str) -> KeyVaultProvider:
        made.append(KeyVaultProvider(parse_source(uri)))
        return made[-1]

    yield build
    for item in made:
        item.close()


# -- reading ----------------------------------------------------------------------------


def test_reads_a_json_secret_through_the_challenge_flow(
    provider: Callable[[str], KeyVaultProvider],
    key_vault: KeyVaultServer,
    vault: str,
    identity: IdentityEndpoint,
    proxy: ConnectProxy,
) -> None:
    version = key_vault.put(vault, "bandwidth", VOICE)
    seen = len(key_vault.requests)

    fetched = provider(f"azure-kv:https://{vault}{SUFFIX}/secrets/bandwidth").fetch()

    assert dict(fetched.values) == VOICE
    assert fetched.version == version
    challenged, authorized = key_vault.requests[seen:]
    assert challenged.token is None
    assert authorized.token is not None
    assert identity.issued[authorized.token] == RESOURCE
    assert identity.requests[-1].query["resource"] == [RESOURCE]
    assert identity.requests[-1].query["api-version"] == [API_VERSION]
    assert authorized.query["api-version"]
    assert f"{vault}{SUFFIX}:443" in proxy.connects


def test_later_fetches_reuse_the_challenge_and_the_token(
    provider: Callable[[str], KeyVaultProvider],
    key_vault: KeyVaultServer,
    vault: str,
    identity: IdentityEndpoint,
) -> None:
    key_vault.put(vault, "bw", VOICE)
    kv = provider(f"azure-kv:{vault}/bw")
    kv.fetch()
    seen, asked = len(key_vault.requests), len(identity.requests)

    kv.fetch()

    [again] = key_vault.requests[seen:]
    assert again.token is not None
    assert len(identity.requests) == asked


def test_short_form_names_a_public_cloud_vault(
    provider: Callable[[str], KeyVaultProvider], key_vault: KeyVaultServer, vault: str
) -> None:
    key_vault.put(vault, "bandwidth", VOICE)

    fetched = provider(f"azure-kv:{vault}/bandwidth").fetch()

    assert dict(fetched.values) == VOICE


def test_a_version_selects_it_and_no_version_reads_the_latest(
    provider: Callable[[str], KeyVaultProvider], key_vault: KeyVaultServer, vault: str
) -> None:
    first = key_vault.put(vault, "bw", VOICE | {"username": "first"})
    latest = key_vault.put(vault, "bw", VOICE | {"username": "latest"})

    pinned = provider(f"azure-kv:{vault}/bw/{first}").fetch()
    current = provider(f"azure-kv:https://{vault}{SUFFIX}/secrets/bw/").fetch()

    assert (pinned.values["username"], pinned.version) == ("first", first)
    assert (current.values["username"], current.version) == ("latest", latest)


def test_field_maps_a_plain_string_secret_onto_one_key(
    provider: Callable[[str], KeyVaultProvider], key_vault: KeyVaultServer, vault: str
) -> None:
    key_vault.put(vault, "bw-password", CANARY_PASSWORD)

    fetched = provider(f"azure-kv:{vault}/bw-password?field=BW_PASSWORD").fetch()

    assert dict(fetched.values) == {"BW_PASSWORD": CANARY_PASSWORD}


@pytest.mark.parametrize(
    "stored",
    [CANARY_PASSWORD, json.dumps([CANARY_PASSWORD]), json.dumps(CANARY_PASSWORD), "{broken"],
    ids=["plain string", "json array", "json string", "broken json"],
)
def test_a_value_that_is_not_a_json_object_says_what_was_expected(
    provider: Callable[[str], KeyVaultProvider],
    key_vault: KeyVaultServer,
    vault: str,
    stored: str,
) -> None:
    key_vault.put(vault, "bw", stored)

    with pytest.raises(SourceFormatError) as caught:
        provider(f"azure-kv:{vault}/bw").fetch()

    message = str(caught.value)
    assert "JSON object" in message
    assert "?field=NAME" in message
    assert '"clientId": "...", "clientSecret": "..."' in message  # the current scheme's shape
    assert '"username"' not in message  # never the decommissioned API user's
    assert f"'bw' in vault {vault}{SUFFIX}" in message
    assert CANARY_PASSWORD not in message
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


def test_nested_per_service_objects_pass_through_to_the_normalizer(
    key_vault: KeyVaultServer, vault: str
) -> None:
    key_vault.put(
        vault,
        "bw",
        {
            "accountId": "920012",
            "voice": {"username": "voice-user", "password": CANARY_PASSWORD},
            "messaging": {"username": "msg-user", "password": "msg-pw"},
        },
    )
    resolver = Resolver([f"azure-kv:{vault}/bw"])

    voice = resolver.get_auth("voice")
    messaging = resolver.get_auth("messaging")

    assert voice.username == "voice-user"
    assert messaging.username == "msg-user"
    resolver.close()


def test_a_new_version_reaches_a_resolver_through_reload(
    key_vault: KeyVaultServer, vault: str
) -> None:
    before = key_vault.put(vault, "bw", VOICE | {"username": "before"})
    resolver = Resolver([f"azure-kv:{vault}/bw"])
    first = resolver.get_auth("voice")
    after = key_vault.put(vault, "bw", VOICE | {"username": "after"})

    cached = resolver.get_auth("voice")
    resolver.reload()
    reloaded = resolver.get_auth("voice")

    assert first.provenance["username"].version == before
    assert cached.username == "before"
    assert reloaded.username == "after"
    assert reloaded.provenance["username"].version == after
    resolver.close()


def test_remote_store_values_expire_after_the_default_ttl() -> None:
    assert KeyVaultProvider.default_ttl == 300


# -- where requests and tokens go ------------------------------------------------------------


def test_a_challenge_for_another_resource_gets_no_token(
    provider: Callable[[str], KeyVaultProvider],
    key_vault: KeyVaultServer,
    vault: str,
    identity: IdentityEndpoint,
) -> None:
    key_vault.put(vault, "bw", VOICE)
    key_vault.challenge_resource[vault] = "https://attacker.example"
    asked = len(identity.requests)
    seen = len(key_vault.requests)

    with pytest.raises(SourceAuthenticationError) as caught:
        provider(f"azure-kv:{vault}/bw").fetch()

    assert "does not match" in str(caught.value)
    assert len(identity.requests) == asked
    assert [r.token for r in key_vault.requests[seen:]] == [None]


def test_a_host_the_proxy_does_not_serve_is_unavailable(
    provider: Callable[[str], KeyVaultProvider], proxy: ConnectProxy
) -> None:
    with pytest.raises(SourceUnavailableError) as caught:
        provider("azure-kv:https://elsewhere.example.com/secrets/bw?timeout=2").fetch()

    assert "could not reach Key Vault elsewhere.example.com" in str(caught.value)
    assert "elsewhere.example.com:443" in proxy.refused


def test_the_ca_bundle_variable_is_what_makes_the_vault_trusted(
    provider: Callable[[str], KeyVaultProvider],
    key_vault: KeyVaultServer,
    vault: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    key_vault.put(vault, "bw", VOICE)
    other = tmp_path / "other-ca.pem"
    import trustme

    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))

    with pytest.raises(SourceUnavailableError) as caught:
        provider(f"azure-kv:{vault}/bw").fetch()

    assert f"{vault}{SUFFIX}" in str(caught.value)


# -- source URIs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "vault_url", "name", "version"),
    [
        ("myvault/bw", PUBLIC, "bw", None),
        ("MyVault/bw/0a1b2c", PUBLIC, "bw", "0a1b2c"),
        ("https://myvault.vault.azure.net/secrets/bw", PUBLIC, "bw", None),
        ("https://MYVAULT.vault.azure.net/secrets/bw/", PUBLIC, "bw", None),
        ("https://kv.vault.azure.cn/secrets/bw/ab12", "https://kv.vault.azure.cn", "bw", "ab12"),
        (
            "https://kv.vault.azure.net:8443/secrets/b-w",
            "https://kv.vault.azure.net:8443",
            "b-w",
            None,
        ),
    ],
)
def test_source_uris_name_vault_secret_and_version(
    target: str, vault_url: str, name: str, version: str | None
) -> None:
    ref = KeyVaultProvider(parse_source(f"azure-kv:{target}")).ref

    assert (ref.vault_url, ref.name, ref.version) == (vault_url, name, version)


@pytest.mark.parametrize(
    "uri",
    [
        "azure-kv:",
        "azure-kv:myvault",
        "azure-kv:my--vault/bw",
        "azure-kv:v/bw",
        "azure-kv:myvault/bw/v1/extra",
        "azure-kv:myvault/b_w",
        "azure-kv:http://myvault.vault.azure.net/secrets/bw",
        "azure-kv:https://user:pw@myvault.vault.azure.net/secrets/bw",
        "azure-kv:https://myvault.vault.azure.net/keys/bw",
        "azure-kv:https://myvault.vault.azure.net/secrets/bw/v-1",
        "azure-kv:https://myvault.vault.azure.net:port/secrets/bw",
        "azure-kv:myvault/bw?field=",
        "azure-kv:myvault/bw?timeout=0",
        "azure-kv:myvault/bw?timeout=soon",
    ],
)
def test_bad_uris_and_options_are_configuration_errors(uri: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        KeyVaultProvider(parse_source(uri))

    assert caught.value.source == parse_source(uri).uri  # shown without option values
