"""The bounded HTTP client's ``context`` and ``proxy`` arguments (what transport
adapters hand over: a caller-built TLS context, the proxy ``requests`` selected)."""

from __future__ import annotations

import ssl

import pytest

from bandwidth_credentials import _http
from bandwidth_credentials.testing import connect_proxy

from .misbehaving import answer, json_body, misbehaving

trustme = pytest.importorskip("trustme")


def tls_pair() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context and a client context trusting it (through the caller's CA)."""
    ca = trustme.CA()
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client


def test_a_given_tls_context_replaces_verify_and_cafile() -> None:
    server_context, client_context = tls_pair()
    with misbehaving(answer(200, json_body({"ok": True})), tls=server_context) as server:
        response = _http.request("GET", server.url + "/", timeout=5, context=client_context)

        with pytest.raises(_http.TLSFailed):
            _http.request("GET", server.url + "/", timeout=5)

    assert response.status == 200


def test_an_explicit_proxy_is_used_and_an_empty_one_bypasses_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server_context, client_context = tls_pair()
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with (
        misbehaving(answer(200, b"{}"), tls=server_context) as server,
        connect_proxy() as chosen,
        connect_proxy(host="127.0.0.2") as environment,
    ):
        monkeypatch.setenv("HTTPS_PROXY", environment.url)

        _http.request("GET", server.url + "/", timeout=5, context=client_context, proxy=chosen.url)
        _http.request("GET", server.url + "/", timeout=5, context=client_context, proxy="")

        through_chosen = chosen.connects + chosen.refused
        through_environment = len(environment.connects + environment.refused)
    assert through_chosen == [f"127.0.0.1:{server.port}"]
    assert through_environment == 0
    assert len(server.requests) == 2
