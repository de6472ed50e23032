"""A loopback HTTPS server that answers Azure Key Vault's secret API for the tests.

It follows Key Vault's REST reference for Get Secret
(https://learn.microsoft.com/en-us/rest/api/keyvault/secrets/get-secret/get-secret) and
its authentication and error pages
(https://learn.microsoft.com/en-us/azure/key-vault/general/authentication-requests-and-responses,
https://learn.microsoft.com/en-us/azure/key-vault/general/rest-error-codes):

- ``GET /secrets/{secret-name}[/{secret-version}]?api-version=...`` on the vault's host
  (the ``Host`` header names the vault); without a version the latest one is read;
- a request without a bearer token, or with one the identity endpoint did not issue for
  ``https://vault.azure.net``, is answered ``401`` with the challenge
  ``WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/{tenant}",
  resource="https://vault.azure.net"``, which the SDK's challenge policy parses;
- success is the secret bundle ``{"value", "id": "https://{host}/secrets/{name}/{version}",
  "attributes": {"enabled", "created", "updated", "recoveryLevel", "recoverableDays"},
  "tags"}``;
- errors are ``{"error": {"code", "message"[, "innererror": {"code"}]}}``: 404
  ``SecretNotFound``, 403 ``Forbidden``/``ForbiddenByRbac`` for a caller without the
  role, 403 ``Forbidden``/``SecretDisabled`` for a disabled version, 400 without an
  ``api-version``.

Set Secret (https://learn.microsoft.com/en-us/rest/api/keyvault/secrets/set-secret/set-secret):
``PUT /secrets/{secret-name}?api-version=...`` with ``{"value"[, "contentType", "tags",
"attributes"]}`` adds a new version ("If the named secret already exists, Azure Key Vault
creates a new version of that secret") and answers its bundle; 403 ``ForbiddenByRbac``
for a caller without the role. Key Vault takes no condition (no ``If-Match``) on it.

Not implemented: every other operation (list, delete, backup), keys and
certificates, managed HSM, PoP tokens and CAE claims challenges, real JWT validation
(tokens are opaque strings checked against the identity endpoint's record), tenant
checks, soft-delete states, ``x-ms-keyvault-*`` response headers, and throttling
(tests force 429 and 5xx answers through :meth:`KeyVaultServer.force`).
"""

from __future__ import annotations

import contextlib
import json
import ssl
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from bandwidth_credentials.testing import serve

TENANT = "72f988bf-0000-4000-8000-00000000beef"
RESOURCE = "https://vault.azure.net"
SUFFIX = ".vault.azure.net"
CHALLENGE = (
    f'Bearer authorization="https://login.microsoftonline.com/{TENANT}", resource="{RESOURCE}"'
)


@dataclass
class Recorded:
    """One request: the vault host, path, query and the bearer token, if any."""

    host: str
    path: str
    query: dict[str, list[str]]
    token: str | None


@dataclass
class Version:
    version: str
    value: str
    enabled: bool = True
    created: int = field(default_factory=lambda: int(time.time()))


@dataclass
class Forced:
    status: int
    body: bytes
    headers: Mapping[str, str]
    times: int | None  # None: every request


class KeyVaultServer:
    """Vaults, secrets and role assignments in memory, served over TLS on 127.0.0.1.

    ``tokens`` is the identity endpoint's record of issued tokens (token -> resource).
    """

    def __init__(self, ssl_context: ssl.SSLContext, tokens: Mapping[str, str]) -> None:
        self.tokens = tokens
        self.secrets: dict[tuple[str, str], list[Version]] = {}
        self.denied: set[tuple[str, str]] = set()
        #: vault -> the resource its challenge names instead of Key Vault's own
        self.challenge_resource: dict[str, str] = {}
        self.requests: list[Recorded] = []
        self.forced: list[Forced] = []
        self.hang = threading.Event()  # set: requests stall until `release` is set
        self.release = threading.Event()
        self._lock = threading.Lock()
        self.handler = _handler(self, ssl_context)
        self.address = ("127.0.0.1", 0)  # set by running()

    # -- arranging ----------------------------------------------------------------------

    def put(self, vault: str, name: str, value: object, *, enabled: bool = True) -> str:
        """Add a version (JSON-encoded unless a string) and return its version id."""
        text = value if isinstance(value, str) else json.dumps(value)
        version = Version(uuid.uuid4().hex, text, enabled)
        with self._lock:
            self.secrets.setdefault((vault, name), []).append(version)
        return version.version

    def deny(self, vault: str, name: str) -> None:
        """The caller lacks ``Key Vault Secrets User`` for this secret."""
        self.denied.add((vault, name))

    def force(
        self,
        status: int,
        body: object,
        *,
        headers: Mapping[str, str] | None = None,
        times: int | None = None,
    ) -> None:
        """Answer the next ``times`` authenticated requests (all, if None) like this."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.forced.append(Forced(status, data, dict(headers or {}), times))

    # -- answering ----------------------------------------------------------------------

    def answer(
        self, host: str, target: str, auth: str | None, method: str = "GET", body: bytes = b""
    ) -> tuple[int, object, dict[str, str]]:
        url = urlsplit(target)
        query = parse_qs(url.query)
        token = auth[7:] if auth and auth.startswith("Bearer ") else None
        vault = host.split(":")[0].lower().removesuffix(SUFFIX)
        with self._lock:
            self.requests.append(Recorded(host, url.path, query, token))
        if self.tokens.get(token or "") != RESOURCE:
            missing = "AKV10000: Request is missing a Bearer or PoP token."
            challenge = CHALLENGE.replace(RESOURCE, self.challenge_resource.get(vault, RESOURCE))
            return 401, _error("Unauthorized", missing), {"WWW-Authenticate": challenge}
        if self.hang.is_set():
            self.release.wait(timeout=60)
        forced = self._take_forced()
        if forced is not None:
            return forced.status, forced.body, dict(forced.headers)
        if not query.get("api-version"):
            return 400, _error("BadParameter", "The api-version parameter is missing."), {}
        parts = [unquote(p) for p in url.path.split("/")[1:]]
        if len(parts) not in (2, 3) or parts[0] != "secrets":
            return 404, _error("NotFound", "Unknown path."), {}
        if method == "PUT":
            if len(parts) != 2:
                return 405, _error("BadParameter", "A version cannot be set."), {}
            return self._set_secret(host.split(":")[0], vault, parts[1], body)
        return self._get_secret(host.split(":")[0], vault, parts[1], [*parts, ""][2])

    def _take_forced(self) -> Forced | None:
        with self._lock:
            if not self.forced:
                return None
            forced = self.forced[0]
            if forced.times is not None:
                forced.times -= 1
                if forced.times <= 0:
                    self.forced.pop(0)
            return forced

    def _set_secret(
        self, host: str, vault: str, name: str, body: bytes
    ) -> tuple[int, object, dict[str, str]]:
        if (vault, name) in self.denied:
            message = (
                "Caller is not authorized to perform action on resource. "
                "Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'"
            )
            return 403, _error("Forbidden", message, "ForbiddenByRbac"), {}
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            request = None
        if not isinstance(request, dict) or not isinstance(request.get("value"), str):
            return 400, _error("BadParameter", "The request body is not a secret."), {}
        version = self.put(vault, name, request["value"])
        return self._get_secret(host, vault, name, version)

    def _get_secret(
        self, host: str, vault: str, name: str, version: str
    ) -> tuple[int, object, dict[str, str]]:
        if (vault, name) in self.denied:
            message = (
                "Caller is not authorized to perform action on resource. "
                "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'"
            )
            return 403, _error("Forbidden", message, "ForbiddenByRbac"), {}
        versions = self.secrets.get((vault, name), [])
        found = [v for v in versions if v.version == version] if version else versions[-1:]
        if not found:
            message = f"A secret with (name/id) {name}/{version} was not found in this key vault."
            return 404, _error("SecretNotFound", message), {}
        item = found[0]
        if not item.enabled:
            message = "Operation get is not allowed on a disabled secret."
            return 403, _error("Forbidden", message, "SecretDisabled"), {}
        bundle = {
            "value": item.value,
            "id": f"https://{host}/secrets/{name}/{item.version}",
            "attributes": {
                "enabled": True,
                "created": item.created,
                "updated": item.created,
                "recoveryLevel": "Recoverable+Purgeable",
                "recoverableDays": 90,
            },
            "tags": {},
        }
        return 200, bundle, {}


def _error(code: str, message: str, inner: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if inner:
        error["innererror"] = {"code": inner}
    return {"error": error}


def _handler(server: KeyVaultServer, context: ssl.SSLContext) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 30

        def setup(self) -> None:
            # The TLS handshake runs in this connection's own thread, not in the
            # accepting one, so one stalled client cannot block the others.
            self.request.settimeout(self.timeout)
            plain = self.request
            try:
                self.request = context.wrap_socket(plain, server_side=True)
            except (ssl.SSLError, OSError):
                plain.close()
                raise
            super().setup()

        def handle(self) -> None:
            # Clients that give up mid-request (the timeout tests) are expected.
            with contextlib.suppress(ssl.SSLError, OSError):
                super().handle()

        def finish(self) -> None:
            # The server closes the plain socket it accepted, which wrap_socket detached.
            try:
                super().finish()
            finally:
                self.request.close()

        def do_GET(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            sent = self.rfile.read(length) if length else b""
            status, body, headers = server.answer(
                self.headers.get("Host", ""),
                self.path,
                self.headers.get("Authorization"),
                self.command,
                sent,
            )
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_PUT = do_GET

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def running(server: KeyVaultServer) -> Iterator[KeyVaultServer]:
    """Serve until the block ends."""
    with serve(server.handler) as loopback:
        server.address = (loopback.host, loopback.port)
        try:
            yield server
        finally:
            server.release.set()
