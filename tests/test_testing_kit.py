"""The test kit in ``bandwidth_credentials.testing`` that the core's and the plugins' tests
share: FakeClock, serve(), connect_proxy() and in_forked_child()."""

from __future__ import annotations

import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest

from bandwidth_credentials.testing import FakeClock, Route, connect_proxy, in_forked_child, serve

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork only")


class Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"hello {self.headers.get('Host')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def through(proxy_port: int, target: str, request: bytes) -> bytes:
    """Ask the proxy to ``CONNECT target``; its answer, then what ``request`` got back."""
    with socket.create_connection(("127.0.0.1", proxy_port), timeout=5) as sock:
        sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
        answer = sock.recv(4096)
        if answer.startswith(b"HTTP/1.1 200"):
            sock.sendall(request)
            while chunk := sock.recv(4096):
                answer += chunk
    return answer


def test_the_fake_clock_moves_only_when_told() -> None:
    clock = FakeClock()

    before = clock()
    clock.advance(61)
    clock.now += 1

    assert (before, clock()) == (1000.0, 1062.0)


def test_serve_answers_on_loopback_until_the_block_ends() -> None:
    with serve(Hello) as server:
        with socket.create_connection((server.host, server.port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.0\r\nHost: store.example\r\n\r\n")
            answer = b"".join(iter(lambda: sock.recv(4096), b""))
        url = server.url

    assert url == f"http://127.0.0.1:{server.port}"
    assert answer.endswith(b"hello store.example")
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


def test_the_proxy_routes_names_tunnels_to_loopback_and_refuses_the_rest() -> None:
    request = b"GET / HTTP/1.0\r\nHost: vault.example.com\r\n\r\n"
    with serve(Hello) as server, connect_proxy() as proxy:
        proxy.route("vault.example.com", 443, ("127.0.0.1", server.port))

        routed = through(proxy.port, "vault.example.com:443", request)
        direct = through(proxy.port, f"127.0.0.1:{server.port}", request)
        refused = through(proxy.port, "elsewhere.example.com:443", request)

    assert routed.endswith(b"hello vault.example.com")
    assert direct.endswith(b"hello vault.example.com")
    assert refused.startswith(b"HTTP/1.1 403")
    assert proxy.connects == ["vault.example.com:443", f"127.0.0.1:{server.port}"]
    assert proxy.refused == ["elsewhere.example.com:443"]
    with pytest.raises(ValueError, match="loopback"):
        proxy.route("x.example", 443, ("10.0.0.1", 443))


def test_a_route_with_an_interval_trickles_what_the_backend_sends() -> None:
    request = b"GET / HTTP/1.0\r\nHost: slow.example.com\r\n\r\n"
    with serve(Hello) as server:
        slow = Route(("127.0.0.1", server.port), interval=0.002)
        with connect_proxy({"slow.example.com:443": slow}) as proxy:
            started = time.monotonic()

            answer = through(proxy.port, "slow.example.com:443", request)

            elapsed = time.monotonic() - started
    assert answer.endswith(b"hello slow.example.com")
    body_and_head = len(answer) - len(b"HTTP/1.1 200 Connection established\r\n\r\n")
    assert elapsed >= body_and_head * 0.002  # one byte per interval, none sent early
    assert Route(("127.0.0.1", 1)).tls is None


@needs_fork
def test_a_forked_check_answers_as_text_a_failure_or_a_hang_included() -> None:
    parent = os.getpid()

    answers = [
        in_forked_child(lambda: os.getpid() != parent),
        in_forked_child(lambda: int("x")),
        in_forked_child(lambda: threading.Event().wait(), timeout=1),
    ]

    assert answers[0] == "True"
    assert answers[1].startswith("raised ValueError: invalid literal")
    assert answers[2] == "no answer within 1 s"
