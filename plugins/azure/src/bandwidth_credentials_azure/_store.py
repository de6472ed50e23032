"""Writing an ``azure-kv:`` source: ``SetSecret`` after a check of the latest version.

``store(values, expected_version)`` on :class:`KeyVaultProvider` reads the latest version
(``GetSecret``); when it is no longer ``expected_version`` nothing is written and
:class:`StoreConflictError` is raised. Otherwise ``SetSecret`` writes the JSON value (or
the one ``field`` value), which Key Vault keeps as a new version ("If the named secret
already exists, Azure Key Vault creates a new version of that secret"; REST reference,
Set Secret); its version id is returned.

Key Vault's Set Secret takes no condition (no ``If-Match``, no version to compare), so a
writer between the read and the write is not detected: the check catches a secret
changed since it was *read*, not two writers in the same instant. A source pinned to a
version is not written. The identity needs ``Key Vault Secrets Officer`` (the
``secrets/setSecret`` action) besides reading.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bandwidth_credentials import SourceFormatError, StoreConflictError, StoreNotSupportedError
from bandwidth_credentials.plugin import Deadline

from ._failures import Failure, capture, error

__all__ = ["store_problem", "store_secret"]


def store_problem(provider: Any) -> str | None:
    """Why ``provider``'s secret cannot be written (a pinned version), or ``None``."""
    if provider.ref.version:
        return (
            "writing is not supported by this source (it reads the pinned version "
            f"{provider.ref.version}; a write makes a new latest version)"
        )
    return None


def _value(provider: Any, values: Mapping[str, object]) -> tuple[str, str | None]:
    uri = provider.source.uri
    if provider.field is None:
        return json.dumps(dict(values)), "application/json"
    value = values.get(provider.field)
    if set(values) != {provider.field} or not isinstance(value, str):
        raise SourceFormatError(
            f"source {uri}: with field={provider.field} the secret is one value; other keys "
            "cannot be written to it",
            source=uri,
        )
    return value, None


def store_secret(provider: Any, values: Mapping[str, object], expected: str | None) -> str:
    """Set ``values`` as the secret's new version when the latest is still ``expected``."""
    uri = provider.source.uri
    problem = store_problem(provider)
    if problem is not None:
        raise StoreNotSupportedError(f"source {uri}: {problem}", source=uri)
    text, content_type = _value(provider, values)
    current = provider.fetch().version
    if expected is not None and current != expected:
        raise StoreConflictError(
            f"source {uri}: the latest version of {provider.ref.label()} is {current}, not "
            f"{expected} as read; nothing was written: read again and retry",
            source=uri,
            expected=expected,
            found=current,
        )
    client = provider.client()
    failure: Failure | None = None
    # One bounded request, never retried (a write), within one fetch's worst case.
    provider.exchanges.take()
    with Deadline(provider.worst_case):
        try:
            written = client.set_secret(provider.ref.name, text, content_type=content_type)
        except Exception as exc:  # every SDK failure is translated below, outside this block
            failure = capture(exc, provider.exchanges)
    if failure is not None:
        raise error(failure, uri, provider.ref, provider.timeout)
    version = getattr(getattr(written, "properties", None), "version", None)
    if not isinstance(version, str) or not version:
        # Key Vault names every version it writes (the last part of the answer's id): an
        # answer without one is no proof of what was written.
        raise SourceFormatError(
            f"source {uri}: Key Vault answered the write of {provider.ref.label()} without "
            "a version; the new value may have been written: read the source to see",
            source=uri,
        )
    return version
