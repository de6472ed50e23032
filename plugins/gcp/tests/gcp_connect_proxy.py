"""A loopback HTTP ``CONNECT`` proxy that stands in for real hostnames.

Clients configured with ``HTTPS_PROXY=http://127.0.0.1:PORT`` (requests, urllib3) or
``https_proxy``/``grpc_proxy`` (gRPC) ask it to ``CONNECT host:443``
(RFC 9110 section 9.3.6). It accepts only the ``host:port`` targets it was given and
answers every other request ``403``; it never resolves a name, so nothing leaves the
machine. For an accepted target it either

- terminates TLS itself with the route's server context (a ``trustme`` certificate for
  that hostname, offering ALPN ``h2`` and ``http/1.1``) and relays the plaintext to a
  loopback backend, so a plain HTTP server or an insecure gRPC server answers as the real
  host; or
- relays the raw bytes (``tls=None``) to a backend that terminates TLS itself.

Clients keep verifying the certificate against the CA their environment names
(``REQUESTS_CA_BUNDLE``, ``SSL_CERT_FILE``, ``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH``), so the
test exercises the client's standard proxy and CA handling unchanged.

Not implemented: proxy authentication, plain (non-CONNECT) proxying, HTTP/2 to the proxy.
"""

from __future__ import annotations

import select
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

_MAX_HEAD = 8 * 1024
_IDLE = 30.0


@dataclass(frozen=True)
class Route:
    """Where a ``CONNECT`` target goes: a loopback backend, and TLS to terminate or not."""

    backend: tuple[str, int]
    tls: ssl.SSLContext | None = None


def server_context(cert_chain: str, key: str) -> ssl.SSLContext:
    """A TLS server context for the proxy to present (PEM file paths), ALPN h2/http1.1."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_chain, key)
    context.set_alpn_protocols(["h2", "http/1.1"])
    return context


class ConnectProxy(socketserver.ThreadingTCPServer):
    """The proxy; ``connects`` lists accepted targets, ``refused`` the others, in order."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, routes: Mapping[str, Route]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes = dict(routes)
        self.connects: list[str] = []
        self.refused: list[str] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: object, client_address: object) -> None:
        return  # a client or backend hanging up mid-stream is normal here


class _Handler(socketserver.BaseRequestHandler):
    server: ConnectProxy

    def handle(self) -> None:
        client: socket.socket = self.request
        client.settimeout(_IDLE)
        head = _read_head(client)
        method, _, rest = head.partition(b" ")
        target = rest.split(b" ", 1)[0].decode("ascii", "replace")
        route = self.server.routes.get(target) if method == b"CONNECT" else None
        with self.server.lock:
            (self.server.connects if route else self.server.refused).append(target)
        if route is None:
            client.sendall(
                b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            return
        upstream = socket.create_connection(route.backend, timeout=_IDLE)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        with upstream:
            if route.tls is None:
                _relay(client, upstream)
                return
            # wrap_socket detaches the plain socket, so the wrapped one is closed here.
            with route.tls.wrap_socket(client, server_side=True) as tls_client:
                _relay(tls_client, upstream)


def _read_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < _MAX_HEAD:
        chunk = sock.recv(1024)
        if not chunk:
            break
        data += chunk
    return data


def _relay(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side closes or stays idle for too long."""
    peers = {client: upstream, upstream: client}
    while True:
        # Bytes already decrypted inside an SSL socket do not make it selectable.
        pending = [s for s in peers if isinstance(s, ssl.SSLSocket) and s.pending()]
        readable = pending or select.select(list(peers), [], [], _IDLE)[0]
        if not readable:
            return
        for sock in readable:
            try:
                data = sock.recv(65536)
            except (OSError, ssl.SSLError):
                return
            if not data:
                return
            peers[sock].sendall(data)


@contextmanager
def running(proxy: ConnectProxy) -> Iterator[ConnectProxy]:
    """Serve ``proxy`` in a thread for the ``with`` block."""
    thread = threading.Thread(target=proxy.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join(5)
