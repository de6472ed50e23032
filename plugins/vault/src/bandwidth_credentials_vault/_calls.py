"""Calling Vault through hvac: one deadline per attempt, bounded retries, Retry-After.

Every hvac call the provider makes goes through :meth:`Caller.call`: it enters the
attempt's :class:`~bandwidth_credentials.plugin.Deadline`, which bounds every exchange
of the session's :class:`~bandwidth_credentials.plugin.BoundedAdapter` (redirect hops
within Vault's origin included), turns hvac's, requests' and the adapter's failures into
:class:`HttpFailure` or :class:`TransportFailure` (raised outside every ``except`` block,
so nothing foreign is chained), and retries 5xx, 429 and broken connections after the
kit's jittered :func:`~bandwidth_credentials.plugin.backoff`, honouring ``Retry-After``
(RFC 9110 §10.2.3).

A redirect to another origin is never followed: ``requests`` would re-send a 307/308's
body there (an AppRole ``secret_id``, a Kubernetes or JWT token, a signed STS request)
and strips ``Authorization`` but not ``X-Vault-Token``, and whatever the other origin
answered would be taken as the configured Vault's secret. The error names the status and
the other origin (a standby Vault that redirects to its active node needs ``VAULT_ADDR``
pointed at the active node or at a load balancer, or request forwarding, Vault's default
since 0.9).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from bandwidth_credentials import SourceError, SourceFormatError, SourceUnavailableError
from bandwidth_credentials.plugin import Deadline, backoff

__all__ = [
    "MAX_ANSWER",
    "RETRY_ATTEMPTS",
    "RETRY_BACKOFF",
    "RETRY_WAIT_CAP",
    "Caller",
    "HttpFailure",
    "TransportFailure",
    "describe",
    "fetch_deadline",
]

logger = logging.getLogger("bandwidth_credentials.vault")

T = TypeVar("T")

#: The largest answer read from Vault, in bytes (1 MiB, the kit's cap); a larger one is
#: refused unread.
MAX_ANSWER = 1 << 20
#: Tries per request (the first and the retries) for 5xx, 429 and connection failures.
RETRY_ATTEMPTS = 3
#: Seconds of the first retry's backoff window (the wait is a random half to all of it,
#: :func:`~bandwidth_credentials.plugin.backoff`); doubled for each further one.
RETRY_BACKOFF = 0.25
#: The longest wait between two attempts, in seconds. A 429 or 503 whose ``Retry-After``
#: asks for more ends the attempts at once; the error carries the delay as
#: ``retry_after``, which the resolver's backoff honours.
RETRY_WAIT_CAP = 2.0

_sleep: Callable[[float], None] = time.sleep


def fetch_deadline(timeout: float) -> float:
    """The most one fetch (or one write) may take, in seconds, whatever Vault does:
    ``RETRY_ATTEMPTS`` attempts of ``timeout`` seconds and the waits between them (34 s
    with the default 10 s). Every request of it (login, lookup, preflight, read) draws on
    this one deadline."""
    return RETRY_ATTEMPTS * timeout + (RETRY_ATTEMPTS - 1) * RETRY_WAIT_CAP


class HttpFailure(Exception):
    """Vault answered with an error status (after any retries)."""

    def __init__(
        self,
        status: int,
        errors: list[str],
        body: Mapping[str, Any] | None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status)
        self.status = status
        self.errors = errors
        self.body = body
        self.retry_after = retry_after


class TransportFailure(Exception):
    """No usable answer: connection refused, TLS failure, timeout, an answer too large."""

    def __init__(self, reason: str, kind: type[SourceError] = SourceUnavailableError) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


class Caller:
    """Runs hvac calls for one source: ``uri`` for log lines, ``timeout`` per attempt.
    :meth:`record` is the session's response hook (hvac's exceptions carry neither the
    status nor ``Retry-After``)."""

    def __init__(self, uri: str, timeout: float) -> None:
        self.uri = uri
        self.timeout = timeout
        self.last_status: int | None = None
        self.last_retry_after: str | None = None
        #: The total deadline of the fetch in progress (set by the provider).
        self.deadline: Deadline | None = None

    def record(self, response: Any, *args: object, **kwargs: object) -> None:
        # hvac's exceptions do not carry the status code; the retry rule needs it.
        self.last_status = int(response.status_code)
        self.last_retry_after = response.headers.get("Retry-After")

    def call(self, action: Callable[[], T]) -> T:
        """Run one hvac call, retrying 5xx, 429 and connection failures with backoff.

        Each attempt has one deadline (``timeout``) for its whole exchange; a
        ``Retry-After`` up to :data:`RETRY_WAIT_CAP` is waited, a longer one ends the
        attempts (the error carries it). Worst case: ``RETRY_ATTEMPTS * timeout`` plus
        the waits (at most ``(RETRY_ATTEMPTS - 1) * RETRY_WAIT_CAP``), and never past
        :attr:`deadline`, the fetch's total deadline, when one is set: no attempt starts
        and no wait runs beyond it.
        """
        import hvac.exceptions
        import requests

        from bandwidth_credentials import plugin as kit

        attempt = 1
        while True:
            self.last_status = None
            self.last_retry_after = None
            failure: HttpFailure | TransportFailure
            retry = False
            deadline = self.deadline
            if deadline is not None and deadline.expired:
                raise TransportFailure(
                    f"the fetch did not finish within its total deadline of {deadline.seconds:g} s"
                )
            # One deadline for the attempt's every exchange (redirect hops within
            # Vault's origin too), never past the fetch's.
            seconds = self.timeout if deadline is None else min(self.timeout, deadline.left())
            try:
                with Deadline(seconds):
                    return action()
            except hvac.exceptions.VaultError as exc:
                status = self.last_status or 0
                body = exc.json if isinstance(exc.json, Mapping) else None
                asked = kit.parse_retry_after(self.last_retry_after, time.time())
                failure = HttpFailure(status, errors_of(exc), body, asked)
                retry = status == 429 or status >= 500
            except kit.ExchangeFailed as exc:
                failure = self._transport_failure(exc, deadline)
                retry = exc.retryable
            except requests.exceptions.RequestException as exc:
                failure = TransportFailure(f"the request failed ({type(exc).__name__})")
            # Raised here, outside the except blocks, so that no hvac or requests
            # exception (whose text may quote a request or an answer) is chained to it.
            if not retry or attempt >= RETRY_ATTEMPTS:
                raise failure
            delay = backoff(attempt, RETRY_BACKOFF)
            asked = failure.retry_after if isinstance(failure, HttpFailure) else None
            if asked is not None and asked > RETRY_WAIT_CAP:
                raise failure  # longer than a caller should wait here: the backoff's job
            if asked is not None:
                delay = max(delay, asked)
            if deadline is not None and delay >= deadline.left():
                raise failure  # the wait would outlast the fetch's total deadline
            logger.info(
                "%s: Vault request failed (%s); retry %d of %d in %.2f s",
                self.uri,
                describe(failure),
                attempt,
                RETRY_ATTEMPTS - 1,
                delay,
            )
            _sleep(delay)
            attempt += 1

    def _transport_failure(self, exc: Any, deadline: Deadline | None) -> TransportFailure:
        """What a failed exchange of the bounded adapter (an
        :class:`~bandwidth_credentials.plugin.ExchangeFailed`) means for this call."""
        if exc.kind == "redirect":
            from bandwidth_credentials.plugin import origin

            target = _shown_origin(origin(exc.location)) if exc.location else "nowhere"
            return TransportFailure(
                f"Vault redirected the request to another origin (HTTP {exc.status or 0} to "
                f"{target}); nothing is sent there: point VAULT_ADDR at the active node or "
                "a load balancer"
            )
        if exc.kind == "tls":
            return TransportFailure(
                f"{exc.detail} (check VAULT_CACERT / VAULT_CAPATH and the client certificate)"
            )
        if exc.kind == "timeout":
            # Vault took the request but did not finish the answer in time: another
            # attempt would only multiply the wait, so it is reported at once.
            if deadline is not None and deadline.expired:
                return TransportFailure(
                    f"the fetch did not finish within its total deadline of "
                    f"{deadline.seconds:g} s (timed out)"
                )
            return TransportFailure(f"no complete answer within {self.timeout:g} s (timed out)")
        if exc.kind == "too-large":
            return TransportFailure(
                f"the answer is larger than {MAX_ANSWER} bytes; it was not read",
                SourceFormatError,
            )
        return TransportFailure(exc.detail)

    def try_call(self, action: Callable[[], T]) -> tuple[T | None, Exception | None]:
        """``call``, returning the failure instead of raising it, so that the error the
        caller raises next has no exception chained to it."""
        try:
            return self.call(action), None
        except (HttpFailure, TransportFailure) as failure:
            return None, failure


def errors_of(exc: Any) -> list[str]:
    """The ``errors`` list of an hvac exception (Vault's own texts), as strings."""
    errors = getattr(exc, "errors", None)
    if isinstance(errors, list):
        return [str(e) for e in errors]
    return []


def describe(failure: Exception) -> str:
    """A short name for a failure, for log lines."""
    if isinstance(failure, HttpFailure):
        return f"HTTP {failure.status}"
    if isinstance(failure, TransportFailure):
        return failure.reason
    return type(failure).__name__


def _shown_origin(parts: tuple[str, str, int | None]) -> str:
    scheme, host, port = parts
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"
