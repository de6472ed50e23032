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

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bandwidth_credentials import (
    SourceAuthenticationError,
    SourceError,
    StoreConflictError,
    StoreNotSupportedError,
)

__all__ = ["store_problem", "store_secret"]

_CAS_MISMATCH = "check-and-set parameter did not match"


def _engine(provider: Any) -> tuple[str, str, int]:
    provider._connect()
    provider._ensure_token()
    engine: tuple[str, str, int] = provider._engine or provider._detect()
    provider._engine = engine
    return engine


def _problem(provider: Any, kv: int) -> str | None:
    if kv != 2:
        return (
            "writing is not supported by this source (KV version 1 keeps no versions, so a "
            "write cannot be checked against the one read; use a KV version 2 mount)"
        )
    if provider.spec.version is not None:
        return "writing is not supported by this source (it reads a pinned ?version=)"
    return None


def store_problem(provider: Any, rejected_error: type[Exception]) -> str | None:
    """Why ``provider``'s secret cannot be written (finds the engine: one request).
    ``rejected_error`` is the provider's signal that Vault rejected the token."""
    with provider._lock:
        try:
            _, _, kv = _engine(provider)
        except rejected_error:
            kv = 0
            rejected = True
        else:
            rejected = False
    if rejected:
        raise provider._error(SourceAuthenticationError, "Vault rejected the token")
    return _problem(provider, kv)


def store_secret(
    provider: Any,
    values: Mapping[str, object],
    expected: str | None,
    rejected_error: type[Exception],
    strings: Callable[[object], Iterable[str]],
) -> str | None:
    """Write ``values`` as a new version when ``expected`` is still the current one.
    ``rejected_error`` is the provider's signal that Vault rejected the token; ``strings``
    lists the texts inside values (kept out of Vault's error messages)."""
    from ._calls import HttpFailure

    uri = provider.source.uri
    with provider._lock:
        rejected = False
        try:
            mount, path, kv = _engine(provider)
        except rejected_error:
            rejected = True
        if rejected:
            raise provider._error(SourceAuthenticationError, "Vault rejected the token")
        problem = _problem(provider, kv)
        if problem is not None:
            raise StoreNotSupportedError(f"source {uri}: {problem}", source=uri)
        provider._secrets.update(strings(values))  # a Vault error must not echo them
        client = provider._client
        cas = int(expected) if expected is not None and expected.isdigit() else None

        def write() -> Any:
            return client.secrets.kv.v2.create_or_update_secret(
                path, secret=dict(values), cas=cas, mount_point=mount
            )

        answer, failure = provider._try(write)
        logical = f"{mount}/data/{path}"
        mismatch = isinstance(failure, HttpFailure) and failure.status == 400
        if mismatch and any(_CAS_MISMATCH in str(e) for e in failure.errors):
            raise StoreConflictError(
                f"source {uri}: {logical} is no longer at version {expected} (Vault's "
                "check-and-set refused the write); nothing was written: read again and retry",
                source=uri,
                expected=expected,
            )
        if isinstance(failure, HttpFailure) and failure.status == 403:
            try:
                provider._denied(f"writing {logical} (needs the update capability)", failure)
            except rejected_error:
                rejected = True
            if rejected:
                raise provider._error(SourceAuthenticationError, "Vault rejected the token")
        if failure is not None:
            provider._transport_or_http(failure, f"writing {logical}")
    data = answer.get("data") if isinstance(answer, Mapping) else None
    version = data.get("version") if isinstance(data, Mapping) else None
    if version is None:
        raise provider._error(SourceError, f"writing {logical}: the answer names no version")
    return str(version)
