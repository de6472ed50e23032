"""A loopback managed-identity token endpoint in App Service's style.

Azure App Service and Azure Functions give a process ``IDENTITY_ENDPOINT`` (a local
URL) and ``IDENTITY_HEADER`` (a shared secret); a token is
``GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=RESOURCE`` with the header
``X-IDENTITY-HEADER: {IDENTITY_HEADER}``, answered with JSON holding ``access_token``,
``expires_on`` (seconds since the epoch, as a string), ``resource`` and ``token_type``
(https://learn.microsoft.com/en-us/azure/app-service/overview-managed-identity#rest-endpoint-reference).
``azure-identity`` (through MSAL's ``ManagedIdentityClient``) sends exactly that when
both variables are set.

Not implemented: user-assigned identities (``client_id``, ``object_id``,
``mi_res_id``), the older ``MSI_ENDPOINT``/``MSI_SECRET`` protocol, and the service's
error bodies beyond a status code with ``{"statusCode": ..., "message": ...}``.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from bandwidth_credentials.testing import serve

API_VERSION = "2019-08-01"


@dataclass
class TokenRequest:
    """One request the endpoint received."""

    path: str
    query: dict[str, list[str]]
    identity_header: str | None


@dataclass
class IdentityEndpoint:
    """Issues a fresh token per request when ``X-IDENTITY-HEADER`` matches ``header``.

    ``issued`` maps each token handed out to the resource it was issued for, so a
    resource server can check what it is shown. ``failure`` (a status code) makes
    every request fail.
    """

    header: str = field(default_factory=lambda: secrets.token_hex(16))
    issued: dict[str, str] = field(default_factory=dict)
    requests: list[TokenRequest] = field(default_factory=list)
    failure: int | None = None
    lifetime: int = 3600
    #: set: requests stall until ``release`` is set (or 60 s pass)
    hang: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    token_prefix: str = "mi-token-"
    port: int = 0  # set by running()

    @property
    def url(self) -> str:
        """The value for ``IDENTITY_ENDPOINT``."""
        return f"http://127.0.0.1:{self.port}/msi/token"

    def answer(self, query: dict[str, list[str]], header: str | None) -> tuple[int, object]:
        self.requests.append(TokenRequest("/msi/token", query, header))
        if self.hang.is_set():
            self.release.wait(timeout=60)
        if self.failure is not None:
            return self.failure, {"statusCode": self.failure, "message": "failure forced"}
        if header != self.header:
            return 401, {"statusCode": 401, "message": "X-IDENTITY-HEADER is missing or wrong"}
        if query.get("api-version") != [API_VERSION] or len(query.get("resource", [])) != 1:
            return 400, {"statusCode": 400, "message": "api-version and resource are required"}
        resource = query["resource"][0]
        token = self.token_prefix + secrets.token_hex(16)
        self.issued[token] = resource
        return 200, {
            "access_token": token,
            "expires_on": str(int(time.time()) + self.lifetime),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": "00000000-0000-0000-0000-0000000000aa",
        }


def _handler(endpoint: IdentityEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            body: object
            if url.path != "/msi/token":
                status, body = 404, {"statusCode": 404, "message": "unknown path"}
            else:
                status, body = endpoint.answer(
                    parse_qs(url.query), self.headers.get("X-IDENTITY-HEADER")
                )
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def running(endpoint: IdentityEndpoint) -> Iterator[IdentityEndpoint]:
    """Serve ``endpoint`` on 127.0.0.1 until the block ends."""
    with serve(_handler(endpoint)) as server:
        endpoint.port = server.port
        try:
            yield endpoint
        finally:
            endpoint.release.set()
