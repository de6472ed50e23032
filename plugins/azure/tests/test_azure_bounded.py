"""Every wait bounded, every answer capped, no redirect followed: the real ``SecretClient``
and ``DefaultAzureCredential`` against misbehaving loopback servers
(``tests/misbehaving.py``).

Two tables: the vault (a misbehaving HTTPS server with a ``*.vault.azure.net``
certificate, reached through the test proxy, that answers the first request with Key
Vault's 401 challenge and misbehaves once a token is sent) and the managed-identity token
endpoint. Each row must end within the provider's documented worst case
(``3 * timeout + 2`` seconds), as a typed error naming the source, with no canary in any
exception, log record, warning or output stream.
"""

from __future__ import annotations

import json
import ssl
import time
import tracemalloc
from collections.abc import Callable

import pytest
import trustme
from azure_identity_endpoint import IdentityEndpoint
from azure_kv_testserver import CHALLENGE, SUFFIX, KeyVaultServer
from tests.misbehaving import (
    Behaviour,
    Server,
    answer,
    hang,
    huge,
    json_body,
    misbehaving,
    redirect,
    reset_mid_body,
    retry_after,
    trickle,
)

from bandwidth_credentials import (
    CredentialsError,
    Resolver,
    SourceError,
    SourceFormatError,
    SourceUnavailableError,
    parse_source,
)
from bandwidth_credentials.testing import (
    CANARY_PASSWORD,
    CANARY_SECRET,
    ConnectProxy,
    check_misbehaviour,
    jitter_at,
)
from bandwidth_credentials.testing import Misbehaviour as Case
from bandwidth_credentials.testing import fetch_failing as failing
from bandwidth_credentials_azure import key_vault
from bandwidth_credentials_azure.key_vault import MAX_ATTEMPTS, KeyVaultProvider

CREDS = {"accountId": "920012", "username": "jdoe", "password": CANARY_PASSWORD}
BUNDLE = json_body(
    {
        "value": json.dumps(CREDS),
        "id": "https://vault.example/secrets/bw/0123456789abcdef0123456789abcdef",
        "attributes": {"enabled": True, "created": 1700000000, "updated": 1700000000},
    }
)
CANARY_HEADER = "canary-identity-header-5b1e-DO-NOT-LEAK"
CANARY_TOKEN = "canary-token-77a0c4-DO-NOT-LEAK-"
CANARIES = (CANARY_PASSWORD, CANARY_SECRET, CANARY_HEADER, CANARY_TOKEN)
#: How errors name the store (or, for a token request, the token endpoint).
STORE = "Key Vault"
TOKEN_STORE = "the token endpoint"
THROTTLED = json_body({"error": {"code": "Throttled", "message": "Too many requests"}})
UNAUTHORIZED = json_body({"error": {"code": "Unauthorized", "message": "AKV10000"}})


@pytest.fixture(autouse=True)
def canary_identity(identity: IdentityEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every token issued, and the identity header, carry a canary."""
    monkeypatch.setattr(identity, "token_prefix", CANARY_TOKEN)
    monkeypatch.setattr(identity, "header", CANARY_HEADER)
    monkeypatch.setenv("IDENTITY_HEADER", CANARY_HEADER)


@pytest.fixture(scope="module")
def vault_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("*" + SUFFIX).configure_cert(context)
    return context


def challenge() -> Behaviour:
    """Key Vault's answer to a request without a token (the client's first)."""
    return answer(401, UNAUTHORIZED, {"WWW-Authenticate": CHALLENGE})


VAULT: dict[str, Case] = {
    "hang": Case(lambda _: [hang()], 1, SourceUnavailableError, "no complete answer within 1 s",
                 at_least=0.9),
    "trickle": Case(lambda _: [trickle(BUNDLE, interval=1.0)], 2, SourceUnavailableError,
                    "no complete answer within 2 s", at_least=1.9),
    "huge": Case(lambda _: [huge(300 << 20)], 5, SourceFormatError, "larger than 1048576 bytes"),
    "huge-chunked": Case(lambda _: [huge(300 << 20, chunked=True)], 5, SourceFormatError,
                         "larger than 1048576 bytes"),
    "redirect": Case(lambda other: [redirect(f"{other}/secrets/bw?api-version=7.6")], 2,
                     SourceError, "with HTTP 302, a redirect to http://127.0.0.2:"),
    "retry-after-3600": Case(lambda _: [retry_after(429, "3600", THROTTLED)], 2,
                             SourceUnavailableError, "HTTP 429, Throttled; it asked to wait 3600 s",
                             retry_after=3600.0),
    "429-storm": Case(lambda _: [answer(429, THROTTLED)], 2, SourceUnavailableError,
                      "HTTP 429, Throttled; 3 attempts", arrived=MAX_ATTEMPTS),
    "reset": Case(lambda _: [reset_mid_body()], 2, SourceUnavailableError,
                  "could not reach", arrived=MAX_ATTEMPTS),
}  # fmt: skip


def fetch_failing(uri: str) -> tuple[CredentialsError, float, float]:
    """Fetch ``uri``; the error, the seconds it took, and the provider's worst case."""
    source = KeyVaultProvider(parse_source(uri))
    source.client()  # built (SDK imported, credentials looked up) before the clock starts
    error, elapsed = failing(source.fetch, CANARIES)
    source.close()
    return error, elapsed, source.worst_case


def check(case: Case, error: CredentialsError, elapsed: float, worst: float) -> None:
    store = TOKEN_STORE if "access token request" in case.says else STORE
    check_misbehaviour(case, error, elapsed, worst, scheme="azure-kv", store=store)


def with_token(server: Server) -> int:
    return len([r for r in server.requests if "authorization" in r.headers])


@pytest.mark.parametrize("name", list(VAULT))
def test_vault_misbehaviour_is_bounded_and_typed(
    name: str, new_vault: Callable[[], str], proxy: ConnectProxy, vault_tls: ssl.SSLContext
) -> None:
    case = VAULT[name]
    vault = new_vault()
    with (
        misbehaving(answer(200, BUNDLE), host="127.0.0.2") as other,
        misbehaving(challenge(), *case.script(other.url), tls=vault_tls) as server,
    ):
        proxy.route(vault + SUFFIX, 443, (server.host, server.port))
        tracemalloc.start()

        error, elapsed, worst = fetch_failing(f"azure-kv:{vault}/bw?timeout={case.timeout:g}")

        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        arrived, elsewhere = with_token(server), len(other.requests)
    check(case, error, elapsed, worst)
    assert f"{vault}{SUFFIX}" in str(error)
    assert arrived == case.arrived
    assert elsewhere == 0  # no redirect followed
    assert peak < 16 << 20  # the 1 MiB cap and the SDK's own objects, not 300 MiB


@pytest.mark.parametrize(("fraction", "waits"), [(0.0, [0.125, 0.25]), (1.0, [0.25, 0.5])])
def test_retry_waits_are_the_kits_jittered_backoff(
    fraction: float,
    waits: list[float],
    new_vault: Callable[[], str],
    proxy: ConnectProxy,
    vault_tls: ssl.SSLContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One source of jitter for every plugin: a random half to all of 0.25 s, then 0.5 s,
    # drawn by the library's refresh policy (os.urandom), pinned here.
    waited: list[float] = []
    monkeypatch.setattr(key_vault, "_sleep", waited.append)
    vault = new_vault()
    with misbehaving(challenge(), answer(429, THROTTLED), tls=vault_tls) as server:
        proxy.route(vault + SUFFIX, 443, (server.host, server.port))
        with jitter_at(fraction):
            error, _, _ = fetch_failing(f"azure-kv:{vault}/bw?timeout=2")

        arrived = with_token(server)
    assert isinstance(error, SourceUnavailableError)
    assert arrived == MAX_ATTEMPTS
    assert waited == pytest.approx(waits)


def test_a_retry_after_reaches_the_resolvers_backoff(
    new_vault: Callable[[], str], proxy: ConnectProxy, vault_tls: ssl.SSLContext
) -> None:
    vault = new_vault()
    now = [1000.0]
    script = (challenge(), retry_after(429, "120", THROTTLED), answer(200, BUNDLE))
    with misbehaving(*script, tls=vault_tls) as server:
        proxy.route(vault + SUFFIX, 443, (server.host, server.port))
        resolver = Resolver([f"azure-kv:{vault}/bw?timeout=2"], clock=lambda: now[0])
        started = time.monotonic()
        with pytest.raises(SourceUnavailableError):
            resolver.get_auth("voice")
        waited = time.monotonic() - started
        now[0] += 119.0  # within the wait asked for: no second request
        with pytest.raises(SourceUnavailableError):
            resolver.get_auth("voice")
        during = with_token(server)
        now[0] += 2.0

        auth = resolver.get_auth("voice")

        after = with_token(server)
        resolver.close()
    assert waited < 5  # the old client slept Retry-After inside the fetch
    assert (during, after) == (1, 2)
    assert auth.password is not None


def test_a_shorter_connect_timeout_the_sdk_asks_for_bounds_the_request() -> None:
    # azure-identity probes the instance metadata service through the credential's
    # pipeline with connection_timeout=1 (169.254.169.254 is off limits here, so the
    # probe's own request is sent to a loopback server that never answers).
    from azure.core.pipeline import Pipeline
    from azure.core.rest import HttpRequest

    from bandwidth_credentials.plugin import ExchangeFailed, ExchangeLog
    from bandwidth_credentials_azure._transport import azure_transport

    with misbehaving(hang()) as server:
        pipeline = Pipeline(azure_transport(10.0, ExchangeLog(), token=True))
        started = time.monotonic()
        with pytest.raises(ExchangeFailed) as caught:
            pipeline.run(HttpRequest("GET", f"{server.url}/metadata/identity/oauth2/token"),
                         connection_timeout=0.5)  # fmt: skip
        elapsed = time.monotonic() - started

    assert caught.value.kind == "timeout"
    assert 0.4 <= elapsed < 2.0  # the probe's 0.5 s, not the source's 10 s


# -- the managed-identity token endpoint -------------------------------------------------

TOKEN: dict[str, Case] = {
    "hang": Case(lambda _: [hang()], 1, SourceUnavailableError,
                 "the access token request for secret 'bw'", at_least=0.9),
    "trickle": Case(lambda _: [trickle(json_body({"access_token": CANARY_SECRET}), 1.0)], 2,
                    SourceUnavailableError, "the access token request for secret 'bw'",
                    at_least=1.9),
    "huge": Case(lambda _: [huge(300 << 20)], 5, SourceFormatError,
                 "to the access token request for secret 'bw'"),
    "redirect": Case(lambda other: [redirect(f"{other}/msi/token", status=307)], 2, SourceError,
                     "answered the access token request for secret 'bw'"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(TOKEN))
def test_token_endpoint_misbehaviour_is_bounded_and_typed(
    name: str, key_vault: KeyVaultServer, vault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = TOKEN[name]
    key_vault.put(vault, "bw", CREDS)
    token_answer = answer(200, json_body({"access_token": CANARY_SECRET, "expires_on": "9"}))
    with (
        misbehaving(token_answer, host="127.0.0.2") as other,
        misbehaving(*case.script(other.url)) as server,
    ):
        monkeypatch.setenv("IDENTITY_ENDPOINT", f"{server.url}/msi/token")

        error, elapsed, worst = fetch_failing(f"azure-kv:{vault}/bw?timeout={case.timeout:g}")

        arrived, elsewhere = len(server.requests), len(other.requests)
    check(case, error, elapsed, worst)
    assert f"127.0.0.1:{server.port}" in str(error)
    assert arrived == 1
    assert elsewhere == 0
