"""Writing a ``gcp-sm:`` source: ``AddSecretVersion`` after a check of the latest version.

``store(values, expected_version)`` on :class:`SecretManagerProvider`:

1. ``AccessSecretVersion`` of ``latest``: the version name must still be the one read
   (``expected_version``), else :class:`StoreConflictError` and nothing is added.
2. ``AddSecretVersion`` on the secret with the JSON payload (or the one ``field`` value)
   and its CRC32C (``dataCrc32c``, checked by the service); the new version becomes
   ``latest``.
3. The new version's number must follow the one read; otherwise another writer added a
   version between steps 1 and 2, and :class:`StoreConflictError` says so (both versions
   exist; the newest, this one, is ``latest``).

Secret Manager offers no conditional ``AddSecretVersion``: etags exist on secrets and on
version state changes, not on adding a version, so the check is steps 1 and 3, and a
writer that adds in between is detected afterwards, not prevented. A source pinned to a
version number is not written. Permission needed: ``secretmanager.versions.add``
(``roles/secretmanager.secretVersionAdder``) besides access.
API: https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets/addVersion
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bandwidth_credentials import (
    SourceFormatError,
    StoreConflictError,
    StoreNotSupportedError,
)
from bandwidth_credentials.plugin import Deadline, time_for

from ._errors import Failure, classify
from ._messages import library_error
from ._resource import LATEST

__all__ = ["store_problem", "store_secret"]


def store_problem(provider: Any) -> str | None:
    """Why ``provider``'s secret cannot be written (a pinned version), or ``None``."""
    if provider.secret.version != LATEST:
        return (
            "writing is not supported by this source (it reads the pinned version "
            f"{provider.secret.version}; a write adds a new latest version)"
        )
    return None


def _payload(provider: Any, values: Mapping[str, object]) -> bytes:
    uri = provider.source.uri
    if provider.field is None:
        return json.dumps(dict(values)).encode()
    value = values.get(provider.field)
    if set(values) != {provider.field} or not isinstance(value, str):
        raise SourceFormatError(
            f"source {uri}: with field={provider.field} the payload is one value; other "
            "keys cannot be written to it",
            source=uri,
        )
    return value.encode()


def _number(name: str) -> int:
    tail = name.rsplit("/versions/", 1)[-1]
    return int(tail) if tail.isdigit() else -1


def store_secret(provider: Any, values: Mapping[str, object], expected: str | None) -> str:
    """Add ``values`` as the secret's new version when ``latest`` is still ``expected``;
    returns the new version's name."""
    import google_crc32c

    uri = provider.source.uri
    problem = store_problem(provider)
    if problem is not None:
        raise StoreNotSupportedError(f"source {uri}: {problem}", source=uri)
    data = _payload(provider, values)
    client = provider.client()
    parent = provider.secret.name.rsplit("/versions/", 1)[0]
    request = {
        "parent": parent,
        "payload": {"data": data, "data_crc32c": google_crc32c.value(data)},
    }
    failure: Failure | None = None
    # The read and the write each within the bounded transport's deadlines, and both
    # within one fetch's worst case.
    with Deadline(provider.worst_case) as deadline:
        current = str(provider._access(client, deadline.left).name)
        if expected is not None and current != expected:
            raise _conflict(uri, expected, current)
        try:
            added = client.add_secret_version(
                request=request, retry=None, timeout=time_for(provider.timeout)
            )
        except Exception as exc:  # translated below, outside this block
            failure = classify(exc)
    if failure is not None:
        raise library_error(failure, provider._where(), attempts=1)
    name = str(added.name)
    if expected is not None and _number(name) != _number(expected) + 1:
        raise StoreConflictError(
            f"source {uri}: another version was added at the same time as {name} (the one "
            f"read was {expected}); both exist and {name} is latest: check the secret's "
            "versions, then read again and retry",
            source=uri,
            expected=expected,
            found=name,
        )
    return name


def _conflict(uri: str, expected: str, found: str) -> StoreConflictError:
    return StoreConflictError(
        f"source {uri}: the latest version is {found}, not {expected} as read; nothing was "
        "added: read again and retry",
        source=uri,
        expected=expected,
        found=found,
    )
