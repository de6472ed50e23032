"""How ``azure-kv`` reports what Key Vault and the identity endpoint answer when they refuse."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from azure_identity_endpoint import IdentityEndpoint
from azure_kv_testserver import SUFFIX, KeyVaultServer

from bandwidth_credentials import (
    ConfigurationError,
    CredentialsError,
    SourceAccessDeniedError,
    SourceAuthenticationError,
    SourceError,
    SourceNotFoundError,
    SourceUnavailableError,
    parse_source,
)
from bandwidth_credentials.testing import CANARY_PASSWORD
from bandwidth_credentials_azure.key_vault import MAX_ATTEMPTS, KeyVaultProvider

VOICE = {"accountId": "920012", "username": "jdoe", "password": "pw"}


@pytest.fixture
def fetch(vault: str) -> Iterator[Callable[[str], object]]:
    """Fetch ``azure-kv:{vault}/{rest}`` with a fresh provider, closed afterwards."""
    made: list[KeyVaultProvider] = []

    def run(rest: str) -> object:
        made.append(KeyVaultProvider(parse_source(f"azure-kv:{vault}/{rest}")))
        return made[-1].fetch()

    yield run
    for item in made:
        item.close()


def caught_by(fetch: Callable[[str], object], rest: str) -> CredentialsError:
    with pytest.raises(CredentialsError) as caught:
        fetch(rest)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
    return caught.value


def test_a_missing_secret_is_not_found_naming_vault_and_secret(
    fetch: Callable[[str], object], vault: str
) -> None:
    error = caught_by(fetch, "absent")

    assert isinstance(error, SourceNotFoundError)
    assert f"secret 'absent' in vault {vault}{SUFFIX}" in str(error)
    assert "HTTP 404, SecretNotFound" in str(error)
    assert error.source == f"azure-kv:{vault}/absent"


def test_a_missing_version_is_not_found_naming_the_version(
    fetch: Callable[[str], object], key_vault: KeyVaultServer, vault: str
) -> None:
    key_vault.put(vault, "bw", VOICE)

    error = caught_by(fetch, "bw/00000000000000000000000000000000")

    assert isinstance(error, SourceNotFoundError)
    assert "version 00000000000000000000000000000000" in str(error)


def test_a_disabled_version_says_it_is_disabled(
    fetch: Callable[[str], object], key_vault: KeyVaultServer, vault: str
) -> None:
    key_vault.put(vault, "bw", VOICE)
    key_vault.put(vault, "bw", VOICE, enabled=False)

    error = caught_by(fetch, "bw")

    assert isinstance(error, SourceNotFoundError)
    assert "is disabled" in str(error)
    assert "Forbidden/SecretDisabled" in str(error)


def test_a_caller_without_the_role_is_told_which_role_it_needs(
    fetch: Callable[[str], object], key_vault: KeyVaultServer, vault: str
) -> None:
    key_vault.put(vault, "bw", VOICE)
    key_vault.deny(vault, "bw")

    error = caught_by(fetch, "bw")

    assert isinstance(error, SourceAccessDeniedError)
    assert "'Key Vault Secrets User'" in str(error)
    assert "HTTP 403, Forbidden/ForbiddenByRbac" in str(error)


FORCED: list[tuple[str, int, object, type[SourceError] | type[ConfigurationError], str]] = [
    ("401 refused token", 401, {"error": {"code": "Unauthorized", "message": "AKV10022"}},
     SourceAuthenticationError, "HTTP 401, Unauthorized"),
    ("403 firewall", 403, {"error": {"code": "Forbidden", "message": "Client address",
                                     "innererror": {"code": "ForbiddenByFirewall"}}},
     SourceAccessDeniedError, "Forbidden/ForbiddenByFirewall"),
    ("400 bad parameter", 400, {"error": {"code": "BadParameter", "message": "x"}},
     ConfigurationError, "HTTP 400, BadParameter"),
    ("409 unknown code", 409, {"error": {"code": "Whatever", "message": CANARY_PASSWORD}},
     SourceError, "HTTP 409, (server text omitted)"),
    ("404 not json", 404, CANARY_PASSWORD.encode(),
     SourceNotFoundError, "HTTP 404, (server text omitted)"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "body", "kind", "said"),
    [case[1:] for case in FORCED],
    ids=[case[0] for case in FORCED],
)
def test_answers_map_to_typed_errors_showing_known_codes_only(
    fetch: Callable[[str], object],
    key_vault: KeyVaultServer,
    vault: str,
    status: int,
    body: object,
    kind: type[CredentialsError],
    said: str,
) -> None:
    key_vault.put(vault, "bw", VOICE)
    key_vault.force(status, body)

    error = caught_by(fetch, "bw")

    assert type(error) is kind
    assert said in str(error)
    assert CANARY_PASSWORD not in str(error)
    assert "AKV10022" not in str(error)


@pytest.mark.parametrize(
    ("status", "code"),
    [(429, "Throttled"), (500, "InternalServerError"), (503, "ServiceUnavailable")],
)
def test_throttling_and_server_errors_are_retried_then_unavailable(
    fetch: Callable[[str], object],
    key_vault: KeyVaultServer,
    vault: str,
    status: int,
    code: str,
) -> None:
    key_vault.put(vault, "bw", VOICE)
    key_vault.force(
        status, {"error": {"code": code, "message": "busy"}}, headers={"Retry-After": "0"}
    )
    seen = len(key_vault.requests)

    error = caught_by(fetch, "bw")

    assert isinstance(error, SourceUnavailableError)
    assert f"HTTP {status}, {code}" in str(error)
    authorized = [r for r in key_vault.requests[seen:] if r.token]
    assert len(authorized) == MAX_ATTEMPTS


def test_retry_after_is_handed_to_the_resolver_not_slept(
    fetch: Callable[[str], object], key_vault: KeyVaultServer, vault: str
) -> None:
    key_vault.put(vault, "bw", VOICE)
    key_vault.force(429, {"error": {"code": "Throttled", "message": "slow"}},
                    headers={"Retry-After": "20"}, times=1)  # fmt: skip
    seen = len(key_vault.requests)
    started = time.monotonic()

    error = caught_by(fetch, "bw")

    elapsed = time.monotonic() - started
    assert isinstance(error, SourceUnavailableError)
    assert error.retry_after == 20.0
    assert "HTTP 429, Throttled; it asked to wait 20 s" in str(error)
    assert len([r for r in key_vault.requests[seen:] if r.token]) == 1
    assert elapsed < 5  # the old client slept the 20 s (41 s with its retries)
    assert fetch("bw").values == VOICE  # type: ignore[attr-defined]


def test_a_vault_that_stops_answering_times_out_within_the_bound(
    fetch: Callable[[str], object], key_vault: KeyVaultServer, vault: str
) -> None:
    key_vault.put(vault, "bw", VOICE)
    key_vault.hang.set()
    started = time.monotonic()

    error = caught_by(fetch, "bw?timeout=0.5")

    elapsed = time.monotonic() - started
    assert isinstance(error, SourceUnavailableError)
    assert f"timed out at Key Vault {vault}{SUFFIX}" in str(error)
    assert "no complete answer within 0.5 s" in str(error)
    assert elapsed < 3.5  # one request's deadline (a timeout is not retried), generously


def test_an_identity_endpoint_that_refuses_is_an_authentication_error(
    fetch: Callable[[str], object],
    key_vault: KeyVaultServer,
    vault: str,
    identity: IdentityEndpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key_vault.put(vault, "bw", VOICE)
    monkeypatch.setenv("IDENTITY_HEADER", "not-the-header")

    error = caught_by(fetch, "bw")

    assert isinstance(error, SourceAuthenticationError)
    assert "no Azure access token" in str(error)
    assert "IDENTITY_ENDPOINT" in str(error)
    assert identity.requests[-1].identity_header == "not-the-header"


def test_no_credential_anywhere_is_an_authentication_error(
    fetch: Callable[[str], object],
    key_vault: KeyVaultServer,
    vault: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key_vault.put(vault, "bw", VOICE)
    monkeypatch.delenv("IDENTITY_ENDPOINT")
    monkeypatch.delenv("IDENTITY_HEADER")
    # Developer credentials only (no managed identity, so no metadata-service probe);
    # HOME is empty and no az/azd/pwsh is logged in.
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "dev")

    error = caught_by(fetch, "bw")

    assert isinstance(error, SourceAuthenticationError)
    assert "az login" in str(error)


def test_a_token_endpoint_that_stops_answering_fails_within_the_bound(
    fetch: Callable[[str], object],
    key_vault: KeyVaultServer,
    vault: str,
    identity: IdentityEndpoint,
) -> None:
    key_vault.put(vault, "bw", VOICE)
    identity.hang.set()
    started = time.monotonic()

    error = caught_by(fetch, "bw?timeout=0.5")

    elapsed = time.monotonic() - started
    assert isinstance(error, SourceUnavailableError)
    assert "the access token request for secret 'bw'" in str(error)
    assert "timed out at the token endpoint 127.0.0.1:" in str(error)
    assert "no complete answer within 0.5 s" in str(error)
    assert elapsed < 3.5  # one token request's deadline (not retried), generously


def test_settings_azure_identity_rejects_are_a_configuration_error(
    fetch: Callable[[str], object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "no-such-credential")

    error = caught_by(fetch, "bw")

    assert isinstance(error, ConfigurationError)
    assert "AZURE_TOKEN_CREDENTIALS" in str(error)
