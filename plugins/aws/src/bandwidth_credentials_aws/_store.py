"""Writing an ``aws-sm:`` source: a new secret version, promoted with a checked label move.

``store(values, expected_version)`` on :class:`SecretsManagerProvider`:

1. ``DescribeSecret``: refuse when a rotation is in progress (``AWSPENDING`` on a version
   other than ``AWSCURRENT``): ``PutSecretValue`` would move that label away from it.
2. ``PutSecretValue`` with ``VersionStages=["AWSPENDING"]`` and a fresh
   ``ClientRequestToken``: the new version exists, readers of ``AWSCURRENT`` still get
   the old one.
3. ``UpdateSecretVersionStage`` moving ``AWSCURRENT`` to the new version with
   ``RemoveFromVersionId=expected_version``. AWS documents that this fails when the
   label is attached to another version ("If the label is attached and you either do
   not specify this parameter, or the version ID does not match, then the operation
   fails"): that is the version check. On a mismatch the new version keeps no label
   (AWSPENDING is removed) and :class:`StoreConflictError` is raised.
4. ``AWSPENDING`` is removed from the new version (AWSCURRENT moved; AWSPREVIOUS follows
   the old version, as Secrets Manager does for every AWSCURRENT move).

A source pinned to a ``version_id`` or another ``stage`` is not written; nor one with
``field=`` whose values hold more than that field. Permissions needed:
``secretsmanager:DescribeSecret``, ``PutSecretValue``, ``UpdateSecretVersionStage``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from bandwidth_credentials import (
    CredentialsError,
    SourceAccessDeniedError,
    SourceError,
    SourceFormatError,
    StoreConflictError,
    StoreNotSupportedError,
)

from ._boto import Failure, call, common_error

__all__ = ["store_problem", "store_secret"]

CURRENT, PENDING = "AWSCURRENT", "AWSPENDING"
_WRITE_PERMISSIONS = (
    "secretsmanager:DescribeSecret, secretsmanager:PutSecretValue and "
    "secretsmanager:UpdateSecretVersionStage"
)


def store_problem(provider: Any) -> str | None:
    """Why ``provider``'s source cannot be written, or ``None``."""
    if provider.version_id is not None or provider.stage not in (None, CURRENT):
        return (
            "writing is not supported by this source (it reads a pinned version or stage; "
            "a write makes a new AWSCURRENT version)"
        )
    return None


def _error(provider: Any, client: Any, failure: Failure, action: str) -> CredentialsError:
    uri = provider.source.uri
    label = provider._label(client)
    shared = common_error(
        failure,
        uri=uri,
        label=label,
        service_title="Secrets Manager",
        settings=provider.settings,
        endpoint_url=client.meta.endpoint_url,
    )
    if shared is not None:
        return shared
    if failure.code in ("AccessDeniedException", "AccessDenied"):
        return SourceAccessDeniedError(
            f"source {uri}: {action} on {label} was denied ({failure.code}); writing needs "
            f"{_WRITE_PERMISSIONS}",
            source=uri,
        )
    error: CredentialsError = provider._error(client, failure)
    return error


def _text(provider: Any, values: Mapping[str, object]) -> str:
    uri = provider.source.uri
    if provider.field is None:
        return json.dumps(dict(values))
    value = values.get(provider.field)
    if set(values) != {provider.field} or not isinstance(value, str):
        raise SourceFormatError(
            f"source {uri}: with field={provider.field} the secret is one string; "
            "other keys cannot be written to it",
            source=uri,
        )
    return value


def store_secret(provider: Any, values: Mapping[str, object], expected: str | None) -> str:
    """Write ``values`` as a new version and make it AWSCURRENT if ``expected`` still is;
    returns the new ``VersionId``. Raises :class:`StoreConflictError`,
    :class:`StoreNotSupportedError` or a :class:`SourceError` subclass."""
    uri = provider.source.uri
    problem = store_problem(provider)
    if problem is not None:
        raise StoreNotSupportedError(f"source {uri}: {problem}", source=uri)
    client = provider.client()
    secret_id = provider.secret_id
    text = _text(provider, values)
    described, failure = call(client.describe_secret, SecretId=secret_id)
    if failure is not None:
        raise _error(provider, client, failure, "DescribeSecret")
    stages: dict[str, list[str]] = described.get("VersionIdsToStages") or {}
    current = next((v for v, labels in stages.items() if CURRENT in labels), None)
    pending = next((v for v, labels in stages.items() if PENDING in labels), None)
    if pending is not None and pending != current:
        raise StoreConflictError(
            f"source {uri}: a rotation of {provider._label(client)} is in progress "
            f"(AWSPENDING on version {pending}); let it finish (or cancel it) and retry",
            source=uri,
            expected=expected,
            found=current,
        )
    if expected is not None and current != expected:
        raise _conflict(uri, expected, current)
    put, failure = call(
        client.put_secret_value,
        SecretId=secret_id,
        ClientRequestToken=str(uuid.uuid4()),
        SecretString=text,
        VersionStages=[PENDING],
    )
    if failure is not None:
        raise _error(provider, client, failure, "PutSecretValue")
    new = str(put["VersionId"])
    moved, failure = call(
        client.update_secret_version_stage,
        SecretId=secret_id,
        VersionStage=CURRENT,
        MoveToVersionId=new,
        RemoveFromVersionId=current,
    )
    if failure is not None:
        call(
            client.update_secret_version_stage,
            SecretId=secret_id,
            VersionStage=PENDING,
            RemoveFromVersionId=new,
        )
        if failure.code == "InvalidParameterException":
            raise _conflict(uri, expected or "", None)
        raise _error(provider, client, failure, "UpdateSecretVersionStage")
    del moved
    call(
        client.update_secret_version_stage,
        SecretId=secret_id,
        VersionStage=PENDING,
        RemoveFromVersionId=new,
    )
    return new


def _conflict(uri: str, expected: str, found: str | None) -> SourceError:
    return StoreConflictError(
        f"source {uri}: AWSCURRENT is no longer on version {expected} (now "
        f"{found or 'another version'}); nothing was made current: read again and retry",
        source=uri,
        expected=expected,
        found=found,
    )
