"""``aws-ssm:NAME`` and ``aws-ssm:/PATH/``: AWS Systems Manager Parameter Store with boto3.

boto3 is imported on the first fetch, never when this module is imported.
"""

from __future__ import annotations

from typing import Any

from bandwidth_credentials import (
    ConfigurationError,
    CredentialsError,
    Fetched,
    Provider,
    Source,
    SourceAccessDeniedError,
    SourceError,
    SourceFormatError,
    SourceNotFoundError,
)
from bandwidth_credentials.plugin import ClientHolder

from ._boto import (
    CLIENT_OPTIONS,
    BotoClient,
    Budget,
    ClientSettings,
    Failure,
    call,
    common_error,
    new_client,
)
from ._parameter import arn_region, parameter_target, parameter_values, path_values

__all__ = ["MAX_PAGES", "PAGE_SIZE", "ParameterStoreProvider"]

#: ``GetParametersByPath`` returns at most 10 parameters a page (its ``MaxResults`` limit).
PAGE_SIZE = 10
#: Pages read under one path at most (1000 parameters): a bound on one fetch's work.
MAX_PAGES = 100

_NOT_FOUND = frozenset({"ParameterNotFound", "ParameterVersionNotFound"})
_DENIED = frozenset({"AccessDeniedException", "AccessDenied"})


class ParameterStoreProvider(BotoClient, Provider):
    """Reads one parameter, or every parameter under a path, through the standard AWS chain.

    URIs:

    - ``aws-ssm:/bandwidth/prod/credentials`` (a name or a parameter ARN): one parameter
      with ``GetParameter``; its value is a JSON object of Bandwidth fields, or with
      ``?field=NAME`` the value of that one field.
    - ``aws-ssm:/bandwidth/prod/`` (a trailing ``/``): every parameter under the path,
      recursively, with ``GetParametersByPath`` (paginated, at most
      ``MAX_PAGES * PAGE_SIZE`` parameters); each parameter's last path segment is its
      key, for example ``/bandwidth/prod/BW_PASSWORD`` gives ``BW_PASSWORD``.

    ``SecureString`` values are decrypted (``WithDecryption``). Options: ``version=N`` or
    ``label=NAME`` (a single parameter, sent as ``name:N`` / ``name:NAME`` as
    ``GetParameter`` defines), ``field``, and as for ``aws-sm``: ``region`` (else the
    ARN's, else ``AWS_REGION``, else boto3's own resolution), ``profile``,
    ``connect_timeout`` and ``read_timeout`` (seconds per attempt, defaults 2 and 5);
    botocore's standard retry mode, 3 attempts.

    ``Fetched.version`` is the parameter's ``Version``; for a path it is
    ``LARGEST:COUNT:DIGEST`` (the largest ``Version``, the number of parameters, and a
    digest of the names and versions), so a deleted parameter is a change too.

    Errors name the parameter (or path) and region, never a value:
    ``ParameterNotFound``/``ParameterVersionNotFound`` and an empty path are
    :class:`SourceNotFoundError`; ``AccessDeniedException`` (also when KMS refused
    ``kms:Decrypt``) and ``InvalidKeyId`` are :class:`SourceAccessDeniedError`;
    throttling, 5xx and timeouts are :class:`SourceUnavailableError`; a
    ``ValidationException`` (an invalid name or path) is a :class:`ConfigurationError`,
    since what is wrong is the configured URI, not what the store holds.

    Example: ``Resolver(["aws-ssm:/bandwidth/prod/?region=us-east-1"])``.
    """

    scheme = "aws-ssm"
    options = frozenset({"version", "label", "field"}) | CLIENT_OPTIONS
    default_ttl = 300.0

    def __init__(self, source: Source) -> None:
        super().__init__(source)
        self.target = parameter_target(source, source.target, "aws-ssm:")
        self.settings = ClientSettings.of(source, "ssm", arn_region(self.target.name))
        self.worst_case = self.settings.worst_case
        self.region = self.settings.region
        self._budget = Budget()
        self._clients: ClientHolder[Any] = ClientHolder(
            lambda: new_client(self.settings, self.source.uri, self.target.what, self._budget)
        )

    def _read(self, client: Any) -> Fetched:
        """Read the parameter, or every parameter under the path (every page within the
        fetch's one total deadline)."""
        label = self.target.describe(client.meta.region_name)
        if self.target.is_path:
            return self._fetch_path(client, label)
        response, failure = call(
            client.get_parameter, Name=self.target.selector_name, WithDecryption=True
        )
        if failure is not None:
            raise self._error(client, label, failure)
        values, version = parameter_values(
            self.source.uri, self.target, label, response.get("Parameter")
        )
        return Fetched(values=values, version=version)

    def _fetch_path(self, client: Any, label: str) -> Fetched:
        uri = self.source.uri
        parameters: list[Any] = []
        request: dict[str, Any] = {
            "Path": self.target.name,
            "Recursive": True,
            "WithDecryption": True,
            "MaxResults": PAGE_SIZE,
        }
        for _ in range(MAX_PAGES):
            response, failure = call(client.get_parameters_by_path, **request)
            if failure is not None:
                raise self._error(client, label, failure)
            parameters.extend(response.get("Parameters") or ())
            next_token = response.get("NextToken")
            if not next_token:
                break
            request["NextToken"] = next_token
        else:
            raise SourceFormatError(
                f"source {uri}: {label} hold more than {MAX_PAGES * PAGE_SIZE} parameters; "
                "point the source at a narrower path",
                source=uri,
            )
        if not parameters:
            raise SourceNotFoundError(
                f"source {uri}: there are no {label} (or the identity may not list them: "
                "ssm:GetParametersByPath on the path is needed)",
                source=uri,
            )
        values, version = path_values(uri, label, parameters)
        return Fetched(values=values, version=version)

    def _error(self, client: Any, label: str, failure: Failure) -> CredentialsError:
        uri = self.source.uri
        code, answer = failure.code, failure.answer
        action = "ssm:GetParametersByPath" if self.target.is_path else "ssm:GetParameter"
        shared = common_error(
            failure,
            uri=uri,
            label=label,
            service_title="Parameter Store",
            settings=self.settings,
            endpoint_url=client.meta.endpoint_url,
        )
        if shared is not None:
            return shared
        if code in _NOT_FOUND:
            return SourceNotFoundError(f"source {uri}: {label} does not exist ({code})", source=uri)
        if code in _DENIED and failure.mentions_kms:
            return SourceAccessDeniedError(
                f"source {uri}: {label} could not be decrypted ({code}): KMS refused; the "
                "identity needs kms:Decrypt on the parameter's KMS key (and a "
                "customer-managed key must allow it in its key policy)",
                source=uri,
            )
        if code in _DENIED:
            return SourceAccessDeniedError(
                f"source {uri}: access to {label} was denied ({code}); the identity needs "
                f"{action} on it, and kms:Decrypt on the key of a SecureString",
                source=uri,
            )
        if code == "InvalidKeyId":
            return SourceAccessDeniedError(
                f"source {uri}: the KMS key of {label} cannot be used ({code}); it may be "
                "disabled or pending deletion, or not usable by this identity (kms:Decrypt)",
                source=uri,
            )
        if code in ("ValidationException", "InvalidParameters", "InvalidFilterValue"):
            return ConfigurationError(
                f"source {uri}: Parameter Store rejected the request for {label} ({code}); "
                "check the name or path (a path starts with '/'; names use letters, digits "
                "and . - _ /) and the version or label option",
                source=uri,
            )
        if failure.status in (401, 403):
            return SourceAccessDeniedError(
                f"source {uri}: Parameter Store refused {label} ({answer})", source=uri
            )
        return SourceError(f"source {uri}: Parameter Store refused {label} ({answer})", source=uri)
