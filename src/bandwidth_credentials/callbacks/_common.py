"""What every adapter shares: the answer to a refused request, the headers read from a
WSGI environ or an ASGI scope, and the body limit."""

from __future__ import annotations

from .._callback_auth import DEFAULT_MAX_BODY
from .._errors import CallbackAuthError, CredentialsError
from .._log import logger
from .._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

__all__ = [
    "DEFAULT_MAX_BODY",
    "MALFORMED",
    "asgi_headers",
    "bad_request",
    "body_limit",
    "declared_length",
    "environ_headers",
    "length_refusal",
    "read_body",
    "refusal",
    "too_large",
    "unframed",
]

_PHRASES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    411: "Length Required",
    413: "Content Too Large",
    503: "Service Unavailable",
}
# The WSGI environ keys of the headers the schemes read, and their names.
_ENVIRON = {
    "HTTP_AUTHORIZATION": "authorization",
    "HTTP_X_BANDWIDTH_SIGNATURE_SHA_256": "x-bandwidth-signature-sha-256",
    "HTTP_X_BANDWIDTH_SIGNATURE_HMAC_SHA256": "x-bandwidth-signature-hmac-sha256",
}
_WANTED = frozenset(name.encode() for name in _ENVIRON.values())


def body_limit(max_body: int) -> int:
    """``max_body`` checked: a positive number of bytes. Raises ``ValueError``."""
    if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body <= 0:
        raise ValueError("max_body must be a positive number of bytes")
    return max_body


#: What :func:`declared_length` answers for a value that is not a number of bytes.
MALFORMED = -1
# More digits than this is more than any body a callback is allowed (and int() of
# thousands of digits is refused by Python itself).
_MOST_DIGITS = 18
_HUGE: int = 10**_MOST_DIGITS


def declared_length(value: object) -> int | None:
    """The body size a ``Content-Length`` value declares, in bytes, as every adapter
    reads it: ``None`` when there is none (absent or blank, as a WSGI environ has it),
    :data:`MALFORMED` for anything but ASCII digits (``"+5"``, ``"0x10"``, ``"²"``,
    whose ``str.isdigit()`` is true and ``int()`` refuses), and for more than 18 digits
    a number larger than any body limit. Accepts ``str`` (WSGI, Django, Starlette) or
    ``bytes`` (ASGI raw headers). Never raises.

    >>> declared_length("42"), declared_length(b" 42 "), declared_length("\xb2")
    (42, 42, -1)
    """
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("latin-1")
    text = value.strip(" \t") if isinstance(value, str) else ""
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        return MALFORMED
    if len(text) > _MOST_DIGITS:
        return _HUGE
    return int(text)


def too_large(max_body: int, app: str | None) -> CallbackAuthError:
    """The refusal of a body over ``max_body`` (answered before it is read)."""
    where = f" for application {app}" if app else ""
    return CallbackAuthError(
        f"callback refused{where} (request): the body is over {max_body} bytes",
        status=413,
        reason="too-large",
        app=app,
    )


def length_refusal(length: int | None, max_body: int, app: str | None) -> CallbackAuthError | None:
    """The refusal a declared body size earns before anything is read (400 for a
    malformed ``Content-Length``, 413 for one over ``max_body``), else ``None``."""
    if length == MALFORMED:
        return bad_request("Content-Length is not a number of bytes", app)
    if length is not None and length > max_body:
        return too_large(max_body, app)
    return None


def unframed(environ: Mapping[str, object], app: str | None) -> CallbackAuthError | None:
    """The refusal (411 Length Required, RFC 9110 section 15.5.12) of a WSGI request whose
    body cannot be read whole: sent with ``Transfer-Encoding`` (chunked) and no
    ``Content-Length``, by a server that does not mark the input terminated. PEP 3333
    lets an application read no further than ``CONTENT_LENGTH``, so without one the body
    reads as empty, and a raw chunked stream would hold the chunk framing, not the body.
    Servers that dechunk say so with ``wsgi.input_terminated`` (gunicorn, Werkzeug's
    server, mod_wsgi's ``WSGIChunkedRequest``): their input is read to its end
    (:func:`read_body`). ``None`` for any other request."""
    if declared_length(environ.get("CONTENT_LENGTH")) is not None:
        return None
    if not environ.get("HTTP_TRANSFER_ENCODING") or environ.get("wsgi.input_terminated"):
        return None
    where = f" for application {app}" if app else ""
    return CallbackAuthError(
        f"callback refused{where} (request): a body sent without Content-Length "
        "(Transfer-Encoding) that this server does not dechunk cannot be verified",
        status=411,
        reason="length-required",
        app=app,
    )


def read_body(environ: Mapping[str, Any], length: int | None, max_body: int) -> bytes | None:
    """The request body (``None`` when over ``max_body``), read once from ``wsgi.input``:
    ``length`` bytes (the ``Content-Length``, already checked against ``max_body``), or,
    without one, up to the end when the server marks the input terminated (chunked
    requests), reading at most ``max_body + 1`` bytes; else none (see :func:`unframed`
    for a body that was sent but cannot be read)."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    if length is None:
        if not environ.get("wsgi.input_terminated"):
            return b""
        length = max_body + 1
    chunks = []
    while length > 0:
        chunk = stream.read(length)  # a short read is not the end: read until b""
        if not chunk:
            break
        chunks.append(chunk)
        length -= len(chunk)
    data = b"".join(chunks)
    return None if len(data) > max_body else data


def bad_request(text: str, app: str | None) -> CallbackAuthError:
    """The refusal of a request that cannot be read (a malformed ``Content-Length``)."""
    where = f" for application {app}" if app else ""
    return CallbackAuthError(
        f"callback refused{where} (request): {text}", status=400, reason="malformed", app=app
    )


def refusal(error: CredentialsError) -> tuple[int, str, list[tuple[str, str]], bytes]:
    """The answer to a request that was not verified: ``(status, reason phrase, headers,
    body)``. A :class:`CallbackAuthError` gets its status (and the Basic challenge); any
    other error (no callback credentials configured, a source that fails) is 503, since
    the request could not be checked. The body is the status line only: what was wrong
    is logged (at INFO for a refusal, ERROR otherwise), never told to the caller."""
    if isinstance(error, CallbackAuthError):
        logger.info("%s", error)
        status = error.status
    else:
        logger.error("Bandwidth callbacks cannot be verified: %s", error)
        status = 503
    phrase = _PHRASES.get(status, "Error")
    headers = [("Content-Type", "text/plain; charset=utf-8")]
    challenge = getattr(error, "www_authenticate", None)
    if challenge:
        headers.append(("WWW-Authenticate", challenge))
    return status, phrase, headers, f"{status} {phrase}\n".encode()


def environ_headers(environ: Mapping[str, object]) -> dict[str, object]:
    """The scheme headers of a WSGI request (servers join a repeated header with commas,
    which the verifier reads as a duplicate)."""
    return {name: environ[key] for key, name in _ENVIRON.items() if key in environ}


def asgi_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, object]:
    """The scheme headers of an ASGI request; a repeated one is joined with a comma so
    the verifier refuses it as a duplicate."""
    found: dict[str, bytes] = {}
    for name, value in raw:
        lowered = bytes(name).lower()
        if lowered in _WANTED:
            key = lowered.decode()
            previous = found.get(key)
            found[key] = bytes(value) if previous is None else previous + b"," + bytes(value)
    return dict(found)
