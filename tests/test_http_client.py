"""The bounded HTTP client against misbehaving loopback servers."""

from __future__ import annotations

import email.utils
import math
import ssl
import time
import tracemalloc
from pathlib import Path

import pytest

from bandwidth_credentials import _http
from bandwidth_credentials.testing import connect_proxy

from .misbehaving import (
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


def test_a_plain_answer_is_read_whole() -> None:
    with misbehaving(answer(200, json_body({"ok": True}), {"X-Seen": "yes"})) as server:
        response = _http.request(
            "POST", server.url + "/token?x=1", headers={"A": "b"}, body=b"k=v", timeout=5
        )
        received = server.requests[0]

    assert response.status == 200
    assert response.body == b'{"ok": true}'
    assert response.headers["x-seen"] == "yes"
    assert (received.method, received.target, received.body) == ("POST", "/token?x=1", b"k=v")
    assert received.headers["a"] == "b"


@pytest.mark.parametrize(
    ("behaviour", "error"),
    [
        (hang(), _http.DeadlineExceeded),
        (trickle(json_body({"access_token": "t"}), interval=0.25), _http.DeadlineExceeded),
        (reset_mid_body(), _http.BrokenResponse),
        (huge(100 << 20), _http.ResponseTooLarge),
        (huge(100 << 20, chunked=True), _http.ResponseTooLarge),
    ],
    ids=["hang", "trickle", "reset", "huge", "huge-chunked"],
)
def test_one_deadline_and_one_size_cap_bound_every_attempt(
    behaviour: Behaviour, error: type[_http.HttpError]
) -> None:
    tracemalloc.start()
    with misbehaving(behaviour) as server:
        started = time.monotonic()
        with pytest.raises(error) as caught:
            _http.request("GET", server.url + "/", timeout=1.5)
        elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert elapsed < 1.5 + 1.0  # the deadline, whatever the server does
    assert peak < 8 << 20  # never the 100 MB body, never max_size up front
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None


def test_a_trickled_answer_within_the_deadline_is_accepted() -> None:
    with misbehaving(trickle(b"{}", interval=0.01)) as server:
        response = _http.request("GET", server.url + "/", timeout=10)

    assert response.body == b"{}"


def test_redirects_are_returned_not_followed() -> None:
    with (
        misbehaving(answer(200), host="127.0.0.2") as elsewhere,
        misbehaving(redirect(elsewhere.url + "/steal")) as server,
    ):
        response = _http.request("GET", server.url + "/", timeout=5)
        followed = len(elsewhere.requests)

    assert response.status == 302
    assert response.headers["location"] == elsewhere.url + "/steal"
    assert followed == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        (email.utils.formatdate(1_000_030, usegmt=True), 30.0),
        (email.utils.formatdate(999_000, usegmt=True), 0.0),  # in the past
        ("Mon Jan 12 13:47:10 1970", 30.0),  # asctime form: UTC, as every HTTP-date
        ("Monday, 12-Jan-70 13:47:10 GMT", 30.0),  # RFC 850 form
        ("soon", None),
        ("-5", None),
        ("\u00b2", None),  # a digit to str.isdigit, not to RFC 9110
        ("\u0661\u0662", None),  # Arabic-Indic digits
        ("9" * 400, math.inf),  # too long for a float, not an error
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_seconds_or_an_http_date(value: str | None, expected: float | None) -> None:
    assert _http.parse_retry_after(value, now=1_000_000.0) == expected


def test_retry_after_reaches_the_caller() -> None:
    with misbehaving(retry_after(503, "9")) as server:
        response = _http.request("GET", server.url + "/", timeout=5)

    assert response.status == 503
    assert _http.parse_retry_after(response.headers.get("retry-after"), time.time()) == 9.0


@pytest.mark.parametrize(
    "url",
    [
        "https://[::1",
        "https://host:port/",
        "https://host:99999/",
        "https://" + "a" * 70 + ".example/",
        "https://host/a b",
        "https://host/\x00",
        "ftp://host/",
        "https://user:pw@host/",
        "https:///path",
    ],
)
def test_bad_urls_are_typed_errors(url: str) -> None:
    with pytest.raises(_http.BadURL) as caught:
        _http.request("GET", url, timeout=1)

    assert caught.value.__context__ is None
    assert "pw" not in str(caught.value)


def test_a_closed_port_is_a_connect_failure() -> None:
    with misbehaving() as server:
        url = server.url
    with pytest.raises(_http.ConnectFailed) as caught:
        _http.request("GET", url + "/", timeout=2)

    assert caught.value.retryable


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pw@h.example:8443/p/q?secret=1#f", "https://h.example:8443/p/q"),
        ("https://h.example/p", "https://h.example/p"),
        ("https://[::1]:8/x?y", "https://[::1]:8/x"),
        ("https://h:bad/", "(unparsable URL)"),
        # What a server's Location may hold: shown percent-encoded, never raw (a terminal
        # would obey the escapes, a log line would read otherwise).
        ("http://127.0.0.2:9/t\x1b[2J\x1b]0;x\x07/", "http://127.0.0.2:9/t%1B[2J%1B]0;x%07/"),
        ("https://h.example/a b\u202eexe.", "https://h.example/a%20b%E2%80%AEexe."),
        ("https://h.example/\udcff", "https://h.example/%ED%B3%BF"),
        ("https://h\x1b.example/", "https://h%1B.example/"),
    ],
)
def test_display_url_drops_user_info_and_query(url: str, shown: str) -> None:
    assert _http.display_url(url) == shown


@pytest.fixture
def tls_server_context(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return context, ca_file


def test_https_is_verified_against_the_given_ca(
    tls_server_context: tuple[ssl.SSLContext, Path],
) -> None:
    context, ca_file = tls_server_context
    with misbehaving(answer(200, b"{}"), tls=context) as server:
        ok = _http.request("GET", server.url + "/", timeout=5, cafile=str(ca_file))
        with pytest.raises(_http.TLSFailed) as caught:
            _http.request("GET", server.url + "/", timeout=5)

    assert ok.status == 200
    assert "certificate" in str(caught.value).lower()
    assert caught.value.__context__ is None


def test_an_unreadable_ca_bundle_is_a_tls_failure(tmp_path: Path) -> None:
    (tmp_path / "junk.pem").write_text("not a certificate")

    for bundle in (tmp_path / "missing.pem", tmp_path / "junk.pem"):
        with pytest.raises(_http.TLSFailed, match="CA bundle") as caught:
            _http.request("GET", "https://127.0.0.1:9/", timeout=1, cafile=str(bundle))
        assert caught.value.__context__ is None


def test_a_tls_handshake_that_never_completes_is_bounded() -> None:
    with misbehaving(hang()) as server:  # plain TCP: never answers the ClientHello
        started = time.monotonic()
        with pytest.raises(_http.DeadlineExceeded):
            _http.request("GET", server.url.replace("http:", "https:") + "/", timeout=1)

    assert time.monotonic() - started < 2.0


@pytest.fixture
def tls_127_0_0_2(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.2").configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return context, ca_file


@pytest.mark.parametrize(("no_proxy", "tunnelled"), [("", True), ("127.0.0.2", False)])
def test_https_goes_through_the_proxy_tunnel_unless_bypassed(
    monkeypatch: pytest.MonkeyPatch,
    tls_127_0_0_2: tuple[ssl.SSLContext, Path],
    no_proxy: str,
    tunnelled: bool,
) -> None:
    context, ca_file = tls_127_0_0_2
    for name in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with (
        connect_proxy() as proxy,
        misbehaving(answer(200, b"{}"), tls=context, host="127.0.0.2") as server,
    ):
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", no_proxy)
        response = _http.request("GET", server.url + "/x", timeout=5, cafile=str(ca_file))
        asked = proxy.connects + proxy.refused

    assert response.status == 200
    assert asked == ([f"127.0.0.2:{server.port}"] if tunnelled else [])
