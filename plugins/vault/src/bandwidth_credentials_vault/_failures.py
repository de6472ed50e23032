"""The ``vault:`` provider's error mapping: every failure becomes one library error.

:class:`Reporter` builds each error a Vault source raises: the source URI, what failed,
and where (the address without user info, the auth method, the namespace). Vault's own
error texts are shown only with everything already handled cut out (tokens, secret ids,
JWTs, signed AWS requests, values read), through the kit's :func:`redact`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

from bandwidth_credentials import (
    SourceAuthenticationError,
    SourceError,
    SourceFormatError,
    SourceUnavailableError,
)
from bandwidth_credentials.plugin import Source, redact

from ._calls import HttpFailure, TransportFailure
from ._config import Connection, SourceSpec

__all__ = ["Reporter", "TokenRejected", "strings", "timestamp"]

#: How long a Vault error text may be before it is cut, in characters.
DETAIL_LIMIT = 200

# An RFC 3339 time as Vault writes deletion_time (2026-12-06T10:00:00.123456789Z).
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")


class TokenRejected(Exception):
    """Vault no longer accepts the token in use (revoked or expired)."""


class Reporter:
    """Makes the errors of one ``vault:`` source. ``secrets`` collects every string a
    Vault error text must not echo (tokens, login inputs, values read)."""

    def __init__(self, source: Source, spec: SourceSpec) -> None:
        self.source = source
        self.spec = spec
        self.conn: Connection | None = None
        self.secrets: set[str] = set()

    def error(
        self, kind: type[SourceError], detail: str, retry_after: float | None = None
    ) -> SourceError:
        """The error to raise: the URI, what failed, and where (address, auth, namespace)."""
        conn = self.conn
        where = conn.shown_addr if conn is not None else "(not connected)"
        context = f"Vault at {where}, auth={self.spec.auth}"
        namespace = conn.namespace if conn is not None else self.spec.namespace
        if namespace:
            context += f", namespace={namespace}"
        return kind(
            f"source {self.source.uri}: {detail} [{context}]",
            source=self.source.uri,
            retry_after=retry_after,
        )

    def fail(
        self, kind: type[SourceError], detail: str, retry_after: float | None = None
    ) -> NoReturn:
        raise self.error(kind, detail, retry_after)

    def detail(self, errors: Iterable[str]) -> str:
        """Vault's own error text, with anything secret cut out, for a message."""
        text = "; ".join(str(e) for e in errors if str(e).strip())
        shown = redact(text, self.secrets, DETAIL_LIMIT)
        return f": {shown}" if shown else ""

    def http(self, failure: HttpFailure, what: str) -> NoReturn:
        """Raise the error for an HTTP error status Vault answered with."""
        status = failure.status
        detail = self.detail(failure.errors)
        wait = failure.retry_after
        asked = f"; it asked to retry after {wait:g} s" if wait is not None else ""
        if status == 503:
            self.fail(
                SourceUnavailableError,
                f"{what}: Vault is sealed, standby or down (503{detail}){asked}",
                wait,
            )
        if status == 429:
            self.fail(
                SourceUnavailableError, f"{what}: Vault is rate limiting (429{detail}){asked}", wait
            )
        if status >= 500:
            self.fail(SourceUnavailableError, f"{what}: Vault failed ({status}{detail})", wait)
        if status == 401:
            self.fail(SourceAuthenticationError, f"{what}: not authenticated (401{detail})")
        self.fail(SourceFormatError, f"{what}: Vault refused the request ({status}{detail})")

    def any(self, failure: Exception, what: str) -> NoReturn:
        """Raise the error for any failure :class:`~._calls.Caller` reports."""
        if isinstance(failure, HttpFailure):
            self.http(failure, what)
        if isinstance(failure, TransportFailure):
            self.fail(failure.kind, f"{what}: {failure.reason}")
        self.fail(SourceUnavailableError, f"{what}: failed")


def timestamp(value: object) -> str | None:
    """``value`` when it is an RFC 3339 time as Vault writes one, else ``None``: a field of
    an error answer is shown only when it has the shape Vault gives it."""
    if isinstance(value, str) and _TIMESTAMP.fullmatch(value):
        return value
    return None


def version_number(value: object) -> int | None:
    """``value`` when it is a KV version number (a positive int), else ``None``."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def strings(value: object) -> Iterable[str]:
    """Every text value inside a secret (per-service objects included); values under
    four characters are left out, as cutting them would garble any message."""
    if isinstance(value, str):
        if len(value) >= 4:
            yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 1000:
        yield str(value)


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty one."""
    return value if isinstance(value, Mapping) else {}
