"""Verify Bandwidth's callbacks (webhooks) in a web application.

One adapter per framework, each imported only when used (none imports a framework
until you import it):

- :mod:`bandwidth_credentials.callbacks.wsgi`: ``CallbackAuthMiddleware`` for any WSGI app
  (Flask, Django, Pyramid, Bottle, ...);
- :mod:`bandwidth_credentials.callbacks.asgi`: ``CallbackAuthMiddleware`` for any ASGI app
  (Starlette, FastAPI, Django's ASGI handler, ...); with Starlette/FastAPI also
  ``app.add_middleware(CallbackAuthMiddleware, app="sales")``;
- :mod:`bandwidth_credentials.callbacks.flask`: the ``@verify_callback`` view decorator;
- :mod:`bandwidth_credentials.callbacks.fastapi`: the ``verify_callback`` dependency;
- :mod:`bandwidth_credentials.callbacks.django`: the ``@verify_callback`` view decorator.

Each takes ``app=`` (the Bandwidth application whose callback credentials apply; ``None``
for the shared ones) and ``max_body=`` (bytes read and verified, default 1 MiB; a larger
body is answered 413 without being read). A refused request is answered 401 with
``WWW-Authenticate: Basic realm="Bandwidth callbacks"`` when Basic is configured (every
401 carries the challenge, as RFC 7235 requires), else 403 (a missing, malformed or
wrong signature); the body is read once and still available to the view.
"""

from __future__ import annotations

from .._callback_auth import DEFAULT_MAX_BODY, REALM

__all__ = ["DEFAULT_MAX_BODY", "REALM"]
