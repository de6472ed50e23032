"""Writing an ``azure-kv:`` secret (``bwcreds rotate``'s store step) against a Key Vault
whose Set Secret answer misbehaves: the write ends within one fetch's worst case with a
typed error naming the store, and nothing written or answered is echoed."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from azure_kv_testserver import KeyVaultServer

from bandwidth_credentials import CredentialsError, SourceError, parse_source
from bandwidth_credentials.testing import check_no_leaks
from bandwidth_credentials_azure.key_vault import KeyVaultProvider

NEW = "canary-azure-new-secret-9Qx"
ECHO = "canary-azure-echo-4Lm"
TIMEOUT = 2.0

Reply = tuple[int, object, dict[str, str]]


def _hostile_set_secret(
    server: KeyVaultServer, monkeypatch: pytest.MonkeyPatch, reply: Reply
) -> None:
    """Answer every authenticated Set Secret (PUT) with ``reply``; reads stay normal."""
    original = server.answer

    def answer(
        host: str, target: str, auth: str | None, method: str = "GET", body: bytes = b""
    ) -> Reply:
        if method == "PUT" and server.tokens.get((auth or "")[len("Bearer ") :]):
            return reply
        return original(host, target, auth, method, body)

    monkeypatch.setattr(server, "answer", answer)


REPLIES: dict[str, Reply] = {
    "429 Retry-After 3600": (
        429,
        {"error": {"code": "Throttled", "message": ECHO}},
        {"Retry-After": "3600"},
    ),
    "302 to another origin": (302, b"", {"Location": f"https://127.0.0.2:1/secrets/x?{ECHO}"}),
    "3 MiB answer": (200, b" " * (3 << 20), {}),
    "500 echoing the value": (500, {"error": {"code": "Internal", "message": NEW + ECHO}}, {}),
    "200 not JSON": (200, b"<html>" + ECHO.encode(), {}),
}
NO_VERSION: Reply = (200, {"value": NEW, "attributes": {"enabled": True}}, {})


def _write(
    key_vault: KeyVaultServer,
    new_vault: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
    reply: Reply,
) -> tuple[Any, float]:
    vault = new_vault()
    name = f"bandwidth-{uuid.uuid4().hex[:8]}"
    key_vault.put(vault, name, {"BW_CLIENT_ID": "CLI-1", "BW_CLIENT_SECRET": "old"})
    provider = KeyVaultProvider(parse_source(f"azure-kv:{vault}/{name}?timeout={TIMEOUT:g}"))
    version = provider.fetch().version
    _hostile_set_secret(key_vault, monkeypatch, reply)
    values = {"BW_CLIENT_ID": "CLI-1", "BW_CLIENT_SECRET": "old", "BW_CLIENT_SECRET_PENDING": NEW}

    started = time.monotonic()
    outcome: Any
    try:
        outcome = check_no_leaks(lambda: provider.store(values, version), (NEW, ECHO))
    except CredentialsError as exc:
        outcome = exc
    return outcome, time.monotonic() - started


@pytest.mark.parametrize("case", sorted(REPLIES))
def test_a_misbehaving_set_secret_is_a_bounded_typed_error(
    case: str,
    key_vault: KeyVaultServer,
    new_vault: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outcome, elapsed = _write(key_vault, new_vault, monkeypatch, REPLIES[case])

    assert isinstance(outcome, SourceError), outcome
    assert "azure-kv:" in str(outcome)
    assert elapsed < 3 * TIMEOUT + 2 + 2.0  # the documented worst case, with slack


def test_a_set_secret_answer_without_a_version_is_an_error(
    key_vault: KeyVaultServer, new_vault: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome, _ = _write(key_vault, new_vault, monkeypatch, NO_VERSION)

    assert isinstance(outcome, SourceError), outcome
    assert "azure-kv:" in str(outcome)
    assert "without a version" in str(outcome)
