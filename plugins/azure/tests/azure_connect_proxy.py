"""A loopback HTTP CONNECT proxy that tunnels only to the hostnames it serves.

Clients that honour ``HTTPS_PROXY=http://127.0.0.1:PORT`` (requests, and so azure-core
and google-auth) open ``CONNECT host:443`` here instead of resolving ``host`` themselves.
The proxy looks the ``host:port`` up in its routes and, when it serves that name, opens a
TCP connection to the loopback address behind it and relays bytes both ways; TLS runs
end to end between the client and that server, so the client verifies the real-looking
hostname against its CA bundle exactly as it would on the internet. Any other target is
refused with ``403``, so nothing can leave the machine through it.

Protocol: RFC 9110, section 9.3.6 (CONNECT): a ``2xx`` answer turns the connection into
a tunnel. Not implemented: plain-HTTP proxying (absolute-URI requests are answered
``405``), proxy authentication, and ``Expect``/pipelining before the tunnel.
"""

from __future__ import annotations

import selectors
import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager

MAX_HEADER = 16 * 1024
#: A tunnel with no traffic either way for this long is closed.
IDLE_SECONDS = 30.0


class ConnectProxy:
    """``CONNECT`` tunnels to routed hostnames only; every request is recorded.

    ``route("myvault.vault.azure.net", 443, ("127.0.0.1", 50123))`` makes the name
    reachable. ``connects`` lists every ``host:port`` asked for, ``refused`` those
    answered 403.
    """

    def __init__(self) -> None:
        self._routes: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()
        self.connects: list[str] = []
        self.refused: list[str] = []
        self._sockets: set[socket.socket] = set()
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._serve(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The value for ``HTTPS_PROXY``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def route(self, host: str, port: int, to: tuple[str, int]) -> None:
        """Serve ``host:port`` by tunnelling to ``to`` (a loopback address)."""
        if not to[0].startswith("127."):
            raise ValueError("the proxy only tunnels to loopback addresses")
        with self._lock:
            self._routes[f"{host.lower()}:{port}"] = to

    def start(self) -> ConnectProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            sock.close()

    # -- one client connection -------------------------------------------------------------

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(5)
        head, rest = _read_head(client)
        if head is None:
            return
        method, _, target = head.partition(" ")
        target = target.split(" ", 1)[0].lower()
        if method != "CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        with self._lock:
            self.connects.append(target)
            to = self._routes.get(target)
        if to is None:
            with self._lock:
                self.refused.append(target)
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        try:
            upstream = socket.create_connection(to, timeout=5)
        except OSError:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        with self._lock:
            self._sockets.update((client, upstream))
        try:
            client.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
            _relay(client, upstream)
        finally:
            upstream.close()
            with self._lock:
                self._sockets.discard(client)
                self._sockets.discard(upstream)


def _read_head(client: socket.socket) -> tuple[str | None, bytes]:
    """The request line and whatever followed the header block; ``None`` if unreadable."""
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = client.recv(4096)
            if not chunk or len(data) > MAX_HEADER:
                return None, b""
            data += chunk
    except OSError:
        return None, b""
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0].decode("latin-1"), rest


def _relay(a: socket.socket, b: socket.socket) -> None:
    peers = {a: b, b: a}
    with selectors.DefaultSelector() as selector:
        for sock in peers:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        while True:
            ready = selector.select(timeout=IDLE_SECONDS)
            if not ready:
                return
            for key, _ in ready:
                source = key.fileobj
                if not isinstance(source, socket.socket):
                    return
                try:
                    data = source.recv(65536)
                    if not data:
                        return
                    peers[source].settimeout(5)  # a bounded write, then back to polling
                    peers[source].sendall(data)
                    peers[source].setblocking(False)
                except OSError:
                    return


@contextmanager
def running() -> Iterator[ConnectProxy]:
    """A started proxy, stopped on exit."""
    proxy = ConnectProxy().start()
    try:
        yield proxy
    finally:
        proxy.stop()
