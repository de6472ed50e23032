"""``aws-lambda-ext:NAME_OR_ARN`` and ``aws-lambda-ext:ssm:NAME``: a secret or a parameter
read from the AWS Parameters and Secrets Lambda Extension's local HTTP endpoint.

The request is a plain ``GET`` with the core's bounded client (one deadline per attempt
from connect to the last byte, the answer capped at 1 MiB): this path never imports boto3
or botocore (the point of the extension is a cheap cold start), except with
``?fallback=sdk`` when no extension answers. Every Lambda cold start that uses the
extension pays for this path's imports in its billed init time, so it loads no
``logging``, ``typing``, ``threading``, ``dataclasses`` or ``hashlib`` either: records go
through the core's lazy logger, locks come from ``_thread``, and what only an annotation
or a rarer path needs is imported there (the plugin's import-budget test pins the list).
"""

from __future__ import annotations

import _thread  # threading's lock without importing threading (a cold-start cost)
import os

from bandwidth_credentials import (
    ConfigurationError,
    Fetched,
    Provider,
    Source,
    SourceFormatError,
    SourceUnavailableError,
)
from bandwidth_credentials.plugin import logger, text_option

from ._extension import (
    DEFAULT_PORT,
    DEFAULT_TIMEOUT,
    DEFAULT_WAIT,
    PORT_ENV,
    TOKEN_ENV,
    TOKEN_HEADER,
    ExtensionRequest,
    NoAnswer,
    classify,
    get,
    json_document,
    missing_token_error,
    port_of,
)
from ._secret import positive_number

__all__ = [
    "DEFAULT_PORT",
    "PORT_ENV",
    "SSM_PREFIX",
    "TOKEN_HEADER",
    "LambdaExtensionProvider",
]

#: A target starting with this names a Parameter Store parameter, not a secret.
SSM_PREFIX = "ssm:"


class LambdaExtensionProvider(Provider):
    """Reads a Secrets Manager secret or a Parameter Store parameter through the extension.

    URIs:

    - ``aws-lambda-ext:NAME_OR_ARN`` (a secret): ``GET /secretsmanager/get?secretId=...``
      (plus ``versionStage`` or ``versionId``); the answer is the ``GetSecretValue``
      JSON, read exactly as ``aws-sm`` reads it.
    - ``aws-lambda-ext:ssm:NAME_OR_ARN`` (one parameter):
      ``GET /systemsmanager/parameters/get?name=...&withDecryption=true`` (plus
      ``version`` or ``label``); the answer is the ``GetParameter`` JSON
      (``{"Parameter": {...}}``), read exactly as ``aws-ssm`` reads one parameter. The
      extension serves single parameters only: a path is a :class:`ConfigurationError`.

    Every request carries the header ``X-Aws-Parameters-Secrets-Token`` set to
    ``AWS_SESSION_TOKEN`` and goes to ``127.0.0.1:PORT``, ``PORT`` being
    ``PARAMETERS_SECRETS_EXTENSION_HTTP_PORT`` (default 2773).

    Options:

    - secrets: ``stage`` (default ``AWSCURRENT``) or ``version_id``; parameters:
      ``version`` or ``label``; both: ``field`` as for ``aws-sm``/``aws-ssm``.
    - ``wait``: seconds to keep retrying while the extension is not ready yet, which
      happens in the first moments of a cold start (default 2).
    - ``timeout``: seconds per request (default 5).
    - ``fallback=sdk``: when no extension answers (or ``AWS_SESSION_TOKEN`` is unset),
      read with boto3 as ``aws-sm``/``aws-ssm`` would. Off by default: a missing layer
      is an error rather than a slower cold start nobody notices.
    - ``region``: only named in messages and used by the fallback; defaults to the
      ARN's region, then ``AWS_REGION``.
    """

    scheme = "aws-lambda-ext"
    read_only_reason = "the Lambda extension is a read-only cache; rotate the aws-sm: secret"
    options = frozenset(
        {
            "stage",
            "version_id",
            "version",
            "label",
            "field",
            "fallback",
            "wait",
            "timeout",
            "region",
        }
    )
    default_ttl = 300.0

    def __init__(self, source: Source) -> None:
        super().__init__(source)
        target = source.target.strip()
        if target.startswith(SSM_PREFIX):
            from ._extension_ssm import ParameterRequest

            self.request: ExtensionRequest = ParameterRequest(source, target[len(SSM_PREFIX) :])
        else:
            from ._extension_secret import SecretRequest

            self.request = SecretRequest(source)
        fallback = (text_option(source, "fallback") or "").lower()
        if fallback not in ("", "sdk", "none"):
            raise ConfigurationError(
                f"source {source.uri}: option 'fallback' must be sdk or none", source=source.uri
            )
        self.fallback = fallback == "sdk"
        self.wait = source.number("wait", DEFAULT_WAIT) or 0.0
        self.timeout = positive_number(source, "timeout", DEFAULT_TIMEOUT)
        # Retrying while the extension starts, then one request; the SDK fallback (its
        # default timeouts) after that.
        self.worst_case = self.wait + self.timeout
        if self.fallback:
            from ._boto import sdk_default_worst_case

            self.worst_case += sdk_default_worst_case()
        self._lock = _thread.allocate_lock()
        self._sdk: Provider | None = None

    @property
    def region(self) -> str | None:
        """The region messages name: the option, the ARN's, or ``AWS_REGION``."""
        return self.request.region

    def _port(self) -> int:
        return port_of(self.source.uri)

    def fetch(self) -> Fetched:
        """Ask the extension now (retrying briefly while it starts)."""
        uri = self.source.uri
        port = self._port()
        token = os.environ.get(TOKEN_ENV)
        if not token:
            if self.fallback:
                logger.info(
                    "source %s: %s is not set, so no Lambda extension can be asked; "
                    "reading with the AWS SDK",
                    uri,
                    TOKEN_ENV,
                )
                return self._sdk_provider().fetch()
            raise missing_token_error(uri, self.request.sdk_scheme)
        label = self.request.label()
        unanswered = None
        try:
            answer = get(
                uri=uri,
                label=label,
                port=port,
                path=self.request.path(),
                token=token,
                wait=self.wait,
                timeout=self.timeout,
            )
        except NoAnswer as exc:
            unanswered = exc.reason
        if unanswered is not None:
            if self.fallback:
                logger.info(
                    "source %s: no Lambda extension answered on port %d (%s); "
                    "reading with the AWS SDK",
                    uri,
                    port,
                    unanswered,
                )
                return self._sdk_provider().fetch()
            raise SourceUnavailableError(
                f"source {uri}: the Lambda extension did not answer on port {port} "
                f"({unanswered}) for {label}; is the AWS Parameters and Secrets "
                "Lambda Extension layer attached? (or add ?fallback=sdk)",
                source=uri,
            )
        if answer.status != 200:
            raise classify(answer, self.request, uri=uri, port=port)
        document = json_document(answer.body)
        if document is None:
            raise SourceFormatError(
                f"source {uri}: the Lambda extension's answer for {label} is not "
                f"{self.request.answer_name} JSON",
                source=uri,
            )
        return self.request.decode(document)

    def _sdk_provider(self) -> Provider:
        with self._lock:
            if self._sdk is None:
                self._sdk = self.request.sdk_provider()
            return self._sdk

    def after_fork(self) -> None:
        """In a forked child: a new lock and no SDK fallback client of the parent's (left
        open for the parent); every request to the extension has its own connection."""
        self._lock = _thread.allocate_lock()
        self._sdk = None

    def close(self) -> None:
        """Close the SDK fallback's client, if it was used."""
        with self._lock:
            sdk, self._sdk = self._sdk, None
        if sdk is not None:
            sdk.close()
