"""The messages of ``gcp-sm``'s errors: what failed, where, and what to do about it.

Each message names the source URI and the secret version, never a value; of a server's
answer only a canonical status code name (or a version state word) is shown.
"""

from __future__ import annotations

from typing import NamedTuple

from bandwidth_credentials.plugin import (
    ConfigurationError,
    CredentialsError,
    SourceAccessDeniedError,
    SourceAuthenticationError,
    SourceError,
    SourceNotFoundError,
    SourceUnavailableError,
    exchange_error,
)

from ._errors import Failure
from ._resource import LATEST, SecretName
from ._transport import MAX_ANSWER

ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"
#: Codes retried before a :class:`SourceUnavailableError`, as the client's own default
#: retry does for AccessSecretVersion.
RETRIED = frozenset({"UNAVAILABLE", "RESOURCE_EXHAUSTED"})


class Where(NamedTuple):
    """The request a failure belongs to."""

    uri: str
    secret: SecretName
    endpoint: str | None
    timeout: float


def describe(secret: SecretName) -> str:
    """How messages name the version asked for."""
    if secret.version == LATEST:
        return (
            f"the latest version of secret {secret.name.rsplit('/versions/', 1)[0]} "
            "(the most recently created one)"
        )
    return f"secret version {secret.name}"


def _host(where: Where) -> str:
    return where.endpoint or "secretmanager.googleapis.com"


def library_error(failure: Failure, where: Where, *, attempts: int) -> CredentialsError:
    """The library error for ``failure``; the caller raises it outside its ``except``."""
    uri = where.uri
    label = describe(where.secret)
    code = failure.status
    said = code or (
        f"HTTP {failure.http}, server text omitted" if failure.http else "server text omitted"
    )
    if failure.kind == "unsupported":
        return ConfigurationError(f"source {uri}: {failure.detail}", source=uri)
    if failure.kind == "no-credentials":
        return SourceAuthenticationError(
            f"source {uri}: no Application Default Credentials for {label}; set "
            "GOOGLE_APPLICATION_CREDENTIALS, run `gcloud auth application-default "
            "login`, or run with an attached service account",
            source=uri,
        )
    if failure.kind == "token":
        return SourceAuthenticationError(
            f"source {uri}: getting a Google access token for {label} failed ({failure.type_name})",
            source=uri,
        )
    if failure.kind == "token-unreachable":
        return SourceUnavailableError(
            f"source {uri}: could not reach Google's token endpoint to authenticate "
            f"for {label} ({failure.type_name})",
            source=uri,
        )
    transported = _transport_error(failure, where, label)
    if transported is not None:
        return transported
    if failure.kind == "timeout" or code == "DEADLINE_EXCEEDED":
        return SourceUnavailableError(
            f"source {uri}: {label} timed out at Secret Manager {_host(where)} (DEADLINE_EXCEEDED, "
            f"timeout {where.timeout:g} s)",
            source=uri,
        )
    if failure.kind == "connect":
        return SourceUnavailableError(
            f"source {uri}: could not connect to Secret Manager at {_host(where)} for "
            f"{label} ({failure.type_name})",
            source=uri,
        )
    if code == "NOT_FOUND":
        return SourceNotFoundError(f"source {uri}: {label} does not exist ({code})", source=uri)
    if code == "FAILED_PRECONDITION":
        return _not_enabled_error(failure, where)
    if code == "PERMISSION_DENIED":
        return SourceAccessDeniedError(
            f"source {uri}: access to {label} was denied ({code}); the caller needs "
            f"{ACCESSOR_ROLE} on the secret (Secret Manager also answers this way for "
            "a secret that does not exist)",
            source=uri,
        )
    if code == "UNAUTHENTICATED":
        return SourceAuthenticationError(
            f"source {uri}: Secret Manager refused the credentials sent for {label} ({code})",
            source=uri,
        )
    if code in RETRIED or code == "INTERNAL" or (failure.http or 0) >= 500:
        return SourceUnavailableError(
            f"source {uri}: Secret Manager at {_host(where)} did not serve {label} "
            f"({said}) after {attempts} attempt(s)"
            + (f"; it asked to wait {failure.retry_after:g} s" if failure.retry_after else ""),
            source=uri,
            retry_after=failure.retry_after,
        )
    if code == "INVALID_ARGUMENT":
        return ConfigurationError(
            f"source {uri}: Secret Manager rejected the request for {label} ({code}); "
            "check the resource name",
            source=uri,
        )
    return SourceError(f"source {uri}: Secret Manager refused {label} ({said})", source=uri)


def _transport_error(failure: Failure, where: Where, label: str) -> CredentialsError | None:
    """The error for a failure of the bounded transport (at Secret Manager or at the
    token endpoint, in the kit's words), or ``None`` for any other failure."""
    if failure.kind != "too-large" and not failure.detail:
        return None
    detail = failure.detail
    if failure.kind == "timeout":
        detail = f"DEADLINE_EXCEEDED: {detail}"
    return exchange_error(
        where.uri,
        failure.kind,
        detail,
        peer=f"{_peer(failure)} {failure.host or _host(where)}",
        subject=f"the access token request for {label}" if failure.token else label,
        timeout=where.timeout,
        max_size=MAX_ANSWER,
    )


def _peer(failure: Failure) -> str:
    return "Google's token endpoint" if failure.token else "Secret Manager"


def _not_enabled_error(failure: Failure, where: Where) -> SourceNotFoundError:
    uri = where.uri
    state = failure.state.lower() if failure.state else "disabled or destroyed"
    if where.secret.version == LATEST:
        return SourceNotFoundError(
            f"source {uri}: {describe(where.secret)} is {state} (FAILED_PRECONDITION); `latest` "
            "does not fall back to an older version: enable it, add a new version, or "
            "name an enabled version with /versions/N",
            source=uri,
        )
    return SourceNotFoundError(
        f"source {uri}: secret version {where.secret.name} is {state} (FAILED_PRECONDITION)",
        source=uri,
    )
