"""``bandwidth_credentials.testing.reset()`` returns the library to its just-imported state."""

from __future__ import annotations

import logging
import warnings

import pytest

import bandwidth_credentials as bc
from bandwidth_credentials.testing import reset

from .helpers import MemoryProvider
from .oauth_servers import CLIENT_ID, CLIENT_SECRET, TokenServer

BASIC = {"BW_ACCOUNT_ID": "920012", "BW_USERNAME": "jdoe", "BW_PASSWORD": "pw"}


def basic_notices(action: object) -> int:
    with warnings.catch_warnings(record=True) as recorded:
        warnings.simplefilter("always")
        action()  # type: ignore[operator]
    return sum("decommission" in str(w.message) for w in recorded)


class Closing(MemoryProvider):
    closed = 0

    def close(self) -> None:
        Closing.closed += 1


def test_the_default_resolver_is_closed_and_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    bc.register_provider("closing", Closing)
    MemoryProvider.stores["a"] = {"accountId": "1", "client_id": "c", "client_secret": "s"}
    bc.configure(["closing:a"])
    Closing.closed = 0
    monkeypatch.setenv("BANDWIDTH_CREDENTIALS_SOURCES", "mem:b")
    MemoryProvider.stores["b"] = {"accountId": "2", "client_id": "c", "client_secret": "s"}

    reset()
    voice = bc.get_auth("voice")

    bc.unregister_provider("closing")
    assert Closing.closed == 1
    assert voice.account_id == "2"


def test_the_basic_notice_is_issued_again(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in BASIC.items():
        monkeypatch.setenv(key, value)

    first = basic_notices(lambda: bc.Resolver(["env"]).get_auth("voice"))
    again = basic_notices(lambda: bc.Resolver(["env"]).get_auth("voice"))
    reset()
    after_reset = basic_notices(lambda: bc.Resolver(["env"]).get_auth("voice"))

    assert (first, again, after_reset) == (1, 0, 1)


def test_notes_are_logged_again(caplog: pytest.LogCaptureFixture) -> None:
    MemoryProvider.stores["half"] = {"accountId": "1", "password": "pw", "client_id": "c"}

    def notes() -> int:
        caplog.clear()
        with pytest.raises(bc.CredentialNotFoundError):
            bc.Resolver(["mem:half"]).get_auth("voice")
        return len([r for r in caplog.records if r.levelno == logging.WARNING])

    first, again = notes(), notes()
    reset()
    after_reset = notes()

    assert first > 0
    assert again == 0
    assert after_reset == first


def test_cached_oauth_tokens_are_dropped(token_server: TokenServer) -> None:
    MemoryProvider.stores["oauth"] = {
        "accountId": "1",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "token_url": token_server.url,
    }

    bc.Resolver(["mem:oauth"]).get_auth("voice").headers()
    bc.Resolver(["mem:oauth"]).get_auth("voice").headers()
    cached = token_server.requests
    reset()
    bc.Resolver(["mem:oauth"]).get_auth("voice").headers()

    assert (cached, token_server.requests) == (1, 2)
