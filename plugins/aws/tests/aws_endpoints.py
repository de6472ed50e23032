"""Misbehaving AWS endpoints on loopback: a closed port, a fixed error, a silent listener."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from bandwidth_credentials.testing import CANARY_PASSWORD, serve


@contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@dataclass
class Failing:
    """A running :func:`failing_endpoint`: its ``port`` and the ``requests`` it answered."""

    port: int = 0
    requests: int = 0


@contextmanager
def failing_endpoint(status: int, code: str, message: str = CANARY_PASSWORD) -> Iterator[Failing]:
    """An AWS JSON-protocol stand-in that answers every request with one error.

    The body is the JSON error shape botocore parses (``__type`` and ``message``); the
    message defaults to a canary, to prove a service's text is never carried along.
    """
    failing = Failing()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            failing.requests += 1
            body = json.dumps({"__type": code, "message": message}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    with serve(Handler) as server:
        failing.port = server.port
        yield failing


class _Silent:
    """A listener that accepts connections and never answers."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port: int = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []


@contextmanager
def silent_endpoint() -> Iterator[_Silent]:
    """Accepts connections and never answers, to trip the read timeout."""
    silent = _Silent()
    stop = threading.Event()

    def accept() -> None:
        silent.listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = silent.listener.accept()
            except TimeoutError:
                continue
            silent.accepted.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield silent
    finally:
        stop.set()
        thread.join()
        for conn in silent.accepted:
            conn.close()
        silent.listener.close()
