"""``aws-sm:NAME_OR_ARN``: a secret read from AWS Secrets Manager with boto3.

boto3 is imported on the first fetch, never when this module is imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bandwidth_credentials import (
    ConfigurationError,
    CredentialsError,
    Fetched,
    Provider,
    Source,
    SourceAccessDeniedError,
    SourceError,
    SourceNotFoundError,
)
from bandwidth_credentials.plugin import ClientHolder

from ._boto import (
    CLIENT_OPTIONS,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    MAX_ATTEMPTS,
    BotoClient,
    Budget,
    ClientSettings,
    Failure,
    call,
    common_error,
    new_client,
)
from ._secret import (
    arn_region,
    field_option,
    secret_id_of,
    secret_values,
    version_selector,
    where,
)

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_READ_TIMEOUT",
    "MAX_ATTEMPTS",
    "SecretsManagerProvider",
]

_DENIED = frozenset({"AccessDeniedException", "AccessDenied"})


class SecretsManagerProvider(BotoClient, Provider):
    """Reads one secret with ``GetSecretValue`` through the standard AWS credential chain.

    URI: ``aws-sm:NAME_OR_ARN``, for example ``aws-sm:bandwidth/prod`` or
    ``aws-sm:arn:aws:secretsmanager:us-east-1:123456789012:secret:bandwidth/prod-AbCdEf``.

    Options:

    - ``stage`` (default ``AWSCURRENT``) or ``version_id``: which version to read.
    - ``region``: else the region inside an ARN, else ``AWS_REGION``, else the SDK's own
      resolution (``AWS_DEFAULT_REGION``, the profile's config).
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
    options = frozenset({"stage", "version_id", "field"}) | CLIENT_OPTIONS
    default_ttl = 300.0

    def __init__(self, source: Source) -> None:
        super().__init__(source)
        self.secret_id = secret_id_of(source)
        self.stage, self.version_id = version_selector(source)
        self.field = field_option(source)
        self.settings = ClientSettings.of(source, "secretsmanager", arn_region(self.secret_id))
        self.worst_case = self.settings.worst_case
        self.region = self.settings.region
        self._budget = Budget()
        self._clients: ClientHolder[Any] = ClientHolder(
            lambda: new_client(
                self.settings, self.source.uri, f"secret {self.secret_id!r}", self._budget
            )
        )

    def _read(self, client: Any) -> Fetched:
        """Call ``GetSecretValue`` and return the secret's keys and ``VersionId``."""
        request: dict[str, str] = {"SecretId": self.secret_id}
        if self.version_id is not None:
            request["VersionId"] = self.version_id
        elif self.stage is not None:
            request["VersionStage"] = self.stage
        response, failure = call(client.get_secret_value, **request)
        if failure is not None:
            raise self._error(client, failure)
        region = client.meta.region_name
        version = response.get("VersionId")
        values = decode_response(self.source.uri, self.secret_id, region, self.field, response)
        return Fetched(values=values, version=str(version) if version else None)

    def store_problem(self) -> str | None:
        """Why this source cannot be written (a pinned version or stage), or None."""
        from ._store import store_problem

        return store_problem(self)

    def store(self, values: Mapping[str, object], expected_version: str | None) -> str | None:
        """Write ``values`` as a new version and move AWSCURRENT to it from
        ``expected_version`` (a checked move; see :mod:`._store`); returns the new VersionId.

        >>> new_values = {**fetched.values, "client_secret": new}     # doctest: +SKIP
        >>> provider.store(new_values, fetched.version)              # doctest: +SKIP
        'b2c3...'
        """
        from ._store import store_secret

        return store_secret(self, values, expected_version)

    def _label(self, client: Any) -> str:
        label = where(self.secret_id, client.meta.region_name)
        if self.version_id is not None:
            return f"{label}, version {self.version_id}"
        return f"{label}, stage {self.stage}"

    def _error(self, client: Any, failure: Failure) -> CredentialsError:
        uri = self.source.uri
        label = self._label(client)
        code, answer = failure.code, failure.answer
        shared = common_error(
            failure,
            uri=uri,
            label=label,
            service_title="Secrets Manager",
            settings=self.settings,
            endpoint_url=client.meta.endpoint_url,
        )
        if shared is not None:
            return shared
        if code == "ResourceNotFoundException":
            return SourceNotFoundError(f"source {uri}: {label} does not exist ({code})", source=uri)
        if code in _DENIED:
            return SourceAccessDeniedError(
                f"source {uri}: access to {label} was denied ({code}); the identity needs "
                "secretsmanager:GetSecretValue on this secret",
                source=uri,
            )
        if code == "DecryptionFailure":
            return SourceAccessDeniedError(
                f"source {uri}: {label} could not be decrypted ({code}); the identity needs "
                "kms:Decrypt on the secret's KMS key (a customer-managed key must allow it "
                "in its key policy)",
                source=uri,
            )
        if code == "InvalidRequestException":
            return SourceNotFoundError(
                f"source {uri}: {label} cannot be read in its current state ({code}); "
                "it may be scheduled for deletion (restore it with restore-secret)",
                source=uri,
            )
        if code in ("InvalidParameterException", "ValidationException"):
            return ConfigurationError(
                f"source {uri}: Secrets Manager rejected the request for {label} ({code}); "
                "check the secret id and the stage or version_id option",
                source=uri,
            )
        if failure.status in (401, 403):
            return SourceAccessDeniedError(
                f"source {uri}: Secrets Manager refused {label} ({answer})", source=uri
            )
        return SourceError(f"source {uri}: Secrets Manager refused {label} ({answer})", source=uri)


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
