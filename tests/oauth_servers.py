"""Local HTTP servers for the OAuth tests: a token endpoint and an API that says 401 once.

The token endpoint follows the client-credentials protocol Bandwidth documents
(https://dev.bandwidth.com/docs/credentials): POST, HTTP Basic client authentication,
form body ``grant_type=client_credentials``; a JSON answer with ``access_token``,
``token_type`` and ``expires_in``; errors as JSON ``{"error": ...}`` with 400/401.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from bandwidth_credentials.testing._credentials_api import jwt, serve_app

#: Run an app (``answer(handler) -> (status, body)``) on 127.0.0.1: the test kit's runner.
serve = serve_app

CLIENT_ID = "client-abc"
CLIENT_SECRET = "canary-client-secret-9f"


class TokenServer:
    def __init__(self, client_id: str, client_secret: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.mode = "ok"  # ok | 401 | 400 | 500 | malformed | no_expires | slow
        self.expires_in: Any = 3600
        self.delay = 0.0
        self.requests = 0
        self.issued: list[str] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)  # notified on every request
        self.url = ""
        self.also_accept: set[str] = set()  # further secrets for the same client id
        self.claims: dict[str, Any] | None = None  # issue JWTs with these claims

    def answer(self, handler: BaseHTTPRequestHandler) -> tuple[int, bytes]:
        with self.lock:
            self.requests += 1
            number = self.requests
            self.arrived.notify_all()
        if self.delay:
            time.sleep(self.delay)
        accepted = {
            "Basic " + base64.b64encode(f"{self.client_id}:{secret}".encode()).decode()
            for secret in {self.client_secret, *self.also_accept}
        }
        length = int(handler.headers.get("Content-Length") or 0)
        form = parse_qs(handler.rfile.read(length).decode())
        if handler.headers.get("Authorization") not in accepted or self.mode == "401":
            return 401, b'{"error": "invalid_client"}'
        if form.get("grant_type") != ["client_credentials"] or self.mode == "400":
            return 400, b'{"error": "unsupported_grant_type"}'
        if handler.headers.get("Content-Type") != "application/x-www-form-urlencoded":
            return 400, b'{"error": "invalid_request"}'
        if self.mode == "500":
            return 500, b'{"error": "server_error"}'
        if self.mode == "malformed":
            return 200, b"<html>not json</html>"
        token = f"token-{number}"
        if self.claims is not None:
            token = jwt({**self.claims, "jti": token})
        self.issued.append(token)
        body: dict[str, Any] = {"access_token": token, "token_type": "Bearer"}
        if self.mode != "no_expires":
            body["expires_in"] = self.expires_in
        return 200, json.dumps(body).encode()


class ApiServer:
    """Accepts only ``valid`` Authorization values; refuses the first request with 401."""

    def __init__(self) -> None:
        self.refuse_first = True
        self.seen: list[str | None] = []
        self.valid: set[str] = set()
        self.url = ""

    def answer(self, handler: BaseHTTPRequestHandler) -> tuple[int, bytes]:
        header = handler.headers.get("Authorization")
        self.seen.append(header)
        if self.refuse_first:
            self.refuse_first = False
            return 401, b'{"error": "unauthorized"}'
        if self.valid and header not in self.valid:
            return 401, b'{"error": "unauthorized"}'
        return 200, b"[]"


class AccountServer:
    """The Dashboard API's account resource, ``GET /api/accounts/{accountId}`` (Bandwidth's
    Dashboard/Numbers API reference): 200 with an ``<AccountResponse>`` for the one API
    user it knows, 401 for any other ``Authorization``, 403 when ``forbidden`` (a known
    user without access to the account). It implements nothing else of that API."""

    def __init__(self, username: str, password: str, account_id: str) -> None:
        pair = f"{username}:{password}".encode()
        self.authorization = "Basic " + base64.b64encode(pair).decode()
        self.account_id = account_id
        self.forbidden = False
        self.status: int | None = None  # answer with this status instead
        self.requests: list[tuple[str, str, str | None]] = []  # method, path, Authorization
        self.url = ""

    def answer(self, handler: BaseHTTPRequestHandler) -> tuple[int, bytes]:
        header = handler.headers.get("Authorization")
        self.requests.append((handler.command, handler.path, header))
        if self.status is not None:
            return self.status, b"<Error/>"
        if handler.command != "GET" or handler.path != f"/api/accounts/{self.account_id}":
            return 404, b"<Error/>"
        if header != self.authorization:
            return 401, b"<Error/>"
        if self.forbidden:
            return 403, b"<Error/>"
        body = f"<AccountResponse><Account><AccountId>{self.account_id}</AccountId>"
        return 200, (body + "</Account></AccountResponse>").encode()
