"""``aws-lambda-ext:NAME_OR_ARN``: a secret read from the AWS Parameters and Secrets
Lambda Extension's local HTTP endpoint.

The request is a plain ``GET`` with :mod:`http.client`: this path never imports boto3
or botocore (the point of the extension is a cheap cold start), except with
``?fallback=sdk`` when no extension answers.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import threading
import time
from typing import Any, NoReturn
from urllib.parse import quote, urlencode

from bandwidth_credentials import (
    ConfigurationError,
    Fetched,
    Provider,
    Source,
    SourceAccessDeniedError,
    SourceAuthenticationError,
    SourceError,
    SourceFormatError,
    SourceNotFoundError,
    SourceUnavailableError,
)

from ._secret import (
    arn_region,
    field_option,
    positive_number,
    secret_id_of,
    secret_values,
    version_selector,
    where,
)

__all__ = [
    "DEFAULT_PORT",
    "PORT_ENV",
    "TOKEN_HEADER",
    "LambdaExtensionProvider",
]

#: The extension's documented defaults and names.
PORT_ENV = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
DEFAULT_PORT = 2773
TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
TOKEN_ENV = "AWS_SESSION_TOKEN"
#: The extension listens on the loopback interface of the execution environment.
HOST = "127.0.0.1"

DEFAULT_WAIT = 2.0
DEFAULT_TIMEOUT = 5.0
_FIRST_DELAY = 0.01
_MAX_DELAY = 0.2

logger = logging.getLogger("bandwidth_credentials")


class _NoAnswer(Exception):
    """Nothing answered on the extension's port (refused, reset, or timed out)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LambdaExtensionProvider(Provider):
    """Reads one Secrets Manager secret through the Lambda extension's HTTP API.

    URI: ``aws-lambda-ext:NAME_OR_ARN``, for example ``aws-lambda-ext:bandwidth/prod``.
    The request is ``GET http://127.0.0.1:PORT/secretsmanager/get?secretId=...``
    (plus ``versionStage`` or ``versionId``) with the header
    ``X-Aws-Parameters-Secrets-Token`` set to ``AWS_SESSION_TOKEN``; ``PORT`` is
    ``PARAMETERS_SECRETS_EXTENSION_HTTP_PORT`` (default 2773). The answer is the
    ``GetSecretValue`` JSON, read exactly as ``aws-sm`` reads it.

    Options:

    - ``stage`` (default ``AWSCURRENT``) or ``version_id``; ``field`` as for ``aws-sm``.
    - ``wait``: seconds to keep retrying while the extension is not ready yet, which
      happens in the first moments of a cold start (default 2).
    - ``timeout``: seconds per request (default 5).
    - ``fallback=sdk``: when no extension answers (or ``AWS_SESSION_TOKEN`` is unset),
      read the secret with boto3 as ``aws-sm`` would. Off by default: a missing layer is
      an error rather than a slower cold start nobody notices.
    - ``region``: only named in messages and used by the fallback; defaults to the
      ARN's region, then ``AWS_REGION``.
    """

    scheme = "aws-lambda-ext"
    options = frozenset({"stage", "version_id", "field", "fallback", "wait", "timeout", "region"})
    default_ttl = 300.0

    def __init__(self, source: Source) -> None:
        super().__init__(source)
        self.secret_id = secret_id_of(source)
        self.stage, self.version_id = version_selector(source)
        self.field = field_option(source)
        fallback = (source.options.get("fallback") or "").strip().lower()
        if fallback not in ("", "sdk", "none"):
            raise ConfigurationError(
                f"source {source.uri}: option 'fallback' must be sdk or none", source=source.uri
            )
        self.fallback = fallback == "sdk"
        self.wait = source.number("wait", DEFAULT_WAIT) or 0.0
        self.timeout = positive_number(source, "timeout", DEFAULT_TIMEOUT)
        self._region_option = (source.options.get("region") or "").strip() or None
        self._lock = threading.Lock()
        self._sdk: Provider | None = None

    @property
    def region(self) -> str | None:
        """The region messages name: the option, the ARN's, or ``AWS_REGION``."""
        return (
            self._region_option
            or arn_region(self.secret_id)
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
        )

    def _label(self) -> str:
        label = where(self.secret_id, self.region)
        if self.version_id is not None:
            return f"{label}, version {self.version_id}"
        return f"{label}, stage {self.stage}"

    def _port(self) -> int:
        raw = os.environ.get(PORT_ENV, "").strip()
        if not raw:
            return DEFAULT_PORT
        port = int(raw) if raw.isdigit() else 0
        if not 0 < port < 65536:
            raise ConfigurationError(
                f"source {self.source.uri}: {PORT_ENV} must be a port number (1-65535)",
                source=self.source.uri,
            )
        return port

    def _path(self) -> str:
        query = {"secretId": self.secret_id}
        if self.version_id is not None:
            query["versionId"] = self.version_id
        elif self.stage is not None:
            query["versionStage"] = self.stage
        return "/secretsmanager/get?" + urlencode(query, quote_via=quote)

    # -- fetching ---------------------------------------------------------------------

    def fetch(self) -> Fetched:
        """Ask the extension for the secret now (retrying briefly while it starts)."""
        uri = self.source.uri
        port = self._port()
        token = os.environ.get(TOKEN_ENV)
        if not token:
            if self.fallback:
                logger.info(
                    "source %s: %s is not set, so no Lambda extension can be asked; "
                    "reading the secret with the AWS SDK",
                    uri,
                    TOKEN_ENV,
                )
                return self._sdk_provider().fetch()
            raise SourceAuthenticationError(
                f"source {uri}: {TOKEN_ENV} is not set; the Lambda extension requires it in "
                f"the {TOKEN_HEADER} header (outside Lambda use aws-sm, or add ?fallback=sdk)",
                source=uri,
            )
        try:
            status, body = self._request(port, token)
        except _NoAnswer as exc:
            if self.fallback:
                logger.info(
                    "source %s: no Lambda extension answered on port %d (%s); "
                    "reading the secret with the AWS SDK",
                    uri,
                    port,
                    exc.reason,
                )
                return self._sdk_provider().fetch()
            raise SourceUnavailableError(
                f"source {uri}: the Lambda extension did not answer on port {port} "
                f"({exc.reason}) for {self._label()}; is the AWS Parameters and Secrets "
                "Lambda Extension layer attached? (or add ?fallback=sdk)",
                source=uri,
            ) from None
        if status != 200:
            self._raise_for_status(status, body, port)
        return self._decode(body)

    def _request(self, port: int, token: str) -> tuple[int, bytes]:
        """One GET, repeated with backoff while the extension is not ready, up to ``wait``."""
        deadline = time.monotonic() + self.wait
        delay = _FIRST_DELAY
        path = self._path()
        while True:
            try:
                status, body = self._get_once(port, path, token)
            except TimeoutError:
                # It accepted but did not answer within `timeout`: waiting more won't help.
                raise _NoAnswer(f"timed out after {self.timeout:g} s") from None
            except (OSError, http.client.HTTPException) as exc:
                reason = _connection_reason(exc)
            else:
                if not (status == 400 and _not_ready(body)):
                    return status, body
                reason = "not ready"
            if time.monotonic() + delay > deadline:
                break
            time.sleep(delay)
            delay = min(delay * 2, _MAX_DELAY)
        if reason == "not ready":
            raise SourceUnavailableError(
                f"source {self.source.uri}: the Lambda extension on port {port} was still not "
                f"ready after {self.wait:g} s for {self._label()}",
                source=self.source.uri,
            )
        raise _NoAnswer(reason)

    def _get_once(self, port: int, path: str, token: str) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(HOST, port, timeout=self.timeout)
        try:
            connection.request("GET", path, headers={TOKEN_HEADER: token})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def _raise_for_status(self, status: int, body: bytes, port: int) -> NoReturn:
        # The body is never quoted: only known error names are looked for in it.
        uri = self.source.uri
        label = self._label()
        code = _error_code(body)
        answer = f"HTTP {status}" + (f", {code}" if code else "")
        if status == 401:
            raise SourceAuthenticationError(
                f"source {uri}: the Lambda extension refused the request for {label} "
                f"({answer}): the {TOKEN_HEADER} header must be this execution "
                f"environment's {TOKEN_ENV}",
                source=uri,
            )
        if code == "ResourceNotFoundException" or status == 404:
            raise SourceNotFoundError(
                f"source {uri}: {label} does not exist ({answer})", source=uri
            )
        if code in ("AccessDeniedException", "AccessDenied") or status == 403:
            raise SourceAccessDeniedError(
                f"source {uri}: access to {label} was denied ({answer}); the function's role "
                "needs secretsmanager:GetSecretValue on this secret",
                source=uri,
            )
        if code == "DecryptionFailure":
            raise SourceAccessDeniedError(
                f"source {uri}: {label} could not be decrypted ({answer}); the function's role "
                "needs kms:Decrypt on the secret's KMS key",
                source=uri,
            )
        if code == "InvalidRequestException":
            raise SourceNotFoundError(
                f"source {uri}: {label} cannot be read in its current state ({answer}); "
                "it may be scheduled for deletion",
                source=uri,
            )
        if status == 429 or status >= 500 or (code or "").startswith("Throttl"):
            raise SourceUnavailableError(
                f"source {uri}: the Lambda extension on port {port} could not serve {label} "
                f"({answer})",
                source=uri,
            )
        if status == 400:
            # The extension answers most Secrets Manager failures with a bare 400 and logs
            # the cause to the function's CloudWatch log stream.
            raise SourceNotFoundError(
                f"source {uri}: the Lambda extension could not read {label} ({answer}): the "
                "secret, stage or version may not exist, or the function's role may not read "
                "it; the extension logs the cause to the function's CloudWatch log stream",
                source=uri,
            )
        raise SourceError(
            f"source {uri}: the Lambda extension answered {answer} for {label}", source=uri
        )

    def _decode(self, body: bytes) -> Fetched:
        uri = self.source.uri
        try:
            document: Any = json.loads(body)
        except ValueError:
            document = None  # the decoder's message can quote the body
        if not isinstance(document, dict):
            raise SourceFormatError(
                f"source {uri}: the Lambda extension's answer for {self._label()} is not "
                "GetSecretValue JSON",
                source=uri,
            )
        values = secret_values(
            uri=uri,
            label=where(self.secret_id, self.region),
            secret_string=document.get("SecretString"),
            secret_binary=document.get("SecretBinary"),
            field=self.field,
        )
        version = document.get("VersionId")
        return Fetched(values=values, version=str(version) if version else None)

    # -- the SDK fallback -------------------------------------------------------------

    def _sdk_provider(self) -> Provider:
        with self._lock:
            if self._sdk is None:
                from .secrets_manager import SecretsManagerProvider

                passed = ("stage", "version_id", "field", "region")
                options = {k: v for k, v in self.source.options.items() if k in passed}
                # Same URI, so errors and provenance name the source as configured.
                self._sdk = SecretsManagerProvider(
                    Source(
                        uri=self.source.uri,
                        scheme="aws-sm",
                        target=self.source.target,
                        options=options,
                    )
                )
            return self._sdk

    def close(self) -> None:
        """Close the SDK fallback's client, if it was used."""
        with self._lock:
            sdk, self._sdk = self._sdk, None
        if sdk is not None:
            sdk.close()


def _not_ready(body: bytes) -> bool:
    return b"not ready" in body.lower()


def _connection_reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, (ConnectionResetError, http.client.RemoteDisconnected)):
        return "connection closed without an answer"
    return type(exc).__name__


_KNOWN_CODES = (
    "ResourceNotFoundException",
    "AccessDeniedException",
    "DecryptionFailure",
    "InvalidRequestException",
    "InvalidParameterException",
    "ThrottlingException",
    "InternalServiceError",
)


def _error_code(body: bytes) -> str | None:
    """A Secrets Manager error name found in an error answer, if any."""
    for code in _KNOWN_CODES:
        if code.encode() in body:
            return code
    if b"AccessDenied" in body:
        return "AccessDenied"
    return None
