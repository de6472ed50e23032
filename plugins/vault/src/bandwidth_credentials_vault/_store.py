"""Writing a ``vault:`` source: a new KV version 2 version, checked with ``cas``.

``store(values, expected_version)`` on :class:`VaultProvider` writes the whole secret with
``POST /v1/MOUNT/data/PATH`` and ``options.cas`` set to the version read (Vault's
check-and-set: "In order for a write to be successful, cas must be set to the current
version of the secret"; KV v2 API, "Create/Update Secret"). Vault refuses a mismatch with
400 "check-and-set parameter did not match the current version", raised here as
:class:`StoreConflictError`. The answer's ``version`` is the version written.

KV version 1 keeps no versions, so a write cannot be checked: not supported (a clear
error; move the secret to a KV v2 mount to rotate it). A source pinned with ``?version=``
is not written. The token needs the ``update`` capability (``create`` for a new secret) on
``MOUNT/data/PATH``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bandwidth_credentials import (
    SourceAuthenticationError,
    SourceError,
    StoreConflictError,
    StoreNotSupportedError,
)
from bandwidth_credentials.plugin import Deadline

from ._calls import Caller, HttpFailure, fetch_deadline
from ._failures import TokenRejected, strings

if TYPE_CHECKING:
    from ._provider import VaultProvider

__all__ = ["store_problem", "store_secret"]

_CAS_MISMATCH = "check-and-set parameter did not match"


def _engine(provider: VaultProvider) -> tuple[Any, Caller, tuple[str, str, int]]:
    """The connection, a usable token, and the KV engine of ``provider``'s secret."""
    session = provider._sessions.get()
    client, caller = session.client, session.caller
    provider._keeper.ensure(client, caller)
    return client, caller, provider._reader.locate(client, caller)


_KV1 = (
    "writing is not supported by this source (KV version 1 keeps no versions, so a "
    "write cannot be checked against the one read; use a KV version 2 mount)"
)


def _uri_problem(provider: VaultProvider) -> str | None:
    """Why the source cannot be written, as far as its URI alone tells (``?kv=1``, a
    pinned ``?version=``): known without a login or a request to Vault."""
    if provider.spec.kv == 1:
        return _KV1
    if provider.spec.version is not None:
        return "writing is not supported by this source (it reads a pinned ?version=)"
    return None


def _problem(provider: VaultProvider, kv: int) -> str | None:
    return _KV1 if kv != 2 else _uri_problem(provider)


def _deadline(provider: VaultProvider) -> Deadline:
    return Deadline(fetch_deadline(provider.spec.timeout))


def store_problem(provider: VaultProvider) -> str | None:
    """Why ``provider``'s secret cannot be written: from the URI when it tells (``?kv=1``,
    ``?version=N``), else from the engine the secret is on (one request)."""
    known = _uri_problem(provider)
    if known is not None:
        return known
    rejected = False
    kv = 0
    with provider._lock:
        session = provider._sessions.get()
        session.caller.deadline = _deadline(provider)
        try:
            _, _, (_, _, kv) = _engine(provider)
        except TokenRejected:
            rejected = True
        finally:
            session.caller.deadline = None
    if rejected:
        raise provider._report.error(SourceAuthenticationError, "Vault rejected the token")
    return _problem(provider, kv)


def store_secret(
    provider: VaultProvider, values: Mapping[str, object], expected: str | None
) -> str | None:
    """Write ``values`` as a new version when ``expected`` is still the current one; the
    whole write (login, engine, the request and its retries) within one total deadline.
    A source its URI shows unwritable is refused before Vault is contacted."""
    known = _uri_problem(provider)
    if known is not None:
        uri = provider.source.uri
        raise StoreNotSupportedError(f"source {uri}: {known}", source=uri)
    with provider._lock:
        session = provider._sessions.get()
        session.caller.deadline = _deadline(provider)
        try:
            return _write(provider, values, expected)
        finally:
            session.caller.deadline = None


def _write(
    provider: VaultProvider, values: Mapping[str, object], expected: str | None
) -> str | None:
    uri = provider.source.uri
    report = provider._report
    rejected = False
    try:
        client, caller, (mount, path, kv) = _engine(provider)
    except TokenRejected:
        rejected = True
    if rejected:
        raise report.error(SourceAuthenticationError, "Vault rejected the token")
    problem = _problem(provider, kv)
    if problem is not None:
        raise StoreNotSupportedError(f"source {uri}: {problem}", source=uri)
    report.secrets.update(strings(values))  # a Vault error must not echo them
    cas = int(expected) if expected is not None and expected.isdigit() else None

    def write() -> Any:
        return client.secrets.kv.v2.create_or_update_secret(
            path, secret=dict(values), cas=cas, mount_point=mount
        )

    answer, failure = caller.try_call(write)
    logical = f"{mount}/data/{path}"
    if (
        isinstance(failure, HttpFailure)
        and failure.status == 400
        and any(_CAS_MISMATCH in str(e) for e in failure.errors)
    ):
        raise StoreConflictError(
            f"source {uri}: {logical} is no longer at version {expected} (Vault's "
            "check-and-set refused the write); nothing was written: read again and retry",
            source=uri,
            expected=expected,
        )
    if isinstance(failure, HttpFailure) and failure.status == 403:
        try:
            provider._reader.denied(
                client, caller, f"writing {logical} (needs the update capability)", failure
            )
        except TokenRejected:
            rejected = True
        if rejected:
            raise report.error(SourceAuthenticationError, "Vault rejected the token")
    if failure is not None:
        report.any(failure, f"writing {logical}")
    data = answer.get("data") if isinstance(answer, Mapping) else None
    version = data.get("version") if isinstance(data, Mapping) else None
    if version is None:
        raise report.error(SourceError, f"writing {logical}: the answer names no version")
    return str(version)
