"""The wire side of :mod:`._http`: one attempt on one socket under one deadline.

Before every socket operation the socket timeout is set to the time left until the
attempt's deadline, so no sequence of slow reads can outlast it; CPython applies a
socket timeout to a whole ``sendall`` and a whole TLS handshake. The answer is parsed
here (status line, header fields, ``Content-Length``, chunked transfer coding per
RFC 9112 §6 and §7) with every buffer bounded.
"""

from __future__ import annotations

import socket
import time

from ._http import (
    BadURL,
    BrokenResponse,
    ConnectFailed,
    DeadlineExceeded,
    Response,
    ResponseTooLarge,
    _proxy_for,
    _Target,
)
from ._secret import Secret
from ._typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl
    from collections.abc import Mapping

__all__ = ["Exchange", "exchange_once"]

MAX_HEADER_BYTES = 64 << 10
_CHUNK = 64 << 10


def _host_header(target: _Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


class Exchange:
    """One attempt: a socket, its deadline, and a receive buffer."""

    def __init__(self, timeout: float) -> None:
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buffer = bytearray()
        self.phase = "connect"

    def left(self) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded(f"no complete answer within {self.timeout:g} s")
        return remaining

    def connect(self, host: str, port: int) -> None:
        self.left()
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        self.left()
        last: OSError | None = None
        for family, kind, proto, _, address in infos:
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(self.left())
                sock.connect(address)
            except OSError as exc:
                sock.close()
                last = exc
                if isinstance(exc, TimeoutError):
                    break
                continue
            self.sock = sock
            return
        if isinstance(last, TimeoutError):
            raise last
        raise last or ConnectFailed("the host name resolved to no address")

    def start_tls(self, context: ssl.SSLContext, host: str) -> None:
        assert self.sock is not None
        self.phase = "tls"
        self.sock = context.wrap_socket(
            self.sock, server_hostname=host, do_handshake_on_connect=False
        )
        self.sock.settimeout(self.left())
        self.sock.do_handshake()  # CPython bounds the whole handshake by this timeout

    def send(self, data: bytes) -> None:
        assert self.sock is not None
        self.phase = "send"
        self.sock.settimeout(self.left())
        self.sock.sendall(data)  # the timeout bounds the whole sendall
        self.phase = "receive"

    def fill(self, limit: int = _CHUNK) -> bool:
        """Receive once into the buffer; False at end of stream."""
        assert self.sock is not None
        self.sock.settimeout(self.left())
        data = self.sock.recv(min(limit, _CHUNK))
        self.buffer += data
        return bool(data)

    def take(self, size: int) -> bytes:
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def head(self) -> tuple[int, dict[str, str]]:
        """Read a status line and header block."""
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            if len(self.buffer) > MAX_HEADER_BYTES:
                raise ResponseTooLarge("the answer's headers exceed 64 KiB")
            if not self.fill():
                raise BrokenResponse("the connection closed before the headers were complete")
        block = self.take(end + 4).decode("latin-1")
        lines = block.split("\r\n")
        fields = lines[0].split(" ", 2)
        if len(fields) < 2 or not fields[0].startswith("HTTP/1.") or not fields[1].isdigit():
            raise BrokenResponse("the answer is not HTTP/1.1")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise BrokenResponse("the answer has a malformed header line")
            key = name.lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
        return int(fields[1]), headers

    def exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not self.fill(size - len(self.buffer)):
                raise BrokenResponse("the connection closed before the body was complete")
        return self.take(size)

    def line(self) -> bytes:
        while (end := self.buffer.find(b"\r\n")) < 0:
            if len(self.buffer) > 4096:
                raise BrokenResponse("the answer has a malformed chunk")
            if not self.fill():
                raise BrokenResponse("the connection closed before the body was complete")
        return self.take(end + 2)[:-2]

    def body(self, headers: Mapping[str, str], max_size: int) -> bytes:
        too_large = f"the answer is larger than {max_size} bytes"
        if "chunked" in headers.get("transfer-encoding", "").lower():
            out = bytearray()
            while True:
                size_text = self.line().split(b";", 1)[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    size = -1
                if size < 0:
                    raise BrokenResponse("the answer has a malformed chunk size")
                if size == 0:
                    while self.line():
                        pass  # trailer fields are not used
                    return bytes(out)
                if len(out) + size > max_size:
                    raise ResponseTooLarge(too_large)
                out += self.exactly(size)
                if self.exactly(2) != b"\r\n":
                    raise BrokenResponse("the answer has a malformed chunk")
        length_text = headers.get("content-length")
        if length_text is not None:
            if not length_text.strip().isdigit():
                raise BrokenResponse("the answer has an invalid Content-Length")
            length = int(length_text)
            if length > max_size:
                raise ResponseTooLarge(too_large)
            return self.exactly(length)
        while len(self.buffer) <= max_size:
            if not self.fill(max_size + 1 - len(self.buffer)):
                return self.take(len(self.buffer))
        raise ResponseTooLarge(too_large)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()


def _head(first: list[str], fields: Mapping[str, str | Secret]) -> bytes:
    """The request head as bytes. A :class:`Secret` value is unwrapped only here, so no
    longer-lived frame holds a credential as a local (error trackers record locals)."""
    lines = list(first)
    for name, value in fields.items():
        text = value.get_secret_value() if isinstance(value, Secret) else value
        if any(c in name + text for c in "\r\n\0"):
            raise BadURL("a header contains a line break or NUL")  # header injection
        lines.append(f"{name}: {text}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def exchange_once(
    exchange: Exchange,
    method: str,
    target: _Target,
    headers: Mapping[str, str | Secret],
    body: bytes,
    max_size: int,
    context: ssl.SSLContext | None,
    chosen_proxy: str | None = None,
) -> Response:
    proxy = _proxy_for(target, chosen_proxy)
    request_target = target.path
    extra: dict[str, str] = {}
    if proxy is None:
        exchange.connect(target.host, target.port)
    else:
        via, extra = proxy
        exchange.connect(via.host, via.port)
        if target.scheme == "https":
            host = f"[{target.host}]" if ":" in target.host else target.host
            lines = [f"CONNECT {host}:{target.port} HTTP/1.1", f"Host: {host}:{target.port}"]
            lines += [f"{name}: {value}" for name, value in extra.items()]
            exchange.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            status, _ = exchange.head()
            if status != 200:
                raise ConnectFailed(f"the proxy refused the tunnel (HTTP {status})")
            extra = {}
        else:
            request_target = f"http://{_host_header(target)}{target.path}"
    if context is not None:
        exchange.start_tls(context, target.host)
    first = [f"{method} {request_target} HTTP/1.1", f"Host: {_host_header(target)}"]
    fields = {"Connection": "close", "Accept-Encoding": "identity", **extra, **headers}
    if body or method in ("POST", "PUT", "PATCH"):
        fields["Content-Length"] = str(len(body))
    exchange.send(_head(first, fields) + body)
    status, answer = exchange.head()
    while 100 <= status < 200:  # interim answers (RFC 9110 §15.2)
        status, answer = exchange.head()
    if method == "HEAD" or status in (204, 304):
        return Response(status, answer, b"")
    return Response(status, answer, exchange.body(answer, max_size))
