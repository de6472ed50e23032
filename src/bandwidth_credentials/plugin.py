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
- **SDKs built on** ``requests`` (:class:`BoundedAdapter`, :func:`bounded_session`):
  a transport adapter that sends each of the SDK's exchanges with the bounded client
  (the same deadline, cap and redirect rule; a 3xx is an :class:`ExchangeFailed` naming
  the status), every failure one :class:`ExchangeFailed` with only safe facts, kept by
  an :class:`ExchangeLog` for failures an SDK reports in its own words. ``requests``
  loads with the first of these names used.
- **A total deadline for one fetch** (:class:`Deadline`): the documented worst case of a
  fetch covers every page, retry and login in it, not just one attempt. A provider states
  it as :attr:`Provider.worst_case` (seconds), so callers waiting for a refresh another
  caller runs wait that long for it, and no longer. Entered with ``with``, a deadline
  bounds every exchange in the block (:func:`time_for`), however deep in an SDK it is
  made.
- **Retry waits** (:func:`backoff`): a fetch's own quick retries wait a random half to
  all of a doubling window, drawn from ``os.urandom`` by the library's refresh policy, so
  a fleet (or environments restored from one SnapStart snapshot) does not retry in step.
- **Safe file reads** (:func:`read_file`): a token, JWT or secret-id file opened without
  blocking, checked to be a regular file, capped, decoded as UTF-8, never quoted.
- **The provider interface** (:class:`Provider`, :class:`Source`, :class:`Fetched`) and
  the error types a fetch raises (:class:`SourceError` and its subclasses,
  :class:`ConfigurationError`), and those an optional ``store()`` raises
  (:class:`StoreConflictError`, :class:`StoreNotSupportedError`; since kit 1.1), the same
  objects ``bandwidth_credentials`` exports.
- **Errors** (:func:`source_error`, :func:`map_exceptions`, :func:`guarded`,
  :func:`redact`, :func:`exchange_error`): one foreign→own mapping per plugin, the
  library error raised outside every ``except`` block, a store's own text shown only with
  what was read cut out, one wording for a failed bounded exchange.
- **The library logger** (:data:`logger`): records go to ``logging.getLogger(
  "bandwidth_credentials")``, without importing :mod:`logging` until the application has.
- **Option parsers** (:func:`positive_number`, :func:`field`, :func:`text_option`,
  :func:`text_values`, :func:`decode_fields`): checked when the source is parsed; a bad value is a
  :class:`~bandwidth_credentials.ConfigurationError` naming the option, never its value.
- **A client holder** (:class:`ClientHolder`): the lock, the lazily built SDK client, its
  ``close()`` and what happens to it in a forked child.
- **Light typing stand-ins** (``TYPE_CHECKING``, ``Any``, ``NamedTuple``, ``Protocol``):
  the same names as :mod:`typing`'s for type checkers, without importing :mod:`typing` at
  run time (it costs about as much as starting the interpreter).

Versioning: :data:`KIT_VERSION` is ``(major, minor)``. A minor version adds names; a name
in :data:`__all__` is removed or changed only with a new major version, which comes with
a new minor version of the core (``0.2``). 1.1 added :class:`StoreConflictError`,
:class:`StoreNotSupportedError`, :class:`BoundedAdapter`,
:func:`bounded_session`, :class:`ExchangeFailed`, :class:`ExchangeLog`,
:func:`exchange_error`, :func:`time_for`, :func:`backoff`, :class:`Deadline` as a context
manager, and bytes for :func:`decode_fields`; 1.2 added :func:`text_values`. A plugin
declares the core versions it was tested with in its own ``pyproject.toml``, for example
``dependencies = ["bandwidth-credentials>=0.1,<0.2"]``.

Importing this module costs little: ``time``, ``contextvars`` and the core's file
reader; the bounded
client (``socket``, ``urllib.parse``) loads with the first request or the first of its
names used, ``requests`` with the first use of :class:`BoundedAdapter` and its peers,
``threading`` with the first :class:`ClientHolder`; never ``typing`` or ``logging`` (a
Lambda cold start pays for every module).

>>> from bandwidth_credentials.plugin import Deadline, request, source_error
>>> deadline = Deadline(10.0)  # the whole fetch
>>> url = "https://store.example/v1/secret"
>>> answer = request("GET", url, timeout=5.0, deadline=deadline)  # doctest: +SKIP
"""

from __future__ import annotations

import time

from ._deadline import Deadline, time_for
from ._errors import (
    ConfigurationError,
    CredentialsError,
    SourceAccessDeniedError,
    SourceAuthenticationError,
    SourceError,
    SourceFormatError,
    SourceNotFoundError,
    SourceUnavailableError,
    StoreConflictError,
    StoreNotSupportedError,
    fresh,
    guarded,
)
from ._files import DEFAULT_MAX_SIZE as FILE_MAX_SIZE
from ._files import FileText, SecretFileError, max_size_option, try_read_file
from ._log import logger
from ._provider import Fetched, Provider, text_option, text_values
from ._source import Source
from ._typing import TYPE_CHECKING, Any, Generic, NamedTuple, Protocol, TypeVar

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from ._adapter import BoundedAdapter, ExchangeFailed, bounded_session
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
        origin,
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
        "origin",
        "parse_retry_after",
    }
)


# The requests adapter's names, loaded from ._adapter (and requests with them) on first use.
_ADAPTER_NAMES = frozenset({"BoundedAdapter", "ExchangeFailed", "bounded_session"})


def __getattr__(name: str) -> object:
    if name in _HTTP_NAMES:
        from . import _http

        value = getattr(_http, name)
        globals()[name] = value
        return value
    if name in _ADAPTER_NAMES:
        from . import _adapter  # imports requests

        value = getattr(_adapter, name)
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
    "BoundedAdapter",
    "BrokenResponse",
    "ClientHolder",
    "ConfigurationError",
    "ConnectFailed",
    "CredentialsError",
    "Deadline",
    "DeadlineExceeded",
    "ExchangeFailed",
    "ExchangeLog",
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
    "StoreConflictError",
    "StoreNotSupportedError",
    "TLSFailed",
    "backoff",
    "bounded_session",
    "decode_fields",
    "display_url",
    "exchange_error",
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
    "text_values",
    "time_for",
]

#: The kit's interface version, ``(major, minor)``: see the module docstring.
KIT_VERSION = (1, 2)
#: The largest answer :func:`request` reads by default, in bytes (1 MiB).
DEFAULT_MAX_SIZE = 1 << 20

C = TypeVar("C")
E = TypeVar("E", bound=CredentialsError)
T = TypeVar("T")


# -- time ------------------------------------------------------------------------------


def backoff(attempt: int, first: float) -> float:
    """Seconds to wait before retry number ``attempt`` (1: the first retry) of a fetch's
    own quick retries: a random half to all of ``first * 2 ** (attempt - 1)``.

    The randomness is the library's refresh policy's (``os.urandom``, never the
    :mod:`random` module, whose state a forked child or an environment restored from a
    Lambda SnapStart snapshot shares with its siblings): one source of jitter for the
    core and every plugin. Check the wait against the fetch's :class:`Deadline`; a wait
    the store asks for (``Retry-After``) longer than a fetch may take is the library's
    backoff to honour, never slept inside a fetch.

    >>> 0.125 <= backoff(1, 0.25) <= 0.25
    True
    >>> 0.25 <= backoff(2, 0.25) <= 0.5
    True
    """
    from ._refresh import backoff_wait

    return backoff_wait(first * 2 ** (attempt - 1))


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
    ``deadline``, when given, and every :class:`Deadline` entered with ``with``: the
    attempt gets what is left of them if that is less).

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
    timeout = time_for(timeout)
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


class ExchangeLog:
    """What the adapters (:class:`BoundedAdapter`) it is given to saw last: ``last``, the last
    :class:`ExchangeFailed`, and ``in_flight``, the host of an exchange under way (``""``
    when none). For a failure an SDK reports only in its own words: a credential chain's
    "no token", or a token refresh grpc runs in its own thread and reports as "Getting
    metadata from plugin failed" (or not at all when the call's deadline passes first).
    One log per provider, made when the provider is (it imports nothing); call
    :meth:`take` when a fetch starts.

    >>> log = ExchangeLog()
    >>> session = bounded_session(10.0, tag="token", log=log)         # doctest: +SKIP
    >>> log.take() is None
    True
    """

    __slots__ = ("in_flight", "last")

    def __init__(self) -> None:
        self.last: ExchangeFailed | None = None
        self.in_flight = ""

    def take(self) -> ExchangeFailed | None:
        """The last failure, forgotten as it is handed out."""
        last, self.last = self.last, None
        return last


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


def exchange_error(
    uri: str,
    kind: str,
    detail: str,
    *,
    peer: str,
    subject: str,
    timeout: float,
    max_size: int = DEFAULT_MAX_SIZE,
) -> CredentialsError:
    """The library error for a failed exchange of a :class:`BoundedAdapter`, from its
    :class:`ExchangeFailed`'s ``kind`` and ``detail``: one wording for every plugin.
    ``peer`` names who was asked (``"Key Vault myvault.vault.azure.net"``), ``subject``
    what for (``"secret 'bw'"``, ``"the access token request for secret 'bw'"``);
    ``timeout`` is the per-request timeout in seconds, ``max_size`` the answer cap.

    ``too-large`` is a :class:`~bandwidth_credentials.SourceFormatError`; ``timeout``,
    ``tls``, ``connect`` and ``broken`` :class:`~bandwidth_credentials.SourceUnavailableError`
    (retrying later may help); ``redirect`` and anything else a
    :class:`~bandwidth_credentials.SourceError` (the store's setup must change).

    >>> str(exchange_error("azure-kv:v/bw", "redirect", "HTTP 302 (not followed)",
    ...                    peer="Key Vault v.example", subject="secret 'bw'", timeout=10.0))
    "source azure-kv:v/bw: Key Vault v.example answered secret 'bw' with HTTP 302 (not followed)"
    """
    if kind == "too-large":
        return SourceFormatError(
            f"source {uri}: the answer from {peer} to {subject} is larger than {max_size} "
            "bytes; it was not read",
            source=uri,
        )
    if kind == "timeout":
        return SourceUnavailableError(
            f"source {uri}: {subject} timed out at {peer} ({detail}; timeout {timeout:g} s "
            "per request)",
            source=uri,
        )
    if kind == "redirect":
        return SourceError(f"source {uri}: {peer} answered {subject} with {detail}", source=uri)
    if kind == "tls":
        return SourceUnavailableError(
            f"source {uri}: TLS with {peer} failed for {subject} ({detail}); check "
            "REQUESTS_CA_BUNDLE",
            source=uri,
        )
    if kind in ("connect", "broken"):
        return SourceUnavailableError(
            f"source {uri}: could not reach {peer} for {subject} ({detail})", source=uri
        )
    return SourceError(f"source {uri}: {subject} was not sent to {peer} ({detail})", source=uri)


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


def decode_fields(uri: str, what: str, text: str | bytes, field: str | None) -> dict[str, object]:
    """A stored text as raw key/values: a JSON object's members, or ``{field: text}``.

    ``what`` names the text in messages (``the SecretString of secret 'bw'``). Bytes (a
    binary payload) must be UTF-8 (since kit 1.1). With ``field`` the text is not parsed.
    A text that is not UTF-8 or not a JSON object is a
    :class:`~bandwidth_credentials.SourceFormatError` saying what was expected, never
    quoting it (nor chaining the decoder's error, which holds the document).

    >>> decode_fields("aws-sm:bw", "the secret", '{"BW_CLIENT_ID": "CLI-1"}', None)
    {'BW_CLIENT_ID': 'CLI-1'}
    """
    if isinstance(text, bytes):
        utf8: str | None
        try:
            utf8 = text.decode("utf-8")
        except UnicodeDecodeError:
            utf8 = None  # the decoder's error quotes the bytes: never keep it
        if utf8 is None:
            raise SourceFormatError(
                f"source {uri}: {what} is not UTF-8 text; expected {_EXPECTED}", source=uri
            )
        text = utf8
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
    >>> holder.after_fork()   # in the child: the next get() builds its own  # doctest: +SKIP
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
