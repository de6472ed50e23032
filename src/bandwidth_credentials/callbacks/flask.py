"""Flask: the ``@verify_callback`` view decorator.

>>> from bandwidth_credentials.callbacks.flask import verify_callback
>>> @app.post("/callbacks/voice")                               # doctest: +SKIP
... @verify_callback(app="sales")
... def voice_callback():
...     event = request.get_json()   # the body, read once and verified
...     return "", 204

Bare (``@verify_callback``) or called (``@verify_callback(app="sales", max_body=...)``).
The body is read once with ``request.get_data(cache=True)`` under a per-request
``max_content_length`` (a ``Content-Length`` over ``max_body`` is 413 before anything is
read; a chunked body is read up to one byte past it, then 413), then verified; the view
reads it again from Flask's cache (``get_data()``, ``get_json()``).
The application's own ``MAX_CONTENT_LENGTH``, when smaller, still applies. The
verification is in ``flask.g.bandwidth_callback``. Needs the ``[flask]`` extra.
"""

from __future__ import annotations

import functools
import inspect

from flask import Response, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from .._callback_auth import DEFAULT_MAX_BODY
from .._default import get_callback_auth
from .._errors import CredentialsError
from .._typing import TYPE_CHECKING
from ._common import body_limit, declared_length, length_refusal, refusal, too_large, unframed

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .._callback_auth import CallbackAuth

__all__ = ["verify_callback"]


def _refused(error: CredentialsError) -> Response:
    status, _, headers, text = refusal(error)
    return Response(text, status=status, headers=headers)


def _check(auth: CallbackAuth, max_body: int) -> Response | None:
    """``None`` when the current request is a verified callback, else the refusal."""
    # The application's own limit (MAX_CONTENT_LENGTH, or one set on this request) binds
    # when it is stricter.
    own = request.max_content_length
    if own is not None and own < max_body:
        max_body = own
    # Read as every adapter reads it (Werkzeug's own reading takes a malformed one as 0).
    length = declared_length(request.environ.get("CONTENT_LENGTH"))
    refused = length_refusal(length, max_body, auth.app) or unframed(request.environ, auth.app)
    if refused is not None:
        return _refused(refused)
    # One byte over the limit: Werkzeug stops a stream without Content-Length (chunked)
    # at max_content_length and returns what it read, so a body that is exactly at the
    # limit and one cut there would look alike.
    request.max_content_length = max_body + 1
    failure: CredentialsError | None = None
    try:
        body = request.get_data(cache=True)
    except RequestEntityTooLarge:
        body = b""
        failure = too_large(max_body, auth.app)
    if len(body) > max_body:
        failure = too_large(max_body, auth.app)
    if failure is None:
        try:
            g.bandwidth_callback = auth.verify(request.headers, body, max_body=max_body)
        except CredentialsError as exc:
            failure = exc
    return None if failure is None else _refused(failure)


def verify_callback(
    view: Callable[..., Any] | None = None,
    /,
    *,
    app: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
) -> Any:
    """Decorate a Flask view so it runs only for a verified Bandwidth callback.

    ``app`` names the Bandwidth application whose callback credentials apply (``None``:
    the shared ones), ``max_body`` the largest body accepted (bytes, default 1 MiB).
    A refused request gets 401 (Basic configured; with ``WWW-Authenticate: Basic
    realm=...``), 403 (a signature missing, malformed or wrong), 413 (too large) or 503
    (no credentials to check against), and the view is not called. Raises ``ValueError``
    at decoration for a bad ``app`` or ``max_body``, ``ConfigurationError`` for a
    reserved application name. Async views are supported.
    """
    if view is None:
        return functools.partial(_decorate, app=app, max_body=max_body)
    return _decorate(view, app=app, max_body=max_body)


def _decorate(view: Callable[..., Any], *, app: str | None, max_body: int) -> Callable[..., Any]:
    auth = get_callback_auth(app)
    limit = body_limit(max_body)
    if inspect.iscoroutinefunction(view):

        @functools.wraps(view)
        async def checked_async(*args: Any, **kwargs: Any) -> Any:
            refused = _check(auth, limit)
            return refused if refused is not None else await view(*args, **kwargs)

        return checked_async

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        refused = _check(auth, limit)
        return refused if refused is not None else view(*args, **kwargs)

    return checked
