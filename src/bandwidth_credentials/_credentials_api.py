"""Bandwidth's Credentials API: create a new client secret for a client id.

Facts, from Bandwidth's Credential Management guide
(https://dev.bandwidth.com/docs/account/credentials/management) and its support article
"Creating and managing your Bandwidth API credentials":

- ``POST https://api.bandwidth.com/api/v1/credentials/{clientId}/secrets`` with the JSON
  body ``{"expirationDate": "2026-12-31T23:59:59Z"}`` creates a client secret; the answer
  carries ``clientSecret``, shown once (Bandwidth cannot show it again).
- The caller's access token must belong to a credential (or user) with the
  **Credential access** role.
- A client id holds **up to two active client secrets** at a time.
- Client ids look like ``CLI-...``; the test environment's host is
  ``test.api.bandwidth.com`` (the token endpoint's host).

Not documented, so read as HTTP defines the status (RFC 9110 §15.5): how Bandwidth
answers a refusal. The guide lists no status for this call: 401 says the token was not
accepted, 403 the role is missing, 404 the client id is unknown to the token's
credential, 429 the rate is limited (with ``Retry-After``); a 409 Conflict names the
two-secret limit as the likely cause, and a request refused as invalid (400, 422, any
other 4xx) names both it and an expiration date out of range. Server text is never
shown. Not documented either: a
call that lists a client's secrets or their expiration dates, and a call that deletes or
revokes one (an old secret retires at its expiration date, or by hand in the Bandwidth
App).

Requests go through the core's bounded HTTP client (one deadline, capped answer, no
redirects followed). Nothing here keeps or shows a secret outside a :class:`Secret`;
server text is never shown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import quote, urlsplit

from . import _calendar, _http
from ._secret import Secret

__all__ = ["Created", "Refused", "api_base", "create_secret"]

SECRETS_PATH = "/api/v1/credentials/{client_id}/secrets"
_TIMEOUT = 15.0
_MAX_SIZE = 64 * 1024


class Created(NamedTuple):
    """A new secret: the value (masked) and its expiration as Bandwidth answered it (or as
    asked, when the answer does not say)."""

    client_secret: Secret
    expires_at: str


class Refused(NamedTuple):
    """Bandwidth (or the network) refused: ``reason`` holds no secret and no server text;
    ``limit`` is True when the refusal may be the two-active-secrets limit (a 4xx other
    than 401, 403, 404 and 429);
    ``retry_after`` is the wait in seconds a 429's ``Retry-After`` asked for;
    ``unknown`` is True when the request reached Bandwidth but its outcome is unknown (the
    answer timed out, broke off, was too large, or was a success without a usable
    ``clientSecret``): Bandwidth may hold a new secret that nobody has."""

    reason: str
    status: int | None
    limit: bool = False
    unknown: bool = False
    retry_after: float | None = None


def api_base(token_url: str) -> str:
    """The Credentials API's origin: the token endpoint's (``https://api.bandwidth.com``,
    ``https://test.api.bandwidth.com``, or the ``BW_API_URL`` override it was built from).

    >>> api_base("https://test.api.bandwidth.com/api/v1/oauth2/token")
    'https://test.api.bandwidth.com'
    """
    parts = urlsplit(token_url)
    return f"{parts.scheme}://{parts.netloc}"


def secrets_url(base: str, client_id: str) -> str:
    """``{base}/api/v1/credentials/{clientId}/secrets`` (the client id path-quoted)."""
    return base + SECRETS_PATH.format(client_id=quote(client_id, safe=""))


def create_secret(base: str, client_id: str, token: str, expires_at: str) -> Created | Refused:
    """Create a client secret for ``client_id`` expiring at ``expires_at`` (ISO 8601 UTC),
    authorized by the bearer ``token``. Never raises for a refusal or a network failure.

    >>> create_secret("https://api.bandwidth.com", "CLI-1", token, "2027-03-06T00:00:00Z")
    Created(client_secret=Secret('**********'), expires_at='2027-03-06T00:00:00Z')
    """
    url = secrets_url(base, client_id)
    headers = {
        "Authorization": "Bearer " + token,
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    body = json.dumps({"expirationDate": expires_at}).encode()
    failure: _http.HttpError | None = None
    try:
        answer = _http.request(
            "POST", url, headers=headers, body=body, timeout=_TIMEOUT, max_size=_MAX_SIZE
        )
    except _http.HttpError as exc:
        failure = exc
    if failure is not None:
        # No connection, no TLS, a bad URL: nothing was sent. Anything else broke off after
        # the request may have been sent (and the secret created).
        sent = not isinstance(failure, (_http.ConnectFailed, _http.TLSFailed, _http.BadURL))
        return Refused(f"{_http.display_url(url)}: {failure}", None, unknown=sent)
    return _read(answer, url, expires_at)


def _read(answer: _http.Response, url: str, expires_at: str) -> Created | Refused:
    status = answer.status
    where = _http.display_url(url)
    if 300 <= status < 400:
        return Refused(f"{where}: HTTP {status} redirect (not followed)", status)
    if 400 <= status < 500:
        return _refusal(answer, where, expires_at)
    if status >= 500 or status < 200:
        return Refused(f"{where}: HTTP {status} (Bandwidth did not create a secret)", status)
    payload = _json_object(answer.body)
    value = payload.get("clientSecret") if payload is not None else None
    if not isinstance(value, str) or not value:
        return Refused(f"{where}: the answer has no clientSecret", status, unknown=True)
    problem = _secret_problem(value)
    del value  # from here on only masked
    if problem is not None:
        return Refused(
            f"{where}: the answer's clientSecret {problem}; it was not stored (Bandwidth may "
            "hold it: delete it in the Bandwidth App or let it expire)",
            status,
            unknown=True,
        )
    assert payload is not None
    return Created(Secret(str(payload.pop("clientSecret"))), _instant(payload, expires_at))


# The answers that can mean the two-secret limit (the guide documents no status for it):
# 409 Conflict, and a request refused as invalid (400, 422, an unlisted 4xx), which may
# equally be an expiration date Bandwidth does not accept. Both causes are named.
_RETIRE = (
    "retire one (delete it in the Bandwidth App, Account > API Credentials, or wait for "
    "its expiration date), then run again"
)
_EITHER = (
    "Bandwidth refused to create a client secret: either the client id already holds "
    "two active secrets (the most it holds): " + _RETIRE + "; or the "
    "expiration date asked for, {expires}, is outside what it accepts: try another "
    "--expires-in"
)

# What each 4xx answer means for the caller. Bandwidth's guide documents none of these
# answers for this call; each reads the status as HTTP defines it (RFC 9110 §15.5).
_CLIENT_ERRORS = {
    400: _EITHER,
    422: _EITHER,
    401: (
        "Bandwidth did not accept the access token (expired or revoked meanwhile?): run "
        "again; if it repeats, check the credentials the token was minted with"
    ),
    403: (
        "the token's credential may not manage client secrets (it needs the Credential "
        "access role; give one that has it with --admin-source)"
    ),
    404: (
        "Bandwidth knows no credential with this client id, or the token's credential cannot "
        "see it: check the client id in the source, and that the --admin-source credential "
        "belongs to the same Bandwidth account"
    ),
    409: (
        "Bandwidth refused to create a client secret because the client id has one "
        "conflicting with it, most likely its two active secrets (the most a client id "
        "holds): " + _RETIRE
    ),
}
#: Statuses whose meaning rules the two-secret limit out.
_NOT_THE_LIMIT = frozenset({401, 403, 404, 429})


def _refusal(answer: _http.Response, where: str, expires_at: str) -> Refused:
    """The :class:`Refused` for a 4xx answer: what the status means, never the server's
    text. 429 carries the wait ``Retry-After`` asked for (seconds, capped at a day)."""
    status = answer.status
    if status == 429:
        import time

        wait = _http.parse_retry_after(answer.headers.get("retry-after"), time.time())
        wait = None if wait is None else min(wait, 86400.0)
        when = (
            f"after {wait:g} s (its Retry-After), and back off (double the wait) if it repeats"
            if wait is not None
            else "after a pause, doubling the pause each time it repeats"
        )
        return Refused(
            f"{where}: HTTP 429: Bandwidth is limiting the rate of these requests; nothing "
            f"was created: run again {when}",
            status,
            retry_after=wait,
        )
    text = _CLIENT_ERRORS.get(status, _EITHER)
    return Refused(
        f"{where}: HTTP {status}: {text.format(expires=expires_at)}",
        status,
        limit=status not in _NOT_THE_LIMIT,
    )


def _secret_problem(value: str) -> str | None:
    """Why a client secret from the network cannot be stored and sent as it is: the same
    rule the library applies to configured values, and no surrounding whitespace."""
    from ._checks import text_problem

    if value != value.strip():
        return "has surrounding whitespace"
    return text_problem(value)


def _instant(payload: Mapping[str, object], asked: str) -> str:
    """The answer's ``expirationDate`` in the store's form when it is an instant the
    library reads; otherwise the one asked for (server text is never kept or shown)."""
    answered = payload.get("expirationDate")
    instant = _calendar.parse_instant(answered) if isinstance(answered, str) else None
    return asked if instant is None else _calendar.format_instant(instant)


def _json_object(body: bytes) -> dict[str, object] | None:
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None
