"""The Google client's transports, bounded: what ``gcp-sm`` hands the official client.

The client accepts a transport (``transport=`` takes a callable that builds one); the
policy is ours:

- **REST**: the transport's ``AuthorizedSession`` (a ``requests.Session``) and the
  session google-auth refreshes tokens with get :class:`BoundedAdapter` mounted, which
  sends each exchange with the core's bounded client
  (:func:`bandwidth_credentials.plugin.request`): one deadline from connect to the last
  byte of the answer (``requests`` bounds each socket read, so an answer trickled one
  byte at a time held a caller for as long as the server liked), answers capped at
  :data:`MAX_ANSWER` (the rest unread), and no redirect followed (a 3xx is a
  :class:`TransportFailure`, never handed to ``requests``, which would follow it).
- **gRPC**: a channel whose messages are capped at :data:`MAX_ANSWER` both ways (the
  generated transport sets no limit) and whose token refreshes go through the same
  bounded adapter; each call carries its deadline (``timeout``) and ``retry=None``.

Every exchange also draws on the fetch's total :class:`Deadline`, set with
:func:`fetch_deadline` around one fetch: however many attempts, token refreshes and
backoffs a fetch makes, it ends by then. Proxies (``HTTPS_PROXY``, ``NO_PROXY``) and
the CA bundle (``REQUESTS_CA_BUNDLE``) are honoured as ``requests`` reads them.
Nothing here is imported before the first fetch; ``requests``, google-auth and grpc are
imported inside the functions.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import http
import io
import os
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from bandwidth_credentials import plugin as _http

if TYPE_CHECKING:
    import ssl

#: The largest answer read from Secret Manager or the token endpoint, in bytes (1 MiB,
#: the core's cap; a secret version's payload is at most 64 KiB); a larger one is
#: refused unread.
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


_current: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "bandwidth_credentials_gcp_deadline", default=None
)


@contextlib.contextmanager
def fetch_deadline(seconds: float) -> Iterator[Deadline]:
    """Every bounded exchange in this block (this thread or task) ends within ``seconds``."""
    deadline = Deadline(seconds)
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)


def time_for(timeout: float) -> float:
    """The next exchange's timeout: ``timeout`` within the current fetch's deadline."""
    deadline = _current.get()
    return timeout if deadline is None else deadline.cap(timeout)


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


class UnsupportedClient(Exception):
    """The installed client cannot be given the bounded transport this way (its text
    is this plugin's own sentence)."""


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


class Recorder:
    """Keeps the last failed exchange of the adapters it is given to, and the host of
    one in flight: a token refresh the gRPC call-credentials plugin runs in grpc's own
    thread, which grpc reports only as "Getting metadata from plugin failed", or not at
    all when the call's deadline passes first."""

    def __init__(self) -> None:
        self.last: TransportFailure | None = None
        self.in_flight = ""

    def take(self) -> TransportFailure | None:
        """The last failure, forgotten as it is handed out."""
        last, self.last = self.last, None
        return last


def exchange(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    timeout: float,
    context: ssl.SSLContext | None,
    proxy: str,
    token: bool = False,
    recorder: Recorder | None = None,
) -> _http.Response:
    """One bounded exchange; a 3xx or any failure is a :class:`TransportFailure`, raised
    with nothing chained (and kept by ``recorder``). ``token``: an access-token request."""
    host = _host_of(url)
    failure: TransportFailure | None = None
    if recorder is not None:
        recorder.in_flight = host
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
    finally:
        if recorder is not None:
            recorder.in_flight = ""
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
        if recorder is not None:
            recorder.last = failure
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
        marks the access-token requests, ``recorder`` keeps the last failure."""

        def __init__(
            self, timeout: float, token: bool = False, recorder: Recorder | None = None
        ) -> None:
            super().__init__()
            self.timeout = timeout
            self.token = token
            self.recorder = recorder

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
                self.recorder,
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


def mount(
    session: Any, timeout: float, token: bool = False, recorder: Recorder | None = None
) -> Any:
    """Mount a bounded adapter on ``session`` (a ``requests.Session``) for http and https."""
    adapter = adapter_class()(timeout, token, recorder)
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


def token_request(timeout: float, recorder: Recorder | None = None) -> Any:
    """google-auth's ``Request`` for token refreshes, over a bounded session."""
    import google.auth.transport.requests
    import requests

    session = mount(requests.Session(), timeout, token=True, recorder=recorder)
    return google.auth.transport.requests.Request(session=session)


def rest_transport(timeout: float, recorder: Recorder | None = None) -> Callable[..., Any]:
    """What the client's ``transport=`` takes: builds the REST transport, then bounds
    its session and its token refreshes.

    The generated transport builds its ``AuthorizedSession`` itself (``_session``);
    mounting adapters is ``requests``' public API. Should a client version keep its
    session elsewhere, or the session use a client certificate (mTLS, which the adapter
    would drop), the client is refused (:class:`UnsupportedClient`) rather than run
    unbounded or without its certificate.
    """

    def build(**kwargs: Any) -> Any:
        import requests
        from google.cloud.secretmanager_v1.services.secret_manager_service.transports.rest import (
            SecretManagerServiceRestTransport,
        )

        transport = SecretManagerServiceRestTransport(**kwargs)
        session = getattr(transport, "_session", None)
        refresher = getattr(getattr(session, "_auth_request", None), "session", None)
        if not isinstance(session, requests.Session) or not isinstance(refresher, requests.Session):
            raise UnsupportedClient(
                "this version of google-cloud-secret-manager keeps its REST session where "
                "the bounded transport cannot reach it; use transport=grpc"
            )
        if getattr(session, "is_mtls", False):
            raise UnsupportedClient(
                "client-certificate mTLS (GOOGLE_API_USE_CLIENT_CERTIFICATE) is supported "
                "with transport=grpc only"
            )
        mount(session, timeout)
        mount(refresher, timeout, token=True, recorder=recorder)
        return transport

    return build


def grpc_transport(timeout: float, recorder: Recorder) -> Callable[..., Any]:
    """What the client's ``transport=`` takes: the gRPC transport on :func:`grpc_channel`;
    ``recorder`` keeps the last failed token refresh."""

    def build(**kwargs: Any) -> Any:
        from google.cloud.secretmanager_v1.services.secret_manager_service.transports.grpc import (
            SecretManagerServiceGrpcTransport,
        )

        return SecretManagerServiceGrpcTransport(channel=grpc_channel(timeout, recorder), **kwargs)

    return build


def grpc_channel(timeout: float, recorder: Recorder | None = None) -> Callable[..., Any]:
    """A channel factory (the transport's ``channel=`` callable) for a TLS channel with
    the call credentials google-api-core would attach, messages capped at
    :data:`MAX_ANSWER` and token refreshes through the bounded adapter. Proxies and
    roots are grpc's own (``https_proxy``, ``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH``)."""

    def create(
        target: str,
        *,
        credentials: Any,
        scopes: Any = None,
        ssl_credentials: Any = None,
        quota_project_id: str | None = None,
        **ignored: Any,  # credentials_file (None) and the transport's unlimited options
    ) -> Any:
        import google.auth.credentials
        import google.auth.transport.grpc
        import grpc  # type: ignore[import-untyped]
        from google.cloud.secretmanager_v1.services.secret_manager_service.transports.grpc import (
            SecretManagerServiceGrpcTransport as Transport,
        )

        auth: Any = google.auth.credentials  # untyped functions
        scoped = auth.with_scopes_if_required(
            credentials, scopes=scopes, default_scopes=Transport.AUTH_SCOPES
        )
        if quota_project_id and isinstance(scoped, auth.CredentialsWithQuotaProject):
            scoped = scoped.with_quota_project(quota_project_id)
        metadata: Any = google.auth.transport.grpc
        plugin = metadata.AuthMetadataPlugin(
            scoped, token_request(timeout, recorder), default_host=Transport.DEFAULT_HOST
        )
        composite = grpc.composite_channel_credentials(
            ssl_credentials or grpc.ssl_channel_credentials(),
            grpc.metadata_call_credentials(plugin),
        )
        options = [
            ("grpc.max_send_message_length", MAX_ANSWER),
            ("grpc.max_receive_message_length", MAX_ANSWER),
        ]
        return grpc.secure_channel(target, composite, options=options)

    return create
