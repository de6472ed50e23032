"""A scriptable loopback HTTP server that misbehaves on purpose.

Shared by the core's and the plugins' tests (``from tests.misbehaving import ...``). It
speaks raw HTTP/1.1 on a socket so that it can break the protocol where a real server
or network would: hang after accepting, trickle a valid answer one byte at a time,
reset the connection mid-body, stream an endless body, answer 429/503 with
``Retry-After`` (RFC 9110 §10.2.3), or redirect elsewhere (RFC 9110 §15.4).

    with misbehaving(trickle(json_body({"ok": True}), interval=1.0)) as server:
        ...  # request server.url + "/anything"; server.requests lists what arrived

``script`` behaviours are used one per request, the last one repeating. The server binds
an ephemeral port on 127.0.0.1 (or 127.0.0.2 for a second origin), serves TLS when given
a server-side context, and stops itself when the ``with`` block ends (or after
``lifetime`` seconds), closing every connection it holds.
"""

from __future__ import annotations

import json
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Behaviour",
    "Received",
    "Server",
    "answer",
    "hang",
    "huge",
    "json_body",
    "misbehaving",
    "redirect",
    "reset_mid_body",
    "retry_after",
    "slow",
    "trickle",
]


@dataclass
class Received:
    """One request as it arrived: method, target, headers (lower-case names), body."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Server:
    url: str  # scheme://host:port
    host: str
    port: int
    requests: list[Received] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Event = field(default_factory=threading.Event)  # set by a request


Behaviour = Callable[[socket.socket, Received, Server], None]


def _head(status: int, headers: Mapping[str, str], length: int | None) -> bytes:
    lines = [f"HTTP/1.1 {status} X", "Connection: close"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def json_body(value: Any) -> bytes:
    return json.dumps(value).encode()


def answer(
    status: int = 200, body: bytes = b"{}", headers: Mapping[str, str] | None = None
) -> Behaviour:
    """A plain, well-formed answer (JSON content type unless ``headers`` say otherwise)."""
    fields = {"Content-Type": "application/json", **(headers or {})}

    def act(conn: socket.socket, request: Received, server: Server) -> None:
        conn.sendall(_head(status, fields, len(body)) + body)

    return act


def hang() -> Behaviour:
    """Accept and read the request, then never answer (until the server stops)."""

    def act(conn: socket.socket, request: Received, server: Server) -> None:
        server.stop.wait()

    return act


def slow(body: bytes, delay: float, headers: Mapping[str, str] | None = None) -> Behaviour:
    """A well-formed 200 answer, sent whole after ``delay`` seconds (a slow page)."""
    fields = {"Content-Type": "application/json", **(headers or {})}

    def act(conn: socket.socket, request: Received, server: Server) -> None:
        if not server.stop.wait(delay):
            conn.sendall(_head(200, fields, len(body)) + body)

    return act


def trickle(body: bytes, interval: float = 1.0, status: int = 200) -> Behaviour:
    """A valid answer, one byte every ``interval`` seconds (head included)."""

    def act(conn: socket.socket, request: Received, server: Server) -> None:
        data = _head(status, {"Content-Type": "application/json"}, len(body)) + body
        for index in range(len(data)):
            conn.sendall(data[index : index + 1])
            if server.stop.wait(interval):
                return

    return act


def reset_mid_body(length: int = 4096, sent: int = 100) -> Behaviour:
    """Promise ``length`` body bytes, send ``sent`` of them, then reset (TCP RST)."""

    def act(conn: socket.socket, request: Received, server: Server) -> None:
        conn.sendall(_head(200, {"Content-Type": "application/json"}, length) + b"{" * sent)
        time.sleep(0.05)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    return act


def huge(size: int = 100 << 20, chunked: bool = False) -> Behaviour:
    """A ``size``-byte body streamed in 64 KiB pieces (never built in memory); stops
    when the client goes away. ``chunked`` sends it without a Content-Length."""
    piece = b" " * (64 << 10)

    def act(conn: socket.socket, request: Received, server: Server) -> None:
        if chunked:
            conn.sendall(_head(200, {"Transfer-Encoding": "chunked"}, None))
        else:
            conn.sendall(_head(200, {"Content-Type": "application/json"}, size))
        sent = 0
        while sent < size and not server.stop.is_set():
            data = piece[: size - sent]
            if chunked:
                data = f"{len(data):x}\r\n".encode() + data + b"\r\n"
            conn.sendall(data)
            sent += len(piece)
        if chunked:
            conn.sendall(b"0\r\n\r\n")

    return act


def retry_after(status: int = 429, value: str = "2", body: bytes = b"{}") -> Behaviour:
    """429 or 503 with ``Retry-After: value`` (seconds or an HTTP date)."""
    return answer(status, body, {"Retry-After": value})


def redirect(location: str, status: int = 302) -> Behaviour:
    """A redirect to ``location`` (another origin, such as a server on 127.0.0.2)."""
    return answer(status, b"", {"Location": location})


def _read_request(conn: socket.socket) -> Received | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
        if len(data) > 1 << 20:
            return None
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target = lines[0].split(" ")[:2]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        return Received(method, target, headers, _read_chunked(conn, rest))
    length = int(headers.get("content-length", "0") or 0)
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    return Received(method, target, headers, rest[:length])


def _read_chunked(conn: socket.socket, data: bytes) -> bytes:
    """A chunked request body (RFC 9112 §7.1), as far as it arrives; trailers ignored."""
    body = b""
    while True:
        while b"\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return body
            data += chunk
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        while len(data) < size + 2:
            chunk = conn.recv(65536)
            if not chunk:
                return body + data[:size]
            data += chunk
        if size == 0:
            return body
        body += data[:size]
        data = data[size + 2 :]


@contextmanager
def misbehaving(
    *script: Behaviour,
    host: str = "127.0.0.1",
    tls: ssl.SSLContext | None = None,
    lifetime: float = 120.0,
) -> Iterator[Server]:
    """Serve ``script`` on ``host`` (an ephemeral port) until the block ends."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, 0))
    listener.listen(64)
    listener.settimeout(0.05)
    port = listener.getsockname()[1]
    server = Server(f"{'https' if tls else 'http'}://{host}:{port}", host, port)
    steps = list(script) or [answer()]
    open_conns: list[socket.socket] = []
    workers: list[threading.Thread] = []
    lock = threading.Lock()

    def handle(conn: socket.socket) -> None:
        try:
            conn.settimeout(lifetime)
            if tls is not None:
                conn = tls.wrap_socket(conn, server_side=True)
                with lock:
                    open_conns.append(conn)
            request = _read_request(conn)
            if request is None:
                return
            with lock:
                server.requests.append(request)
                step = steps[min(len(server.requests), len(steps)) - 1]
            server.arrived.set()
            step(conn, request, server)
        except OSError:
            pass  # the client went away, or the server is stopping
        finally:
            conn.close()

    def serve() -> None:
        ends = time.monotonic() + lifetime
        while not server.stop.is_set() and time.monotonic() < ends:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with lock:
                open_conns.append(conn)
            worker = threading.Thread(target=handle, args=(conn,), daemon=True)
            workers.append(worker)
            worker.start()
        server.stop.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        thread.join(5)
        listener.close()
        with lock:
            for conn in open_conns:
                with suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
        for worker in workers:
            worker.join(5)
