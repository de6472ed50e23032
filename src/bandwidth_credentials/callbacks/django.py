"""Django: the ``@verify_callback`` view decorator.

>>> from bandwidth_credentials.callbacks.django import verify_callback
>>> @csrf_exempt                                                # doctest: +SKIP
... @verify_callback(app="sales")
... def voice_callback(request):
...     event = json.loads(request.body)  # read once and verified
...     return HttpResponse(status=204)

Bare (``@verify_callback``) or called (``@verify_callback(app="sales", max_body=...)``);
sync and async views. The body is ``request.body`` (Django reads it once and keeps it),
read only when its ``Content-Length`` is within ``max_body`` (Django's own
``DATA_UPLOAD_MAX_MEMORY_SIZE`` still applies). A chunked body (no ``Content-Length``),
which Django reads as empty, is read to its end when the WSGI server dechunks it
(``wsgi.input_terminated``: gunicorn, Werkzeug's server), else answered 411; ASGI
servers hand Django the whole body. The verification is in
``request.bandwidth_callback``. Callbacks come without a CSRF token: mark the view
``@csrf_exempt`` (the callback credentials are what authenticates it). Needs the
``[django]`` extra. For every URL at once, wrap the WSGI or ASGI application with
:mod:`bandwidth_credentials.callbacks.wsgi` or :mod:`~bandwidth_credentials.callbacks.asgi`.
"""

from __future__ import annotations

import functools
import inspect
import io

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse

from .._callback_auth import DEFAULT_MAX_BODY
from .._default import get_callback_auth
from .._errors import CredentialsError
from .._typing import TYPE_CHECKING
from ._common import (
    body_limit,
    declared_length,
    length_refusal,
    read_body,
    refusal,
    too_large,
    unframed,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .._callback_auth import CallbackAuth

__all__ = ["verify_callback"]


def _refused(error: CredentialsError) -> HttpResponse:
    status, _, headers, text = refusal(error)
    response = HttpResponse(text, status=status, headers=dict(headers))
    # Django logs every 4xx answer with the request attached (its headers, the
    # Authorization value among them, reach every log handler); the refusal was logged
    # above without them, and this marks it as logged (Django's own flag for that).
    response._has_been_logged = True
    return response


def _body(request: HttpRequest, auth: CallbackAuth, max_body: int) -> bytes | HttpResponse:
    length = declared_length(request.META.get("CONTENT_LENGTH"))
    refused = length_refusal(length, max_body, auth.app)
    if refused is not None:
        return _refused(refused)
    environ = getattr(request, "environ", None)  # WSGI; ASGI servers hand the body whole
    if length is None and environ is not None and environ.get("HTTP_TRANSFER_ENCODING"):
        # Django reads a body without Content-Length as empty (PEP 3333: no further than
        # CONTENT_LENGTH). A server that dechunks marks the input terminated: read it to
        # its end, capped, and hand it to Django as a body of that length (the stream
        # Django reads, replaced as Django itself does once it has read a body). Any
        # other server's chunked stream cannot be read: 411.
        refused = unframed(environ, auth.app)
        if refused is not None:
            return _refused(refused)
        data = read_body(environ, None, max_body)
        if data is None:
            return _refused(too_large(max_body, auth.app))
        request.META["CONTENT_LENGTH"] = str(len(data))
        request._stream = io.BytesIO(data)
    try:
        return request.body
    except RequestDataTooBig:
        pass
    # Django's own DATA_UPLOAD_MAX_MEMORY_SIZE, lower than max_body, is the limit told.
    from django.conf import settings

    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return _refused(too_large(min(limit, max_body) if limit else max_body, auth.app))


def verify_callback(
    view: Callable[..., Any] | None = None,
    /,
    *,
    app: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
) -> Any:
    """Decorate a Django view so it runs only for a verified Bandwidth callback.

    ``app`` names the Bandwidth application whose callback credentials apply (``None``:
    the shared ones), ``max_body`` the largest body accepted (bytes, default 1 MiB).
    A refused request gets 401 (Basic configured; with ``WWW-Authenticate: Basic
    realm=...``), 403 (a signature missing, malformed or wrong), 413 (too large) or 503
    (no credentials to check against), and the view is not called. Raises ``ValueError``
    at decoration for a bad ``app`` or ``max_body``, ``ConfigurationError`` for a
    reserved application name.
    """
    if view is None:
        return functools.partial(_decorate, app=app, max_body=max_body)
    return _decorate(view, app=app, max_body=max_body)


def _decorate(view: Callable[..., Any], *, app: str | None, max_body: int) -> Callable[..., Any]:
    auth = get_callback_auth(app)
    limit = body_limit(max_body)
    if inspect.iscoroutinefunction(view):

        @functools.wraps(view)
        async def checked_async(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            body = _body(request, auth, limit)
            if isinstance(body, HttpResponse):
                return body
            try:
                verified = await auth.averify(request.headers, body, max_body=limit)
            except CredentialsError as exc:
                return _refused(exc)
            request.bandwidth_callback = verified
            return await view(request, *args, **kwargs)

        return checked_async

    @functools.wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        body = _body(request, auth, limit)
        if isinstance(body, HttpResponse):
            return body
        try:
            verified = auth.verify(request.headers, body, max_body=limit)
        except CredentialsError as exc:
            return _refused(exc)
        request.bandwidth_callback = verified
        return view(request, *args, **kwargs)

    return checked
