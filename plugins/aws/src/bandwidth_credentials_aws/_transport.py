"""Sending botocore's requests with the core's bounded HTTP client.

botocore's ``connect_timeout`` and ``read_timeout`` bound the connect and each socket
read, not the answer: an endpoint (or a proxy) trickling a valid answer one byte at a
time keeps a caller for as long as it likes, and a 100 MB answer is read whole. A
``before-send`` handler (botocore's documented extension point: "a handler that returns
a response short-circuits the HTTP send", botocore's event reference) performs the
exchange with :func:`bandwidth_credentials.plugin.request` instead: one deadline covers
connect, TLS, send and every byte of the answer, and the body is capped at
:data:`MAX_ANSWER`. The bounded client's failures become botocore's own exception types,
so botocore's standard retry mode retries them exactly as it retries its own.

TLS trusts what botocore would: ``AWS_CA_BUNDLE`` or the profile's ``ca_bundle``, else
botocore's default bundle. Proxies come from ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY``,
as botocore reads them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from bandwidth_credentials import plugin as kit

#: The largest answer read from AWS, in bytes; a larger one is refused unread.
MAX_ANSWER = kit.DEFAULT_MAX_SIZE

_OWN_FIELDS = frozenset(
    {"host", "connection", "content-length", "transfer-encoding", "accept-encoding"}
)


@functools.cache
def _errors() -> tuple[type[Any], type[Any], type[Any]]:
    import botocore.exceptions

    class AnswerTooLargeError(botocore.exceptions.BotoCoreError):  # type: ignore[misc]
        """The answer exceeded the size limit; the rest of it was not read."""

        fmt = "The answer from {endpoint_url} is larger than {limit} bytes"

    class UnsendableRequestError(botocore.exceptions.BotoCoreError):  # type: ignore[misc]
        """The request's URL or headers cannot be sent."""

        fmt = "The request to {endpoint_url} cannot be sent ({reason})"

    class FetchDeadlineError(botocore.exceptions.BotoCoreError):  # type: ignore[misc]
        """The fetch's total deadline passed; not retried (botocore's standard mode
        retries only its connection and HTTP client errors)."""

        fmt = "The fetch from {endpoint_url} did not finish within its total deadline"

    return AnswerTooLargeError, UnsendableRequestError, FetchDeadlineError


def answer_too_large_error() -> type[Any]:
    """The botocore exception class raised for an answer over :data:`MAX_ANSWER`."""
    return _errors()[0]


def fetch_deadline_error() -> type[Any]:
    """The botocore exception class raised once the fetch's total deadline has passed."""
    return _errors()[2]


class _Raw:
    """What ``AWSResponse`` reads a body from (``stream()``)."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **kwargs: object) -> Iterator[bytes]:
        yield self.body


def handler(timeout: float, cafile: str | None, budget: Any = None) -> Callable[..., Any]:
    """A ``before-send`` handler sending each attempt within ``timeout`` seconds, and
    within what is left of ``budget.deadline`` (the fetch's total deadline) when one is
    set: an attempt cut short by it, or one that would start after it, ends the call
    (botocore does not retry :func:`fetch_deadline_error`)."""

    def send(request: Any, **kwargs: object) -> Any:
        import botocore.awsrequest
        import botocore.exceptions as bce

        url = str(request.url)
        shown = kit.display_url(url)
        body = request.body
        if body is None:
            body = b""
        elif isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, bytes | bytearray):
            body = body.read()  # a file-like body of this library's own request
        headers = {
            str(name): value.decode("latin-1") if isinstance(value, bytes) else str(value)
            for name, value in request.headers.items()
            if str(name).lower() not in _OWN_FIELDS
        }
        failure: Exception | None = None
        deadline = budget.deadline if budget is not None else None
        attempt = timeout
        if deadline is not None:
            attempt = min(timeout, deadline.left())
            if attempt <= 0:
                raise _errors()[2](endpoint_url=shown)
        try:
            answer = kit.request(
                request.method,
                url,
                headers=headers,
                body=bytes(body),
                timeout=attempt,
                max_size=MAX_ANSWER,
                cafile=cafile,
            )
        except kit.DeadlineExceeded:
            if attempt < timeout:  # the fetch's deadline ended it, not the attempt's
                failure = _errors()[2](endpoint_url=shown)
            else:
                failure = bce.ReadTimeoutError(endpoint_url=shown)
        except kit.ConnectFailed as exc:
            failure = bce.EndpointConnectionError(endpoint_url=shown, error=str(exc))
        except kit.TLSFailed as exc:
            failure = bce.SSLError(endpoint_url=shown, error=str(exc))
        except kit.BrokenResponse:
            failure = bce.ConnectionClosedError(endpoint_url=shown)
        except kit.ResponseTooLarge:
            failure = _errors()[0](endpoint_url=shown, limit=MAX_ANSWER)
        except kit.HttpError as exc:
            failure = _errors()[1](endpoint_url=shown, reason=str(exc))
        # Raised outside the except blocks: botocore re-raises it after its retries, and
        # nothing may hang off its __context__.
        if failure is not None:
            raise failure
        return botocore.awsrequest.AWSResponse(
            url, answer.status, dict(answer.headers), _Raw(answer.body)
        )

    return send


def default_ca_bundle(configured: str | None) -> str | None:
    """The CA bundle botocore would use: the configured one, else its default."""
    if configured:
        return configured
    from botocore.httpsession import get_cert_path

    path = get_cert_path(True)
    return path if isinstance(path, str) else None
