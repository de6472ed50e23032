"""``aws-lambda-ext:ssm:NAME``: one Parameter Store parameter through the Lambda extension.

``GET /systemsmanager/parameters/get?name=NAME&withDecryption=true`` (plus ``version=N``
or ``label=NAME``) answers the ``GetParameter`` JSON, ``{"Parameter": {...}}``
("Using Parameter Store parameters in AWS Lambda functions", AWS Systems Manager User
Guide). Standard library only.
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
from ._parameter import arn_region, parameter_target, parameter_values

_CODES = (
    "ParameterVersionNotFound",
    "ParameterNotFound",
    "AccessDeniedException",
    "InvalidKeyId",
    "ValidationException",
    "ThrottlingException",
    "InternalServerError",
)
_PASSED_TO_SDK = ("version", "label", "field", "region")


class ParameterRequest:
    """One parameter through ``/systemsmanager/parameters/get``."""

    sdk_scheme = "aws-ssm"
    answer_name = "GetParameter"
    codes: tuple[str, ...] = _CODES

    def __init__(self, source: Source, name: str) -> None:
        uri = source.uri
        self.source = source
        for option in ("stage", "version_id"):
            if option in source.options:
                raise ConfigurationError(
                    f"source {uri}: option {option!r} is for secrets; a parameter takes "
                    "'version' or 'label'",
                    source=uri,
                )
        self.target = parameter_target(source, name, "aws-lambda-ext:ssm:")
        if self.target.is_path:
            raise ConfigurationError(
                f"source {uri}: the Lambda extension serves single parameters only, not a "
                f"path; read every parameter under {self.target.name!r} with "
                f"aws-ssm:{self.target.name} (GetParametersByPath through boto3)",
                source=uri,
            )
        self._region_option = text_option(source, "region")

    @property
    def region(self) -> str | None:
        return region_for_messages(self._region_option, arn_region(self.target.name))

    def label(self) -> str:
        return self.target.describe(self.region)

    def path(self) -> str:
        query = {"name": self.target.name, "withDecryption": "true"}
        if self.target.version:
            query["version"] = self.target.version
        elif self.target.label:
            query["label"] = self.target.label
        return "/systemsmanager/parameters/get?" + urlencode(query, quote_via=quote)

    def error(self, refusal: Refusal) -> SourceError:
        """The error for a refusal that is the parameter's own (not found, denied, ...)."""
        uri, label = self.source.uri, self.label()
        status, code, answer = refusal.status, refusal.code, refusal.shown
        if code in ("ParameterNotFound", "ParameterVersionNotFound") or status == 404:
            return SourceNotFoundError(
                f"source {uri}: {label} does not exist ({answer})", source=uri
            )
        if code in ("AccessDeniedException", "InvalidKeyId") or status == 403:
            return SourceAccessDeniedError(
                f"source {uri}: {label} could not be read ({answer}); the function's role "
                "needs ssm:GetParameter on it, and kms:Decrypt on the key of a SecureString",
                source=uri,
            )
        if status == 400:
            # The extension answers every Parameter Store failure with the same bare 400
            # and logs the cause to the function's CloudWatch log stream.
            return SourceNotFoundError(
                f"source {uri}: the Lambda extension could not read {label} ({answer}). "
                "Likely causes: the parameter, version or label does not exist; the name is "
                "wrong (names with a hierarchy start with '/'); the function's role lacks "
                "ssm:GetParameter on it; or KMS refused kms:Decrypt for a SecureString. The "
                "extension logs the cause to the function's CloudWatch log stream",
                source=uri,
            )
        return SourceError(
            f"source {uri}: the Lambda extension answered {answer} for {label}", source=uri
        )

    def decode(self, document: Mapping[str, Any]) -> Fetched:
        values, version = parameter_values(
            self.source.uri, self.target, self.label(), document.get("Parameter")
        )
        return Fetched(values=values, version=version)

    def sdk_provider(self) -> Provider:
        from .parameter_store import ParameterStoreProvider

        options = {k: v for k, v in self.source.options.items() if k in _PASSED_TO_SDK}
        # Same URI, so errors and provenance name the source as configured.
        return ParameterStoreProvider(
            Source(uri=self.source.uri, scheme="aws-ssm", target=self.target.name, options=options)
        )
