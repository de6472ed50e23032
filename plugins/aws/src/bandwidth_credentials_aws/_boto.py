"""What ``aws-sm`` and ``aws-ssm`` share: options, the boto3 client, and botocore's errors.

boto3 and botocore are imported inside the functions, on the first fetch, never when
this module is imported.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bandwidth_credentials import (
    ConfigurationError,
    CredentialsError,
    Fetched,
    Source,
    SourceAuthenticationError,
    SourceFormatError,
    SourceUnavailableError,
)
from bandwidth_credentials.plugin import ClientHolder, Deadline, positive_number, text_option

#: botocore's standard retry mode: attempts in all, the first included.
MAX_ATTEMPTS = 3
#: An attempt's whole exchange (connect, TLS, request, every byte of the answer) must
#: finish within ``connect_timeout + read_timeout`` seconds.
DEFAULT_CONNECT_TIMEOUT = 2.0
DEFAULT_READ_TIMEOUT = 5.0
#: The longest of botocore's standard-mode backoffs after attempts 1 and 2, summed
#: (a random share of 1 s, then of 2 s).
MAX_BACKOFF_TOTAL = 3.0
#: The options every boto3-backed scheme accepts.
CLIENT_OPTIONS = frozenset({"region", "profile", "connect_timeout", "read_timeout"})

# An AWS error code as the AWS error shape documents it; anything else is not shown.
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9.]{0,63}")
_XML_CODE = re.compile(r"<Code>([A-Za-z][A-Za-z0-9.]{0,63})</Code>")
# Codes meaning the request's credentials themselves were refused.
AUTHENTICATION_CODES = frozenset(
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
# Throttling and the services' own server-side errors: retried, then unavailable.
UNAVAILABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "InternalServiceError",  # Secrets Manager's name
        "InternalServerError",  # Parameter Store's name
        "ServiceUnavailable",
    }
)


def region_of(option: str | None, arn_region: str | None) -> str | None:
    """``?region=``, else the ARN's region, else ``AWS_REGION``, else ``None`` (boto3 decides).

    Lambda, ECS and most CI set ``AWS_REGION``; botocore itself reads only
    ``AWS_DEFAULT_REGION`` and the shared config, so ``AWS_REGION`` is applied here.
    ``option`` is the value :func:`~bandwidth_credentials.plugin.text_option` checked.
    """
    return option or arn_region or os.environ.get("AWS_REGION", "").strip() or None


class BotoClient:
    """What ``aws-sm`` and ``aws-ssm`` share around their boto3 client: the kit's
    :class:`~bandwidth_credentials.plugin.ClientHolder` (lock, lazy build, close, after
    fork) and the total deadline of one fetch, which the bounded transport reads."""

    _clients: ClientHolder[Any]
    _budget: Budget
    settings: ClientSettings

    def fetch(self) -> Fetched:
        """Read the store now: every call, page, attempt and backoff of this fetch ends
        within one total deadline, :attr:`ClientSettings.worst_case` seconds."""
        self._budget.deadline = Deadline(self.settings.worst_case)
        try:
            return self._read(self.client())
        finally:
            self._budget.deadline = None

    def _read(self, client: Any) -> Fetched:
        raise NotImplementedError

    def client(self) -> Any:
        """The boto3 client, created (and boto3 imported) on first use."""
        return self._clients.get()

    def close(self) -> None:
        """Close the boto3 client's connection pool, if one was created."""
        self._clients.close()

    def after_fork(self) -> None:
        """In a forked child: a new lock and no client (the parent's lock may be held by
        a call in flight). The parent's client is left open for the parent; the child
        builds its own on its next fetch."""
        self._clients.after_fork()
        self._budget.deadline = None


class Budget:
    """The deadline of the fetch in progress, read by the transport before each attempt."""

    __slots__ = ("deadline",)

    def __init__(self) -> None:
        self.deadline: Deadline | None = None


def check_endpoints(uri: str) -> None:
    """Refuse an endpoint URL carrying user info (``http://user:PASSWORD@host``) before any
    client is built: botocore would write it into its DEBUG records (the endpoint provider
    and the request URL). Looks at ``AWS_ENDPOINT_URL`` and every
    ``AWS_ENDPOINT_URL_<SERVICE>`` variable (the sources take no endpoint option).
    Raises :class:`ConfigurationError` naming the variable, never its value.
    """
    named = [(name, value) for name, value in os.environ.items() if _is_endpoint_name(name)]
    for name, value in sorted(named):
        if _has_user_info(value):
            raise ConfigurationError(
                f"source {uri}: {name} carries user info (user:password@ before the host); "
                "AWS endpoints take no credentials in the URL: remove it",
                source=uri,
            )


def _is_endpoint_name(name: str) -> bool:
    upper = name.upper()
    return upper == "AWS_ENDPOINT_URL" or upper.startswith("AWS_ENDPOINT_URL_")


def _has_user_info(url: str) -> bool:
    authority = url.strip()
    if "://" in authority:
        authority = authority.split("://", 1)[1]
    authority = authority.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return "@" in authority


@dataclass(frozen=True)
class ClientSettings:
    """The client options of a source URI, parsed and checked once."""

    service: str  # boto3's service name: "secretsmanager", "ssm"
    region: str | None
    profile: str | None
    connect_timeout: float
    read_timeout: float

    @property
    def attempt_timeout(self) -> float:
        """Seconds one attempt may take, from connect to the answer's last byte."""
        return self.connect_timeout + self.read_timeout

    @property
    def worst_case(self) -> float:
        """Seconds a call may take in all: every attempt and the backoffs between them."""
        return MAX_ATTEMPTS * self.attempt_timeout + MAX_BACKOFF_TOTAL

    @classmethod
    def of(cls, source: Source, service: str, arn_region: str | None) -> ClientSettings:
        """The settings of ``source``; an endpoint URL with user info is refused here."""
        check_endpoints(source.uri)
        return cls(
            service=service,
            region=region_of(text_option(source, "region"), arn_region),
            profile=text_option(source, "profile"),
            connect_timeout=positive_number(source, "connect_timeout", DEFAULT_CONNECT_TIMEOUT),
            read_timeout=positive_number(source, "read_timeout", DEFAULT_READ_TIMEOUT),
        )


def sdk_default_worst_case() -> float:
    """:attr:`ClientSettings.worst_case` with the default timeouts (seconds)."""
    return MAX_ATTEMPTS * (DEFAULT_CONNECT_TIMEOUT + DEFAULT_READ_TIMEOUT) + MAX_BACKOFF_TOTAL


def new_client(settings: ClientSettings, uri: str, what: str, budget: Budget | None = None) -> Any:
    """A boto3 client with bounded timeouts and standard retries; ``what`` names the target.
    ``budget`` holds the deadline of the fetch in progress (every attempt ends by it).

    Raises :class:`ConfigurationError` for an unknown profile, when no region is known,
    or for an endpoint URL with user info: the environment's are checked again (it may
    have changed since the source was parsed), then the one botocore resolved from every
    place it reads (the shared config file's ``endpoint_url``, ``[services ...]``
    sections), before any request.
    """
    check_endpoints(uri)
    # Imported here: `import bandwidth_credentials_aws` and building a resolver must not
    # pay for boto3.
    import boto3
    import botocore.config
    import botocore.exceptions
    import botocore.session

    from . import _redact, _transport

    _redact.install()
    config = botocore.config.Config(
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
    )
    failure = None
    try:
        core = botocore.session.Session(profile=settings.profile)
        session = boto3.session.Session(botocore_session=core, region_name=settings.region)
        client = session.client(settings.service, config=config)
        cafile = _transport.default_ca_bundle(core.get_config_variable("ca_bundle"))
        # Every attempt goes through the bounded client (one deadline, a capped answer).
        client.meta.events.register(
            "before-send", _transport.handler(settings.attempt_timeout, cafile, budget)
        )
    except botocore.exceptions.ProfileNotFound:
        failure = "profile"
    except botocore.exceptions.NoRegionError:
        failure = "region"
    if failure is None:
        # The endpoint botocore resolved, whatever gave it (AWS_ENDPOINT_URL*, the shared
        # config file's endpoint_url, its [services ...] sections): checked before the
        # first request, whose DEBUG records would show it.
        if not _has_user_info(str(client.meta.endpoint_url or "")):
            return client
        client.close()
        raise ConfigurationError(
            f"source {uri}: the endpoint URL for {settings.service} carries user info "
            "(user:password@ before the host); it comes from the shared AWS config file "
            "(endpoint_url in the profile or its [services ...] section): AWS endpoints "
            "take no credentials in the URL, remove it",
            source=uri,
        )
    if failure == "profile":
        raise ConfigurationError(
            f"source {uri}: the AWS profile named by ?profile= is not in the shared AWS "
            "config files (aws configure list-profiles shows those that are)",
            source=uri,
        )
    raise ConfigurationError(
        f"source {uri}: no AWS region for {what}; add ?region=NAME, set AWS_REGION or "
        "AWS_DEFAULT_REGION, or give the full ARN",
        source=uri,
    )


@dataclass(frozen=True)
class Failure:
    """What is kept of a failed call: never botocore's message, which may quote the service.

    ``code`` is the AWS error code when it has the documented shape, else ``None``;
    ``error`` is botocore's exception class; ``mentions_kms`` tells whether the service's
    message named KMS (how Parameter Store reports a denied ``kms:Decrypt``).
    """

    error: type[BaseException]
    code: str | None = None
    status: int | None = None
    attempts: int = 1
    mentions_kms: bool = False
    retry_after: float | None = None

    @property
    def answer(self) -> str:
        """``AccessDeniedException, HTTP 400``: what the service said, as far as shown."""
        parts = [self.code or "unrecognised error code"]
        if self.status:
            parts.append(f"HTTP {self.status}")
        return ", ".join(parts)


def call(operation: Callable[..., Any], **request: Any) -> tuple[Any, Failure | None]:
    """Run one client operation; ``(response, None)`` or ``(None, Failure)``.

    Only botocore's own exceptions are caught; what is needed is copied out, so the
    library error is raised later with neither ``__cause__`` nor ``__context__``.
    """
    import botocore.exceptions

    from ._redact import signing_hidden

    try:
        with signing_hidden():
            return operation(**request), None
    except botocore.exceptions.ClientError as exc:
        failure = _client_failure(exc.response)
    except botocore.exceptions.BotoCoreError as exc:
        failure = Failure(error=type(exc))
    return None, failure


def _client_failure(response: Mapping[str, Any]) -> Failure:
    import time

    import botocore.exceptions

    from bandwidth_credentials import plugin as kit

    error = response.get("Error") or {}
    metadata = response.get("ResponseMetadata") or {}
    message = str(error.get("Message") or "")
    headers = metadata.get("HTTPHeaders") or {}
    return Failure(
        retry_after=kit.parse_retry_after(headers.get("retry-after"), time.time()),
        error=botocore.exceptions.ClientError,
        code=error_code(error),
        status=metadata.get("HTTPStatusCode"),
        attempts=int(metadata.get("RetryAttempts", 0)) + 1,
        mentions_kms="kms" in message.lower(),
    )


def error_code(error: Mapping[str, Any]) -> str | None:
    """The error code, if it has AWS's shape; from an XML error body when one was sent.

    Some endpoints (moto's server, proxies) answer IAM failures with an XML document that
    botocore's JSON parser cannot read, leaving the HTTP status as the code. Only a
    ``<Code>`` word is taken from it; the rest of the text is never used.
    """
    code = str(error.get("Code") or "")
    if code.isdigit():
        found = _XML_CODE.search(str(error.get("Message") or ""))
        return found.group(1) if found else None
    return code if _CODE.fullmatch(code) else None


def common_error(
    failure: Failure,
    *,
    uri: str,
    label: str,
    service_title: str,
    settings: ClientSettings,
    endpoint_url: str | None,
) -> CredentialsError | None:
    """The library error for failures every AWS service shares, or ``None``.

    Credentials refused or missing, throttling and 5xx (after the retries), timeouts and
    unreachable endpoints. ``label`` names the target and region.
    """
    import botocore.exceptions as bce

    error, code = failure.error, failure.code
    if error is bce.ClientError:
        if code in AUTHENTICATION_CODES:
            return SourceAuthenticationError(
                f"source {uri}: AWS refused the request's credentials for {label} ({code})",
                source=uri,
            )
        if code in UNAVAILABLE_CODES or failure.status == 429 or (failure.status or 0) >= 500:
            # A Retry-After the service sent is passed on to the resolver's backoff.
            return SourceUnavailableError(
                f"source {uri}: {service_title} did not serve {label} ({failure.answer}) "
                f"after {failure.attempts} attempt(s)",
                source=uri,
                retry_after=failure.retry_after,
            )
        return None
    # From here on the service is not in the message yet: name it with the target.
    label = f"{service_title} {label}"
    if issubclass(error, (bce.NoCredentialsError, bce.PartialCredentialsError)):
        return SourceAuthenticationError(
            f"source {uri}: no AWS credentials found for {label}; the standard chain "
            "looked at AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE and the "
            "shared config files, SSO, and the container or instance role",
            source=uri,
        )
    credential_errors = (
        bce.CredentialRetrievalError,
        bce.TokenRetrievalError,
        bce.SSOTokenLoadError,
        bce.UnauthorizedSSOTokenError,
    )
    if issubclass(error, credential_errors):
        return SourceAuthenticationError(
            f"source {uri}: getting AWS credentials for {label} failed ({error.__name__})",
            source=uri,
        )
    endpoint = host(endpoint_url)
    if issubclass(error, (bce.ConnectTimeoutError, bce.ReadTimeoutError)):
        return SourceUnavailableError(
            f"source {uri}: {label} timed out at {endpoint} after {MAX_ATTEMPTS} "
            f"attempt(s) (no complete answer within {settings.attempt_timeout:g} s each: "
            f"connect_timeout {settings.connect_timeout:g} s + read_timeout "
            f"{settings.read_timeout:g} s)",
            source=uri,
        )
    from ._transport import MAX_ANSWER, answer_too_large_error, fetch_deadline_error

    if issubclass(error, fetch_deadline_error()):
        return SourceUnavailableError(
            f"source {uri}: {label} at {endpoint} did not finish within the fetch's total "
            f"deadline of {settings.worst_case:g} s (every page, attempt and backoff together)",
            source=uri,
        )
    if issubclass(error, answer_too_large_error()):
        return SourceFormatError(
            f"source {uri}: the answer for {label} from {endpoint} is larger than "
            f"{MAX_ANSWER} bytes; it was not read",
            source=uri,
        )
    if issubclass(error, (bce.EndpointConnectionError, bce.ConnectionError)):
        return SourceUnavailableError(
            f"source {uri}: could not connect to {endpoint} for {label} ({error.__name__})",
            source=uri,
        )
    if issubclass(error, bce.ParamValidationError):
        return ConfigurationError(
            f"source {uri}: invalid request for {label}; check the name and options",
            source=uri,
        )
    return SourceUnavailableError(
        f"source {uri}: reading {label} failed ({error.__name__})", source=uri
    )


def host(endpoint_url: str | None) -> str:
    """Scheme, host and port only: an endpoint URL could carry user info."""
    if not endpoint_url:
        return "the default endpoint"
    parts = urlsplit(endpoint_url)
    name = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{name}{port}"
