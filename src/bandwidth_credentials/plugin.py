"""The plugin kit: everything a source provider needs from the core, in one public module.

The project's own plugins (``vault:``, ``aws-*``, ``gcp-sm:``, ``azure-kv:``) and any third
party's import this module and nothing private from the core, so each gets the library's
rules by using its mechanisms:

- **Bounded HTTP** (:func:`request`): one deadline per attempt from connect to the last
  byte of the answer, answers capped (:data:`DEFAULT_MAX_SIZE`, 1 MiB), redirects never
  followed (a 3xx is returned as it is), proxies from ``HTTPS_PROXY``/``HTTP_PROXY``/
  ``NO_PROXY`` and the CA bundle from ``REQUESTS_CA_BUNDLE``/``SSL_CERT_FILE``; failures
  are :class:`HttpError` subclasses with nothing chained; :func:`retry_after` reads
  ``Retry-After`` (RFC 9110 §10.2.3) for the library's backoff.
- **A total deadline for one fetch** (:class:`Deadline`): the documented worst case of a
  fetch covers every page, retry and login in it, not just one attempt. A provider states
  it as :attr:`Provider.worst_case` (seconds), so callers waiting for a refresh another
  caller runs wait that long for it, and no longer.
- **Safe file reads** (:func:`read_file`): a token, JWT or secret-id file opened without
  blocking, checked to be a regular file, capped, decoded as UTF-8, never quoted.
- **The provider interface** (:class:`Provider`, :class:`Source`, :class:`Fetched`) and
  the error types a fetch raises (:class:`SourceError` and its subclasses,
  :class:`ConfigurationError`), the same objects ``bandwidth_credentials`` exports.
- **Errors** (:func:`source_error`, :func:`map_exceptions`, :func:`guarded`,
  :func:`redact`): one foreign→own mapping per plugin, the library error raised outside
  every ``except`` block, a store's own text shown only with what was read cut out.
- **The library logger** (:data:`logger`): records go to ``logging.getLogger(
  "bandwidth_credentials")``, without importing :mod:`logging` until the application has.
- **Option parsers** (:func:`positive_number`, :func:`field`, :func:`text_option`,
  :func:`decode_fields`): checked when the source is parsed; a bad value is a
  :class:`~bandwidth_credentials.ConfigurationError` naming the option, never its value.
- **A client holder** (:class:`ClientHolder`): the lock, the lazily built SDK client, its
  ``close()`` and what happens to it in a forked child.
- **Light typing stand-ins** (``TYPE_CHECKING``, ``Any``, ``NamedTuple``, ``Protocol``):
  the same names as :mod:`typing`'s for type checkers, without importing :mod:`typing` at
  run time (it costs about as much as starting the interpreter).

Versioning: :data:`KIT_VERSION` is ``(major, minor)``. A minor version adds names; a name
in :data:`__all__` is removed or changed only with a new major version, which comes with
a new minor version of the core (``0.2``). A plugin declares the core versions it was
tested with in its own ``pyproject.toml``, for example
``dependencies = ["bandwidth-credentials>=0.1,<0.2"]``.

Importing this module costs little: ``time`` and the core's file reader; the bounded
client (``socket``, ``urllib.parse``) loads with the first request or the first of its
names used, ``threading`` with the first :class:`ClientHolder`; never ``typing`` or
``logging`` (a Lambda cold start pays for every module).

>>> from bandwidth_credentials.plugin import Deadline, request, source_error
>>> deadline = Deadline(10.0)  # the whole fetch
>>> url = "https://store.example/v1/secret"
>>> answer = request("GET", url, timeout=5.0, deadline=deadline)  # doctest: +SKIP
"""

from __future__ import annotations

import time

from ._errors import (
    ConfigurationError,
    CredentialsError,
    SourceAccessDeniedError,
    SourceAuthenticationError,
    SourceError,
    SourceFormatError,
    SourceNotFoundError,
    SourceUnavailableError,
    fresh,
    guarded,
)
from ._files import DEFAULT_MAX_SIZE as FILE_MAX_SIZE
from ._files import FileText, SecretFileError, max_size_option, try_read_file
from ._log import logger
from ._provider import Fetched, Provider
from ._source import Source
from ._typing import TYPE_CHECKING, Any, Generic, NamedTuple, Protocol, TypeVar

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from ._http import (
        BadURL,
        BrokenResponse,
        ConnectFailed,
        DeadlineExceeded,
        HttpError,
        Response,
        ResponseTooLarge,
        TLSFailed,
        display_url,
        parse_retry_after,
    )

# The bounded client's names, loaded from ._http on first use (PEP 562): building a
# resolver that names a plugin's scheme loads no HTTP machinery.
_HTTP_NAMES = frozenset(
    {
        "BadURL",
        "BrokenResponse",
        "ConnectFailed",
        "DeadlineExceeded",
        "HttpError",
        "Response",
        "ResponseTooLarge",
        "TLSFailed",
        "display_url",
        "parse_retry_after",
    }
)


def __getattr__(name: str) -> object:
    if name in _HTTP_NAMES:
        from . import _http

        value = getattr(_http, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_MAX_SIZE",
    "FILE_MAX_SIZE",
    "KIT_VERSION",
    "TYPE_CHECKING",
    "Any",
    "BadURL",
    "BrokenResponse",
    "ClientHolder",
    "ConfigurationError",
    "ConnectFailed",
    "CredentialsError",
    "Deadline",
    "DeadlineExceeded",
    "Fetched",
    "FileText",
    "HttpError",
    "NamedTuple",
    "Protocol",
    "Provider",
    "Response",
    "ResponseTooLarge",
    "SecretFileError",
    "Source",
    "SourceAccessDeniedError",
    "SourceAuthenticationError",
    "SourceError",
    "SourceFormatError",
    "SourceNotFoundError",
    "SourceUnavailableError",
    "TLSFailed",
    "decode_fields",
    "display_url",
    "field",
    "fresh",
    "guarded",
    "logger",
    "map_exceptions",
    "max_size_option",
    "origin",
    "parse_retry_after",
    "positive_number",
    "read_file",
    "redact",
    "request",
    "retry_after",
    "source_error",
    "text_option",
]

#: The kit's interface version, ``(major, minor)``: see the module docstring.
KIT_VERSION = (1, 0)
#: The largest answer :func:`request` reads by default, in bytes (1 MiB).
DEFAULT_MAX_SIZE = 1 << 20

C = TypeVar("C")
E = TypeVar("E", bound=CredentialsError)
T = TypeVar("T")


# -- time ------------------------------------------------------------------------------


class Deadline:
    """A total time budget for one fetch, in seconds, on a monotonic clock.

    A fetch that pages, retries or logs in makes several attempts; each is bounded by its
    own timeout, and all of them together by one :class:`Deadline`, so the worst case a
    plugin documents holds whatever the store does. ``clock`` (default
    :func:`time.monotonic`) may be injected by tests.

    >>> deadline = Deadline(24.0)
    >>> deadline.cap(7.0)   # the next attempt's timeout: 7 s, or what is left if less
    7.0
    >>> deadline.expired
    False
    """

    __slots__ = ("_clock", "ends", "seconds")

    def __init__(self, seconds: float, *, clock: Callable[[], float] | None = None) -> None:
        self.seconds = seconds
        self._clock = clock or time.monotonic
        self.ends = self._clock() + seconds

    def left(self) -> float:
        """Seconds left, never below 0."""
        return max(self.ends - self._clock(), 0.0)

    @property
    def expired(self) -> bool:
        """Whether no time is left."""
        return self.left() <= 0.0

    def cap(self, timeout: float) -> float:
        """The timeout for the next attempt: ``timeout``, or the time left if that is less.

        Raises :class:`DeadlineExceeded` when no time is left (no attempt should start).
        """
        left = self.left()
        if left <= 0.0:
            from ._http import DeadlineExceeded

            raise DeadlineExceeded(f"the fetch did not finish within {self.seconds:g} s")
        return min(timeout, left)

    def __repr__(self) -> str:
        return f"Deadline({self.seconds:g} s, {self.left():.3g} s left)"


# -- HTTP ------------------------------------------------------------------------------


def request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    timeout: float = 10.0,
    deadline: Deadline | None = None,
    max_size: int = DEFAULT_MAX_SIZE,
    verify: bool = True,
    cafile: str | None = None,
    context: ssl.SSLContext | None = None,
    proxy: str | None = None,
) -> Response:
    """Send one request and read the whole answer within ``timeout`` seconds (and within
    ``deadline``, when given: the attempt gets what is left of it if that is less).

    Returns a :class:`Response` (``status``, lower-case ``headers``, ``body`` of at most
    ``max_size`` bytes). A 3xx is returned, never followed. ``cafile`` defaults to
    ``REQUESTS_CA_BUNDLE`` or ``SSL_CERT_FILE``, else the system store; ``context``
    replaces ``verify``/``cafile`` (a client certificate, a CA directory); ``proxy`` is a
    proxy URL, ``""`` for none, or ``None`` for the environment's.

    Raises :class:`BadURL`, :class:`ConnectFailed`, :class:`TLSFailed`,
    :class:`DeadlineExceeded`, :class:`BrokenResponse` or :class:`ResponseTooLarge` (all
    :class:`HttpError`, ``retryable`` telling whether another attempt may help), raised
    with no ``__cause__`` or ``__context__`` and no URL, header or body text.

    >>> request("GET", "https://127.0.0.1:8200/v1/sys/health", timeout=2.0)  # doctest: +SKIP
    Response(status=200, headers={...}, body=b'...')
    """
    from ._http import request as bounded

    if deadline is not None:
        timeout = deadline.cap(timeout)
    return bounded(
        method,
        url,
        headers=headers,
        body=body,
        timeout=timeout,
        max_size=max_size,
        verify=verify,
        cafile=cafile,
        context=context,
        proxy=proxy,
    )


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds an answer's ``Retry-After`` asks for (delay-seconds or an HTTP-date),
    ``None`` when absent or unparsable. Hand it to the library as a
    :class:`~bandwidth_credentials.SourceError`'s ``retry_after``; never sleep it inside a
    fetch. Header names are matched case-insensitively.

    >>> retry_after({"Retry-After": "120"})
    120.0
    """
    if not headers:
        return None
    from ._http import parse_retry_after

    for name, value in headers.items():
        if name.lower() == "retry-after":
            return parse_retry_after(value, time.time())
    return None


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of ``url``, lower-cased, the scheme's default port filled
    in: two URLs are the same origin (RFC 6454) when these are equal. A credential or a
    login body goes only to the configured origin.

    >>> origin("HTTPS://Vault.example:443/v1/x") == origin("https://vault.example/")
    True
    """
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"https": 443, "http": 80}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port or default


# -- files -----------------------------------------------------------------------------


def read_file(path: str, max_size: int = FILE_MAX_SIZE) -> FileText | SecretFileError:
    """Read a token, JWT or secret-id file: opened without blocking (a FIFO or a device is
    refused at once), a regular file only, at most ``max_size`` bytes (default 64 KiB),
    UTF-8 with a leading BOM removed.

    Returns a :class:`FileText` (``text``, ``info``), or the :class:`SecretFileError`
    (``kind``: the :class:`~bandwidth_credentials.SourceError` subclass to raise;
    ``reason``: a sentence naming the file, never its content), so the caller raises its
    own error outside any ``except`` block.

    >>> got = read_file("/var/run/secrets/kubernetes.io/serviceaccount/token")  # doctest: +SKIP
    >>> if isinstance(got, SecretFileError):                        # doctest: +SKIP
    ...     raise source_error(got.kind, source, got.reason)
    """
    return try_read_file(path, max_size)


# -- errors ----------------------------------------------------------------------------


def source_error(
    kind: type[E], source: Source | str, detail: str, *, retry_after: float | None = None
) -> E:
    """A library error for ``source`` (a :class:`Source` or its shown URI):
    ``"source URI: detail"``. ``kind`` is a :class:`~bandwidth_credentials.SourceError`
    subclass (``retry_after`` kept) or :class:`~bandwidth_credentials.ConfigurationError`.
    ``detail`` must name what failed and where, never a secret.

    >>> raise source_error(SourceNotFoundError, src, "no secret at kv/bw (404)")  # doctest: +SKIP
    """
    uri = source if isinstance(source, str) else source.uri
    message = f"source {uri}: {detail}"
    if issubclass(kind, SourceError):
        return kind(message, source=uri, retry_after=retry_after)
    if issubclass(kind, ConfigurationError):
        return kind(message, source=uri)
    return kind(message)


def map_exceptions(
    action: Callable[[], T],
    table: Sequence[
        tuple[
            type[BaseException] | tuple[type[BaseException], ...],
            Callable[[BaseException], Exception],
        ]
    ],
) -> T:
    """Run ``action``; a foreign exception matching a row of ``table`` (the first whose
    types match) is replaced by what the row's function makes of it, raised *outside* the
    ``except`` block, so neither ``__cause__`` nor ``__context__`` leads back to it (its
    text may quote a request or an answer). A library error passes as a fresh copy;
    anything else passes unchanged (the source chain keeps only its type name).

    One table per plugin is its whole foreign→own mapping (httpx's ``map_exceptions``)::

        TABLE = [
            (Forbidden, lambda e: source_error(SourceAccessDeniedError, src, "denied")),
            (Timeout, lambda e: source_error(SourceUnavailableError, src, "timed out")),
        ]
        secret = map_exceptions(lambda: client.read(path), TABLE)
    """
    replacement: BaseException | None = None
    try:
        return action()
    except CredentialsError as exc:
        replacement = fresh(exc)
    except BaseException as exc:
        for types, make in table:
            if isinstance(exc, types):
                replacement = make(exc)
                break
        if replacement is None:
            raise
    raise replacement


def redact(text: str, secrets: Iterable[str], limit: int = 200) -> str:
    """A store's own message, fit to show: whitespace collapsed, every string in
    ``secrets`` (tokens, values already read; strings under 4 characters are ignored)
    replaced by ``[redacted]``, cut to ``limit`` characters, control characters dropped.

    >>> redact("bad token hvs.XYZW\\nline", ["hvs.XYZW"])
    'bad token [redacted] line'
    """
    shown = " ".join(text.split())
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        shown = shown.replace(secret, "[redacted]")
    shown = "".join(ch for ch in shown if ch.isprintable())
    return shown if len(shown) <= limit else shown[:limit] + "..."


# -- options ---------------------------------------------------------------------------


def positive_number(source: Source, name: str, default: float) -> float:
    """A number option that must be above zero (seconds: a timeout of 0 would mean no
    waiting). Raises :class:`~bandwidth_credentials.ConfigurationError` naming the option.

    >>> positive_number(parse_source("vault:kv/bw?timeout=2.5"), "timeout", 10.0)  # doctest: +SKIP
    2.5
    """
    value = source.number(name, default)
    if not value:
        raise source_error(ConfigurationError, source, f"option {name!r} must be greater than 0")
    return value


def text_option(source: Source, name: str, default: str | None = None) -> str | None:
    """A text option, stripped; ``default`` when absent. Empty, or holding a control
    character (CR, LF, NUL: a forged log line or header) or an invisible one, is a
    :class:`~bandwidth_credentials.ConfigurationError` naming the option, never quoting it.

    >>> text_option(parse_source("vault:kv/bw?namespace=team-a"), "namespace")  # doctest: +SKIP
    'team-a'
    """
    raw = source.options.get(name)
    if raw is None:
        return default
    value = raw.strip()
    if not value:
        raise source_error(ConfigurationError, source, f"option {name!r} is empty")
    if not raw.isprintable():  # before stripping: a trailing CR/LF is refused too
        raise source_error(
            ConfigurationError,
            source,
            f"option {name!r} holds a control or invisible character (a line break?)",
        )
    return value


def field(source: Source) -> str | None:
    """The ``field`` option: the key the whole stored text is kept under, instead of
    decoding it as a JSON object (see :func:`decode_fields`). ``None`` when absent.

    >>> field(parse_source("aws-sm:bw-password?field=BW_CLIENT_SECRET"))  # doctest: +SKIP
    'BW_CLIENT_SECRET'
    """
    return text_option(source, "field")


_EXPECTED = (
    'a JSON object of Bandwidth fields, such as {"accountId": "...", "clientId": "...", '
    '"clientSecret": "..."}, or ?field=NAME to use the whole value as one field'
)


def decode_fields(uri: str, what: str, text: str, field: str | None) -> dict[str, object]:
    """A stored text as raw key/values: a JSON object's members, or ``{field: text}``.

    ``what`` names the text in messages (``the SecretString of secret 'bw'``). With
    ``field`` the text is not parsed. A text that is not a JSON object is a
    :class:`~bandwidth_credentials.SourceFormatError` saying what was expected, never
    quoting it (nor chaining the decoder's error, which holds the document).

    >>> decode_fields("aws-sm:bw", "the secret", '{"BW_CLIENT_ID": "CLI-1"}', None)
    {'BW_CLIENT_ID': 'CLI-1'}
    """
    if field is not None:
        return {field: text}
    import json  # loaded by then in practice: the stores answer JSON

    try:
        decoded = json.loads(text)
    except ValueError:
        decoded = None  # the decoder's message may quote the text: never keep it
    if not isinstance(decoded, dict):
        raise SourceFormatError(
            f"source {uri}: {what} is not a JSON object; expected {_EXPECTED}", source=uri
        )
    return {str(key): value for key, value in decoded.items()}


# -- clients ---------------------------------------------------------------------------


class ClientHolder(Generic[C]):
    """The SDK client a provider keeps between fetches: built lazily under a lock, closed
    by :meth:`close`, dropped (not closed) in a forked child.

    ``build`` makes the client (importing the SDK then, not at import time); ``release``
    closes one (``client.close()`` by default; ``None`` when there is nothing to close).

    >>> holder = ClientHolder(lambda: boto3.client("ssm"))         # doctest: +SKIP
    >>> holder.get().get_parameter(Name="/bw/prod")                # doctest: +SKIP
    >>> holder.after_fork()   # in the child: the next get() builds the child's own client
    """

    def __init__(
        self,
        build: Callable[[], C],
        release: Callable[[C], None] | None = None,
    ) -> None:
        import threading  # not at import time: the Lambda extension path never holds a client

        self._build = build
        self._release = release if release is not None else _close
        self._lock = threading.Lock()
        self._client: C | None = None

    def get(self) -> C:
        """The client, built on first use (once, however many threads ask)."""
        with self._lock:
            if self._client is None:
                self._client = self._build()
            return self._client

    @property
    def built(self) -> C | None:
        """The client if one was built, else ``None`` (builds nothing)."""
        return self._client

    def close(self) -> None:
        """Close the client, if one was built; the next :meth:`get` builds a new one."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            self._release(client)

    def after_fork(self) -> None:
        """In a forked child: a new lock and no client. The parent's client (its pooled
        connections, its lock, possibly held by a call in flight) is left to the parent;
        the child builds its own on its next :meth:`get`."""
        import threading

        self._lock = threading.Lock()
        self._client = None


def _close(client: object) -> None:
    close = getattr(client, "close", None)
    if callable(close):
        close()
