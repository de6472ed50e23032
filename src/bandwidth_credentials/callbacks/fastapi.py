"""FastAPI (and Starlette's request objects): the ``verify_callback`` dependency.

>>> from fastapi import Depends
>>> from bandwidth_credentials.callbacks.fastapi import verify_callback
>>> @api.post("/callbacks/voice")                               # doctest: +SKIP
... async def voice_callback(
...     request: Request, verified: CallbackVerification = Depends(verify_callback(app="sales"))
... ):
...     event = await request.json()   # the body, read once and verified
...     return Response(status_code=204)

Bare (``Depends(verify_callback)``) or called (``Depends(verify_callback(app="sales",
max_body=...))``). The body is read once through ``request.stream()`` (at most
``max_body`` bytes; a larger ``content-length`` is 413 before reading) and kept where
Starlette keeps it, so ``await request.body()`` / ``request.json()`` in the endpoint
read it again. An endpoint that declares a body parameter (a pydantic model) has the
body parsed by FastAPI *before* its dependencies run, uncapped: to cap every request
before anything reads it, use :mod:`bandwidth_credentials.callbacks.asgi` as well.
Refusals are ``HTTPException`` (401 with ``WWW-Authenticate``, 403, 413, 503). Needs the
``[fastapi]`` extra.
"""

from __future__ import annotations

import inspect

from fastapi import Depends, HTTPException, Request
from starlette.requests import ClientDisconnect

from .._callback_auth import DEFAULT_MAX_BODY
from .._default import get_callback_auth
from .._errors import CredentialsError
from .._results import CallbackVerification
from .._typing import TYPE_CHECKING
from ._common import (
    bad_request,
    body_limit,
    declared_length,
    length_refusal,
    refusal,
    too_large,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from typing import Any

__all__ = ["verify_callback"]


def _http_error(error: CredentialsError) -> HTTPException:
    status, phrase, headers, _ = refusal(error)
    extra = {k: v for k, v in headers if k == "WWW-Authenticate"}
    return HTTPException(status_code=status, detail=phrase, headers=extra or None)


async def _capped_body(request: Request, limit: int, app: str | None) -> bytes:
    """The request body, read once (at most ``limit`` bytes) and kept where Starlette's
    ``Request.body()`` keeps it, so the endpoint's ``request.body()``/``json()`` read it
    from there. Raises the 413 ``HTTPException`` for a larger one."""
    refused = length_refusal(declared_length(request.headers.get("content-length")), limit, app)
    if refused is not None:
        raise _http_error(refused)
    chunks = bytearray()
    left = False
    try:
        async for chunk in request.stream():
            chunks += chunk
            if len(chunks) > limit:
                break
    except ClientDisconnect:
        left = True  # answered below (to nobody), as a refusal, not a server error
    if left:
        raise _http_error(bad_request("the client left before the body was received", app))
    if len(chunks) > limit:
        raise _http_error(too_large(limit, app))
    body = bytes(chunks)
    request._body = body
    return body


def _dependency(app: str | None, max_body: int) -> Callable[..., Awaitable[CallbackVerification]]:
    auth = get_callback_auth(app)
    limit = body_limit(max_body)

    async def verified_callback(request: Request) -> CallbackVerification:
        body = await _capped_body(request, limit, auth.app)
        failure: CredentialsError
        try:
            return await auth.averify(request.headers, body, max_body=limit)
        except CredentialsError as exc:
            failure = exc
        raise _http_error(failure)

    return verified_callback


_SHARED = get_callback_auth(None)


async def _default_body(request: Request) -> bytes:
    return await _capped_body(request, DEFAULT_MAX_BODY, None)


def verify_callback(
    request: Request | None = None,
    body: bytes | None = None,
    *,
    app: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
) -> Any:
    """The FastAPI dependency that admits only verified Bandwidth callbacks.

    ``Depends(verify_callback)`` uses the shared callback credentials and a 1 MiB limit;
    ``Depends(verify_callback(app="sales", max_body=65536))`` makes a dependency for one
    Bandwidth application's credentials. The dependency's value is the
    :class:`CallbackVerification`. Raises ``HTTPException`` (401 with
    ``WWW-Authenticate: Basic realm=...``, 403, 413, 503) for a refused request, and
    ``ValueError`` when called with a bad ``app`` or ``max_body``.
    """
    if request is None or body is None:
        return _dependency(app, max_body)
    # FastAPI resolving the bare form (in its thread pool: a refresh may fetch).
    failure: CredentialsError
    try:
        return _SHARED.verify(request.headers, body)
    except CredentialsError as exc:
        failure = exc
    raise _http_error(failure)


# FastAPI reads a dependency's parameters from its signature: the bare form takes the
# request and the capped body (app and max_body are not query parameters).
verify_callback.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
        inspect.Parameter(
            "body",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=bytes,
            default=Depends(_default_body),
        ),
    ],
    return_annotation=CallbackVerification,
)
