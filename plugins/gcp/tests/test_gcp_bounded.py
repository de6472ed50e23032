"""Every wait bounded, every answer capped, no redirect followed: the real Google client,
over REST and gRPC, against misbehaving loopback servers (``tests/misbehaving.py``).

One table per path (Secret Manager over REST, over gRPC, and the token endpoint): each
row is one misbehaviour; every row must end within the provider's documented worst case
(``3 * timeout + 2`` seconds), as a typed error naming the store, with no canary in any
exception, log record, warning or output stream.
"""

from __future__ import annotations

import base64
import json
import ssl
import tracemalloc

import google_crc32c
import pytest
from gcp_secret_manager_server import SecretStore
from gcp_settings import PROJECT, PROJECT_NUMBER, Loopback
from tests.misbehaving import (
    Behaviour,
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
    SourceError,
    SourceFormatError,
    SourceUnavailableError,
    parse_source,
)
from bandwidth_credentials.testing import (
    CANARY_PASSWORD,
    CANARY_SECRET,
    Route,
    check_misbehaviour,
    connect_proxy,
    jitter_at,
)
from bandwidth_credentials.testing import Misbehaviour as Case
from bandwidth_credentials.testing import fetch_failing as failing
from bandwidth_credentials_gcp import secret_manager
from bandwidth_credentials_gcp.secret_manager import MAX_ATTEMPTS, SecretManagerProvider

SECRET = f"projects/{PROJECT}/secrets/bandwidth-prod"
CREDS = {"accountId": "920012", "username": "jdoe", "password": CANARY_PASSWORD}
PAYLOAD = json.dumps(CREDS).encode()
# AccessSecretVersion's answer, as Secret Manager sends it (REST).
ANSWER = json_body(
    {
        "name": f"projects/{PROJECT_NUMBER}/secrets/bandwidth-prod/versions/1",
        "payload": {
            "data": base64.b64encode(PAYLOAD).decode(),
            "dataCrc32c": str(google_crc32c.value(PAYLOAD)),
        },
    }
)
CANARIES = (CANARY_PASSWORD, CANARY_SECRET, base64.b64encode(PAYLOAD).decode())
#: How errors name the store (or, for a token request, the token endpoint).
STORE = "Secret Manager"
QUOTA = json_body(
    {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}
)


def google_error(status: int, body: bytes) -> Behaviour:
    return answer(status, body, {"Content-Type": "application/json; charset=UTF-8"})


REST: dict[str, Case] = {
    "hang": Case(lambda _: [hang()], 1, SourceUnavailableError, "no complete answer within 1 s",
                 at_least=0.9),
    "trickle": Case(lambda _: [trickle(ANSWER, interval=1.0)], 2, SourceUnavailableError,
                    "no complete answer within 2 s", at_least=1.9),
    "huge": Case(lambda _: [huge(300 << 20)], 5, SourceFormatError, "larger than 1048576 bytes"),
    "huge-chunked": Case(lambda _: [huge(300 << 20, chunked=True)], 5, SourceFormatError,
                         "larger than 1048576 bytes"),
    "redirect": Case(lambda other: [redirect(f"{other}/v1/{SECRET}/versions/latest:access")],
                     2, SourceError, "HTTP 302, a redirect to http://127.0.0.2:"),
    "retry-after-3600": Case(lambda _: [retry_after(429, "3600", QUOTA)], 2,
                             SourceUnavailableError, "asked to wait 3600 s", retry_after=3600.0),
    "429-storm": Case(lambda _: [google_error(429, QUOTA)], 2, SourceUnavailableError,
                      "RESOURCE_EXHAUSTED) after 3 attempt(s)", arrived=MAX_ATTEMPTS),
    "reset": Case(lambda _: [reset_mid_body()], 2, SourceUnavailableError,
                  "could not reach", arrived=MAX_ATTEMPTS),
}  # fmt: skip


def fetch_failing(uri: str) -> tuple[CredentialsError, float, float]:
    """Fetch ``uri``; the error, the seconds it took, and the provider's worst case."""
    source = SecretManagerProvider(parse_source(uri))
    source.client()  # built (SDK imported, credentials looked up) before the clock starts
    error, elapsed = failing(source.fetch, CANARIES)
    source.close()
    return error, elapsed, source.worst_case


def check(case: Case, error: CredentialsError, elapsed: float, worst: float) -> None:
    store = TOKEN_STORE if "access token request" in case.says else STORE
    check_misbehaviour(case, error, elapsed, worst, scheme="gcp-sm", store=store)


@pytest.mark.parametrize("name", list(REST))
def test_rest_misbehaviour_is_bounded_and_typed(name: str) -> None:
    case = REST[name]
    with (
        misbehaving(answer(200, ANSWER), host="127.0.0.2") as other,
        misbehaving(*case.script(other.url)) as server,
    ):
        uri = f"gcp-sm:{SECRET}?transport=rest&endpoint={server.url}&timeout={case.timeout:g}"
        tracemalloc.start()

        error, elapsed, worst = fetch_failing(uri)

        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        arrived, elsewhere = len(server.requests), len(other.requests)
    check(case, error, elapsed, worst)
    assert f"127.0.0.1:{server.port}" in str(error)
    assert arrived == case.arrived
    assert elsewhere == 0  # no redirect followed
    assert peak < 16 << 20  # the 1 MiB cap and the client's own objects, not 300 MiB


@pytest.mark.parametrize(("fraction", "waits"), [(0.0, [0.125, 0.25]), (1.0, [0.25, 0.5])])
def test_retry_waits_are_the_kits_jittered_backoff(
    fraction: float, waits: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    # One source of jitter for every plugin: a random half to all of 0.25 s, then 0.5 s,
    # drawn by the library's refresh policy (os.urandom), pinned here.
    waited: list[float] = []
    monkeypatch.setattr(secret_manager, "_sleep", waited.append)
    with misbehaving(google_error(429, QUOTA)) as server:
        uri = f"gcp-sm:{SECRET}?transport=rest&endpoint={server.url}&timeout=2"
        with jitter_at(fraction):
            error, _, _ = fetch_failing(uri)

        arrived = len(server.requests)
    assert isinstance(error, SourceUnavailableError)
    assert arrived == MAX_ATTEMPTS
    assert waited == pytest.approx(waits)


def test_a_retry_after_reaches_the_resolvers_backoff() -> None:
    from bandwidth_credentials import Resolver

    now = [1000.0]
    with misbehaving(retry_after(429, "120", QUOTA), answer(200, ANSWER)) as server:
        uri = f"gcp-sm:{SECRET}?transport=rest&endpoint={server.url}&timeout=2"
        resolver = Resolver([uri], clock=lambda: now[0])
        with pytest.raises(SourceUnavailableError):
            resolver.get_auth("voice")
        now[0] += 119.0  # within the wait asked for: no second request
        with pytest.raises(SourceUnavailableError):
            resolver.get_auth("voice")
        during = len(server.requests)
        now[0] += 2.0

        auth = resolver.get_auth("voice")

        after = len(server.requests)
        resolver.close()
    assert (during, after) == (1, 2)
    assert auth.password is not None


# -- gRPC --------------------------------------------------------------------------------


def test_grpc_a_hanging_server_is_one_attempt_within_its_deadline(
    store: SecretStore, grpc_port: int
) -> None:
    store.add(SECRET, PAYLOAD)
    store.delay = 4.0

    error, elapsed, worst = fetch_failing(Loopback("grpc", f"127.0.0.1:{grpc_port}").uri(
        SECRET, "timeout=1"))  # fmt: skip

    check(Case(lambda _: [], 1, SourceUnavailableError, "DEADLINE_EXCEEDED", at_least=0.9),
          error, elapsed, worst)  # fmt: skip
    assert elapsed < 2.0  # a timeout is not retried


def test_grpc_an_answer_over_the_cap_is_refused(store: SecretStore, grpc_port: int) -> None:
    store.add(SECRET, json.dumps({**CREDS, "padding": "x" * (2 << 20)}).encode())

    error, elapsed, worst = fetch_failing(Loopback("grpc", f"127.0.0.1:{grpc_port}").uri(SECRET))

    check(Case(lambda _: [], 10, SourceFormatError, "larger than 1048576 bytes"),
          error, elapsed, worst)  # fmt: skip
    assert len(store.calls) == 1


def test_grpc_a_quota_storm_is_three_quick_attempts(store: SecretStore, grpc_port: int) -> None:
    store.add(SECRET, PAYLOAD)
    store.fail = ("RESOURCE_EXHAUSTED", "Quota exceeded", 100)

    error, elapsed, worst = fetch_failing(Loopback("grpc", f"127.0.0.1:{grpc_port}").uri(
        SECRET, "timeout=2"))  # fmt: skip

    check(Case(lambda _: [], 2, SourceUnavailableError, "after 3 attempt(s)"),
          error, elapsed, worst)  # fmt: skip
    assert len(store.calls) == MAX_ATTEMPTS


def test_a_retry_info_detail_is_carried_not_slept(store: SecretStore, loopback: Loopback) -> None:
    store.add(SECRET, PAYLOAD)
    store.fail = ("RESOURCE_EXHAUSTED", "Quota exceeded", 100)
    store.retry_delay = 3600

    error, elapsed, worst = fetch_failing(loopback.uri(SECRET, "timeout=2"))

    check(Case(lambda _: [], 2, SourceUnavailableError, "asked to wait 3600 s",
               retry_after=3600.0), error, elapsed, worst)  # fmt: skip
    assert len(store.calls) == 1
    assert elapsed < 2.0


def test_grpc_a_trickling_path_ends_at_the_call_deadline(
    store: SecretStore, grpc_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.add(SECRET, PAYLOAD)
    target = f"127.0.0.1:{grpc_port}"
    with connect_proxy({target: Route(("127.0.0.1", grpc_port), interval=0.05)}) as proxy:
        monkeypatch.setenv("https_proxy", proxy.url)  # grpc reads the lower-case name

        error, elapsed, worst = fetch_failing(Loopback("grpc", target).uri(SECRET, "timeout=1"))

        tunnels = list(proxy.connects)
    check(Case(lambda _: [], 1, SourceUnavailableError, "DEADLINE_EXCEEDED", at_least=0.9),
          error, elapsed, worst)  # fmt: skip
    assert tunnels == [target]


# -- the token endpoint (an authorized_user ADC's refresh) --------------------------------

TOKEN_HOST = "oauth2.googleapis.com:443"
TOKEN_STORE = "Google's token endpoint"
TOKEN: dict[str, Case] = {
    "hang": Case(lambda _: [hang()], 1, SourceUnavailableError,
                 "the access token request for", at_least=0.9),
    "trickle": Case(lambda _: [trickle(json_body({"access_token": CANARY_SECRET}), 1.0)], 2,
                    SourceUnavailableError, "the access token request for", at_least=1.9),
    "huge": Case(lambda _: [huge(300 << 20)], 5, SourceFormatError,
                 "oauth2.googleapis.com to the access token request for"),
    "redirect": Case(lambda other: [redirect(f"{other}/token", status=307)], 2, SourceError,
                     "answered the access token request for the latest version of secret "
                     f"{SECRET} (the most recently created one) with HTTP 307, a redirect "
                     "to http://127.0.0.2:"),
    "huge-chunked": Case(lambda _: [huge(300 << 20, chunked=True)], 5, SourceFormatError,
                         "oauth2.googleapis.com to the access token request for"),
}  # fmt: skip


@pytest.mark.parametrize("transport", ["rest", "grpc"])
@pytest.mark.parametrize("name", list(TOKEN))
def test_token_endpoint_misbehaviour_is_bounded_and_typed(
    name: str,
    transport: str,
    request: pytest.FixtureRequest,
    rest_url: str,
    default_env: None,
    google_tls: ssl.SSLContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = TOKEN[name]
    endpoint = rest_url
    if transport == "grpc":
        endpoint = f"127.0.0.1:{request.getfixturevalue('grpc_port')}"
    token_answer = answer(200, json_body({"access_token": CANARY_SECRET, "expires_in": 3599}))
    with (
        misbehaving(token_answer, host="127.0.0.2") as other,
        misbehaving(*case.script(other.url)) as server,
        connect_proxy({TOKEN_HOST: Route(("127.0.0.1", server.port), google_tls)}) as proxy,
    ):
        # google-auth sends an authorized_user's refresh to oauth2.googleapis.com, always:
        # the proxy (requests reads HTTPS_PROXY) stands in for it.
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        uri = Loopback(transport, endpoint).uri(SECRET, f"timeout={case.timeout:g}")

        error, elapsed, worst = fetch_failing(uri)

        arrived, elsewhere = len(server.requests), len(other.requests)
    check(case, error, elapsed, worst)
    assert arrived == 1
    assert elsewhere == 0
