"""Loopback servers for tests: an HTTP server around a request handler, and a ``CONNECT``
proxy that stands in for real host names. Both listen on a 127.x address, pick a free
port, serve from a daemon thread and are shut down when their ``with`` block ends, so a
test never reaches outside the machine (nothing here resolves a name).
"""

from __future__ import annotations

import contextlib
import select
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["ConnectProxy", "LoopbackServer", "Route", "connect_proxy", "serve"]

_MAX_HEAD = 16 * 1024
#: A tunnel with no traffic either way for this long (seconds) is closed.
_IDLE = 30.0


class LoopbackServer(ThreadingHTTPServer):
    """What :func:`serve` yields: the running server, with ``host``, ``port`` and ``url``."""

    daemon_threads = True
    request_queue_size = 256  # many cold callers may connect at once

    scheme = "http"

    @property
    def host(self) -> str:
        return str(self.server_address[0])

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (``https`` when serving TLS), no trailing slash."""
        return f"{self.scheme}://{self.host}:{self.port}"

    def handle_error(self, request: object, client_address: object) -> None:
        return  # a client hanging up mid-answer is part of what tests do


@contextlib.contextmanager
def serve(
    handler: type[BaseHTTPRequestHandler],
    *,
    tls: ssl.SSLContext | None = None,
    host: str = "127.0.0.1",
) -> Iterator[LoopbackServer]:
    """Serve ``handler`` (a :class:`http.server.BaseHTTPRequestHandler` subclass) on
    ``host`` at a free port for the ``with`` block, over TLS when ``tls`` (a server
    context) is given. Each connection is handled in its own thread; on exit the server
    stops and its thread is joined (at most 5 s).

    Example::

        from http.server import BaseHTTPRequestHandler
        from bandwidth_credentials.testing import serve

        class Store(BaseHTTPRequestHandler):
            def do_GET(self):
                body = b'{"BW_CLIENT_ID": "id"}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        def test_my_provider_reads_the_store():
            with serve(Store) as server:
                ...  # point the provider at server.url
    """
    server = LoopbackServer((host, 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        server.scheme = "https"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass(frozen=True)
class Route:
    """Where :class:`ConnectProxy` sends one ``CONNECT`` target: ``backend`` (a loopback
    ``(host, port)``), and ``tls``, a server context to terminate TLS with in the proxy
    (the backend then speaks plain HTTP or gRPC) or ``None`` to relay the raw bytes.
    With ``interval`` (seconds), what the backend sends trickles to the client one byte
    per ``interval``: a path that stalls whatever the protocol (TLS, HTTP/2, gRPC)."""

    backend: tuple[str, int]
    tls: ssl.SSLContext | None = None
    interval: float | None = None


class ConnectProxy(socketserver.ThreadingTCPServer):
    """A forward proxy that serves only ``CONNECT`` (RFC 9110 §9.3.6) and never resolves a
    name. A target (``host:port``) it has a :class:`Route` for goes to that route's
    backend; a target whose host is a loopback address (``127.x``, ``::1``) is tunnelled
    to itself; anything else, and any other method, is answered ``403``. ``connects``
    lists the accepted targets and ``refused`` the others, in order.

    Clients that honour ``HTTPS_PROXY=`` :attr:`url` (requests, urllib3, httpx, gRPC via
    ``https_proxy``) then reach a loopback server under a real-looking host name, and
    still verify its certificate against the CA bundle they are given. Not implemented:
    plain (absolute-URI) proxying, proxy authentication, HTTP/2 to the proxy.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, routes: Mapping[str, Route] | None = None, *, host: str = "127.0.0.1"
    ) -> None:
        super().__init__((host, 0), _Tunnel)
        self.host = host
        self.port = int(self.server_address[1])
        self.routes: dict[str, Route] = {k.lower(): v for k, v in (routes or {}).items()}
        self.connects: list[str] = []
        self.refused: list[str] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        """The value for ``HTTPS_PROXY``: ``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"

    def route(
        self, host: str, port: int, to: tuple[str, int], tls: ssl.SSLContext | None = None
    ) -> None:
        """Serve ``host:port`` by tunnelling to ``to`` (a loopback address)."""
        if not _loopback(to[0]):
            raise ValueError("the proxy only tunnels to loopback addresses")
        with self.lock:
            self.routes[f"{host.lower()}:{port}"] = Route(to, tls)

    def _route_for(self, method: bytes, target: str) -> Route | None:
        with self.lock:
            route = self.routes.get(target) if method == b"CONNECT" else None
            name, _, port = target.rpartition(":")
            if route is None and method == b"CONNECT" and _loopback(name) and port.isdigit():
                route = Route((name.strip("[]"), int(port)))
            (self.connects if route else self.refused).append(target)
        return route

    def handle_error(self, request: object, client_address: object) -> None:
        return  # a client or backend hanging up mid-stream is normal here


def _loopback(host: str) -> bool:
    return host.strip("[]") == "::1" or host.startswith("127.")


class _Tunnel(socketserver.BaseRequestHandler):
    server: ConnectProxy

    def handle(self) -> None:
        client: socket.socket = self.request
        client.settimeout(_IDLE)
        head, rest = _read_head(client)
        method, _, after = head.split(b"\r\n", 1)[0].partition(b" ")
        target = after.split(b" ", 1)[0].decode("ascii", "replace").lower()
        route = self.server._route_for(method, target)
        if route is None:
            client.sendall(
                b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            return
        try:
            upstream = socket.create_connection(route.backend, timeout=_IDLE)
        except OSError:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        with upstream:
            if route.tls is None:
                upstream.sendall(rest)  # bytes a client sent before the 200 (rarely any)
                _relay(client, upstream, route.interval)
                return
            # wrap_socket detaches the plain socket, so the wrapped one is closed here.
            with route.tls.wrap_socket(client, server_side=True) as tls_client:
                _relay(tls_client, upstream, route.interval)


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """The request head and whatever followed it (the client may start TLS at once)."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < _MAX_HEAD:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _relay(client: socket.socket, upstream: socket.socket, interval: float | None = None) -> None:
    """Copy bytes both ways until either side closes or stays idle for too long; with
    ``interval``, the upstream's bytes go to the client one per ``interval`` seconds."""
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
            except OSError:  # ssl.SSLError included
                return
            if not data:
                with contextlib.suppress(OSError):
                    peers[sock].shutdown(socket.SHUT_WR)
                return
            if interval is None or sock is client:
                peers[sock].sendall(data)
                continue
            for index in range(len(data)):
                try:
                    client.sendall(data[index : index + 1])
                except OSError:  # the client gave up
                    return
                time.sleep(interval)


@contextlib.contextmanager
def connect_proxy(
    routes: Mapping[str, Route] | None = None, *, host: str = "127.0.0.1"
) -> Iterator[ConnectProxy]:
    """A running :class:`ConnectProxy` on ``host`` for the ``with`` block.

    Example::

        from bandwidth_credentials.testing import Route, connect_proxy

        def test_my_provider_goes_through_the_proxy(monkeypatch):
            with connect_proxy({"vault.example.com:443": Route(("127.0.0.1", port))}) as proxy:
                monkeypatch.setenv("HTTPS_PROXY", proxy.url)
                ...
            assert proxy.connects == ["vault.example.com:443"]
    """
    proxy = ConnectProxy(routes, host=host)
    thread = threading.Thread(target=proxy.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join(5)
