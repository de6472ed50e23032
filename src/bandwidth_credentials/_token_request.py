"""One OAuth 2.0 client-credentials token request and the reading of its answer.

``POST {token_url}`` with HTTP Basic client authentication and the form body
``grant_type=client_credentials`` (RFC 6749 §4.4; Bandwidth's credentials guide,
https://dev.bandwidth.com/docs/credentials). The answer is JSON with ``access_token``,
``token_type`` (Bearer) and ``expires_in`` (seconds). Errors are JSON with an ``error``
code (RFC 6749 §5.2); only the standard codes are ever shown, never other server text.
A 3xx is a failure naming the status and where it pointed (never followed: the client
secret must not travel to wherever ``Location`` points).

Whatever the answer holds, reading it never raises: an ``expires_in`` that is not a
plain number of seconds (``"²"``, 401 digits, ``true``), a body nested deeper than the
JSON parser recurses, or anything else unreadable is a :class:`Failure` naming what was
wrong (never the value). ``expires_in`` absent is ``lifetime=None``: the caller then
reads the token's own ``exp``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

from . import _http
from ._basic import basic_authorization
from ._checks import token_problem
from ._jwt import LongNumber, loads
from ._secret import Secret

__all__ = ["STANDARD_ERRORS", "Failure", "Issued", "request_token"]

DEFAULT_LIFETIME = 3600.0
#: The longest ``expires_in`` read as a lifetime (seconds, about 31 years); beyond it the
#: answer is unreadable, not a token to keep for ever.
MAX_LIFETIME = 1e9
STANDARD_ERRORS = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    }
)


class Issued(NamedTuple):
    """A token the endpoint issued, valid for ``lifetime`` seconds (``None``: the answer
    had no ``expires_in``). ``lifetime`` may be zero or negative as the server said."""

    value: str
    lifetime: float | None


class Failure(NamedTuple):
    """Why a request failed (``reason`` holds no secret and no unknown server text);
    ``retry_after`` in seconds when the server said (429/503 ``Retry-After``)."""

    reason: str
    status: int | None
    retryable: bool
    retry_after: float | None = None


def _server_text(body: bytes) -> str:
    """`` (code)`` for a standard OAuth error code, else a note that text was dropped."""
    if not body.strip():
        return ""
    detail = loads(body)
    code = detail.get("error") if isinstance(detail, dict) else None
    return f" ({code})" if code in STANDARD_ERRORS else " (server text omitted)"


def _client_authorization(client_id: str, secret: Secret | str) -> Secret:
    """The client's Basic ``Authorization`` value, held masked: no frame keeps the raw
    header or secret as a local (error trackers record locals); the HTTP client unwraps
    it as it writes the request."""
    raw = secret.get_secret_value() if isinstance(secret, Secret) else secret
    return Secret(basic_authorization(client_id, raw))


def request_token(
    token_url: str,
    client_id: str,
    client_secret: Secret | str,
    *,
    timeout: float,
    max_size: int,
    wall: Callable[[], float],
) -> Issued | Failure:
    """Make one attempt (bounded by ``timeout`` seconds, answer capped at ``max_size``
    bytes); ``wall`` gives epoch seconds for ``Retry-After`` dates. Never raises."""
    headers: dict[str, str | Secret] = {
        # Sent as given, as Bandwidth's own SDKs do (no form-encoding of id and secret).
        "Authorization": _client_authorization(client_id, client_secret),
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
    }
    failure: _http.HttpError | None = None
    try:
        answer = _http.request(
            "POST",
            token_url,
            headers=headers,
            body=b"grant_type=client_credentials",
            timeout=timeout,
            max_size=max_size,
        )
    except _http.HttpError as exc:
        failure = exc
    if failure is not None:
        if isinstance(failure, _http.DeadlineExceeded):
            return Failure(f"timed out after {timeout:g} s", None, True)
        if isinstance(failure, _http.TLSFailed):
            return Failure(f"TLS error: {failure}", None, False)
        return Failure(str(failure), None, failure.retryable)
    return _read(answer, wall)


def _read(answer: _http.Response, wall: Callable[[], float]) -> Issued | Failure:
    status = answer.status
    if 300 <= status < 400:
        location = _http.display_url(answer.headers.get("location", ""))
        return Failure(f"HTTP {status} redirect to {location} (not followed)", status, False)
    if status >= 400 or status < 200:
        text = _server_text(answer.body)
        if status in (400, 401, 403):
            reason = f"HTTP {status}{text}: the client id or secret was refused"
            return Failure(reason, status, False)
        retryable = status == 429 or status >= 500
        wait = _http.parse_retry_after(answer.headers.get("retry-after"), wall())
        wait = wait if retryable else None
        when = "" if wait is None else f"; retry after {wait:g} s"
        return Failure(f"HTTP {status}{text}{when}", status, retryable, wait)
    payload = loads(answer.body)  # never raises: None when it is not JSON
    if not isinstance(payload, dict):
        return Failure("the response is not JSON (an object)", status, False)
    value = payload.get("access_token")
    if not isinstance(value, str) or not value:
        return Failure("the response has no access_token", status, False)
    problem = token_problem(value)
    if problem is not None:
        return Failure(f"the access_token {problem}", status, False)
    token_type = payload.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        return Failure("unexpected token_type (expected Bearer)", status, False)
    lifetime = seconds(payload.get("expires_in"))
    if isinstance(lifetime, str):
        return Failure(f"the response's expires_in {lifetime}", status, False)
    return Issued(value, lifetime)


def seconds(value: object) -> float | str | None:
    """``expires_in`` as seconds (``None`` when absent), or why it is unreadable.

    A number (RFC 6749 §5.1), or a string of ASCII digits as some servers send it; at
    most :data:`MAX_LIFETIME` in size either way. Never raises, never quotes the value.
    """
    if value is None:
        return None
    if isinstance(value, LongNumber):
        return "is out of range"  # a JSON integer of more digits than any lifetime has
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 10):
            return "is not a number of seconds"
        value = int(text)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "is not a number of seconds"
    if isinstance(value, int) and abs(value) > MAX_LIFETIME:
        return "is out of range"  # checked before float(): 10**400 would overflow it
    number = float(value)
    if not math.isfinite(number) or abs(number) > MAX_LIFETIME:
        return "is out of range"
    return number
