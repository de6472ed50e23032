"""The one mapping from Azure SDK exceptions to the library's errors.

It runs in two steps so that no foreign exception is ever chained to ours:
:func:`capture` is called inside the ``except`` block and keeps only plain facts (the
HTTP status, the service's error codes when they are known ones, the exception's type
name); :func:`error` is called after the block has been left and builds a fresh library
error from them. The service's message text is never kept: Key Vault's messages can
quote request details, and a third party's proxy can answer anything.

Status codes and error codes, from Key Vault's REST reference
(https://learn.microsoft.com/en-us/rest/api/keyvault/secrets/get-secret/get-secret,
https://learn.microsoft.com/en-us/azure/key-vault/general/rest-error-codes): an error
answer is ``{"error": {"code": ..., "message": ..., "innererror": {"code": ...}}}``;
401 means no or a rejected bearer token, 403 a caller without permission (Azure RBAC's
``ForbiddenByRbac``, an access policy's ``AccessDenied``, the firewall's
``ForbiddenByFirewall``) or a disabled secret (``Forbidden`` with the inner code
``SecretDisabled``), 404 ``SecretNotFound``, 429 ``Throttled``.
"""

from __future__ import annotations

import json
from typing import NamedTuple

from bandwidth_credentials import plugin as kit
from bandwidth_credentials.plugin import (
    ConfigurationError,
    CredentialsError,
    SourceAccessDeniedError,
    SourceAuthenticationError,
    SourceError,
    SourceNotFoundError,
    SourceUnavailableError,
)

from ._transport import MAX_ANSWER, TOKEN
from ._uri import SecretRef

#: Error codes Key Vault documents; only these are ever shown in a message.
KNOWN_CODES = frozenset(
    {
        "AccessDenied",
        "BadParameter",
        "BadRequest",
        "Conflict",
        "Forbidden",
        "ForbiddenByConnection",
        "ForbiddenByFirewall",
        "ForbiddenByPolicy",
        "ForbiddenByRbac",
        "InternalServerError",
        "NotFound",
        "ObjectIsDeletedButRecoverable",
        "SecretDisabled",
        "SecretNotFound",
        "ServiceUnavailable",
        "Throttled",
        "TooManyRequests",
        "Unauthorized",
    }
)
ROLE = "Key Vault Secrets User"
#: How much of an error answer is read to find its codes.
MAX_ERROR_BODY = 64 * 1024
OMITTED = "(server text omitted)"

_CREDENTIALS_TRIED = (
    "DefaultAzureCredential got none from a service principal (AZURE_TENANT_ID, "
    "AZURE_CLIENT_ID with AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH), workload "
    "identity (AZURE_FEDERATED_TOKEN_FILE), managed identity (IDENTITY_ENDPOINT, or the "
    "instance metadata service), or a developer login (az login, azd auth login, "
    "Connect-AzAccount); each one's reason is logged by azure.identity at WARNING"
)


#: HTTP statuses retried within a fetch (as azure-core's own retry policy does), unless
#: the answer asks for a wait with ``Retry-After``.
RETRIED_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class Failure(NamedTuple):
    """What a failed request left behind, without the exception or any server text.

    ``kind``: ``status``, ``no-credential``, ``credential``, ``timeout``, ``network``,
    ``challenge``, ``other``, or a bounded-transport kind (``transport``: see
    ``transport_kind``). ``host`` and ``detail`` come from the bounded transport (the
    host asked, its own sentence); ``token`` tells that the exchange was a token
    request the credential made. ``retry_after``: seconds an answer's ``Retry-After``
    (or ``retry-after-ms``, ``x-ms-retry-after-ms``) asked for.
    """

    kind: str
    status: int | None = None
    codes: tuple[str, ...] = ()
    type_name: str = ""
    transport_kind: str = ""
    host: str = ""
    detail: str = ""
    token: bool = False
    retry_after: float | None = None

    @property
    def retried(self) -> bool:
        """Whether another attempt within the fetch may help: 408, 429, 5xx without a
        ``Retry-After`` (a wait the vault asks for is the library's backoff to honour,
        never slept inside a fetch), a refused connection or a broken answer."""
        if self.retry_after:
            return False
        if self.kind == "status":
            return self.status in RETRIED_STATUSES
        return self.kind == "transport" and self.transport_kind in ("connect", "broken")


def capture(exc: BaseException, log: kit.ExchangeLog | None = None) -> Failure:
    """The facts of ``exc``; call it inside the ``except`` block, then leave the block.
    ``log``: the bounded transport's, for a failure the SDK reports in its own words."""
    from azure.core import exceptions as core
    from azure.identity import CredentialUnavailableError

    name = type(exc).__name__
    if isinstance(exc, kit.ExchangeFailed):
        return _transported(exc)
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None) if response is not None else None
    if isinstance(exc, core.HttpResponseError) and isinstance(status, int):
        return Failure("status", status, _codes(response), name, retry_after=_wait(response))
    if isinstance(exc, CredentialUnavailableError):
        # Nothing usable was found (a managed-identity probe that met no endpoint is
        # part of finding out, not the failure to report).
        return Failure("no-credential", type_name=name)
    if isinstance(exc, core.ClientAuthenticationError):
        # The credential chain reports a failed token request in its own words; the
        # bounded transport kept what happened.
        last = log.last if log is not None else None
        if last is not None:
            return _transported(last)
    if isinstance(exc, core.ClientAuthenticationError):
        return Failure("credential", type_name=name)
    if isinstance(exc, (core.ServiceRequestTimeoutError, core.ServiceResponseTimeoutError)):
        return Failure("timeout", type_name=name)
    if isinstance(exc, (core.ServiceRequestError, core.ServiceResponseError)):
        return Failure("network", type_name=name)
    if isinstance(exc, ValueError) and "challenge" in str(exc).lower():
        return Failure("challenge", type_name=name)
    return Failure("other", type_name=name)


def _transported(exc: kit.ExchangeFailed) -> Failure:
    return Failure(
        "transport",
        status=exc.status,
        type_name=type(exc).__name__,
        transport_kind=exc.kind,
        host=exc.host,
        detail=exc.detail,
        token=exc.tag == TOKEN,
    )


def _wait(response: object) -> float | None:
    """Seconds an answer asks to wait: ``retry-after-ms``, ``x-ms-retry-after-ms``
    (Azure's) or ``Retry-After`` (RFC 9110 §10.2.3); ``None`` when it does not ask."""
    import time

    headers = getattr(response, "headers", None)
    get = getattr(headers, "get", None)
    if not callable(get):
        return None
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        value = get(name)
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip()) / 1000.0 or None
    value = get("Retry-After")
    wait = kit.parse_retry_after(value if isinstance(value, str) else None, time.time())
    return wait if wait else None


def _codes(response: object) -> tuple[str, ...]:
    """The outer and inner error codes of a Key Vault error answer, known ones only."""
    try:
        text = response.text()  # type: ignore[attr-defined]
        body = json.loads(text[:MAX_ERROR_BODY])
    except Exception:  # any unreadable answer simply has no codes
        return ()
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ()
    codes = [error.get("code")]
    inner = error.get("innererror") or error.get("innerError")
    if isinstance(inner, dict):
        codes.append(inner.get("code"))
    return tuple(c for c in codes if isinstance(c, str) and c in KNOWN_CODES)


def error(
    failure: Failure, uri: str, ref: SecretRef, timeout: float, attempts: int = 1
) -> CredentialsError:
    """A fresh library error for ``failure``, naming the source, vault and secret."""
    label = ref.label()
    said = "/".join(failure.codes) if failure.codes else OMITTED
    status = failure.status
    if failure.kind == "status" and status is not None:
        if failure.retry_after:
            said += f"; it asked to wait {failure.retry_after:g} s"
        if attempts > 1:
            said += f"; {attempts} attempts"
        made = _status_error(uri, label, status, failure.codes, said)
        if isinstance(made, SourceError):
            made.retry_after = failure.retry_after
        return made
    if failure.kind == "transport":
        return _transport_error(failure, uri, label, timeout)
    if failure.kind in ("no-credential", "credential"):
        return SourceAuthenticationError(
            f"source {uri}: no Azure access token to read {label} ({failure.type_name}): "
            f"{_CREDENTIALS_TRIED}",
            source=uri,
        )
    if failure.kind == "challenge":
        return SourceAuthenticationError(
            f"source {uri}: the authentication challenge from {ref.vault_host} names a "
            f"resource that does not match the vault's host, so no token was sent for {label}; "
            "check the vault URL (see https://aka.ms/azsdk/blog/vault-uri)",
            source=uri,
        )
    if failure.kind == "timeout":
        return SourceUnavailableError(
            f"source {uri}: reading {label} timed out (timeout {timeout:g} s per request)",
            source=uri,
        )
    if failure.kind == "network":
        return SourceUnavailableError(
            f"source {uri}: could not reach {ref.vault_host} for {label} ({failure.type_name})",
            source=uri,
        )
    return SourceUnavailableError(
        f"source {uri}: reading {label} failed ({failure.type_name})", source=uri
    )


def _transport_error(failure: Failure, uri: str, label: str, timeout: float) -> CredentialsError:
    """The error for a failed exchange of the bounded transport, with the vault or the
    token endpoint (``failure.token``), in the kit's words."""
    return kit.exchange_error(
        uri,
        failure.transport_kind,
        failure.detail,
        peer=f"{'the token endpoint' if failure.token else 'Key Vault'} {failure.host}",
        subject=f"the access token request for {label}" if failure.token else label,
        timeout=timeout,
        max_size=MAX_ANSWER,
    )


def _status_error(
    uri: str, label: str, status: int, codes: tuple[str, ...], said: str
) -> CredentialsError:
    if status == 404:
        return SourceNotFoundError(
            f"source {uri}: {label} does not exist (HTTP 404, {said})", source=uri
        )
    if status == 403 and "SecretDisabled" in codes:
        return SourceNotFoundError(
            f"source {uri}: {label} is disabled (HTTP 403, {said}); enable it or name an "
            "enabled version",
            source=uri,
        )
    if status == 403:
        return SourceAccessDeniedError(
            f"source {uri}: access to {label} was denied (HTTP 403, {said}); the identity "
            f"needs the Azure RBAC role '{ROLE}' on the vault (or, for a vault that uses "
            "access policies, the secret 'get' permission), and the vault's firewall must "
            "admit it",
            source=uri,
        )
    if status == 401:
        return SourceAuthenticationError(
            f"source {uri}: Key Vault refused the access token for {label} (HTTP 401, {said})",
            source=uri,
        )
    if status == 429 or status >= 500:
        return SourceUnavailableError(
            f"source {uri}: Key Vault did not serve {label} (HTTP {status}, {said})", source=uri
        )
    if status == 400:
        return ConfigurationError(
            f"source {uri}: Key Vault rejected the request for {label} (HTTP 400, {said}); "
            "check the secret name and version",
            source=uri,
        )
    return SourceError(
        f"source {uri}: Key Vault refused {label} (HTTP {status}, {said})", source=uri
    )
