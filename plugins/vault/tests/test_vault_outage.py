"""End to end through the resolver: Vault stops answering, then comes back.

The resolver serves the last good credentials while Vault is sealed (within
``max_stale``), then picks up the new secret once Vault answers again. Time is a fake
clock and background refreshes run when the test says, so nothing here is timed.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from vault_testserver import FakeVault

from bandwidth_credentials import Resolver, SourceUnavailableError
from bandwidth_credentials.testing import FakeClock

CREDS = {"accountId": "920012", "username": "jdoe", "password": "before-outage"}
URI = "vault:secret/bandwidth/prod?ttl=60&max_stale=600"


def test_sealed_vault_serves_stale_within_bound_then_recovers(
    fake_env: FakeVault, monkeypatch: pytest.MonkeyPatch, no_backoff: list[float]
) -> None:
    fake_env.put("secret", "bandwidth/prod", CREDS)
    monkeypatch.setenv("VAULT_TOKEN", fake_env.issue_token(["secret/data/bandwidth/prod"]))
    clock = FakeClock(0.0)
    pending: list[Callable[[], None]] = []
    resolver = Resolver([URI], clock=clock, spawn=pending.append)

    def call() -> str:
        auth = resolver.get_auth("voice")
        while pending:
            pending.pop()()
        assert auth.password is not None
        return auth.password.get_secret_value()

    first = call()
    fake_env.sealed = True
    clock.now = 60.0 * 1.1 + 1.0  # past the TTL whatever its ±10% jitter
    during = [call(), call()]
    clock.now = 300.0
    later = call()
    fake_env.sealed = False
    fake_env.put("secret", "bandwidth/prod", {**CREDS, "password": "after-outage"})
    clock.now = 600.0  # past every backoff, within max_stale: refreshed in the background
    call()
    recovered = call()

    assert first == "before-outage"
    assert during == ["before-outage", "before-outage"]
    assert later == "before-outage"
    assert recovered == "after-outage"
    assert resolver.get_auth("voice").provenance["password"].version == "2"


def sealed_after_first_fetch(
    vault: FakeVault, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> Resolver:
    """A resolver that read the secret at 0 s; Vault then sealed and the refresh at 61 s
    failed (stale credentials were served). Background refreshes run inline."""
    vault.put("secret", "bandwidth/prod", CREDS)
    monkeypatch.setenv("VAULT_TOKEN", vault.issue_token(["secret/data/bandwidth/prod"]))
    resolver = Resolver([URI], clock=clock, spawn=lambda work: work())
    resolver.get_auth("voice")
    vault.sealed = True
    clock.now = 60.0 * 1.1 + 1.0  # past the TTL whatever its ±10% jitter
    resolver.get_auth("voice")
    return resolver


def test_sealed_vault_past_max_stale_raises_the_refresh_error(
    fake_env: FakeVault, monkeypatch: pytest.MonkeyPatch, no_backoff: list[float]
) -> None:
    clock = FakeClock(0.0)
    resolver = sealed_after_first_fetch(fake_env, monkeypatch, clock)

    clock.now = 60.0 * 1.1 + 600.0  # past the bound whatever the TTL jitter (±10%)
    with pytest.raises(SourceUnavailableError) as caught:
        resolver.get_auth("voice")

    assert "sealed" in str(caught.value)
    assert caught.value.source == URI


def test_past_max_stale_a_recovered_vault_is_read_again_at_once(
    fake_env: FakeVault, monkeypatch: pytest.MonkeyPatch, no_backoff: list[float]
) -> None:
    clock = FakeClock(0.0)
    resolver = sealed_after_first_fetch(fake_env, monkeypatch, clock)
    fake_env.sealed = False
    fake_env.put("secret", "bandwidth/prod", {**CREDS, "password": "after-outage"})

    clock.now = 5000.0  # far past max_stale, with the store back
    auth = resolver.get_auth("voice")

    assert auth.password is not None
    assert auth.password.get_secret_value() == "after-outage"
