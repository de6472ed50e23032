"""httpx, requests and bandwidth-sdk integrations against local servers."""

from __future__ import annotations

import asyncio
import base64
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from bandwidth_credentials import Resolver

from .helpers import MemoryProvider
from .misbehaving import Server, answer, misbehaving, redirect
from .oauth_servers import CLIENT_ID as CLIENT
from .oauth_servers import CLIENT_SECRET as SECRET
from .oauth_servers import ApiServer, TokenServer

httpx = pytest.importorskip("httpx")
requests = pytest.importorskip("requests")


@pytest.fixture
def oauth_resolver(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer, api_server: ApiServer
) -> Resolver:
    for key, value in {
        "BW_ACCOUNT_ID": "920012",
        "BW_CLIENT_ID": CLIENT,
        "BW_CLIENT_SECRET": SECRET,
        "BW_TOKEN_URL": token_server.url,
        "BW_VOICE_BASE_URL": api_server.url + "/api/v2/accounts/920012",
    }.items():
        monkeypatch.setenv(key, value)
    return Resolver(["env"])


@pytest.fixture
def store_basic(api_server: ApiServer) -> dict[str, object]:
    from .helpers import MemoryProvider

    values: dict[str, object] = {
        "accountId": "920012",
        "username": "old-user",
        "password": "old-pw",
        "voice_base_url": api_server.url + "/api/v2/accounts/920012",
    }
    MemoryProvider.stores["basic"] = values
    return values


def test_httpx_refreshes_the_token_once_on_401_and_retries(
    oauth_resolver: Resolver, token_server: TokenServer, api_server: ApiServer
) -> None:
    voice = oauth_resolver.get_auth("voice")

    response = httpx.get(voice.url("calls"), auth=voice.httpx_auth())

    assert response.status_code == 200
    assert api_server.seen == ["Bearer token-1", "Bearer token-2"]
    assert token_server.requests == 2


def test_httpx_async_refreshes_the_token_once_on_401_and_retries(
    oauth_resolver: Resolver, token_server: TokenServer, api_server: ApiServer
) -> None:
    voice = oauth_resolver.get_auth("voice")

    async def call() -> int:
        async with httpx.AsyncClient(auth=voice.httpx_auth()) as client:
            return (await client.get(voice.url("calls"))).status_code

    assert asyncio.run(call()) == 200
    assert api_server.seen == ["Bearer token-1", "Bearer token-2"]


def test_httpx_retries_only_once(
    oauth_resolver: Resolver, token_server: TokenServer, api_server: ApiServer
) -> None:
    api_server.valid = {"never"}
    voice = oauth_resolver.get_auth("voice")

    response = httpx.get(voice.url("calls"), auth=voice.httpx_auth())

    assert response.status_code == 401
    assert len(api_server.seen) == 2


def test_requests_refreshes_the_token_once_on_401_and_retries(
    oauth_resolver: Resolver, token_server: TokenServer, api_server: ApiServer
) -> None:
    voice = oauth_resolver.get_auth("voice")

    response = requests.get(voice.url("calls"), auth=voice.requests_auth(), timeout=10)

    assert response.status_code == 200
    assert api_server.seen == ["Bearer token-1", "Bearer token-2"]
    assert len(response.history) == 1


def test_requests_retries_only_once(
    oauth_resolver: Resolver, token_server: TokenServer, api_server: ApiServer
) -> None:
    api_server.valid = {"never"}
    voice = oauth_resolver.get_auth("voice")

    response = requests.get(voice.url("calls"), auth=voice.requests_auth(), timeout=10)

    assert response.status_code == 401
    assert len(api_server.seen) == 2


@pytest.mark.parametrize("client", ["httpx", "requests"])
def test_basic_reloads_credentials_once_on_401(
    client: str, store_basic: dict[str, object], api_server: ApiServer
) -> None:
    import base64

    resolver = Resolver(["mem:basic"])
    voice = resolver.get_auth("voice")
    store_basic["password"] = "rotated-pw"  # rotated in the store; the API refuses the old one
    new = "Basic " + base64.b64encode(b"old-user:rotated-pw").decode()

    if client == "httpx":
        status = httpx.get(voice.url("calls"), auth=voice.httpx_auth()).status_code
    else:
        status = requests.get(
            voice.url("calls"), auth=voice.requests_auth(), timeout=10
        ).status_code

    assert status == 200
    assert api_server.seen[1] == new
    assert resolver.get_auth("voice").password.get_secret_value() == "rotated-pw"  # type: ignore[union-attr]


def test_sdk_configuration_with_oauth_uses_our_token_manager(
    oauth_resolver: Resolver, token_server: TokenServer, api_server: ApiServer
) -> None:
    bandwidth = pytest.importorskip("bandwidth")
    api_server.refuse_first = False
    voice = oauth_resolver.get_auth("voice")
    config = voice.sdk_configuration()
    config.host = api_server.url + "/api/v2"
    config.ignore_operation_servers = True

    with bandwidth.ApiClient(config) as client:
        bandwidth.CallsApi(client).list_calls("920012")
        bandwidth.CallsApi(client).list_calls("920012")

    assert config.client_id is None  # the secret stays with this library
    assert config.client_secret is None
    assert config.username is None
    assert config.password is None
    assert api_server.seen == ["Bearer token-1", "Bearer token-1"]
    assert token_server.requests == 1


def test_sdk_configuration_without_the_sdk_says_how_to_install_the_extra(
    oauth_resolver: Resolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bandwidth_credentials import ConfigurationError
    from bandwidth_credentials._integrations import _sdk_class

    voice = oauth_resolver.get_auth("voice")
    monkeypatch.setitem(sys.modules, "bandwidth", None)  # as if it were not installed
    _sdk_class.cache_clear()  # the SDK class is made once per process

    try:
        with pytest.raises(ConfigurationError) as caught:
            voice.sdk_configuration()
    finally:
        _sdk_class.cache_clear()

    message = str(caught.value)
    assert "from a checkout of bandwidth-credentials, pip install '.[sdk]'" in message
    assert "(once published: pip install 'bandwidth-credentials[sdk]')" in message


def test_sdk_configuration_with_basic(
    store_basic: dict[str, object], api_server: ApiServer
) -> None:
    bandwidth = pytest.importorskip("bandwidth")
    api_server.refuse_first = False
    voice = Resolver(["mem:basic"]).get_auth("voice")
    config = voice.sdk_configuration()
    config.host = api_server.url + "/api/v2"
    config.ignore_operation_servers = True

    with bandwidth.ApiClient(config) as client:
        bandwidth.CallsApi(client).list_calls("920012")

    assert config.client_id is None
    assert config.client_secret is None
    assert api_server.seen == [voice.authorization]


# -- credentials only to their origin ------------------------------------------------


@pytest.fixture
def elsewhere() -> Iterator[Server]:
    """Another origin (127.0.0.2) that refuses everything with 401."""
    with misbehaving(answer(401, b'{"error": "unauthorized"}'), host="127.0.0.2") as server:
        yield server


@pytest.fixture
def bouncing_api(elsewhere: Server) -> Iterator[Server]:
    """The service's API on 127.0.0.1, redirecting every request to ``elsewhere``."""
    with misbehaving(redirect(elsewhere.url + "/landing", 302)) as server:
        yield server


def bouncing_resolver(kind: str, api: Server, token_server: TokenServer) -> Resolver:
    values: dict[str, object] = {"accountId": "920012", "voice_base_url": api.url + "/v2"}
    if kind == "basic":
        values |= {"username": "jdoe", "password": "canary-pw-origin"}
    else:
        values |= {"clientId": CLIENT, "clientSecret": SECRET, "tokenUrl": token_server.url}
    MemoryProvider.stores["bounce"] = values
    return Resolver(["mem:bounce"])


async def httpx_async_get(url: str, auth: Any) -> int:
    async with httpx.AsyncClient(auth=auth, follow_redirects=True) as client:
        return (await client.get(url)).status_code


CLIENTS: dict[str, Callable[[str, Any], int]] = {
    "requests": lambda url, auth: requests.get(url, auth=auth, timeout=10).status_code,
    "httpx": lambda url, auth: httpx.get(url, auth=auth, follow_redirects=True).status_code,
    "httpx-async": lambda url, auth: asyncio.run(httpx_async_get(url, auth)),
}


@pytest.mark.parametrize("kind", ["basic", "oauth"])
@pytest.mark.parametrize("client", list(CLIENTS))
def test_a_401_after_a_redirect_to_another_origin_gets_no_credentials(
    client: str,
    kind: str,
    token_server: TokenServer,
    bouncing_api: Server,
    elsewhere: Server,
) -> None:
    voice = bouncing_resolver(kind, bouncing_api, token_server).get_auth("voice")
    auth = voice.requests_auth() if client == "requests" else voice.httpx_auth()

    status = CLIENTS[client](voice.url("calls"), auth)

    assert status == 401
    assert bouncing_api.requests[0].headers.get("authorization") == voice.authorization
    assert [r.headers.get("authorization") for r in elsewhere.requests] == [None]


@pytest.mark.parametrize("client", list(CLIENTS))
def test_requests_to_another_origin_get_no_credentials(
    client: str, token_server: TokenServer, bouncing_api: Server, elsewhere: Server
) -> None:
    voice = bouncing_resolver("oauth", bouncing_api, token_server).get_auth("voice")
    auth = voice.requests_auth() if client == "requests" else voice.httpx_auth()

    status = CLIENTS[client](elsewhere.url + "/v2/calls", auth)

    assert status == 401
    assert [r.headers.get("authorization") for r in elsewhere.requests] == [None]
    assert token_server.requests == 0


# -- the event loop ------------------------------------------------------------------


async def measure_lag(work: Awaitable[object]) -> tuple[object, float]:
    """Await ``work`` while a ticker measures the event loop's worst delay (seconds)."""
    loop = asyncio.get_running_loop()
    worst = 0.0
    done = False

    async def ticker() -> None:
        nonlocal worst
        while not done:
            before = loop.time()
            await asyncio.sleep(0.01)
            worst = max(worst, loop.time() - before - 0.01)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    result = await work
    done = True
    await task
    return result, worst


def test_a_blocking_basic_refresh_never_stalls_the_event_loop(
    store_basic: dict[str, object], api_server: ApiServer
) -> None:
    api_server.refuse_first = False
    resolver = Resolver(["mem:basic"])
    voice = resolver.get_auth("voice")
    store_basic["password"] = "rotated-pw"
    resolver.invalidate()  # the next lookup fetches, and the store takes 1 s to answer
    MemoryProvider.gate = threading.Event()
    release = threading.Timer(1.0, MemoryProvider.gate.set)
    release.start()

    async def call() -> int:
        async with httpx.AsyncClient(auth=voice.httpx_auth()) as client:
            return (await client.get(voice.url("calls"))).status_code

    started = time.monotonic()
    status, lag = asyncio.run(measure_lag(call()))
    elapsed = time.monotonic() - started
    release.join()

    assert status == 200
    assert elapsed >= 0.9  # the fetch did block, in a worker thread
    assert lag < 0.3
    assert api_server.seen == ["Basic " + base64.b64encode(b"old-user:rotated-pw").decode()]


def test_a_cached_token_needs_no_worker_thread(
    oauth_resolver: Resolver, api_server: ApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    api_server.refuse_first = False
    voice = oauth_resolver.get_auth("voice")
    voice.headers()  # the token is cached now
    hops: list[object] = []
    real_to_thread = asyncio.to_thread

    async def counting_to_thread(func: Callable[..., Any], /, *args: Any) -> Any:
        hops.append(func)
        return await real_to_thread(func, *args)

    monkeypatch.setattr(asyncio, "to_thread", counting_to_thread)

    async def calls() -> tuple[dict[str, str], int]:
        headers = await voice.aheaders()
        async with httpx.AsyncClient(auth=voice.httpx_auth()) as client:
            return headers, (await client.get(voice.url("calls"))).status_code

    headers, status = asyncio.run(calls())

    assert headers == {"Authorization": "Bearer token-1"}
    assert status == 200
    assert hops == []


def test_get_auth_nowait_answers_only_from_the_cache(store_basic: dict[str, object]) -> None:
    resolver = Resolver(["mem:basic"])
    cold = resolver.get_auth_nowait("voice")
    warm = resolver.get_auth("voice")
    cached = resolver.get_auth_nowait("voice")
    resolver.invalidate()
    due = resolver.get_auth_nowait("voice")

    assert (cold, cached, due) == (None, warm, None)
    assert MemoryProvider.fetches["basic"] == 1  # the nowait calls fetched nothing


# -- the official SDK follows rotation -----------------------------------------------


def test_a_long_lived_sdk_client_sees_rotated_basic_credentials(
    store_basic: dict[str, object], api_server: ApiServer
) -> None:
    bandwidth = pytest.importorskip("bandwidth")
    api_server.refuse_first = False
    resolver = Resolver(["mem:basic"])
    config = resolver.get_auth("voice").sdk_configuration()
    config.host = api_server.url + "/api/v2"
    config.ignore_operation_servers = True

    with bandwidth.ApiClient(config) as client:
        bandwidth.CallsApi(client).list_calls("920012")
        store_basic["password"] = "rotated-pw"
        resolver.reload()
        bandwidth.CallsApi(client).list_calls("920012")

    assert api_server.seen == [
        "Basic " + base64.b64encode(b"old-user:old-pw").decode(),
        "Basic " + base64.b64encode(b"old-user:rotated-pw").decode(),
    ]
    assert (config.username, config.password, config.client_secret) == (None, None, None)


def test_a_long_lived_sdk_client_follows_a_new_oauth_token(
    oauth_resolver: Resolver, token_server: TokenServer, api_server: ApiServer
) -> None:
    bandwidth = pytest.importorskip("bandwidth")
    api_server.refuse_first = False
    voice = oauth_resolver.get_auth("voice")
    config = voice.sdk_configuration()
    config.host = api_server.url + "/api/v2"
    config.ignore_operation_servers = True

    with bandwidth.ApiClient(config) as client:
        bandwidth.CallsApi(client).list_calls("920012")
        voice.invalidate("Bearer token-1")  # the API refused it
        bandwidth.CallsApi(client).list_calls("920012")

    assert api_server.seen == ["Bearer token-1", "Bearer token-2"]
