"""The token request against misbehaving endpoints: every wait bounded, every answer
capped, no redirect followed, server text and tokens checked, nothing secret in any
output (exception graph, DEBUG logs, warnings)."""

from __future__ import annotations

import logging
import ssl
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bandwidth_credentials import (
    CredentialsError,
    InvalidCredentialsError,
    Resolver,
    TokenError,
    _oauth,
)
from bandwidth_credentials.testing import exception_graph

from .helpers import MemoryProvider
from .misbehaving import (
    Behaviour,
    answer,
    hang,
    huge,
    json_body,
    misbehaving,
    redirect,
    reset_mid_body,
    trickle,
)
from .oauth_servers import CLIENT_ID as CLIENT
from .oauth_servers import CLIENT_SECRET as SECRET

CANARY_TOKEN = "canary-token-6d1e"
ATTEMPT = 1.0  # the per-attempt deadline these tests set


def exception_texts(error: BaseException) -> Iterator[str]:
    """Every string reachable from ``error``: messages, args, attributes, the chain."""
    yield "".join(traceback.format_exception(type(error), error, error.__traceback__))
    for _, node in exception_graph(error):
        yield node.decode("latin-1") if isinstance(node, bytes) else repr(node)


def leaks(action: Callable[[], Any], caplog: pytest.LogCaptureFixture) -> tuple[str, Any]:
    """Run ``action`` with DEBUG logging and warnings captured; every text it produced,
    and its result or exception."""
    caplog.set_level(logging.DEBUG)
    outcome: Any = None
    with warnings.catch_warnings(record=True) as recorded:
        warnings.simplefilter("always")
        try:
            outcome = action()
        except CredentialsError as exc:
            outcome = exc
    texts = [r.getMessage() for r in caplog.records] + [str(w.message) for w in recorded]
    if isinstance(outcome, BaseException):
        texts += list(exception_texts(outcome))
    return "\n".join(texts), outcome


@pytest.fixture(autouse=True)
def _short_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_oauth, "TIMEOUT", ATTEMPT)


@pytest.mark.parametrize(
    ("behaviour", "requests", "words"),
    [
        (hang(), _oauth.ATTEMPTS, "timed out"),
        (trickle(json_body({"access_token": CANARY_TOKEN}), 0.2), _oauth.ATTEMPTS, "timed out"),
        (reset_mid_body(), _oauth.ATTEMPTS, "connection failed"),
        (huge(100 << 20), 1, "larger than 1048576 bytes"),
        (huge(100 << 20, chunked=True), 1, "larger than 1048576 bytes"),
    ],
    ids=["hang", "trickle", "reset", "huge", "huge-chunked"],
)
def test_a_misbehaving_endpoint_fails_within_the_documented_bound(
    caplog: pytest.LogCaptureFixture, behaviour: Behaviour, requests: int, words: str
) -> None:
    with misbehaving(behaviour) as server:
        tokens = _oauth.TokenManager(server.url + "/token", CLIENT, SECRET)
        started = time.monotonic()
        output, error = leaks(tokens.token, caplog)
        elapsed = time.monotonic() - started
        made = len(server.requests)

    assert isinstance(error, TokenError)
    assert words in str(error)
    assert error.__cause__ is None
    assert error.__context__ is None
    assert made == requests
    # the bound: ATTEMPTS deadlines plus the pause between them, generously
    assert elapsed < _oauth.ATTEMPTS * ATTEMPT + 1.5
    assert SECRET not in output
    assert CANARY_TOKEN not in output


@pytest.fixture
def tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    return context


def test_a_redirect_from_https_to_http_elsewhere_is_not_followed(
    tls: ssl.SSLContext, caplog: pytest.LogCaptureFixture
) -> None:
    issued = json_body({"access_token": CANARY_TOKEN, "expires_in": 3600})
    with misbehaving(answer(200, issued), host="127.0.0.2") as elsewhere:
        target = elsewhere.url.replace("://", "://user:canary-pw@") + "/token?code=canary-q"
        with misbehaving(redirect(target, 307), tls=tls) as server:
            tokens = _oauth.TokenManager(server.url + "/token", CLIENT, SECRET)
            started = time.monotonic()
            output, error = leaks(tokens.token, caplog)
            elapsed = time.monotonic() - started
            asked = len(server.requests)
        received = elsewhere.requests

    assert isinstance(error, TokenError)
    assert error.status == 307
    assert f"redirect to {elsewhere.url}/token" in str(error)
    assert received == []  # the client secret never went to 127.0.0.2
    assert asked == 1
    assert elapsed < 2.0
    for canary in (SECRET, CANARY_TOKEN, "canary-pw", "canary-q"):
        assert canary not in output


#: Bearer tokens that cannot go into an Authorization header as they are: refused alike
#: whether a token endpoint issued them or they were configured (BW_ACCESS_TOKEN).
UNSENDABLE_TOKENS = [
    "abc def",
    "abc\r\nX-Injected: 1",
    "abc\tdef",
    "abc\x00def",
    "abc\u200bdef",  # zero-width space
    "\ufeffabcdef",  # BOM
    "abc\u202edef",  # right-to-left override
    "abc\u2603def",  # not Latin-1: http.client raises, quoting the whole header
    "abc\u00e9def",  # Latin-1 but not ASCII: sent as a different token by each client
    "abc\udcffdef",  # a byte that was not UTF-8
]


@pytest.mark.parametrize("token", UNSENDABLE_TOKENS)
def test_issued_tokens_are_checked_like_static_tokens(
    token: str, caplog: pytest.LogCaptureFixture
) -> None:
    body = json_body({"access_token": token + CANARY_TOKEN, "expires_in": 3600})
    with misbehaving(answer(200, body)) as server:
        tokens = _oauth.TokenManager(server.url, CLIENT, SECRET)
        output, error = leaks(tokens.token, caplog)

    assert isinstance(error, TokenError)
    assert "access_token contains" in str(error)
    assert CANARY_TOKEN not in output


@pytest.mark.parametrize("token", UNSENDABLE_TOKENS)
def test_static_tokens_are_checked_like_issued_tokens(
    token: str, caplog: pytest.LogCaptureFixture
) -> None:
    MemoryProvider.stores["a"] = {"accountId": "920012", "accessToken": token + CANARY_TOKEN}

    output, error = leaks(lambda: Resolver(["mem:a"]).get_auth("voice"), caplog)

    assert isinstance(error, InvalidCredentialsError)
    assert error.key == "accessToken"
    assert CANARY_TOKEN not in output


def test_a_redirect_shows_where_it_pointed_without_terminal_escapes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    target = "http://127.0.0.2:9/token\x1b[2J\x1b]0;owned\x07\u202e"
    with misbehaving(redirect(target.encode("utf-8").decode("latin-1"))) as server:
        output, error = leaks(_oauth.TokenManager(server.url, CLIENT, SECRET).token, caplog)

    assert isinstance(error, TokenError)
    assert "redirect to http://127.0.0.2:9/token%1B[2J%1B]0;owned%07" in str(error)
    assert str(error).isprintable()
    assert "\x1b" not in output


@pytest.mark.parametrize(
    ("status", "body", "shown"),
    [
        (401, {"error": "invalid_client"}, "(invalid_client)"),
        (400, {"error": "invalid_scope", "error_description": "canary-said"}, "(invalid_scope)"),
        (400, {"error": "canary-said"}, "(server text omitted)"),
        (403, "<html>canary-said</html>", "(server text omitted)"),
        (500, {"error": "canary-said", "detail": SECRET}, "(server text omitted)"),
        (404, {}, "(server text omitted)"),
    ],
)
def test_only_standard_oauth_error_codes_are_shown(
    status: int, body: Any, shown: str, caplog: pytest.LogCaptureFixture
) -> None:
    raw = body.encode() if isinstance(body, str) else json_body(body)
    with misbehaving(answer(status, raw)) as server:
        tokens = _oauth.TokenManager(server.url, CLIENT, SECRET)
        output, error = leaks(tokens.token, caplog)

    assert isinstance(error, TokenError)
    assert f"HTTP {status} {shown}" in str(error)
    assert error.status == status
    assert "canary-said" not in output
    assert SECRET not in output


@pytest.mark.parametrize(
    "url",
    [
        "https://auth.example:notaport/token",
        "https://[::1/token",
        "https://" + "a" * 70 + ".example/token",
        "https://auth.example/a b",
    ],
)
def test_a_token_url_that_cannot_be_requested_is_a_token_error(url: str) -> None:
    tokens = _oauth.TokenManager(url, CLIENT, SECRET)

    with pytest.raises(TokenError) as caught:
        tokens.token()

    assert "not valid" in str(caught.value) or "URL" in str(caught.value)
    assert caught.value.__context__ is None
    assert not caught.value.retryable


def test_a_good_answer_after_misbehaviour_is_used(caplog: pytest.LogCaptureFixture) -> None:
    issued = json_body({"access_token": CANARY_TOKEN, "expires_in": 3600})
    with misbehaving(reset_mid_body(), answer(200, issued)) as server:
        tokens = _oauth.TokenManager(server.url, CLIENT, SECRET)
        output, token = leaks(tokens.token, caplog)

    assert token == CANARY_TOKEN
    assert CANARY_TOKEN not in output
    assert SECRET not in output
