"""A 401 retry sends the request body again, or is not made: never an empty or short body.

The public report class: requests-kerberos#24 and httplib2#176 (an auth retry re-sends a
request whose streamed body the first attempt consumed).
"""

from __future__ import annotations

import asyncio
import io
import warnings
from collections.abc import AsyncIterator, Iterator

import pytest

from bandwidth_credentials import Resolver

from .misbehaving import Server, answer, misbehaving
from .oauth_servers import CLIENT_ID, CLIENT_SECRET, TokenServer

httpx = pytest.importorskip("httpx")
requests = pytest.importorskip("requests")

BODY = b'{"to": "+15555550100", "answerUrl": "https://example.test/answer"}' * 64
TIMEOUT = 10.0  # seconds: a retry that declares bytes it never sends ends here


@pytest.fixture
def api() -> Iterator[Server]:
    """An API on 127.0.0.1 that refuses the first request with 401, then accepts."""
    with misbehaving(answer(401, b'{"error": "unauthorized"}'), answer(200, b"{}")) as server:
        yield server


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch, token_server: TokenServer, api: Server) -> Resolver:
    for key, value in {
        "BW_ACCOUNT_ID": "920012",
        "BW_CLIENT_ID": CLIENT_ID,
        "BW_CLIENT_SECRET": CLIENT_SECRET,
        "BW_TOKEN_URL": token_server.url,
        "BW_VOICE_BASE_URL": api.url + "/api/v2/accounts/920012",
    }.items():
        monkeypatch.setenv(key, value)
    return Resolver(["env"])


def _chunks() -> Iterator[bytes]:
    for start in range(0, len(BODY), 1000):
        yield BODY[start : start + 1000]


async def _achunks() -> AsyncIterator[bytes]:
    for chunk in _chunks():
        yield chunk


def test_requests_rewinds_a_file_body_for_the_retry(resolver: Resolver, api: Server) -> None:
    voice = resolver.get_auth("voice")
    body = io.BytesIO(b"ignored prefix" + BODY)
    body.seek(len(b"ignored prefix"))

    response = requests.post(
        voice.url("calls"), data=body, auth=voice.requests_auth(), timeout=TIMEOUT
    )

    assert response.status_code == 200
    assert [r.body for r in api.requests] == [BODY, BODY]
    assert api.requests[0].headers["authorization"] != api.requests[1].headers["authorization"]


def test_requests_returns_the_401_for_a_body_it_cannot_send_again(
    resolver: Resolver, api: Server
) -> None:
    voice = resolver.get_auth("voice")

    response = requests.post(
        voice.url("calls"), data=_chunks(), auth=voice.requests_auth(), timeout=TIMEOUT
    )

    assert response.status_code == 401
    assert [r.body for r in api.requests] == [BODY]


def test_requests_retries_a_bytes_body(resolver: Resolver, api: Server) -> None:
    voice = resolver.get_auth("voice")

    response = requests.post(
        voice.url("calls"), data=BODY, auth=voice.requests_auth(), timeout=TIMEOUT
    )

    assert response.status_code == 200
    assert [r.body for r in api.requests] == [BODY, BODY]


def test_httpx_retries_a_generator_body_with_every_byte(resolver: Resolver, api: Server) -> None:
    voice = resolver.get_auth("voice")

    with httpx.Client(timeout=TIMEOUT) as client:
        response = client.post(voice.url("calls"), content=_chunks(), auth=voice.httpx_auth())

    assert response.status_code == 200
    assert [r.body for r in api.requests] == [BODY, BODY]


def test_httpx_async_retries_a_generator_body_with_every_byte(
    resolver: Resolver, api: Server
) -> None:
    voice = resolver.get_auth("voice")

    async def post() -> int:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            response = await client.post(
                voice.url("calls"), content=_achunks(), auth=voice.httpx_auth()
            )
            return response.status_code

    assert asyncio.run(post()) == 200
    assert [r.body for r in api.requests] == [BODY, BODY]


# Bodies requests sends as they are, each of which can be sent again: the retry carries
# every byte (bytes-like bodies are sent whole each time; a file is rewound).
REPEATABLE: dict[str, object] = {
    "bytearray": lambda path: bytearray(BODY),
    "memoryview": lambda path: memoryview(BODY),
    "text": lambda path: BODY.decode(),
    "text-mode file": lambda path: open(path, encoding="ascii"),  # noqa: SIM115
    "binary file": lambda path: _binary(path),
}


def _binary(path: object) -> object:
    return open(path, "rb")  # type: ignore[call-overload]


@pytest.mark.parametrize("kind", list(REPEATABLE))
def test_requests_retries_every_body_it_can_send_again(
    resolver: Resolver, api: Server, tmp_path: object, kind: str
) -> None:
    path = tmp_path / "body.json"  # type: ignore[operator]
    path.write_bytes(BODY)
    voice = resolver.get_auth("voice")
    body = REPEATABLE[kind](path)  # type: ignore[operator]

    try:
        with warnings.catch_warnings():  # requests warns about text-mode files (its own advice)
            warnings.simplefilter("ignore", requests.exceptions.FileModeWarning)
            response = requests.post(
                voice.url("calls"), data=body, auth=voice.requests_auth(), timeout=TIMEOUT
            )
    finally:
        getattr(body, "close", lambda: None)()

    assert response.status_code == 200
    assert [r.body for r in api.requests] == [BODY, BODY]
