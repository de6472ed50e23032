"""ASGI middleware: only requests that carry Bandwidth's callback credentials reach the app.

>>> from bandwidth_credentials.callbacks.asgi import CallbackAuthMiddleware
>>> api.add_middleware(CallbackAuthMiddleware, app="sales")     # doctest: +SKIP
>>> application = CallbackAuthMiddleware(application, app="sales")  # doctest: +SKIP

HTTP requests only (``lifespan`` and ``websocket`` pass through). The body is received
once (at most ``max_body`` bytes; a larger ``content-length`` is answered 413 without
reading), verified, and replayed to the application as one ``http.request`` message. The
verification is in ``scope["bandwidth_credentials.callback"]``.
"""

from __future__ import annotations

from .._callback_auth import DEFAULT_MAX_BODY
from .._default import get_callback_auth
from .._errors import CredentialsError
from .._typing import TYPE_CHECKING
from ._common import (
    MALFORMED,
    asgi_headers,
    body_limit,
    declared_length,
    length_refusal,
    refusal,
    too_large,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, MutableMapping
    from typing import Any

    from .._callback_auth import CallbackAuth

    Scope = MutableMapping[str, Any]
    Message = MutableMapping[str, Any]
    Receive = Callable[[], Awaitable[Message]]
    Send = Callable[[Message], Awaitable[None]]
    ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = ["SCOPE_KEY", "CallbackAuthMiddleware"]

#: Where the middleware leaves the :class:`CallbackVerification` of a verified request.
SCOPE_KEY = "bandwidth_credentials.callback"


class CallbackAuthMiddleware:
    """Wrap an ASGI application so that it sees only verified Bandwidth callbacks.

    ``CallbackAuthMiddleware(inner, app="sales", max_body=1 << 20)``: ``inner`` is
    positional-only, so Starlette's ``add_middleware(CallbackAuthMiddleware, app="sales")``
    works too; ``app`` and ``max_body`` as for the WSGI middleware
    (:class:`bandwidth_credentials.callbacks.wsgi.CallbackAuthMiddleware`), with the same
    answers (401/403/413/400/503). Raises ``ValueError`` here for a bad ``app`` or
    ``max_body``.
    """

    def __init__(
        self,
        wrapped: ASGIApp,
        /,
        *,
        app: str | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        auth: CallbackAuth | None = None,
    ) -> None:
        self.wrapped = wrapped
        self.max_body = body_limit(max_body)
        #: The verifier (``auth=`` passes one from a :class:`Resolver`).
        self.auth = auth if auth is not None else get_callback_auth(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.wrapped(scope, receive, send)
            return
        raw = scope.get("headers") or ()
        error: CredentialsError | None = None
        app = self.auth.app
        for name, value in raw:
            if error is None and bytes(name).lower() == b"content-length":
                length = declared_length(value)
                # present but blank is malformed too
                error = length_refusal(MALFORMED if length is None else length, self.max_body, app)
        body = b""
        if error is None:
            received = await _receive_body(receive, self.max_body)
            if received is _GONE:
                return  # the client left: nobody to answer
            if received is None:
                error = too_large(self.max_body, app)
            else:
                body = received  # type: ignore[assignment]
        if error is None:
            try:
                verification = await self.auth.averify(
                    asgi_headers(raw), body, max_body=self.max_body
                )
            except CredentialsError as exc:
                error = exc
        if error is not None:
            status, _, headers, text = refusal(error)
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
                }
            )
            await send({"type": "http.response.body", "body": text})
            return
        scope[SCOPE_KEY] = verification
        await self.wrapped(scope, _replay(body, receive), send)


_GONE = object()


async def _receive_body(receive: Receive, max_body: int) -> bytes | object | None:
    """The whole body, ``None`` when over ``max_body``, ``_GONE`` when the client left."""
    chunks = bytearray()
    while True:
        message = await receive()
        if message.get("type") == "http.disconnect":
            return _GONE
        chunks += message.get("body", b"")
        if len(chunks) > max_body:
            return None
        if not message.get("more_body", False):
            return bytes(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the body over once, then waits as the server's does."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
