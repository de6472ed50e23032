"""A small, bounded HTTP/1.1 client on the standard library.

The core has no HTTP client dependency, and every network wait must be bounded from
connect to the last body byte, which neither ``urllib`` nor ``http.client`` can do
(their timeouts bound each socket read, so a server trickling one byte per second keeps
them waiting indefinitely). Here one deadline covers an attempt: before every socket
operation the socket timeout is set to the time left, and the answer is parsed from the
raw socket. No watchdog threads: AWS Lambda freezes them with the sandbox. The one wait
outside the deadline is the operating system's name resolution (``getaddrinfo`` has no
timeout); it is checked against the deadline as soon as it returns.

- Bodies are read up to ``max_size`` (default 1 MiB); a larger one is
  :class:`ResponseTooLarge` without reading the rest. Buffers grow with what arrives.
- Redirects are never followed: a 3xx is returned like any answer (RFC 9110 §15.4 lets a
  client choose; credentials must not travel to wherever ``Location`` points).
- Proxies come from ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` as ``urllib`` reads them
  (``CONNECT`` tunnel for https), the CA bundle from ``REQUESTS_CA_BUNDLE`` or
  ``SSL_CERT_FILE`` when set.
- Failures are :class:`HttpError` subclasses carrying no URL, header or body text, raised
  with no ``__cause__``/``__context__``; callers map them to their own errors.
- ``ssl`` loads for https only, ``urllib.request`` (for its proxy rules) only when a proxy
  can be configured, ``email.utils`` for an HTTP-date: the Lambda extension's plain-http
  requests to loopback pay for none of them on a cold start.

>>> answer = request("GET", "https://api.bandwidth.com/", timeout=5.0)  # doctest: +SKIP
>>> answer.status, answer.headers.get("content-type"), len(answer.body)  # doctest: +SKIP
"""

from __future__ import annotations

import functools  # loaded by urllib.parse anyway
import os
import socket
import sys
import time
import urllib.parse

from ._basic import basic_authorization
from ._secret import Secret
from ._typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import ssl
    from collections.abc import Mapping


__all__ = [
    "DEFAULT_MAX_SIZE",
    "BadURL",
    "BrokenResponse",
    "ConnectFailed",
    "DeadlineExceeded",
    "HttpError",
    "Response",
    "ResponseTooLarge",
    "TLSFailed",
    "display_url",
    "origin",
    "parse_retry_after",
    "request",
]

DEFAULT_MAX_SIZE = 1 << 20


class HttpError(Exception):
    """Base of this module's failures. ``retryable``: whether another attempt may help."""

    retryable = False


class BadURL(HttpError):
    """The URL cannot be requested: scheme, host, port, IDNA label or characters."""


class ConnectFailed(HttpError):
    """No connection to the server or proxy (refused, unreachable, DNS, proxy refusal)."""

    retryable = True


class TLSFailed(HttpError):
    """The TLS handshake failed (untrusted certificate, wrong host name, protocol)."""


class DeadlineExceeded(HttpError):
    """The attempt did not finish (connect to last body byte) within its deadline."""

    retryable = True


class BrokenResponse(HttpError):
    """The connection broke or the answer is not valid HTTP/1.1."""

    retryable = True


class ResponseTooLarge(HttpError):
    """The answer's headers or body exceed their limit; the rest was not read."""


class Response(NamedTuple):
    """An answer: ``status``; ``headers`` with lower-case names (repeated fields joined
    with ", "); ``body`` (decoded from chunked transfer coding, at most ``max_size``)."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def display_url(url: str) -> str:
    """``url`` without user info, query or fragment, for messages and logs; any character
    that is not visible ASCII percent-encoded (UTF-8), so a URL a server sent (a
    ``Location``) cannot carry terminal escapes or bidi controls into them.

    >>> display_url("https://user:pw@h.example/p\x1b[2J?secret=1")
    'https://h.example/p%1B[2J'
    """
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(unparsable URL)"
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    return _visible(urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", "")))


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of ``url``, lower-cased, the scheme's default port filled
    in: two URLs are the same origin (RFC 6454) when these are equal. A credential or a
    login body goes only to the configured origin.

    >>> origin("HTTPS://Vault.example:443/v1/x") == origin("https://vault.example/")
    True
    """
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"https": 443, "http": 80}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port or default


def _visible(text: str) -> str:
    """``text`` with every character outside ``!``..``~`` percent-encoded (UTF-8; a lone
    surrogate by its code point). Never raises."""
    if text.isascii() and text.isprintable() and " " not in text:
        return text
    return "".join(
        char
        if "!" <= char <= "~"
        else "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
        for char in text
    )


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from an HTTP ``Retry-After`` value (RFC 9110 §10.2.3): either
    delay-seconds or an HTTP-date, ``now`` being the current time in epoch seconds.
    ``None`` when absent or unparsable; never negative (``inf`` for delay-seconds too
    long for a float). The caller caps it."""
    if not value:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():  # DIGIT is ASCII; str.isdigit also takes "²"
        return float(text)
    import email.utils  # only for the HTTP-date form

    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        # The asctime form ("Sun Nov  6 08:49:37 1994") carries no zone; every HTTP-date
        # is UTC (RFC 9110 §5.6.7), and a recipient must accept all three forms.
        import datetime

        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(when.timestamp() - now, 0.0)


class _Target(NamedTuple):
    scheme: str
    host: str  # IDNA-encoded ASCII, IPv6 without brackets
    port: int
    path: str  # origin-form request target


def _parse(url: str) -> _Target:
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise BadURL("the URL must be http or https")
    if parts.username is not None or parts.password is not None:
        raise BadURL("the URL must not carry user info")
    port = parts.port  # ValueError for a non-numeric or out-of-range port
    host = parts.hostname or ""
    if not host:
        raise BadURL("the URL has no host")
    if ":" not in host:
        host = host.encode("idna").decode("ascii")  # UnicodeError for a bad label
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    if any(ord(c) <= 32 or ord(c) == 127 for c in path) or not path.isascii():
        raise BadURL("the URL path contains spaces, control or non-ASCII characters")
    return _Target(scheme, host, port or (443 if scheme == "https" else 80), path)


def _parse_checked(url: str) -> _Target:
    problem = ""
    try:
        return _parse(url)
    except BadURL as exc:
        problem = str(exc)
    except UnicodeError:
        problem = "the URL's host is not a valid domain name"
    except ValueError:
        problem = "the URL's host or port is not valid"
    raise BadURL(problem)


def _proxy_for(target: _Target, chosen: str | None = None) -> tuple[_Target, dict[str, str]] | None:
    """The proxy to use for ``target`` and its auth header: ``chosen`` when given (``""``
    for none), else the environment's."""
    proxy = chosen
    if proxy is None:
        if not _proxies_possible():
            return None
        # Heavy (http.client, email, tempfile...): only when a proxy may be configured.
        from urllib.request import getproxies, proxy_bypass

        proxy = getproxies().get(target.scheme)
        if not proxy or proxy_bypass(f"{target.host}:{target.port}"):
            return None
        if proxy_bypass(target.host):
            return None
    if not proxy:
        return None
    parts = urllib.parse.urlsplit(proxy if "://" in proxy else "http://" + proxy)
    via = _parse_checked("http://" + parts.netloc.rsplit("@", 1)[-1] + "/")
    extra: dict[str, str] = {}
    if parts.username is not None:
        extra["Proxy-Authorization"] = basic_authorization(
            urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or "")
        )
    return via, extra


def _proxies_possible() -> bool:
    """Whether :func:`urllib.request.getproxies` could name a proxy. Off macOS and
    Windows (whose system settings it also reads) it reads only ``*_proxy`` variables,
    any case: with none set there is no proxy, and ``urllib.request`` need not load."""
    if sys.platform == "darwin" or os.name == "nt":
        return True
    return any(name.lower().endswith("_proxy") for name in os.environ)


def _context(cafile: str | None, verify: bool) -> ssl.SSLContext:
    # Keyed by the bundle's mtime too, so a rotated CA bundle is read again.
    loaded: ssl.SSLContext | None = None
    try:
        stamp = os.stat(cafile).st_mtime_ns if cafile else 0
        loaded = _cached_context(cafile, verify, stamp)
    except (OSError, ValueError):  # ssl.SSLError is an OSError
        pass
    if loaded is None:
        raise TLSFailed("the CA bundle (REQUESTS_CA_BUNDLE or SSL_CERT_FILE) cannot be loaded")
    return loaded


@functools.lru_cache(maxsize=8)
def _cached_context(cafile: str | None, verify: bool, stamp: int) -> ssl.SSLContext:
    import ssl  # only for https

    context = ssl.create_default_context(cafile=cafile)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str | Secret] | None = None,
    body: bytes = b"",
    timeout: float = 10.0,
    max_size: int = DEFAULT_MAX_SIZE,
    verify: bool = True,
    cafile: str | None = None,
    context: ssl.SSLContext | None = None,
    proxy: str | None = None,
) -> Response:
    """Send one request and read the whole answer within ``timeout`` seconds.

    ``cafile`` defaults to ``REQUESTS_CA_BUNDLE`` or ``SSL_CERT_FILE`` when set, else the
    system store. ``context``, when given, is used for TLS instead (a client certificate,
    a CA directory); ``verify`` and ``cafile`` are then ignored. ``proxy`` is the proxy
    URL to use, ``""`` for none, or ``None`` to take it from the environment. A 3xx is
    returned, not followed. Raises :class:`BadURL`,
    :class:`ConnectFailed`, :class:`TLSFailed`, :class:`DeadlineExceeded`,
    :class:`BrokenResponse` or :class:`ResponseTooLarge` (all :class:`HttpError`).
    A header value may be a :class:`~bandwidth_credentials._secret.Secret` (a
    credential): it is unwrapped only as the request is written.
    """
    target = _parse_checked(url)
    if cafile is None:
        cafile = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE") or None
    exchange = _Exchange(timeout)
    failure: HttpError | None = None
    try:
        if context is None and target.scheme == "https":
            context = _context(cafile, verify)
        if target.scheme != "https":
            context = None
        return _exchange_once(
            exchange, method, target, headers or {}, body, max_size, context, proxy
        )
    except HttpError as exc:
        failure = type(exc)(*exc.args)
    except TimeoutError:
        failure = DeadlineExceeded(f"no complete answer within {timeout:g} s")
    except (OSError, ValueError) as exc:
        failure = _failure(exc, exchange.phase)
    finally:
        exchange.close()
    raise failure


def _failure(exc: OSError | ValueError, phase: str) -> HttpError:
    """The :class:`HttpError` for an exception of one exchange in ``phase``."""
    ssl = sys.modules.get("ssl")  # a TLS error means ssl was loaded for the exchange
    if ssl is not None and isinstance(exc, ssl.SSLError):  # before ValueError: see below
        # (SSLCertVerificationError is also a ValueError.)
        reason = getattr(exc, "reason", None) or type(exc).__name__
        if phase == "tls":
            return TLSFailed(f"TLS handshake failed ({reason})")
        return BrokenResponse(f"TLS error while talking to the server ({reason})")
    if isinstance(exc, ValueError):  # UnicodeError included
        return BadURL("the URL or a header cannot be encoded")
    reason = exc.strerror or type(exc).__name__
    if phase == "connect":
        return ConnectFailed(f"cannot connect ({reason})")
    return BrokenResponse(f"the connection failed ({reason})")


# The wire: one attempt on one socket under one deadline. Before every socket operation
# the socket timeout is set to the time left until the attempt's deadline, so no sequence
# of slow reads can outlast it; CPython applies a socket timeout to a whole ``sendall`` and
# a whole TLS handshake. The answer is parsed here (status line, header fields,
# ``Content-Length``, chunked transfer coding per RFC 9112 §6 and §7), every buffer bounded.

MAX_HEADER_BYTES = 64 << 10
_CHUNK = 64 << 10


def _host_header(target: _Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


class _Exchange:
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


def _exchange_once(
    exchange: _Exchange,
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
