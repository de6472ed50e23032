"""``aws-sm:NAME_OR_ARN``: a secret read from AWS Secrets Manager with boto3.

boto3 is imported on the first fetch, never when this module is imported.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any, NoReturn
from urllib.parse import urlsplit

from bandwidth_credentials import (
    ConfigurationError,
    Fetched,
    Provider,
    Source,
    SourceAccessDeniedError,
    SourceAuthenticationError,
    SourceError,
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

__all__ = ["SecretsManagerProvider"]

#: botocore's standard retry mode: attempts in all, the first included.
MAX_ATTEMPTS = 3
DEFAULT_CONNECT_TIMEOUT = 2.0
DEFAULT_READ_TIMEOUT = 5.0

_XML_CODE = re.compile(r"<Code>(\w{1,64})</Code>")
_NOT_FOUND = frozenset({"ResourceNotFoundException"})
_DENIED = frozenset({"AccessDeniedException", "AccessDenied"})
# Codes meaning the request's credentials themselves were refused.
_AUTHENTICATION = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "ExpiredTokenException",
        "ExpiredToken",
        "IncompleteSignature",
        "MissingAuthenticationToken",
    }
)
_THROTTLED = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
)


class SecretsManagerProvider(Provider):
    """Reads one secret with ``GetSecretValue`` through the standard AWS credential chain.

    URI: ``aws-sm:NAME_OR_ARN``, for example ``aws-sm:bandwidth/prod`` or
    ``aws-sm:arn:aws:secretsmanager:us-east-1:123456789012:secret:bandwidth/prod-AbCdEf``.

    Options:

    - ``stage`` (default ``AWSCURRENT``) or ``version_id``: which version to read.
    - ``region``: else the region inside an ARN, else the SDK's own resolution
      (``AWS_DEFAULT_REGION``, the profile's config).
    - ``profile``: a named profile from the shared AWS config files.
    - ``field``: the secret is one plain string, stored under this key (for example
      ``field=password``); without it the secret must be a JSON object.
    - ``connect_timeout``, ``read_timeout``: seconds per attempt (defaults 2 and 5).

    ``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_SECRETS_MANAGER`` are honoured by boto3
    itself. Requests use botocore's standard retry mode (3 attempts), so throttling
    and server errors are retried before :class:`SourceUnavailableError` is raised.
    ``Fetched.version`` is the secret's ``VersionId``; the values are cached for
    ``default_ttl`` seconds unless the URI sets ``ttl``.
    """

    scheme = "aws-sm"
    options = frozenset(
        {"stage", "version_id", "region", "profile", "field", "connect_timeout", "read_timeout"}
    )
    default_ttl = 300.0

    def __init__(self, source: Source) -> None:
        super().__init__(source)
        self.secret_id = secret_id_of(source)
        self.stage, self.version_id = version_selector(source)
        self.field = field_option(source)
        self.region = (source.options.get("region") or "").strip() or arn_region(self.secret_id)
        self.profile = (source.options.get("profile") or "").strip() or None
        self.connect_timeout = positive_number(source, "connect_timeout", DEFAULT_CONNECT_TIMEOUT)
        self.read_timeout = positive_number(source, "read_timeout", DEFAULT_READ_TIMEOUT)
        self._lock = threading.Lock()
        self._client: Any = None

    # -- the client -------------------------------------------------------------------

    def client(self) -> Any:
        """The boto3 Secrets Manager client, created (and boto3 imported) on first use."""
        with self._lock:
            if self._client is None:
                self._client = self._new_client()
            return self._client

    def _new_client(self) -> Any:
        uri = self.source.uri
        # Imported here: `import bandwidth_credentials_aws` and building a resolver
        # must not pay for boto3.
        import boto3
        import botocore.config
        import botocore.exceptions

        from . import _redact

        _redact.install()
        config = botocore.config.Config(
            retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
        )
        try:
            session = boto3.session.Session(profile_name=self.profile, region_name=self.region)
            return session.client("secretsmanager", config=config)
        except botocore.exceptions.ProfileNotFound:
            raise ConfigurationError(
                f"source {uri}: AWS profile {self.profile!r} is not in the shared AWS config files",
                source=uri,
            ) from None
        except botocore.exceptions.NoRegionError:
            raise ConfigurationError(
                f"source {uri}: no AWS region for {self.secret_id!r}; add ?region=NAME, "
                "set AWS_DEFAULT_REGION, or give the secret's full ARN",
                source=uri,
            ) from None

    # -- fetching ---------------------------------------------------------------------

    def fetch(self) -> Fetched:
        """Call ``GetSecretValue`` now and return the secret's keys and ``VersionId``."""
        client = self.client()
        response = self._get_secret_value(client)
        region = client.meta.region_name
        version = response.get("VersionId")
        values = decode_response(self.source.uri, self.secret_id, region, self.field, response)
        return Fetched(values=values, version=str(version) if version else None)

    def _get_secret_value(self, client: Any) -> Mapping[str, Any]:
        import botocore.exceptions

        request: dict[str, str] = {"SecretId": self.secret_id}
        if self.version_id is not None:
            request["VersionId"] = self.version_id
        elif self.stage is not None:
            request["VersionStage"] = self.stage
        try:
            response: Mapping[str, Any] = client.get_secret_value(**request)
        except botocore.exceptions.ClientError as exc:
            self._raise_client_error(client, exc.response)
        except botocore.exceptions.BotoCoreError as exc:
            self._raise_botocore_error(client, exc)
        return response

    def _label(self, client: Any) -> str:
        label = where(self.secret_id, client.meta.region_name)
        if self.version_id is not None:
            return f"{label}, version {self.version_id}"
        return f"{label}, stage {self.stage}"

    def _raise_client_error(self, client: Any, response: Mapping[str, Any]) -> NoReturn:
        # botocore's own message is never kept: it could quote what the service echoed.
        uri = self.source.uri
        label = self._label(client)
        error = response.get("Error") or {}
        code = _error_code(error)
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        attempts = (response.get("ResponseMetadata") or {}).get("RetryAttempts", 0) + 1
        if code in _NOT_FOUND:
            raise SourceNotFoundError(
                f"source {uri}: {label} does not exist ({code})", source=uri
            ) from None
        if code in _DENIED:
            raise SourceAccessDeniedError(
                f"source {uri}: access to {label} was denied ({code}); the identity needs "
                "secretsmanager:GetSecretValue on this secret",
                source=uri,
            ) from None
        if code == "DecryptionFailure":
            raise SourceAccessDeniedError(
                f"source {uri}: {label} could not be decrypted ({code}); the identity needs "
                "kms:Decrypt on the secret's KMS key (a customer-managed key must allow it "
                "in its key policy)",
                source=uri,
            ) from None
        if code == "InvalidRequestException":
            raise SourceNotFoundError(
                f"source {uri}: {label} cannot be read in its current state ({code}); "
                "it may be scheduled for deletion (restore it with restore-secret)",
                source=uri,
            ) from None
        if code in _AUTHENTICATION:
            raise SourceAuthenticationError(
                f"source {uri}: AWS refused the request's credentials for {label} ({code})",
                source=uri,
            ) from None
        if code in _THROTTLED or code == "InternalServiceError" or (status or 0) >= 500:
            raise SourceUnavailableError(
                f"source {uri}: Secrets Manager did not serve {label} "
                f"({code}, HTTP {status}) after {attempts} attempt(s)",
                source=uri,
            ) from None
        if code in ("InvalidParameterException", "ValidationException"):
            raise ConfigurationError(
                f"source {uri}: Secrets Manager rejected the request for {label} ({code}); "
                "check the secret id and the stage or version_id option",
                source=uri,
            ) from None
        if status in (401, 403):
            raise SourceAccessDeniedError(
                f"source {uri}: Secrets Manager refused {label} ({code}, HTTP {status})",
                source=uri,
            ) from None
        raise SourceError(
            f"source {uri}: Secrets Manager refused {label} ({code}, HTTP {status})", source=uri
        ) from None

    def _raise_botocore_error(self, client: Any, exc: Exception) -> NoReturn:
        import botocore.exceptions as bce

        uri = self.source.uri
        label = self._label(client)
        if isinstance(exc, (bce.NoCredentialsError, bce.PartialCredentialsError)):
            raise SourceAuthenticationError(
                f"source {uri}: no AWS credentials found for {label}; the standard chain "
                "looked at AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE and the "
                "shared config files, SSO, and the container or instance role",
                source=uri,
            ) from None
        if isinstance(
            exc,
            (
                bce.CredentialRetrievalError,
                bce.TokenRetrievalError,
                bce.SSOTokenLoadError,
                bce.UnauthorizedSSOTokenError,
            ),
        ):
            raise SourceAuthenticationError(
                f"source {uri}: getting AWS credentials for {label} failed ({type(exc).__name__})",
                source=uri,
            ) from None
        endpoint = _host(client.meta.endpoint_url)
        if isinstance(exc, (bce.ConnectTimeoutError, bce.ReadTimeoutError)):
            raise SourceUnavailableError(
                f"source {uri}: {label} timed out at {endpoint} after {MAX_ATTEMPTS} "
                f"attempt(s) (connect timeout {self.connect_timeout:g} s, "
                f"read timeout {self.read_timeout:g} s)",
                source=uri,
            ) from None
        if isinstance(exc, (bce.EndpointConnectionError, bce.ConnectionError)):
            raise SourceUnavailableError(
                f"source {uri}: could not connect to Secrets Manager at {endpoint} for "
                f"{label} ({type(exc).__name__})",
                source=uri,
            ) from None
        if isinstance(exc, bce.ParamValidationError):
            raise ConfigurationError(
                f"source {uri}: invalid request for {label}; check the secret id and options",
                source=uri,
            ) from None
        raise SourceUnavailableError(
            f"source {uri}: reading {label} failed ({type(exc).__name__})", source=uri
        ) from None

    def close(self) -> None:
        """Close the boto3 client's connection pool, if one was created."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()


def decode_response(
    uri: str, secret_id: str, region: str | None, field: str | None, response: Mapping[str, Any]
) -> Mapping[str, object]:
    """The raw key/values of a ``GetSecretValue`` response (boto3's or the extension's)."""
    return secret_values(
        uri=uri,
        label=where(secret_id, region),
        secret_string=response.get("SecretString"),
        secret_binary=response.get("SecretBinary"),
        field=field,
    )


def _error_code(error: Mapping[str, Any]) -> str:
    """The error code; from an XML error body when the endpoint sent one to a JSON client.

    Some endpoints (moto's server, proxies) answer IAM failures with an XML document that
    botocore's JSON parser cannot read, leaving the HTTP status as the code. Only a
    ``<Code>`` word is taken from it; the rest of the text is never used.
    """
    code = str(error.get("Code") or "unknown")
    if code.isdigit():
        found = _XML_CODE.search(str(error.get("Message") or ""))
        if found:
            return found.group(1)
    return code


def _host(endpoint_url: str | None) -> str:
    """Scheme, host and port only: an endpoint URL could carry user info."""
    if not endpoint_url:
        return "the default endpoint"
    parts = urlsplit(endpoint_url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"
