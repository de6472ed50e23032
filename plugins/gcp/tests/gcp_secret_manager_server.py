"""A loopback server that answers Google Cloud Secret Manager's published API.

It serves ``AccessSecretVersion`` over both of the official client's transports:

- REST: ``GET /v1/{name=projects/*/secrets/*/versions/*}:access`` (and the regional
  ``projects/*/locations/*/...`` form) answering
  ``{"name": ".../versions/N", "payload": {"data": BASE64, "dataCrc32c": "DECIMAL"}}``,
  and failures as Google's error JSON ``{"error": {"code", "message", "status"}}`` with the
  HTTP status of the canonical code;
  https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets.versions/access
  https://cloud.google.com/apis/design/errors#http_mapping
- gRPC (``gcp_secret_manager_grpc``, over the same :class:`SecretStore`):
  ``google.cloud.secretmanager.v1.SecretManagerService/AccessSecretVersion`` with the
  client's own protobuf types, failures as gRPC status codes.

Semantics from the API reference: ``latest`` is the most recently created version
whatever its state; a DISABLED or DESTROYED version is ``FAILED_PRECONDITION`` ("Secret
Version [...] is in DISABLED state."); a missing secret or version is ``NOT_FOUND``; a
caller without ``secretmanager.versions.access`` gets ``PERMISSION_DENIED``; a request
without a valid bearer token ``UNAUTHENTICATED``. Answers name the project by number, as
the service does. A bearer token is valid when the token endpoint issued it, or when it
is a service account's self-signed JWT (RS256, signed by a key registered with the store,
not expired), which is what the client sends for a service-account key
(https://developers.google.com/identity/protocols/oauth2/service-account#jwt-auth).
Also an OAuth 2.0 token endpoint (``POST /token``, the refresh-token grant google-auth
uses for ``authorized_user`` credentials, RFC 6749 section 6).

``AddSecretVersion`` (REST ``POST /v1/{parent=projects/*/secrets/*}:addVersion`` with
``{"payload": {"data": BASE64, "dataCrc32c": "DECIMAL"}}``, answering the new
``SecretVersion`` ``{"name", "createTime", "state": "ENABLED"}``; gRPC with the client's
types): a new version of an existing secret, ``NOT_FOUND`` for a missing secret,
``INVALID_ARGUMENT`` when the given CRC32C does not match the data, ``PERMISSION_DENIED``
for a denied secret;
https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets/addVersion

Not implemented: every other RPC (create, list, IAM, ...), version aliases, etags, CMEK,
replication, real IAM (access is allowed or denied per secret),
request quotas, gRPC metadata other than ``authorization``, and the ``$alt``/``$fields``
system parameters. Misbehaviour for tests: ``fail`` (answer the next N calls with a
status; with ``retry_delay``, carrying a ``google.rpc.RetryInfo`` detail of that many
seconds, https://cloud.google.com/apis/design/errors#retryinfo), ``delay`` (hang
before answering), ``corrupt`` (send a wrong checksum), ``echo`` (the token endpoint
quotes a refused refresh token in its error) and, on REST only, ``raw`` (answer with
this status and body, as a proxy in the way might).
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote

import google_crc32c
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bandwidth_credentials.testing import serve

HTTP_STATUS = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "RESOURCE_EXHAUSTED": 429,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}
_VERSION_NAME = re.compile(
    r"^projects/(?P<project>[^/]+)(?P<location>/locations/[^/]+)?"
    r"/secrets/(?P<secret>[^/]+)/versions/(?P<version>[^/]+)$"
)


class ApiError(Exception):
    """A canonical status with its message, answered instead of a payload."""

    def __init__(self, status: str, message: str, retry_delay: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_delay = retry_delay


@dataclass
class Version:
    data: bytes
    state: str = "ENABLED"


@dataclass
class SecretStore:
    """Secrets, the one valid access token, and the misbehaviour switches."""

    token: str
    project_numbers: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, list[Version]] = field(default_factory=dict)
    denied: set[str] = field(default_factory=set)
    refresh_tokens: set[str] = field(default_factory=set)
    service_accounts: dict[str, rsa.RSAPublicKey] = field(default_factory=dict)
    fail: tuple[str, str, int] | None = None
    retry_delay: int | None = None
    raw: tuple[int, bytes] | None = None
    delay: float = 0.0
    corrupt: bool = False
    echo: bool = False
    calls: list[str] = field(default_factory=list)
    token_requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, secret: str, data: bytes, state: str = "ENABLED") -> str:
        """Add a version to ``projects/P[/locations/L]/secrets/S``; returns its number."""
        with self.lock:
            versions = self.secrets.setdefault(secret, [])
            versions.append(Version(data, state))
            return str(len(versions))

    def set_state(self, secret: str, number: str, state: str) -> None:
        with self.lock:
            self.secrets[secret][int(number) - 1].state = state

    def access(self, name: str, authorization: str | None) -> tuple[str, bytes, int]:
        """``(resolved version name, data, crc32c)`` or :class:`ApiError`."""
        with self.lock:
            self.calls.append(name)
            if self.fail is not None:
                status, message, left = self.fail
                self.fail = (status, message, left - 1) if left > 1 else None
                raise ApiError(status, message, self.retry_delay)
            if not self._authenticated(authorization):
                raise ApiError(
                    "UNAUTHENTICATED",
                    "Request had invalid authentication credentials. Expected OAuth 2 access "
                    "token, login cookie or other valid authentication credential.",
                )
            found = _VERSION_NAME.match(name)
            if found is None:
                raise ApiError("INVALID_ARGUMENT", f"Invalid resource field value: {name}")
            secret = name.rsplit("/versions/", 1)[0]
            if secret in self.denied:
                raise ApiError(
                    "PERMISSION_DENIED",
                    f"Permission 'secretmanager.versions.access' denied for resource "
                    f"'{name}' (or it may not exist).",
                )
            versions = self.secrets.get(secret)
            if not versions:
                raise ApiError("NOT_FOUND", f"Secret [{secret}] not found or has no versions.")
            wanted = found.group("version")
            number = len(versions) if wanted == "latest" else _number(wanted)
            if not 1 <= number <= len(versions):
                raise ApiError("NOT_FOUND", f"Secret Version [{name}] not found.")
            version = versions[number - 1]
            project = self.project_numbers.get(found.group("project"), found.group("project"))
            resolved = (
                f"projects/{project}{found.group('location') or ''}"
                f"/secrets/{found.group('secret')}/versions/{number}"
            )
            if version.state != "ENABLED":
                raise ApiError(
                    "FAILED_PRECONDITION",
                    f"Secret Version [{resolved}] is in {version.state} state.",
                )
            crc = google_crc32c.value(version.data) ^ (1 if self.corrupt else 0)
            return resolved, version.data, crc

    def add_version(
        self, parent: str, data: bytes, crc: int | None, authorization: str | None
    ) -> str:
        """``AddSecretVersion``: the new version's resolved name, or :class:`ApiError`."""
        with self.lock:
            self.calls.append(parent + ":addVersion")
            if not self._authenticated(authorization):
                raise ApiError("UNAUTHENTICATED", "Request had invalid authentication credentials.")
            if parent in self.denied:
                raise ApiError(
                    "PERMISSION_DENIED",
                    f"Permission 'secretmanager.versions.add' denied for resource '{parent}' "
                    "(or it may not exist).",
                )
            versions = self.secrets.get(parent)
            if versions is None:
                raise ApiError("NOT_FOUND", f"Secret [{parent}] not found.")
            if crc is not None and crc != google_crc32c.value(data):
                raise ApiError("INVALID_ARGUMENT", "Checksum mismatch for the payload data.")
            versions.append(Version(data))
            project, _, rest = parent.removeprefix("projects/").partition("/")
            number = self.project_numbers.get(project, project)
            return f"projects/{number}/{rest}/versions/{len(versions)}"

    def _authenticated(self, authorization: str | None) -> bool:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme != "Bearer" or not token:
            return False
        return token == self.token or self._valid_jwt(token)

    def _valid_jwt(self, token: str) -> bool:
        try:
            header, claims, signature = (_b64url(part) for part in token.split("."))
            key = self.service_accounts[json.loads(claims)["iss"]]
            key.verify(
                signature,
                token.rsplit(".", 1)[0].encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
            expires = float(json.loads(claims)["exp"])
        except (ValueError, KeyError, InvalidSignature):
            return False
        return json.loads(header).get("alg") == "RS256" and expires > time.time()

    def issue_token(self, refresh_token: str) -> str | None:
        with self.lock:
            self.token_requests += 1
            return self.token if refresh_token in self.refresh_tokens else None


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _number(text: str) -> int:
    return int(text) if text.isdigit() else 0


# -- REST ---------------------------------------------------------------------------------


class _RestHandler(BaseHTTPRequestHandler):
    store: SecretStore  # set per server by rest_server()
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        store = self.store
        path = unquote(self.path.split("?", 1)[0])
        if not (path.startswith("/v1/") and path.endswith(":access")):
            self._error(ApiError("NOT_FOUND", "The requested URL was not found on this server."))
            return
        if store.delay:
            threading.Event().wait(store.delay)
        if store.raw is not None:
            self._send_raw(*store.raw)
            return
        try:
            name, data, crc = store.access(
                path[4 : -len(":access")], self.headers.get("Authorization")
            )
        except ApiError as exc:
            self._error(exc)
            return
        payload = {"data": base64.b64encode(data).decode(), "dataCrc32c": str(crc)}
        self._send(200, {"name": name, "payload": payload})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        path = unquote(self.path.split("?", 1)[0])
        if path.startswith("/v1/") and path.endswith(":addVersion"):
            self._add_version(path[4 : -len(":addVersion")], raw)
            return
        form = parse_qs(raw.decode())
        if self.path != "/token" or form.get("grant_type") != ["refresh_token"]:
            self._send(400, {"error": "unsupported_grant_type"})
            return
        refresh_token = (form.get("refresh_token") or [""])[0]
        token = self.store.issue_token(refresh_token)
        if token is None:
            # A careless endpoint may quote what it was sent: `echo` makes this one do so.
            said = f"Bad Request: {refresh_token}" if self.store.echo else "Bad Request"
            self._send(400, {"error": "invalid_grant", "error_description": said})
            return
        self._send(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _add_version(self, parent: str, raw: bytes) -> None:
        payload = (json.loads(raw or b"{}").get("payload")) or {}
        crc = payload.get("dataCrc32c")
        try:
            name = self.store.add_version(
                parent,
                base64.b64decode(payload.get("data", "")),
                int(crc) if crc is not None else None,
                self.headers.get("Authorization"),
            )
        except ApiError as exc:
            self._error(exc)
            return
        self._send(200, {"name": name, "createTime": "2026-12-06T00:00:00Z", "state": "ENABLED"})

    def _error(self, exc: ApiError) -> None:
        code = HTTP_STATUS.get(exc.status, 500)
        error: dict[str, Any] = {"code": code, "message": exc.message, "status": exc.status}
        if exc.retry_delay is not None:
            error["details"] = [
                {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                 "retryDelay": f"{exc.retry_delay}s"}
            ]  # fmt: skip
        self._send(code, {"error": error})

    def _send(self, status: int, body: object) -> None:
        self._send_raw(status, json.dumps(body).encode(), "application/json; charset=UTF-8")

    def _send_raw(self, status: int, raw: bytes, content_type: str = "text/html") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@contextmanager
def rest_server(store: SecretStore, tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """Serve REST (and the token endpoint) on 127.0.0.1; yields ``http(s)://127.0.0.1:PORT``."""
    with serve(type("Handler", (_RestHandler,), {"store": store}), tls=tls) as server:
        yield server.url
