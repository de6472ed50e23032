"""A ``requests`` transport adapter on the bounded client: what an SDK built on ``requests``
is given, so that its every exchange keeps the library's rules.

``requests`` bounds each socket read, not the answer: a server (or anything in between)
that trickles a valid answer one byte at a time keeps a caller for as long as it likes,
and a 300 MB answer is read whole. :class:`BoundedAdapter`, mounted on a
``requests.Session`` (requests' "Transport Adapters" API,
``requests.adapters.BaseAdapter.send``), sends each exchange with the core's bounded
client instead:

- one deadline from connect to the last byte of the answer: the adapter's ``timeout``,
  or the shorter connect timeout the SDK asked ``requests`` for, and never past a
  :class:`~bandwidth_credentials.plugin.Deadline` entered with ``with`` around the call
  (:func:`~bandwidth_credentials.plugin.time_for`);
- answers capped at ``max_size`` bytes (1 MiB by default), the rest unread;
- no redirect followed: a 3xx is an :class:`ExchangeFailed` (``kind="redirect"``, the
  status and the target without user info or query), never handed to ``requests``, which
  would follow it (re-sending a 307/308's body, a login's secret, to wherever
  ``Location`` points). With ``follow_within`` an origin's own redirects are handed back
  for ``requests`` to follow, each hop within the same deadlines, at most
  :data:`MAX_REDIRECTS` in a row (the session's ``max_redirects`` is lowered to it; a
  longer chain is an :class:`ExchangeFailed` from :func:`bounded_session`'s session, and
  ``requests``' own ``TooManyRedirects`` from a session the adapter was mounted on);
- ``requests``' ``verify`` (``True``: certifi's bundle, as ``requests`` trusts; ``False``;
  a CA file or directory such as ``REQUESTS_CA_BUNDLE``), ``cert`` (a client certificate)
  and ``proxies`` (``HTTPS_PROXY``, ``NO_PROXY``) honoured;
- every failure one :class:`ExchangeFailed` carrying only safe facts (no URL query,
  header or body text), raised with nothing chained, and kept by an
  :class:`~bandwidth_credentials.plugin.ExchangeLog` when one is given (for a failure an
  SDK reports only in its own words).

Every exchange has its own connection: nothing pooled survives a fork or leaks.
This module imports ``requests``: the kit loads it when one of its names is first used.
"""

from __future__ import annotations

import functools
import http
import io
import os

import requests
import requests.adapters
import requests.structures
import requests.utils

from . import _http
from ._deadline import time_for
from ._typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ssl
    from collections.abc import Mapping

    from .plugin import ExchangeLog

__all__ = ["BoundedAdapter", "ExchangeFailed", "bounded_session", "tls_context"]

# Fields the bounded client writes itself; requests' values (keep-alive, gzip) would ask
# for what it does not do.
_OWN_FIELDS = frozenset(
    {"host", "connection", "content-length", "transfer-encoding", "accept-encoding"}
)

_KINDS: tuple[tuple[type[_http.HttpError], str], ...] = (
    (_http.DeadlineExceeded, "timeout"),
    (_http.ResponseTooLarge, "too-large"),
    (_http.ConnectFailed, "connect"),
    (_http.TLSFailed, "tls"),
    (_http.BrokenResponse, "broken"),
)


#: The most redirects of one origin followed in a row (``follow_within``): Vault's
#: standby nodes send one.
MAX_REDIRECTS = 5


class ExchangeFailed(_http.HttpError):
    """One exchange of a :class:`BoundedAdapter` failed. Carries only safe facts:

    - ``kind``: ``timeout`` (the deadline passed), ``too-large`` (the answer exceeded
      the cap; the rest was not read), ``redirect`` (a 3xx, not followed), ``connect``,
      ``tls``, ``broken`` (the connection broke or the answer is not HTTP) or
      ``request`` (the request could not be sent: a bad URL, a streamed body);
    - ``host``: ``host[:port]`` of the URL asked, without user info;
    - ``detail``: a sentence of the bounded client's own (no URL query, header or body);
    - ``status`` and ``location``: a redirect's status and target (absolute, without user
      info, query or fragment), else ``None``;
    - ``tag``: the adapter's tag (for example ``"token"`` for access-token requests);
    - ``retryable``: whether another attempt may help (``connect``, ``broken``).

    >>> str(ExchangeFailed("redirect", "127.0.0.1:8200", "HTTP 307, a redirect to ..."))
    '127.0.0.1:8200: HTTP 307, a redirect to ...'
    """

    def __init__(
        self,
        kind: str,
        host: str,
        detail: str,
        *,
        status: int | None = None,
        location: str | None = None,
        tag: str = "",
    ) -> None:
        super().__init__(f"{host}: {detail}")
        self.kind = kind
        self.host = host
        self.detail = detail
        self.status = status
        self.location = location
        self.tag = tag
        self.retryable = kind in ("connect", "broken")


def _host_of(url: str) -> str:
    import urllib.parse

    try:
        return urllib.parse.urlsplit(url).netloc.rpartition("@")[2] or "(no host)"
    except ValueError:
        return "(unparsable URL)"


def _shorter(timeout: float, asked: object) -> float:
    """``timeout``, or the connect timeout the SDK asked ``requests`` for if that is
    shorter, as the whole exchange's deadline (azure-identity probes the instance metadata
    service with a 1 s connect timeout; the probe's answer is immediate)."""
    first = asked[0] if isinstance(asked, tuple) and asked else asked
    if isinstance(first, int | float) and not isinstance(first, bool) and 0 < first < timeout:
        return float(first)
    return timeout


class BoundedAdapter(requests.adapters.BaseAdapter):
    """A ``requests`` transport adapter whose every exchange is one bounded request.

    ``timeout``: seconds per exchange, connect to last byte (a shorter connect timeout the
    caller passes to ``requests`` wins; an entered
    :class:`~bandwidth_credentials.plugin.Deadline` caps it further). ``max_size``: the
    largest answer read, in bytes. ``follow_within``: a URL whose origin's own redirects
    are handed back to ``requests`` to follow (a request or a redirect to any other origin
    is refused); ``None``, the default: every 3xx is refused. ``tag``: copied into every
    :class:`ExchangeFailed` (``"token"`` marks access-token requests). ``log``: an
    :class:`~bandwidth_credentials.plugin.ExchangeLog` that keeps the last failure and
    the exchange in flight.

    Raises :class:`ExchangeFailed` (nothing chained) for every failure, 3xx included.

    >>> session = requests.Session()                                  # doctest: +SKIP
    >>> BoundedAdapter(10.0).mount(session)                           # doctest: +SKIP
    >>> session.get("https://vault.example:8200/v1/sys/health")      # doctest: +SKIP
    """

    def __init__(
        self,
        timeout: float,
        *,
        max_size: int = _http.DEFAULT_MAX_SIZE,
        follow_within: str | None = None,
        tag: str = "",
        log: ExchangeLog | None = None,
    ) -> None:
        super().__init__()
        self.timeout = timeout
        self.max_size = max_size
        self.origin = _http.origin(follow_within) if follow_within else None
        self.tag = tag
        self.log = log

    def mount(self, session: requests.Session) -> requests.Session:
        """Mount this adapter on ``session`` for ``http://`` and ``https://`` and lower its
        ``max_redirects`` to :data:`MAX_REDIRECTS`; returns it."""
        session.mount("https://", self)
        session.mount("http://", self)
        session.max_redirects = min(session.max_redirects, MAX_REDIRECTS)
        return session

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send ``request`` with the bounded client; see the class docstring."""
        url = str(request.url)
        host = _host_of(url)
        if self.log is not None:
            self.log.in_flight = host
        failure: ExchangeFailed | None = None
        try:
            answer = self._exchange(request, url, timeout, verify, cert, proxies)
        except _http.HttpError as exc:
            kind = next((name for cls, name in _KINDS if isinstance(exc, cls)), "request")
            failure = ExchangeFailed(kind, host, str(exc), tag=self.tag)
        finally:
            if self.log is not None:
                self.log.in_flight = ""
        if failure is None:
            failure = self._refused_redirect(url, host, answer)
        if failure is not None:  # raised here, outside the except block: nothing chained
            if self.log is not None:
                self.log.last = failure
            raise failure
        return _response(request, answer, self)

    def _exchange(
        self,
        request: requests.PreparedRequest,
        url: str,
        asked: object,
        verify: bool | str,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None,
        proxies: Mapping[str, str] | None,
    ) -> _http.Response:
        timeout = time_for(_shorter(self.timeout, asked))
        if self.origin is not None and _http.origin(url) != self.origin:
            # Only reachable by a caller that sends elsewhere itself: a redirect to another
            # origin is refused before requests sees it.
            raise _http.BadURL("the request is for another origin than the one configured")
        body = request.body
        if body is None:
            body = b""
        elif isinstance(body, str):
            body = body.encode("utf-8")
        if not isinstance(body, bytes):
            raise _http.BadURL("a streamed request body is not sent")
        context = tls_context(verify, _cert_pair(cert)) if url[:6].lower() == "https:" else None
        headers = {
            name: str(value)
            for name, value in request.headers.items()
            if name.lower() not in _OWN_FIELDS
        }
        return _http.request(
            request.method or "GET",
            url,
            headers=headers,
            body=body,
            timeout=timeout,
            max_size=self.max_size,
            context=context,
            proxy=requests.utils.select_proxy(url, dict(proxies or {})) or "",
        )

    def _refused_redirect(
        self, url: str, host: str, answer: _http.Response
    ) -> ExchangeFailed | None:
        if not 300 <= answer.status < 400:
            return None
        import urllib.parse

        location = answer.headers.get("location", "").strip()
        target = urllib.parse.urljoin(url, location) if location else ""
        if self.origin is not None and (not target or _http.origin(target) == self.origin):
            return None  # the configured origin's own redirect: requests follows it
        shown = _http.display_url(target) if target else ""
        return ExchangeFailed(
            "redirect",
            host,
            f"HTTP {answer.status}, a redirect to {shown or 'nowhere'} (not followed)",
            status=answer.status,
            location=shown or None,
            tag=self.tag,
        )

    def close(self) -> None:
        """Nothing to release: every exchange has its own connection."""


def bounded_session(
    timeout: float,
    *,
    max_size: int = _http.DEFAULT_MAX_SIZE,
    follow_within: str | None = None,
    tag: str = "",
    log: ExchangeLog | None = None,
) -> requests.Session:
    """A new ``requests.Session`` with a :class:`BoundedAdapter` (same arguments) mounted
    for ``http://`` and ``https://``.

    >>> session = bounded_session(5.0, tag="token")                   # doctest: +SKIP
    >>> session.post("https://login.example/oauth2/token", data=form)  # doctest: +SKIP
    """
    adapter = BoundedAdapter(
        timeout, max_size=max_size, follow_within=follow_within, tag=tag, log=log
    )
    return adapter.mount(_Session())


class _Session(requests.Session):
    """A session whose too-long chain of an origin's own redirects is an
    :class:`ExchangeFailed` (``kind="redirect"``) like every other failure."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        try:
            return super().send(request, **kwargs)
        except requests.TooManyRedirects:
            pass  # raised below, outside this block: nothing chained
        url = str(request.url)
        adapter = self.get_adapter(url)
        failure = ExchangeFailed(
            "redirect",
            _host_of(url),
            f"more than {self.max_redirects} redirects in a row",
            tag=getattr(adapter, "tag", ""),
        )
        log = getattr(adapter, "log", None)
        if log is not None:
            log.last = failure
        raise failure


def _response(
    request: requests.PreparedRequest, answer: _http.Response, adapter: BoundedAdapter
) -> requests.Response:
    """A ``requests.Response`` holding ``answer`` whole (already read and capped)."""
    made = requests.Response()
    made.status_code = answer.status
    made.headers = requests.structures.CaseInsensitiveDict(answer.headers)
    made._content = answer.body
    made._content_consumed = True  # type: ignore[attr-defined]
    made.raw = io.BytesIO(answer.body)
    made.url = str(request.url)
    made.request = request
    made.connection = adapter  # type: ignore[assignment]  # any BaseAdapter, in practice
    made.encoding = requests.utils.get_encoding_from_headers(made.headers)
    try:
        made.reason = http.HTTPStatus(answer.status).phrase
    except ValueError:
        made.reason = ""
    return made


def _cert_pair(
    cert: bytes | str | tuple[bytes | str, bytes | str] | None,
) -> tuple[str, str] | None:
    if cert is None:
        return None
    if isinstance(cert, bytes | str):
        return os.fsdecode(cert), ""
    return os.fsdecode(cert[0]), os.fsdecode(cert[1])


def tls_context(verify: bool | str, cert: tuple[str, str] | None = None) -> ssl.SSLContext:
    """The TLS context for ``requests``' ``verify`` (``True``: the bundle ``requests``
    trusts, certifi's; ``False``; a CA file or directory) and ``cert`` (certificate file,
    key file or ``""`` when the first holds both). Contexts are cached, keyed by the files'
    modification times too, so a rotated certificate or CA bundle is read again.

    Raises :class:`~bandwidth_credentials.plugin.TLSFailed` when a file cannot be loaded.
    """
    paths = [p for p in ((verify if isinstance(verify, str) else ""), *(cert or ())) if p]
    loaded: ssl.SSLContext | None = None
    try:
        stamps = tuple(os.stat(path).st_mtime_ns for path in paths)
        loaded = _cached_context(verify, cert, stamps)
    except (OSError, ValueError):  # ssl.SSLError is an OSError
        pass
    if loaded is None:
        raise _http.TLSFailed("the CA bundle or the client certificate cannot be loaded")
    return loaded


@functools.lru_cache(maxsize=8)
def _cached_context(
    verify: bool | str, cert: tuple[str, str] | None, stamps: tuple[int, ...]
) -> ssl.SSLContext:
    import ssl

    cafile: str | None = None
    capath: str | None = None
    if isinstance(verify, str):
        if os.path.isdir(verify):
            capath = verify
        else:
            cafile = verify
    elif verify:
        cafile = requests.utils.DEFAULT_CA_BUNDLE_PATH
    context = ssl.create_default_context(cafile=cafile, capath=capath)
    if verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert is not None:
        context.load_cert_chain(cert[0], cert[1] or None)
    return context
