"""The AWS Parameters and Secrets Lambda Extension's local HTTP API, standard library only.

Facts used ("Use AWS Secrets Manager secrets in AWS Lambda functions", Secrets Manager
User Guide; "Using Parameter Store parameters in AWS Lambda functions", Systems Manager
User Guide): the extension listens on ``127.0.0.1:PARAMETERS_SECRETS_EXTENSION_HTTP_PORT``
(default 2773), wants ``AWS_SESSION_TOKEN`` in the ``X-Aws-Parameters-Secrets-Token``
header (401 without it), answers 400 "not ready" in the first moments of init, and
answers a failed lookup with a bare 400 while logging the cause to CloudWatch.

Those pages describe the requests and the extension's settings; they specify no error
answers: no list of statuses, no error body and no response header (``Retry-After``
included). So :func:`classify` reads a status as HTTP defines it, looks in the body
only for the store's documented error codes, and honours a ``Retry-After`` (RFC 9110
§10.2.3) whenever a throttled or unavailable answer carries one.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping  # loaded by the core already

from bandwidth_credentials import (
    ConfigurationError,
    Fetched,
    Provider,
    SourceAuthenticationError,
    SourceError,
    SourceFormatError,
    SourceUnavailableError,
)

# Not typing itself: importing it costs a Lambda cold start about as much as the rest of
# this path (the core's stand-ins build the same classes without it).
from bandwidth_credentials.plugin import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from bandwidth_credentials import plugin as kit

PORT_ENV = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
DEFAULT_PORT = 2773
TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
TOKEN_ENV = "AWS_SESSION_TOKEN"
#: The extension listens on the loopback interface of the execution environment.
HOST = "127.0.0.1"

DEFAULT_WAIT = 2.0
#: Seconds one request may take, from connect to the answer's last byte.
DEFAULT_TIMEOUT = 5.0
#: The largest answer read, in bytes (1 MiB); a larger one is refused unread.
MAX_ANSWER = 1 << 20
_FIRST_DELAY = 0.01
_MAX_DELAY = 0.2


def region_for_messages(option: str | None, arn: str | None) -> str | None:
    """The option, the ARN's region, else the one Lambda sets (``AWS_REGION``)."""
    return (
        option
        or arn
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or None
    )


class Answer(NamedTuple):
    """The extension's answer: ``status``, ``body`` (at most :data:`MAX_ANSWER` bytes) and
    ``retry_after``, the seconds its ``Retry-After`` header asked for (``None`` without
    a valid one)."""

    status: int
    body: bytes
    retry_after: float | None


class Refusal(NamedTuple):
    """What may be shown of an error answer: its status and the store's error code it
    named, when it named one of the codes the store documents; nothing else of the body."""

    status: int
    code: str | None

    @property
    def shown(self) -> str:
        """``HTTP 400, ResourceNotFoundException`` or ``HTTP 400``."""
        return f"HTTP {self.status}" + (f", {self.code}" if self.code else "")


class NoAnswer(Exception):
    """Nothing answered on the extension's port (refused, reset, or timed out)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def port_of(uri: str) -> int:
    """The extension's port from ``PARAMETERS_SECRETS_EXTENSION_HTTP_PORT`` (default 2773)."""
    raw = os.environ.get(PORT_ENV, "").strip()
    if not raw:
        return DEFAULT_PORT
    port = int(raw) if raw.isdigit() else 0
    if not 0 < port < 65536:
        raise ConfigurationError(
            f"source {uri}: {PORT_ENV} must be a port number (1-65535)", source=uri
        )
    return port


def get(
    *, uri: str, label: str, port: int, path: str, token: str, wait: float, timeout: float
) -> Answer:
    """One GET, repeated with backoff while the extension is not ready, up to ``wait`` s;
    the first other answer, whatever its status, as an :class:`Answer`.

    Raises :class:`NoAnswer` when nothing answered, :class:`SourceUnavailableError` when
    the extension stayed "not ready", :class:`SourceFormatError` for an answer over
    :data:`MAX_ANSWER` bytes. Each attempt's whole exchange is bounded by ``timeout``
    seconds, so the worst case is about ``wait + timeout``.
    """
    from bandwidth_credentials import plugin as kit  # the bounded client, on first use

    deadline = time.monotonic() + wait
    delay = _FIRST_DELAY
    while True:
        outcome = _get_once(port, path, token, timeout)
        if isinstance(outcome, kit.DeadlineExceeded):
            # It accepted but did not answer within `timeout`: waiting more won't help.
            raise NoAnswer(f"no complete answer within {timeout:g} s (timed out)")
        if isinstance(outcome, kit.ResponseTooLarge):
            raise SourceFormatError(
                f"source {uri}: the Lambda extension's answer for {label} is larger than "
                f"{MAX_ANSWER} bytes; it was not read",
                source=uri,
            )
        if isinstance(outcome, kit.HttpError):
            reason = str(outcome)
        elif not (outcome.status == 400 and b"not ready" in outcome.body.lower()):
            return outcome
        else:
            reason = "not ready"
        if time.monotonic() + delay > deadline:
            break
        time.sleep(delay)
        delay = min(delay * 2, _MAX_DELAY)
    if reason == "not ready":
        raise SourceUnavailableError(
            f"source {uri}: the Lambda extension on port {port} was still not ready after "
            f"{wait:g} s for {label}",
            source=uri,
        )
    raise NoAnswer(reason)


def _get_once(port: int, path: str, token: str, timeout: float) -> Answer | kit.HttpError:
    """One bounded exchange; the bounded client's error is returned, not raised."""
    from bandwidth_credentials import plugin as kit

    try:
        answer = kit.request(
            "GET",
            f"http://{HOST}:{port}{path}",
            headers={TOKEN_HEADER: token},
            timeout=timeout,
            max_size=MAX_ANSWER,
            proxy="",  # the extension is on loopback: never through HTTP_PROXY
        )
    except kit.HttpError as exc:
        return exc
    # An HTTP-date is relative to the wall clock, whatever clock the resolver runs on.
    retry_after = kit.parse_retry_after(answer.headers.get("retry-after"), time.time())
    return Answer(answer.status, answer.body, retry_after)


def classify(answer: Answer, request: ExtensionRequest, *, uri: str, port: int) -> SourceError:
    """The library error for an answer other than 200.

    The answers both stores share are mapped here: 401 is
    :class:`SourceAuthenticationError` (the token header); 429, 5xx or a ``Throttl...``
    code is :class:`SourceUnavailableError` whose ``retry_after`` is the answer's
    ``Retry-After`` in seconds (``None`` without a valid one), which the resolver's
    backoff honours. Any other answer is the store's to map (``request.error``). The
    body is never quoted: only the codes in ``request.codes`` are looked for in it.

    >>> classify(Answer(429, b"", 7.0), request, uri=uri, port=2773).retry_after  # doctest: +SKIP
    7.0
    """
    code = next((code for code in request.codes if code.encode() in answer.body), None)
    refusal = Refusal(answer.status, code)
    if refusal.status == 401:
        return SourceAuthenticationError(
            f"source {uri}: the Lambda extension refused the request for {request.label()} "
            f"({refusal.shown}): the {TOKEN_HEADER} header must be this execution "
            f"environment's {TOKEN_ENV}",
            source=uri,
        )
    if refusal.status == 429 or refusal.status >= 500 or (code or "").startswith("Throttl"):
        return SourceUnavailableError(
            f"source {uri}: the Lambda extension on port {port} could not serve "
            f"{request.label()} ({refusal.shown})",
            source=uri,
            retry_after=answer.retry_after,
        )
    return request.error(refusal)


def json_document(body: bytes) -> dict[str, Any] | None:
    """The answer as a JSON object, or ``None`` (the decoder's message could quote it)."""
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    return document if isinstance(document, dict) else None


def missing_token_error(uri: str, sdk_scheme: str) -> SourceError:
    """``AWS_SESSION_TOKEN`` is unset: no extension can be asked."""
    return SourceAuthenticationError(
        f"source {uri}: {TOKEN_ENV} is not set; the Lambda extension requires it in "
        f"the {TOKEN_HEADER} header (outside Lambda use {sdk_scheme}, or add ?fallback=sdk)",
        source=uri,
    )


class ExtensionRequest(Protocol):
    """What differs between a secret and a parameter read through the extension."""

    sdk_scheme: str
    answer_name: str
    #: The store's documented error codes, most specific first (one may contain another).
    codes: tuple[str, ...]

    @property
    def region(self) -> str | None: ...

    def label(self) -> str: ...

    def path(self) -> str: ...

    def error(self, refusal: Refusal) -> SourceError:
        """The store's own mapping of an error answer that :func:`classify` left to it."""

    def decode(self, document: Mapping[str, Any]) -> Fetched: ...

    def sdk_provider(self) -> Provider: ...
