"""The one mapping from the Google client's exceptions to the library's errors.

:func:`classify` reads only facts that cannot carry a secret (an exception's type, a
canonical status code name, an HTTP status, a version state word) and returns a
:class:`Failure`; the provider raises the library error *after* leaving its ``except``
block, so the foreign exception is neither ``__cause__`` nor ``__context__``.

Status codes are Google's canonical ``google.rpc.Code`` names
(https://cloud.google.com/apis/design/errors#handling_errors). Over gRPC the client gives
the code itself. Over REST the client picks its exception class by HTTP status, which is
ambiguous (``FAILED_PRECONDITION`` and ``INVALID_ARGUMENT`` are both 400), so the code is
read from the ``error.status`` field of Google's error body
(https://cloud.google.com/apis/design/errors#http_mapping).
"""

from __future__ import annotations

import json
import re
from typing import NamedTuple

#: The canonical codes: only these words from a server answer are ever shown.
CANONICAL = frozenset(
    {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    }
)
# Used only when a REST answer has no readable `status` (a proxy's page, say).
_BY_HTTP_STATUS = {
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
# Secret Manager's FAILED_PRECONDITION text names the version's state; only the state
# word is taken from it.
_STATE = re.compile(r"\b(DISABLED|DESTROYED)\b")
_MAX_ERROR_BODY = 64 * 1024
# grpc reports a failing call-credentials plugin (the token fetch) as UNAVAILABLE.
_PLUGIN_FAILED = "Getting metadata from plugin failed"
# How grpc reports an answer over its ``grpc.max_receive_message_length``.
_TOO_LARGE = "Received message larger than max"


class Failure(NamedTuple):
    """What went wrong, in words that are safe to show.

    ``kind`` is one of ``status`` (a canonical code is in ``status``), ``unsupported``
    (the installed client cannot take the bounded transport: ``detail`` says why),
    ``no-credentials``, ``token`` (the token endpoint refused, or over gRPC any token
    failure: gRPC reports them all alike), ``token-unreachable``, ``timeout``,
    ``connect`` or ``other``. ``http`` is the HTTP status on the REST transport.
    ``state`` is ``DISABLED`` or ``DESTROYED`` when the server named one.
    ``type_name`` is the foreign exception's class name. The bounded transport's
    failures (:class:`~bandwidth_credentials.plugin.ExchangeFailed`) keep their own kind
    (``timeout``, ``too-large``, ``redirect``, ``connect``, ``tls``, ``broken``, ``request``) with
    ``host`` (the host asked), ``detail`` (the transport's sentence, no server text) and
    ``token`` (the exchange was an access-token request).
    ``retry_after`` is the seconds the store asked to wait: a REST answer's
    ``Retry-After``, or a ``google.rpc.RetryInfo`` error detail (REST or gRPC).
    """

    kind: str
    status: str | None = None
    http: int | None = None
    state: str | None = None
    type_name: str = ""
    host: str = ""
    detail: str = ""
    token: bool = False
    retry_after: float | None = None

    @property
    def retried(self) -> bool:
        """Whether another attempt within the fetch may help: UNAVAILABLE or
        RESOURCE_EXHAUSTED without a ``Retry-After`` (a wait the store asks for is the
        library's backoff to honour, never slept inside a fetch), a refused connection,
        a broken answer."""
        if self.retry_after:
            return False
        if self.kind == "status":
            return self.status in ("UNAVAILABLE", "RESOURCE_EXHAUSTED")
        return self.kind in ("connect", "broken")


def classify(exc: BaseException) -> Failure:
    """Describe ``exc`` (raised by the client, google-auth or requests) safely."""
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth

    from bandwidth_credentials import plugin as kit

    from ._transport import TOKEN, UnsupportedClient

    type_name = type(exc).__name__
    if isinstance(exc, kit.DeadlineExceeded):  # the fetch's deadline, before a call
        return Failure("timeout", "DEADLINE_EXCEEDED", type_name=type_name, detail=str(exc))
    if isinstance(exc, UnsupportedClient):
        return Failure("unsupported", type_name=type_name, detail=str(exc))
    if isinstance(exc, kit.ExchangeFailed):
        return Failure(
            exc.kind,
            status="DEADLINE_EXCEEDED" if exc.kind == "timeout" else None,
            http=exc.status,
            type_name=type_name,
            host=exc.host,
            detail=exc.detail,
            token=exc.tag == TOKEN,
        )
    if isinstance(exc, auth.DefaultCredentialsError):
        return Failure("no-credentials", type_name=type_name)
    if isinstance(exc, auth.RefreshError):
        return Failure("token", type_name=type_name)
    if isinstance(exc, auth.TransportError):
        return Failure("token-unreachable", status="UNAVAILABLE", type_name=type_name)
    if isinstance(exc, api.GoogleAPICallError):
        return _api_failure(exc, type_name)
    return _transport_failure(exc, type_name)


def _api_failure(exc: BaseException, type_name: str) -> Failure:
    response = getattr(exc, "response", None)
    http = getattr(response, "status_code", None)
    retry_after = None
    if isinstance(http, int):
        status, text = _rest_status(response)
        status = status or _BY_HTTP_STATUS.get(http)
        retry_after = _retry_after(getattr(response, "headers", None)) or _retry_info(exc)
    else:
        http = None
        code = getattr(exc, "grpc_status_code", None)
        status = getattr(code, "name", None)
        text = str(getattr(exc, "message", "") or "")
        retry_after = _retry_info(exc)
        if status == "UNAVAILABLE" and text.startswith(_PLUGIN_FAILED):
            return Failure("token", status=status, type_name=type_name)
        if status == "RESOURCE_EXHAUSTED" and _TOO_LARGE in text:  # "CLIENT: Received ..."
            return Failure(
                "too-large", status=status, type_name=type_name, detail=_TOO_LARGE.lower()
            )
    if status not in CANONICAL:
        status = None
    found = _STATE.search(text) if status == "FAILED_PRECONDITION" else None
    return Failure(
        "status",
        status=status,
        http=http,
        state=found.group(1) if found else None,
        type_name=type_name,
        retry_after=retry_after,
    )


def _retry_after(headers: object) -> float | None:
    """Seconds an answer's ``Retry-After`` asks for, if it asks (RFC 9110 §10.2.3)."""
    import time

    from bandwidth_credentials import plugin as kit

    get = getattr(headers, "get", None)
    value = get("Retry-After") if callable(get) else None
    wait = kit.parse_retry_after(value if isinstance(value, str) else None, time.time())
    return wait if wait else None


_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


def _retry_info(exc: BaseException) -> float | None:
    """Seconds a ``google.rpc.RetryInfo`` error detail asks to wait: Google's structured
    ``Retry-After`` (https://cloud.google.com/apis/design/errors#retryinfo), a protobuf
    over gRPC, ``{"@type": ..., "retryDelay": "30s"}`` in a REST error body."""
    details = getattr(exc, "details", None)
    for detail in details if isinstance(details, list | tuple) else ():
        seconds: float | None = None
        if isinstance(detail, dict) and detail.get("@type") == _RETRY_INFO:
            text = str(detail.get("retryDelay", ""))
            try:
                seconds = float(text[:-1]) if text.endswith("s") else None
            except ValueError:
                seconds = None
        elif type(detail).__name__ == "RetryInfo":
            delay = getattr(detail, "retry_delay", None)
            seconds = getattr(delay, "seconds", 0) + getattr(delay, "nanos", 0) / 1e9
        if seconds is not None and 0 < seconds < float("inf"):
            return seconds
    return None


def _rest_status(response: object) -> tuple[str | None, str]:
    """``error.status`` and ``error.message`` of a Google error body, if it has them."""
    content = getattr(response, "content", b"")
    if not isinstance(content, bytes) or len(content) > _MAX_ERROR_BODY:
        return None, ""
    try:
        body = json.loads(content)
    except ValueError:
        return None, ""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, ""
    status = error.get("status")
    message = error.get("message")
    return (
        status if isinstance(status, str) else None,
        message if isinstance(message, str) else "",
    )


def _transport_failure(exc: BaseException, type_name: str) -> Failure:
    """requests' own errors, raised by the REST transport before any answer arrived."""
    try:
        import requests
    except ImportError:  # pragma: no cover - requests comes with google-auth's transport
        return Failure("other", type_name=type_name)
    if isinstance(exc, requests.Timeout):
        return Failure("timeout", status="DEADLINE_EXCEEDED", type_name=type_name)
    if isinstance(exc, requests.ConnectionError):
        return Failure("connect", status="UNAVAILABLE", type_name=type_name)
    return Failure("other", type_name=type_name)
