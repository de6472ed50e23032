"""End to end through the resolver: Key Vault answers 503 for a while, then recovers.

The resolver serves the last good credentials within ``max_stale`` and picks up the new
version once the vault answers again. Time is a fake clock; background refreshes run
when the test says.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from azure_kv_testserver import KeyVaultServer

from bandwidth_credentials import Resolver, SourceUnavailableError
from bandwidth_credentials.testing import FakeClock

CREDS = {"accountId": "920012", "username": "jdoe", "password": "before-outage"}
DOWN = {"error": {"code": "ServiceUnavailable", "message": "down"}}


def resolver_at(uri: str, clock: FakeClock) -> tuple[Resolver, Callable[[], str]]:
    pending: list[Callable[[], None]] = []
    resolver = Resolver([uri], clock=clock, spawn=pending.append)

    def call() -> str:
        auth = resolver.get_auth("voice")
        while pending:
            pending.pop()()
        assert auth.password is not None
        return auth.password.get_secret_value()

    return resolver, call


def test_vault_down_serves_stale_within_bound_then_recovers(
    key_vault: KeyVaultServer, vault: str
) -> None:
    key_vault.put(vault, "bw", CREDS)
    clock = FakeClock(0.0)
    resolver, call = resolver_at(f"azure-kv:{vault}/bw?ttl=60&max_stale=600", clock)

    first = call()
    key_vault.force(503, DOWN, headers={"Retry-After": "0"})
    clock.now = 61.0
    during = call()
    key_vault.forced.clear()
    key_vault.put(vault, "bw", {**CREDS, "password": "after"})
    clock.now = 300.0  # past the back-off, within max_stale: refreshed in the background
    call()
    recovered = call()
    resolver.close()

    assert (first, during, recovered) == ("before-outage", "before-outage", "after")


def test_vault_down_past_max_stale_raises_unavailable(
    key_vault: KeyVaultServer, vault: str
) -> None:
    key_vault.put(vault, "bw", CREDS)
    clock = FakeClock(0.0)
    resolver, call = resolver_at(f"azure-kv:{vault}/bw?ttl=60&max_stale=120", clock)
    call()
    key_vault.force(503, DOWN, headers={"Retry-After": "0"})
    clock.now = 61.0
    call()
    clock.now = 200.0

    with pytest.raises(SourceUnavailableError) as caught:
        call()

    assert f"azure-kv:{vault}/bw" in str(caught.value)
    resolver.close()
