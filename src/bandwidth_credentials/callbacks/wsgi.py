"""WSGI middleware: only requests that carry Bandwidth's callback credentials reach the app.

>>> from bandwidth_credentials.callbacks.wsgi import CallbackAuthMiddleware
>>> app.wsgi_app = CallbackAuthMiddleware(app.wsgi_app, app="sales")  # doctest: +SKIP

The body is read once (at most ``max_body`` bytes; a larger ``Content-Length`` is
answered 413 without reading), verified, and handed on as a fresh ``wsgi.input`` with its
``CONTENT_LENGTH``, so the application reads it as usual. A chunked body is read to its
end when the server dechunks it (``wsgi.input_terminated``), else answered 411. The
verification is in ``environ["bandwidth_credentials.callback"]`` (a
:class:`CallbackVerification`).
"""

from __future__ import annotations

import io

from .._callback_auth import DEFAULT_MAX_BODY
from .._default import get_callback_auth
from .._errors import CredentialsError
from .._typing import TYPE_CHECKING
from ._common import (
    body_limit,
    declared_length,
    environ_headers,
    length_refusal,
    read_body,
    refusal,
    too_large,
    unframed,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

    from .._callback_auth import CallbackAuth

    StartResponse = Callable[..., Any]
    WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

__all__ = ["ENVIRON_KEY", "CallbackAuthMiddleware"]

#: Where the middleware leaves the :class:`CallbackVerification` of a verified request.
ENVIRON_KEY = "bandwidth_credentials.callback"


class CallbackAuthMiddleware:
    """Wrap a WSGI application so that it sees only verified Bandwidth callbacks.

    ``CallbackAuthMiddleware(inner, app="sales", max_body=1 << 20)``: ``inner`` (the
    wrapped WSGI application) is positional-only; ``app`` names the Bandwidth application
    whose callback credentials apply (``None``: the shared ones; see
    :func:`bandwidth_credentials.get_callback_auth`), ``max_body`` the largest body read
    and verified (bytes, default 1 MiB). Refusals: 401 with
    ``WWW-Authenticate: Basic realm="Bandwidth callbacks"`` (Basic configured) or 403
    (HMAC signatures; also no credentials at all when only HMAC schemes are
    configured), 413 for a body over ``max_body``, 400 for a malformed
    ``Content-Length``, 411 for a chunked body the server does not dechunk, 503 when
    no callback credentials can be read. Raises
    ``ValueError`` here for a bad ``app`` or ``max_body``.
    """

    def __init__(
        self,
        wrapped: WSGIApp,
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

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        app = self.auth.app
        length = declared_length(environ.get("CONTENT_LENGTH"))
        error: CredentialsError | None = length_refusal(length, self.max_body, app) or unframed(
            environ, app
        )
        body: bytes | None = b""
        if error is None:
            body = read_body(environ, length, self.max_body)
            if body is None:
                error = too_large(self.max_body, app)
        if error is None:
            assert body is not None
            try:
                verification = self.auth.verify(
                    environ_headers(environ), body, max_body=self.max_body
                )
            except CredentialsError as exc:
                error = exc
        if error is not None:
            status, phrase, headers, text = refusal(error)
            start_response(f"{status} {phrase}", headers)
            return [text]
        assert body is not None
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ[ENVIRON_KEY] = verification
        return self.wrapped(environ, start_response)
