"""``aws-lambda-ext:NAME_OR_ARN``: one Secrets Manager secret through the Lambda extension.

``GET /secretsmanager/get?secretId=...`` (plus ``versionStage`` or ``versionId``) answers
the ``GetSecretValue`` JSON ("Use AWS Secrets Manager secrets in AWS Lambda functions",
Secrets Manager User Guide). Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlencode  # the core's bounded client loads it anyway

from bandwidth_credentials import (
    ConfigurationError,
    Fetched,
    Provider,
    Source,
    SourceAccessDeniedError,
    SourceError,
    SourceNotFoundError,
)
from bandwidth_credentials.plugin import Any, text_option  # Any: not typing's: see _extension.py

from ._extension import Refusal, region_for_messages
from ._secret import arn_region, field_option, secret_id_of, secret_values, version_selector, where

_SECRET_CODES = (
    "ResourceNotFoundException",
    "AccessDeniedException",
    "DecryptionFailure",
    "InvalidRequestException",
    "InvalidParameterException",
    "ThrottlingException",
    "InternalServiceError",
    "AccessDenied",
)


class SecretRequest:
    """A Secrets Manager secret through ``/secretsmanager/get``."""

    sdk_scheme = "aws-sm"
    answer_name = "GetSecretValue"
    codes: tuple[str, ...] = _SECRET_CODES

    def __init__(self, source: Source) -> None:
        self.source = source
        for name in ("version", "label"):
            if name in source.options:
                raise ConfigurationError(
                    f"source {source.uri}: option {name!r} is for parameters "
                    f"(aws-lambda-ext:ssm:NAME); a secret takes 'stage' or 'version_id'",
                    source=source.uri,
                )
        self.secret_id = secret_id_of(source)
        self.stage, self.version_id = version_selector(source)
        self.field = field_option(source)
        self._region_option = text_option(source, "region")

    @property
    def region(self) -> str | None:
        return region_for_messages(self._region_option, arn_region(self.secret_id))

    def label(self) -> str:
        label = where(self.secret_id, self.region)
        if self.version_id is not None:
            return f"{label}, version {self.version_id}"
        return f"{label}, stage {self.stage}"

    def path(self) -> str:
        query = {"secretId": self.secret_id}
        if self.version_id is not None:
            query["versionId"] = self.version_id
        elif self.stage is not None:
            query["versionStage"] = self.stage
        return "/secretsmanager/get?" + urlencode(query, quote_via=quote)

    def error(self, refusal: Refusal) -> SourceError:
        """The error for a refusal that is the secret's own (not found, denied, ...)."""
        uri, label = self.source.uri, self.label()
        status, code, answer = refusal.status, refusal.code, refusal.shown
        if code == "ResourceNotFoundException" or status == 404:
            return SourceNotFoundError(
                f"source {uri}: {label} does not exist ({answer})", source=uri
            )
        if code in ("AccessDeniedException", "AccessDenied") or status == 403:
            return SourceAccessDeniedError(
                f"source {uri}: access to {label} was denied ({answer}); the function's role "
                "needs secretsmanager:GetSecretValue on this secret",
                source=uri,
            )
        if code == "DecryptionFailure":
            return SourceAccessDeniedError(
                f"source {uri}: {label} could not be decrypted ({answer}); the function's role "
                "needs kms:Decrypt on the secret's KMS key",
                source=uri,
            )
        if code == "InvalidRequestException":
            return SourceNotFoundError(
                f"source {uri}: {label} cannot be read in its current state ({answer}); "
                "it may be scheduled for deletion",
                source=uri,
            )
        if status == 400:
            # The extension answers most Secrets Manager failures with a bare 400 and logs
            # the cause to the function's CloudWatch log stream.
            return SourceNotFoundError(
                f"source {uri}: the Lambda extension could not read {label} ({answer}): the "
                "secret, stage or version may not exist, or the function's role may not read "
                "it; the extension logs the cause to the function's CloudWatch log stream",
                source=uri,
            )
        return SourceError(
            f"source {uri}: the Lambda extension answered {answer} for {label}", source=uri
        )

    def decode(self, document: Mapping[str, Any]) -> Fetched:
        values = secret_values(
            uri=self.source.uri,
            label=where(self.secret_id, self.region),
            secret_string=document.get("SecretString"),
            secret_binary=document.get("SecretBinary"),
            field=self.field,
        )
        version = document.get("VersionId")
        return Fetched(values=values, version=str(version) if version else None)

    def sdk_provider(self) -> Provider:
        from .secrets_manager import SecretsManagerProvider

        passed = ("stage", "version_id", "field", "region")
        options = {k: v for k, v in self.source.options.items() if k in passed}
        # Same URI, so errors and provenance name the source as configured.
        return SecretsManagerProvider(
            Source(uri=self.source.uri, scheme="aws-sm", target=self.source.target, options=options)
        )
