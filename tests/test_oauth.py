"""OAuth 2.0 client credentials against a local token endpoint, and the client integrations."""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
import traceback
import warnings
from pathlib import Path

import pytest

from bandwidth_credentials import InvalidCredentialsError, Resolver, TokenError, _oauth
from bandwidth_credentials import _factory as factory_module
from bandwidth_credentials.testing import FakeClock

from .oauth_servers import CLIENT_ID as CLIENT
from .oauth_servers import CLIENT_SECRET as SECRET
from .oauth_servers import TokenServer, serve


def oauth_env(monkeypatch: pytest.MonkeyPatch, token_server: TokenServer, **extra: str) -> None:
    values = {
        "BW_ACCOUNT_ID": "920012",
        "BW_CLIENT_ID": CLIENT,
        "BW_CLIENT_SECRET": SECRET,
        "BW_TOKEN_URL": token_server.url,
        **extra,
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)


def test_client_credentials_give_a_bearer_token_fetched_once(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth_env(monkeypatch, token_server)
    voice = Resolver(["env"]).get_auth("voice")

    first = voice.headers()
    second = voice.headers()

    assert voice.scheme == "bearer"
    assert voice.kind == "oauth"
    assert first == {"Authorization": "Bearer token-1"}
    assert second == first
    assert token_server.requests == 1


def test_every_service_shares_one_token(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth_env(monkeypatch, token_server)
    resolver = Resolver(["env"])

    headers = [resolver.get_auth(s).headers() for s in ("voice", "messaging", "numbers", "mfa")]

    assert all(h == headers[0] for h in headers)
    assert token_server.requests == 1


def test_32_concurrent_cold_threads_cause_one_token_request(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth_env(monkeypatch, token_server)
    token_server.delay = 0.2
    resolver = Resolver(["env"])
    barrier = threading.Barrier(32)
    seen: list[dict[str, str]] = []

    def caller() -> None:
        barrier.wait()
        seen.append(resolver.get_auth("voice").headers())

    threads = [threading.Thread(target=caller) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(seen) == 32
    assert token_server.requests == 1
    assert all(h == {"Authorization": "Bearer token-1"} for h in seen)


def test_32_concurrent_cold_coroutines_cause_one_token_request(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth_env(monkeypatch, token_server)
    token_server.delay = 0.2
    resolver = Resolver(["env"])

    async def caller() -> dict[str, str]:
        auth = await resolver.aget_auth("voice")
        return await auth.aheaders()

    async def main() -> list[dict[str, str]]:
        return list(await asyncio.gather(*(caller() for _ in range(32))))

    seen = asyncio.run(main())

    assert token_server.requests == 1
    assert len(seen) == 32


@pytest.mark.parametrize(("mode", "status"), [("401", 401), ("400", 400)])
def test_refused_client_is_a_clear_error_without_the_secret(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer, mode: str, status: int
) -> None:
    oauth_env(monkeypatch, token_server)
    token_server.mode = mode
    voice = Resolver(["env"]).get_auth("voice")

    with pytest.raises(TokenError) as caught:
        voice.headers()

    error = caught.value
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    assert error.status == status
    assert error.client_id == CLIENT
    assert error.token_url == token_server.url
    assert CLIENT in str(error)
    assert token_server.url in str(error)
    assert SECRET not in text
    assert token_server.requests == 1  # a refusal is not retried


def test_server_errors_are_retried_a_bounded_number_of_times(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth_env(monkeypatch, token_server)
    token_server.mode = "500"
    voice = Resolver(["env"]).get_auth("voice")

    with pytest.raises(TokenError) as caught:
        voice.headers()

    assert "unavailable" in str(caught.value)
    assert caught.value.retryable
    assert token_server.requests == _oauth.ATTEMPTS


def test_timeout_is_bounded_and_reported(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth_env(monkeypatch, token_server)
    monkeypatch.setattr(_oauth, "TIMEOUT", 0.2)
    monkeypatch.setattr(_oauth, "ATTEMPTS", 1)
    token_server.delay = 1.0
    voice = Resolver(["env"]).get_auth("voice")

    with pytest.raises(TokenError) as caught:
        voice.headers()

    assert "timed out" in str(caught.value)


def test_unreachable_token_endpoint_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    server = TokenServer(CLIENT, SECRET)
    with serve(server) as url:
        closed = url  # the port is free once the server is gone
    monkeypatch.setattr(_oauth, "ATTEMPTS", 2)
    for key, value in {
        "BW_ACCOUNT_ID": "920012",
        "BW_CLIENT_ID": CLIENT,
        "BW_CLIENT_SECRET": SECRET,
        "BW_TOKEN_URL": closed + "/token",
    }.items():
        monkeypatch.setenv(key, value)

    with pytest.raises(TokenError) as caught:
        Resolver(["env"]).get_auth("voice").headers()

    assert "cannot connect" in str(caught.value)


def test_malformed_answer_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth_env(monkeypatch, token_server)
    token_server.mode = "malformed"

    with pytest.raises(TokenError) as caught:
        Resolver(["env"]).get_auth("voice").headers()

    assert "not JSON" in str(caught.value)


def no_jitter() -> float:
    return 0.5  # the middle of the jitter range: refresh exactly at the margin


@pytest.mark.parametrize(
    ("expires_in", "refresh_after"),
    [
        (3600, 3600 - 360),  # 10% of the lifetime (360 s) beats 60 s
        (300, 300 - 60),  # 60 s beats 10% (30 s)
        (60, 30),  # never more than half the lifetime
        ("7200", 7200 - 720),  # a numeric string is accepted
    ],
)
def test_tokens_are_refreshed_ahead_of_expiry(
    token_server: TokenServer, expires_in: object, refresh_after: float
) -> None:
    token_server.expires_in = expires_in
    clock = FakeClock(50.0)
    manager = _oauth.TokenManager(token_server.url, CLIENT, SECRET, clock=clock, rng=no_jitter)
    assert manager.token() == "token-1"

    clock.now += refresh_after - 0.001
    assert manager.token() == "token-1"
    clock.now += 0.001

    assert manager.token() == "token-2"
    assert token_server.requests == 2


def test_missing_expires_in_means_one_hour(token_server: TokenServer) -> None:
    token_server.mode = "no_expires"
    clock = FakeClock(50.0)
    manager = _oauth.TokenManager(token_server.url, CLIENT, SECRET, clock=clock, rng=no_jitter)
    manager.token()

    clock.now += 3600 - 360 - 1
    manager.token()
    clock.now += 1
    manager.token()

    assert token_server.requests == 2


def test_failed_early_refresh_keeps_the_still_valid_token(token_server: TokenServer) -> None:
    clock = FakeClock(50.0)
    manager = _oauth.TokenManager(token_server.url, CLIENT, SECRET, clock=clock)
    manager.token()
    token_server.mode = "500"
    clock.now += 3600 - 100  # inside the refresh margin, before expiry

    with warnings.catch_warnings():
        assert manager.token() == "token-1"
    clock.now += 200  # expired now
    with pytest.raises(TokenError):
        manager.token()


def test_invalidate_with_a_refused_token_coalesces(token_server: TokenServer) -> None:
    manager = _oauth.TokenManager(token_server.url, CLIENT, SECRET)
    refused = manager.token()

    for _ in range(10):
        manager.invalidate(refused)
        manager.token()

    assert token_server.requests == 2


def test_client_credentials_take_precedence_over_basic_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer, caplog: pytest.LogCaptureFixture
) -> None:
    oauth_env(monkeypatch, token_server, BW_USERNAME="jdoe", BW_PASSWORD="canary-pw")

    voice = Resolver(["env"]).get_auth("voice")

    assert voice.scheme == "bearer"
    messages = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "OAuth client credentials" in messages
    assert "API user credentials" in messages
    assert "canary-pw" not in messages
    assert SECRET not in messages


def test_static_access_token_is_a_bearer_without_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BW_ACCOUNT_ID", "920012")
    monkeypatch.setenv("BW_ACCESS_TOKEN", "static-token")

    voice = Resolver(["env"]).get_auth("voice")

    assert voice.kind == "access_token"
    assert voice.headers() == {"Authorization": "Bearer static-token"}
    assert "static-token" not in repr(voice)


def test_basic_emits_one_deprecation_warning_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(factory_module, "_basic_warned", False)
    for key, value in {"BW_ACCOUNT_ID": "1", "BW_USERNAME": "u", "BW_PASSWORD": "p"}.items():
        monkeypatch.setenv(key, value)

    with warnings.catch_warnings(record=True) as recorded:
        warnings.simplefilter("always")
        Resolver(["env"]).get_auth("voice")
        Resolver(["env"]).get_auth("numbers")

    deprecations = [w for w in recorded if issubclass(w.category, FutureWarning)]
    assert len(deprecations) == 1
    assert "OAuth 2.0 client credentials" in str(deprecations[0].message)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "https://api.bandwidth.com/api/v1/oauth2/token"),
        ({"BW_ENVIRONMENT": "test"}, "https://test.api.bandwidth.com/api/v1/oauth2/token"),
        ({"BW_ENVIRONMENT": "production"}, "https://api.bandwidth.com/api/v1/oauth2/token"),
        ({"BW_TOKEN_URL": "https://auth.example.test/token"}, "https://auth.example.test/token"),
    ],
)
def test_token_url_selection(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for key, value in {
        "BW_ACCOUNT_ID": "1",
        "BW_CLIENT_ID": "c",
        "BW_CLIENT_SECRET": "s",
        **env,
    }.items():
        monkeypatch.setenv(key, value)

    voice = Resolver(["env"]).get_auth("voice")

    assert voice._bearer is not None
    assert voice._bearer.token_url == expected  # type: ignore[attr-defined]


def test_plain_http_token_url_is_rejected_unless_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "BW_ACCOUNT_ID": "1",
        "BW_CLIENT_ID": "c",
        "BW_CLIENT_SECRET": SECRET,
        "BW_TOKEN_URL": "http://auth.example.test/token",
    }.items():
        monkeypatch.setenv(key, value)

    with pytest.raises(InvalidCredentialsError) as caught:
        Resolver(["env"]).get_auth("voice")

    assert caught.value.field == "token_url"
    assert "https" in str(caught.value)


@pytest.mark.parametrize(
    ("service", "base"),
    [
        ("mfa", "https://mfa.bandwidth.com/api/v1/accounts/920012"),
        ("phone-number-lookup", "https://api.bandwidth.com/v2/accounts/920012"),
        ("toll-free-verification", "https://api.bandwidth.com/api/v2/accounts/920012"),
    ],
)
def test_more_services_share_the_credentials(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer, service: str, base: str
) -> None:
    oauth_env(monkeypatch, token_server)

    auth = Resolver(["env"]).get_auth(service)

    assert auth.base_url == base
    assert auth.scheme == "bearer"


@pytest.mark.parametrize(("no_proxy", "works"), [("", False), ("127.0.0.1,localhost", True)])
def test_proxy_settings_are_honoured(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer, no_proxy: str, works: bool
) -> None:
    closed = TokenServer(CLIENT, SECRET)
    with serve(closed) as url:
        dead_proxy = url  # nothing listens there once the block ends
    monkeypatch.setattr(_oauth, "ATTEMPTS", 1)
    for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", dead_proxy)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    oauth_env(monkeypatch, token_server)
    voice = Resolver(["env"]).get_auth("voice")

    if works:
        assert voice.headers() == {"Authorization": "Bearer token-1"}
    else:
        with pytest.raises(TokenError, match="cannot connect"):
            voice.headers()
        assert token_server.requests == 0


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", None])
def test_https_token_endpoint_is_verified_against_the_configured_ca(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str | None
) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server = TokenServer(CLIENT, SECRET)
    monkeypatch.setattr(_oauth, "ATTEMPTS", 1)
    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    if variable:
        monkeypatch.setenv(variable, str(ca_file))

    with serve(server, tls=context) as url:
        server.url = url + "/api/v1/oauth2/token"
        oauth_env(monkeypatch, server)
        voice = Resolver(["env"]).get_auth("voice")
        if variable:
            headers = voice.headers()
        else:
            with pytest.raises(TokenError, match="TLS") as caught:
                voice.headers()

    if variable:
        assert headers == {"Authorization": "Bearer token-1"}
    else:
        assert SECRET not in str(caught.value)
        assert server.requests == 0
