"""The Azure SDK's HTTP transport, bounded: what ``azure-kv`` hands the official client.

azure-core accepts a transport (``transport=``, an ``HttpTransport``) and a retry policy;
the policy is ours. The transport is azure-core's own ``RequestsTransport`` over a
``requests.Session`` with :class:`BoundedAdapter` mounted, which sends each exchange
with the core's bounded client (:func:`bandwidth_credentials.plugin.request`): one
deadline from connect to the last byte of the answer (``requests`` bounds each socket
read, so an answer trickled one byte at a time held a caller for as long as the server
liked), answers capped at :data:`MAX_ANSWER` (the rest unread), and no redirect
followed (a 3xx is a :class:`TransportFailure`). The vault client and the credential's
token requests (azure-identity passes ``transport=`` to every credential it builds) each
get one. azure-core's retries are off (``retry_total=0``): its retry policy sleeps
whatever ``Retry-After`` says; the provider retries itself, briefly, and hands a
``Retry-After`` to the library's backoff.

Every exchange also draws on the fetch's total :class:`Deadline`, set with
:func:`fetch_deadline` around one fetch: however many attempts, token requests and
backoffs a fetch makes, its HTTP ends by then. Proxies (``HTTPS_PROXY``, ``NO_PROXY``)
and the CA bundle (``REQUESTS_CA_BUNDLE``) are honoured as ``requests`` reads them.
``requests`` and azure-core are imported inside the functions, on the first fetch.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import http
import io
import os
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from bandwidth_credentials import plugin as _http

if TYPE_CHECKING:
    import ssl

#: The largest answer read from Key Vault or a token endpoint, in bytes (1 MiB, the
#: core's cap; a secret's value is at most 25 KiB); a larger one is refused unread.
MAX_ANSWER = _http.DEFAULT_MAX_SIZE

# Fields the bounded client writes itself; requests' values (keep-alive, gzip) would
# ask for what it does not do.
_OWN_FIELDS = frozenset(
    {"host", "connection", "content-length", "transfer-encoding", "accept-encoding"}
)


class Deadline:
    """A total time budget for one fetch, in seconds, on a monotonic clock."""

    __slots__ = ("ends", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left, never below 0."""
        return max(self.ends - time.monotonic(), 0.0)

    def cap(self, timeout: float) -> float:
        """``timeout``, or the time left if less; :class:`_http.DeadlineExceeded` when
        no time is left (no exchange should start)."""
        left = self.left()
        if left <= 0.0:
            raise _http.DeadlineExceeded(f"the fetch did not finish within {self.seconds:g} s")
        return min(timeout, left)


class _Fetch:
    """The fetch in progress: its deadline, and the last exchange that failed in it (for
    a failure the SDK reports only in its own words, such as a credential chain's "no
    token")."""

    __slots__ = ("deadline", "last")

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.last: TransportFailure | None = None


_current: contextvars.ContextVar[_Fetch | None] = contextvars.ContextVar(
    "bandwidth_credentials_azure_fetch", default=None
)


@contextlib.contextmanager
def fetch_deadline(seconds: float) -> Iterator[Deadline]:
    """Every bounded exchange in this block (this thread or task) ends within ``seconds``."""
    fetch = _Fetch(Deadline(seconds))
    token = _current.set(fetch)
    try:
        yield fetch.deadline
    finally:
        _current.reset(token)


def time_for(timeout: float) -> float:
    """The next exchange's timeout: ``timeout`` within the current fetch's deadline."""
    fetch = _current.get()
    return timeout if fetch is None else fetch.deadline.cap(timeout)


class TransportFailure(Exception):
    """One exchange failed in the bounded transport. Carries only safe facts: ``kind``
    (``timeout``, ``too-large``, ``redirect``, ``connect``, ``tls``, ``broken``,
    ``request``), ``host`` (``host[:port]`` of the URL asked), ``detail`` (the bounded
    client's own sentence: no URL, header or body text), ``status`` for a redirect, and
    ``token``: whether the exchange was an access-token request."""

    def __init__(
        self, kind: str, host: str, detail: str, status: int | None = None, token: bool = False
    ) -> None:
        super().__init__(f"{host}: {detail}")
        self.kind = kind
        self.host = host
        self.detail = detail
        self.status = status
        self.token = token


_KINDS: tuple[tuple[type[_http.HttpError], str], ...] = (
    (_http.DeadlineExceeded, "timeout"),
    (_http.ResponseTooLarge, "too-large"),
    (_http.ConnectFailed, "connect"),
    (_http.TLSFailed, "tls"),
    (_http.BrokenResponse, "broken"),
)


def _host_of(url: str) -> str:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        return parts.netloc.rpartition("@")[2] or "(no host)"
    except ValueError:
        return "(unparsable URL)"


def exchange(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    timeout: float,
    context: ssl.SSLContext | None,
    proxy: str,
    token: bool = False,
) -> _http.Response:
    """One bounded exchange; a 3xx or any failure is a :class:`TransportFailure`, raised
    with nothing chained (and kept as the fetch's last failure). ``token``: an
    access-token request."""
    host = _host_of(url)
    failure: TransportFailure | None = None
    try:
        answer = _http.request(
            method,
            url,
            headers=headers,
            body=body,
            timeout=time_for(timeout),
            max_size=MAX_ANSWER,
            context=context,
            proxy=proxy,
        )
    except _http.HttpError as exc:
        kind = next((name for cls, name in _KINDS if isinstance(exc, cls)), "request")
        failure = TransportFailure(kind, host, str(exc), token=token)
    if failure is None and 300 <= answer.status < 400:
        location = _http.display_url(answer.headers.get("location", "")) or "nowhere"
        failure = TransportFailure(
            "redirect",
            host,
            f"HTTP {answer.status}, a redirect to {location} (not followed)",
            answer.status,
            token=token,
        )
    if failure is not None:
        fetch = _current.get()
        if fetch is not None:
            fetch.last = failure
        raise failure
    return answer


@functools.cache
def adapter_class() -> type[Any]:
    """:class:`BoundedAdapter` (``requests`` is imported here, on first use)."""
    import requests.adapters
    import requests.utils

    class BoundedAdapter(requests.adapters.BaseAdapter):
        """A ``requests`` transport adapter (requests' "Transport Adapters" API) that
        sends each request with :func:`exchange` within ``timeout`` seconds; ``token``
        marks the access-token requests."""

        def __init__(self, timeout: float, token: bool = False) -> None:
            super().__init__()
            self.timeout = timeout
            self.token = token

        def send(
            self,
            request: Any,
            stream: bool = False,
            timeout: object = None,
            verify: bool | str = True,
            cert: Any = None,
            proxies: Mapping[str, str] | None = None,
        ) -> Any:
            url = str(request.url)
            context = tls_context(verify) if url.lower().startswith("https:") else None
            body = request.body
            if body is None:
                body = b""
            elif isinstance(body, str):
                body = body.encode("utf-8")
            if not isinstance(body, bytes):
                raise TransportFailure("request", _host_of(url), "a streamed body is not sent")
            headers = {
                name: str(value)
                for name, value in request.headers.items()
                if name.lower() not in _OWN_FIELDS
            }
            proxy = requests.utils.select_proxy(url, dict(proxies or {})) or ""
            answer = exchange(
                request.method or "GET",
                url,
                headers,
                body,
                shorter(self.timeout, timeout),
                context,
                proxy,
                self.token,
            )
            return response(request, answer, self)

        def close(self) -> None:
            """Nothing to release: every exchange has its own connection."""

    return BoundedAdapter


def shorter(timeout: float, asked: object) -> float:
    """``timeout``, or the connect timeout the SDK asked ``requests`` for if that is
    shorter: as the whole exchange's deadline (azure-identity probes the instance
    metadata service with a 1 s connect timeout; the probe's answer is immediate)."""
    first = asked[0] if isinstance(asked, tuple) and asked else asked
    if isinstance(first, int | float) and not isinstance(first, bool) and 0 < first < timeout:
        return float(first)
    return timeout


def mount(session: Any, timeout: float, token: bool = False) -> Any:
    """Mount a bounded adapter on ``session`` (a ``requests.Session``) for http and https."""
    adapter = adapter_class()(timeout, token)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def response(request: Any, answer: _http.Response, adapter: Any) -> Any:
    """A ``requests.Response`` holding ``answer`` whole (already read and capped)."""
    import requests
    from requests.structures import CaseInsensitiveDict
    from requests.utils import get_encoding_from_headers

    made = requests.Response()
    made.status_code = answer.status
    made.headers = CaseInsensitiveDict(answer.headers)
    made._content = answer.body
    made._content_consumed = True  # type: ignore[attr-defined]
    made.raw = io.BytesIO(answer.body)
    made.url = str(request.url)
    made.request = request
    made.connection = adapter
    made.encoding = get_encoding_from_headers(made.headers)
    try:
        made.reason = http.HTTPStatus(answer.status).phrase
    except ValueError:
        made.reason = ""
    return made


def tls_context(verify: bool | str) -> ssl.SSLContext:
    """The TLS context for ``requests``' ``verify``: True (the bundle ``requests`` trusts,
    certifi's), False, or a CA file or directory (``REQUESTS_CA_BUNDLE``)."""
    loaded: ssl.SSLContext | None = None
    try:
        stamp = os.stat(verify).st_mtime_ns if isinstance(verify, str) else 0
        loaded = _cached_context(verify, stamp)
    except (OSError, ValueError):  # ssl.SSLError is an OSError
        pass
    if loaded is None:
        raise TransportFailure("tls", "(CA bundle)", "the CA bundle cannot be loaded")
    return loaded


@functools.lru_cache(maxsize=8)
def _cached_context(verify: bool | str, stamp: int) -> ssl.SSLContext:
    # Keyed by the bundle's mtime too, so a rotated CA bundle is read again.
    import ssl

    cafile: str | None = None
    capath: str | None = None
    if isinstance(verify, str):
        if os.path.isdir(verify):
            capath = verify
        else:
            cafile = verify
    elif verify:
        from requests.utils import DEFAULT_CA_BUNDLE_PATH

        cafile = DEFAULT_CA_BUNDLE_PATH
    context = ssl.create_default_context(cafile=cafile, capath=capath)
    if verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def azure_transport(timeout: float, token: bool = False) -> Any:
    """azure-core's ``RequestsTransport`` over a session with a bounded adapter mounted;
    ``token``: the credential's (its requests are access-token requests).

    The transport does not own the session (credentials built by
    ``DefaultAzureCredential`` share it and close their pipelines on their own
    schedule); the session holds no pooled connection to leak, every exchange having
    its own."""
    import requests
    from azure.core.pipeline.transport import RequestsTransport

    return RequestsTransport(session=mount(requests.Session(), timeout, token), session_owner=False)


def current_failure() -> TransportFailure | None:
    """The last failed exchange of the fetch in progress, if any."""
    fetch = _current.get()
    return None if fetch is None else fetch.last
