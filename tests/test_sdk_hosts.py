"""``sdk_configuration()`` targets the hosts the library resolved, with the real
``bandwidth-sdk`` API classes against loopback servers; credentials go to no other host."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bandwidth_credentials import ConfigurationError, Resolver

from .misbehaving import Server, answer, misbehaving
from .oauth_servers import CLIENT_ID, CLIENT_SECRET, TokenServer

bandwidth = pytest.importorskip("bandwidth")
pytestmark = pytest.mark.filterwarnings("ignore:Bandwidth decommission")

CALLS = b"[]"


@pytest.fixture
def here() -> Iterator[Server]:
    with misbehaving(answer(200, CALLS)) as server:
        yield server


@pytest.fixture
def elsewhere() -> Iterator[Server]:
    with misbehaving(answer(200, CALLS), host="127.0.0.2") as server:
        yield server


def _set(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for key, value in values.items():
        monkeypatch.setenv(key, value)


def test_the_environments_host_override_is_where_calls_go(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer, here: Server
) -> None:
    _set(
        monkeypatch,
        {
            "BW_ACCOUNT_ID": "920012",
            "BW_CLIENT_ID": CLIENT_ID,
            "BW_CLIENT_SECRET": CLIENT_SECRET,
            "BW_TOKEN_URL": token_server.url,
            "BW_ENVIRONMENT": "test",
            "BW_VOICE_URL": here.url,
        },
    )
    voice = Resolver(["env"]).get_auth("voice")

    with bandwidth.ApiClient(voice.sdk_configuration()) as client:
        bandwidth.CallsApi(client).list_calls("920012")

    assert [(r.method, r.target) for r in here.requests] == [
        ("GET", "/api/v2/accounts/920012/calls")
    ]
    assert here.requests[0].headers["authorization"] == "Bearer token-1"


def test_the_test_environment_targets_the_test_host(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    _set(
        monkeypatch,
        {
            "BW_ACCOUNT_ID": "920012",
            "BW_CLIENT_ID": CLIENT_ID,
            "BW_CLIENT_SECRET": CLIENT_SECRET,
            "BW_TOKEN_URL": token_server.url,
            "BW_ENVIRONMENT": "test",
        },
    )
    voice = Resolver(["env"]).get_auth("voice")

    config = voice.sdk_configuration()

    assert config.host == "https://test.voice.bandwidth.com/api/v2"
    assert config.ignore_operation_servers is True


def test_messagings_token_pair_goes_only_to_messagings_host(
    monkeypatch: pytest.MonkeyPatch, elsewhere: Server
) -> None:
    messages = answer(200, b'{"messages": [], "totalCount": 0}')
    with misbehaving(messages, answer(200, CALLS)) as here:
        _check_messaging(monkeypatch, here, elsewhere)


def _check_messaging(monkeypatch: pytest.MonkeyPatch, here: Server, elsewhere: Server) -> None:
    _set(
        monkeypatch,
        {
            "BW_ACCOUNT_ID": "920012",
            "BW_API_TOKEN": "messaging-token",
            "BW_API_SECRET": "messaging-secret",
            "BW_MESSAGING_BASE_URL": here.url + "/api/v2/users/920012",
            "BW_VOICE_BASE_URL": elsewhere.url + "/api/v2/accounts/920012",
        },
    )
    messaging = Resolver(["env"]).get_auth("messaging")

    with bandwidth.ApiClient(messaging.sdk_configuration()) as client:
        bandwidth.MessagesApi(client).list_messages("920012")
        bandwidth.CallsApi(client).list_calls("920012")  # the wrong API class: same host

    assert elsewhere.requests == []
    assert [r.target.split("?")[0] for r in here.requests] == [
        "/api/v2/users/920012/messages",
        "/api/v2/accounts/920012/calls",
    ]
    assert {r.headers["authorization"] for r in here.requests} == {messaging.authorization}


def test_pointing_the_configuration_elsewhere_is_refused(
    monkeypatch: pytest.MonkeyPatch, here: Server, elsewhere: Server
) -> None:
    _set(
        monkeypatch,
        {
            "BW_ACCOUNT_ID": "920012",
            "BW_USERNAME": "jdoe",
            "BW_PASSWORD": "pw",
            "BW_VOICE_BASE_URL": here.url + "/api/v2/accounts/920012",
        },
    )
    config = Resolver(["env"]).get_auth("voice").sdk_configuration()

    with pytest.raises(ConfigurationError, match="targets"):
        config.host = elsewhere.url + "/api/v2"
    config.ignore_operation_servers = False  # the SDK's built-in production hosts

    assert config.auth_settings() == {}
    assert config.get_basic_auth_token() is None


def test_a_base_url_the_sdk_cannot_be_pointed_at_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, here: Server
) -> None:
    _set(
        monkeypatch,
        {
            "BW_ACCOUNT_ID": "920012",
            "BW_USERNAME": "jdoe",
            "BW_PASSWORD": "pw",
            "BW_VOICE_BASE_URL": here.url + "/proxy/voice",
        },
    )
    voice = Resolver(["env"]).get_auth("voice")

    with pytest.raises(ConfigurationError, match="cannot be pointed there"):
        voice.sdk_configuration()
