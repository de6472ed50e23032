"""A loopback Bandwidth: the OAuth token endpoint and the Credentials API's secret creation.

What it follows:

- The token endpoint (Bandwidth's credentials guide, https://dev.bandwidth.com/docs/credentials):
  ``POST /api/v1/oauth2/token``, HTTP Basic client authentication, form body
  ``grant_type=client_credentials``; 401 ``invalid_client`` for an unknown client, a
  wrong secret, or an expired one.
- Bandwidth's Credential Management guide
  (https://dev.bandwidth.com/docs/account/credentials/management):
  ``POST /api/v1/credentials/{clientId}/secrets`` with ``{"expirationDate": ...}``
  answers the new ``clientSecret`` (shown once); the caller's bearer token must belong to
  a credential with the *Credential access* role; a client id holds at most two active
  secrets (Bandwidth's support article "Creating and managing your Bandwidth API
  credentials"); a secret stops working at its expiration date.

What it does not implement, because Bandwidth documents none of it: listing or deleting
secrets, and the exact status and body of the refusal of a third active secret (this
server answers 409 with a JSON ``{"message": ...}``, which the client must not depend
on). Roles are kept per client id as the token's ``roles`` claim.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote

from .. import _calendar
from ._loopback import serve

__all__ = [
    "CREATED_CANARIES",
    "CREDENTIAL_ACCESS",
    "App",
    "Bandwidth",
    "Client",
    "jwt",
    "new_secret",
    "serve_app",
    "serve_bandwidth",
]

CREDENTIAL_ACCESS = "Credential access"
TOKEN_PATH = "/api/v1/oauth2/token"
SECRETS_PREFIX = "/api/v1/credentials/"


def jwt(claims: dict[str, Any]) -> str:
    """A JWT (RFC 7519) with ``claims``; the signature is junk, as the client never
    checks it."""

    def part(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def new_secret(number: int) -> str:
    """The ``number``-th secret this server creates (known in advance: a leak canary)."""
    return f"canary-created-secret-{number:03d}-Zq"


#: Every secret a test's server may create, for the leak harness.
CREATED_CANARIES = tuple(new_secret(number) for number in range(8))


class Client:
    """One client id: its roles and secrets (value -> expiry epoch or ``None``)."""

    def __init__(self, roles: tuple[str, ...]) -> None:
        self.roles = roles
        self.secrets: dict[str, float | None] = {}

    def active(self, now: float) -> list[str]:
        return [value for value, until in self.secrets.items() if until is None or until > now]


class Bandwidth:
    """Token endpoint plus secret creation, on one origin (as api.bandwidth.com serves both)."""

    def __init__(self) -> None:
        self.clients: dict[str, Client] = {}
        self.tokens: dict[str, str] = {}  # access token -> client id
        self.lock = threading.Lock()
        self.created: list[tuple[str, str | None]] = []  # (client id, expirationDate asked)
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self.refuse_create: int | None = None  # answer secret creation with this status
        self.answered_expiry: str | None = None  # an expirationDate to answer with, if any
        self.answer_headers: dict[str, str] = {}  # sent with every answer (a Retry-After)

    def add_client(
        self,
        client_id: str,
        secret: str,
        *,
        roles: tuple[str, ...] = (),
        expires: float | None = None,
    ) -> None:
        client = self.clients.setdefault(client_id, Client(roles))
        client.secrets[secret] = expires

    def now(self) -> float:
        return _calendar.now()

    def active(self, client_id: str) -> list[str]:
        with self.lock:
            return self.clients[client_id].active(self.now())

    def answer(self, handler: BaseHTTPRequestHandler) -> tuple[int, bytes]:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        path = handler.path
        with self.lock:
            self.requests.append((handler.command, path))
            if handler.command == "POST" and path == TOKEN_PATH:
                return self._token(handler, body)
            if (
                handler.command == "POST"
                and path.startswith(SECRETS_PREFIX)
                and path.endswith("/secrets")
            ):
                client_id = unquote(path[len(SECRETS_PREFIX) : -len("/secrets")])
                return self._create(handler, client_id, body)
            return 404, b'{"message": "not found"}'

    def _token(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, bytes]:
        header = handler.headers.get("Authorization") or ""
        form = parse_qs(body.decode())
        if form.get("grant_type") != ["client_credentials"]:
            return 400, b'{"error": "unsupported_grant_type"}'
        try:
            client_id, _, secret = (
                base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
            )
        except ValueError:
            return 401, b'{"error": "invalid_client"}'
        client = self.clients.get(client_id)
        if client is None or secret not in client.active(self.now()):
            return 401, b'{"error": "invalid_client"}'
        token = jwt(
            {
                "sub": client_id,
                "roles": list(client.roles),
                "accounts": ["920012"],
                "jti": secrets.token_hex(8),
            }
        )
        self.tokens[token] = client_id
        answer = {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
        return 200, json.dumps(answer).encode()

    def _create(
        self, handler: BaseHTTPRequestHandler, client_id: str, body: bytes
    ) -> tuple[int, bytes]:
        header = handler.headers.get("Authorization") or ""
        caller = self.tokens.get(header.removeprefix("Bearer "))
        if caller is None:
            return 401, b'{"message": "unauthorized"}'
        if CREDENTIAL_ACCESS not in self.clients[caller].roles:
            return 403, b'{"message": "forbidden"}'
        client = self.clients.get(client_id)
        if client is None:
            return 404, b'{"message": "not found"}'
        try:
            request: Any = json.loads(body or b"{}")
        except ValueError:
            return 400, b'{"message": "bad request"}'
        asked = request.get("expirationDate") if isinstance(request, dict) else None
        if self.refuse_create is not None:
            return self.refuse_create, b'{"message": "refused"}'
        if len(client.active(self.now())) >= 2:
            return 409, b'{"message": "a client may have at most two active secrets"}'
        until = _calendar.parse_instant(asked) if isinstance(asked, str) else None
        if isinstance(asked, str) and until is None:
            return 400, b'{"message": "bad expirationDate"}'
        value = new_secret(len(self.created))
        client.secrets[value] = until
        self.created.append((client_id, asked))
        answer = {"clientId": client_id, "clientSecret": value}
        if self.answered_expiry is not None:
            answer["expirationDate"] = self.answered_expiry
        return 201, json.dumps(answer).encode()


class App(Protocol):
    """Anything that answers a request: ``answer(handler) -> (status, JSON body)``."""

    def answer(self, handler: BaseHTTPRequestHandler) -> tuple[int, bytes]: ...


@contextlib.contextmanager
def serve_app(app: App, tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """Run ``app`` (a :class:`Bandwidth`, or anything with its ``answer(handler)``) on
    127.0.0.1 for the ``with`` block, over HTTPS when ``tls`` is given (its certificate
    for ``localhost``); yields its base URL (``http://127.0.0.1:PORT``)."""

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            status, body = app.answer(self)
            self.send_response(status)
            for name, value in getattr(app, "answer_headers", {}).items():
                self.send_header(name, value)  # such as a 429's Retry-After
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET = _any

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serve(Handler, tls=tls) as server:
        yield server.url.replace("127.0.0.1", "localhost") if tls else server.url


serve_bandwidth = serve_app
