"""Canary values must not appear in any error (the whole graph), log record at DEBUG (the
Azure SDK's own loggers included), warning or repr, whichever way a fetch goes.

Three canaries: the secret's value, the bearer token the identity endpoint issues, and
the ``IDENTITY_HEADER`` shared secret.
"""

from __future__ import annotations

import json
import logging
import traceback
import warnings
from collections.abc import Iterator

import pytest
from azure_identity_endpoint import IdentityEndpoint
from azure_kv_testserver import KeyVaultServer

from bandwidth_credentials import CredentialsError, Resolver, parse_source
from bandwidth_credentials.testing import CANARY_PASSWORD, CANARY_SECRET, exception_graph
from bandwidth_credentials_azure.key_vault import KeyVaultProvider

CANARY_TOKEN = "canary-token-1d6e02b9-DO-NOT-LEAK-"
CANARY_HEADER = "canary-identity-header-8c4f-DO-NOT-LEAK"
CANARIES = (CANARY_PASSWORD, CANARY_SECRET, CANARY_TOKEN, CANARY_HEADER)


def assert_clean(text: str) -> None:
    for canary in CANARIES:
        assert canary not in text


def graph(exc: BaseException) -> str:
    """The traceback and the repr of everything reachable from ``exc``."""
    parts = ["".join(traceback.format_exception(type(exc), exc, exc.__traceback__))]
    return "\n".join(parts + [repr(value) for _, value in exception_graph(exc)])


@pytest.fixture(autouse=True)
def canary_identity(identity: IdentityEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every token issued, and the identity header, carry a canary."""
    monkeypatch.setattr(identity, "token_prefix", CANARY_TOKEN)
    monkeypatch.setattr(identity, "header", CANARY_HEADER)
    monkeypatch.setenv("IDENTITY_HEADER", CANARY_HEADER)


@pytest.fixture
def everything() -> Iterator[list[str]]:
    """Every log record at DEBUG from every logger, and every warning, as text."""
    texts: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            texts.append(f"{record.name} {record.getMessage()} {record.args!r}")
            if record.exc_info and record.exc_info[1] is not None:
                texts.append(graph(record.exc_info[1]))

    root = logging.getLogger()
    handler, level = Keep(level=logging.DEBUG), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield texts
    root.removeHandler(handler)
    root.setLevel(level)
    texts.extend(str(w.message) for w in caught)
    assert any(t.startswith("azure.") for t in texts)  # the SDK did log at DEBUG
    for text in texts:
        assert_clean(text)


def test_a_successful_fetch_logs_no_value_and_no_token(
    key_vault: KeyVaultServer, vault: str, everything: list[str]
) -> None:
    key_vault.put(vault, "bw", {"username": "jdoe", "password": CANARY_PASSWORD})
    provider = KeyVaultProvider(parse_source(f"azure-kv:{vault}/bw"))

    fetched = provider.fetch()

    assert fetched.values["password"] == CANARY_PASSWORD
    assert any(r.token and r.token.startswith(CANARY_TOKEN) for r in key_vault.requests)
    assert any("Authorization" in t or "REDACTED" in t for t in everything)
    assert_clean(repr(fetched))
    assert_clean(repr(provider))
    provider.close()


STORED: list[tuple[str, object, str]] = [
    ("plain string", CANARY_PASSWORD, ""),
    ("json array", json.dumps([CANARY_PASSWORD, CANARY_SECRET]), ""),
    ("broken json", '{"password": "' + CANARY_PASSWORD, ""),
    ("bad account id", {"accountId": CANARY_SECRET, "username": "j", "password": "p"}, ""),
    ("half pair", {"accountId": "1", "password": CANARY_PASSWORD}, ""),
    ("missing version", {"password": CANARY_PASSWORD}, "/0123456789abcdef0123456789abcdef"),
]


@pytest.mark.parametrize(
    ("stored", "suffix"), [(s, x) for _, s, x in STORED], ids=[n for n, _, _ in STORED]
)
def test_failures_with_a_stored_secret_never_show_it(
    key_vault: KeyVaultServer, vault: str, everything: list[str], stored: object, suffix: str
) -> None:
    key_vault.put(vault, "bw", stored)
    resolver = Resolver([f"azure-kv:{vault}/bw{suffix}"])

    with pytest.raises(CredentialsError) as caught:
        resolver.get_auth("voice")

    assert_clean(graph(caught.value))
    assert_clean(repr(resolver))
    resolver.close()


ANSWERS: list[tuple[str, int, object]] = [
    ("403 quoting", 403, {"error": {"code": "Forbidden", "message": CANARY_PASSWORD,
                                    "innererror": {"code": CANARY_SECRET}}}),
    ("401 quoting", 401, {"error": {"code": "Unauthorized", "message": CANARY_TOKEN}}),
    ("404 unknown code", 404, {"error": {"code": CANARY_PASSWORD, "message": CANARY_SECRET}}),
    ("500 plain text", 500, (CANARY_SECRET * 3).encode()),
    ("200 not a bundle", 200, {"value": None, "id": CANARY_PASSWORD}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "body"), [(s, b) for _, s, b in ANSWERS], ids=[n for n, _, _ in ANSWERS]
)
def test_server_text_is_never_carried_along(
    key_vault: KeyVaultServer, vault: str, everything: list[str], status: int, body: object
) -> None:
    key_vault.put(vault, "bw", {"password": CANARY_PASSWORD})
    key_vault.force(status, body, headers={"Retry-After": "0"})
    provider = KeyVaultProvider(parse_source(f"azure-kv:{vault}/bw"))

    with pytest.raises(CredentialsError) as caught:
        provider.fetch()

    assert_clean(graph(caught.value))
    provider.close()


def test_a_refused_identity_header_is_never_shown(
    key_vault: KeyVaultServer,
    vault: str,
    identity: IdentityEndpoint,
    monkeypatch: pytest.MonkeyPatch,
    everything: list[str],
) -> None:
    key_vault.put(vault, "bw", {"password": CANARY_PASSWORD})
    monkeypatch.setattr(identity, "header", "the-one-it-expects")
    provider = KeyVaultProvider(parse_source(f"azure-kv:{vault}/bw"))

    with pytest.raises(CredentialsError) as caught:
        provider.fetch()

    assert identity.requests[-1].identity_header == CANARY_HEADER
    assert_clean(graph(caught.value))
    provider.close()
