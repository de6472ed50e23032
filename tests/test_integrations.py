"""httpx, requests and bandwidth-sdk integrations against local servers."""

from __future__ import annotations

import asyncio

import pytest

from bandwidth_credentials import Resolver

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
