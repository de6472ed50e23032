"""One OAuth 2.0 client-credentials token request and the reading of its answer.

``POST {token_url}`` with HTTP Basic client authentication and the form body
``grant_type=client_credentials`` (RFC 6749 §4.4; Bandwidth's credentials guide,
https://dev.bandwidth.com/docs/credentials). The answer is JSON with ``access_token``,
``token_type`` (Bearer) and ``expires_in`` (seconds). Errors are JSON with an ``error``
code (RFC 6749 §5.2); only the standard codes are ever shown, never other server text.
A 3xx is a failure naming the status and where it pointed (never followed: the client
secret must not travel to wherever ``Location`` points).
"""

from __future__ import annotations

import base64
import json
import math
import unicodedata
from collections.abc import Callable
from typing import NamedTuple

from . import _http
from ._secret import Secret

__all__ = [
    "STANDARD_ERRORS",
    "Failure",
    "Issued",
    "basic_authorization",
    "request_token",
    "token_problem",
]

DEFAULT_LIFETIME = 3600.0
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
    """A token the endpoint issued, valid for ``lifetime`` seconds."""

    value: str
    lifetime: float


class Failure(NamedTuple):
    """Why a request failed (``reason`` holds no secret and no unknown server text);
    ``retry_after`` in seconds when the server said (429/503 ``Retry-After``)."""

    reason: str
    status: int | None
    retryable: bool
    retry_after: float | None = None


def token_problem(token: str) -> str | None:
    """Why ``token`` cannot go into an ``Authorization`` header, or ``None``: the rules
    for static tokens (no whitespace, control or Unicode format (Cf) characters)."""
    for char in token:
        if char.isspace():
            return "contains whitespace"
        if unicodedata.category(char) in ("Cc", "Cf"):
            return "contains a control or invisible format character"
    return None


def _server_text(body: bytes) -> str:
    """`` (code)`` for a standard OAuth error code, else a note that text was dropped."""
    if not body.strip():
        return ""
    try:
        detail = json.loads(body)
    except ValueError:
        detail = None
    code = detail.get("error") if isinstance(detail, dict) else None
    return f" ({code})" if code in STANDARD_ERRORS else " (server text omitted)"


def basic_authorization(user: str, secret: Secret | str) -> Secret:
    """``Basic base64(user:secret)`` (RFC 7617), held masked: no frame keeps the raw
    header or secret as a local (error trackers record locals); the HTTP client unwraps
    it as it writes the request. Sent as given, as Bandwidth's own SDKs do (no
    form-encoding of id and secret)."""
    raw = secret.get_secret_value() if isinstance(secret, Secret) else secret
    return Secret("Basic " + base64.b64encode(f"{user}:{raw}".encode()).decode())


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
        "Authorization": basic_authorization(client_id, client_secret),
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
    try:
        payload = json.loads(answer.body)
    except ValueError:
        payload = None
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
    lifetime = DEFAULT_LIFETIME
    expires_in = payload.get("expires_in")
    if isinstance(expires_in, str) and expires_in.strip().isdigit():
        expires_in = int(expires_in)
    if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool):
        lifetime = max(float(expires_in), 0.0) if math.isfinite(expires_in) else lifetime
    return Issued(value, lifetime)
