"""``azure-kv``: the real SecretClient and DefaultAzureCredential over HTTPS to loopback."""

from __future__ import annotations

import json

import pytest
from azure_connect_proxy import ConnectProxy
from azure_identity_endpoint import API_VERSION, IdentityEndpoint
from azure_kv_testserver import RESOURCE, SUFFIX, KeyVaultServer

from bandwidth_credentials import parse_source
from bandwidth_credentials.testing import CANARY_PASSWORD
from bandwidth_credentials_azure.key_vault import KeyVaultProvider

VOICE = {"accountId": "920012", "username": "jdoe", "password": CANARY_PASSWORD}


def provider(uri: str) -> KeyVaultProvider:
    return KeyVaultProvider(parse_source(uri))


def test_reads_a_json_secret_through_the_challenge_flow(
    key_vault: KeyVaultServer, vault: str, identity: IdentityEndpoint, proxy: ConnectProxy
) -> None:
    version = key_vault.put(vault, "bandwidth", VOICE)
    seen = len(key_vault.requests)

    fetched = provider(f"azure-kv:https://{vault}{SUFFIX}/secrets/bandwidth").fetch()

    assert dict(fetched.values) == VOICE
    assert fetched.version == version
    first, second = key_vault.requests[seen:]
    assert first.token is None
    assert second.token in identity.issued
    assert identity.issued[second.token] == RESOURCE
    assert identity.requests[-1].query["api-version"] == [API_VERSION]
    assert f"{vault}{SUFFIX}:443" in proxy.connects
