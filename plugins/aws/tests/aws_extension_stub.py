"""A local stand-in for the AWS Parameters and Secrets Lambda Extension's HTTP API.

It answers as the extension's documentation describes ("Use AWS Secrets Manager secrets
in AWS Lambda functions", Secrets Manager User Guide; "Using Parameter Store parameters
in AWS Lambda functions", Systems Manager User Guide):

- ``GET /secretsmanager/get`` with ``secretId`` and optionally ``versionStage`` or
  ``versionId``: the ``GetSecretValue`` JSON (``SecretBinary`` base64-encoded);
- ``GET /systemsmanager/parameters/get`` with ``name``, optionally ``version`` or
  ``label``, and ``withDecryption=true`` (without it a ``SecureString`` arrives still
  encrypted, as Parameter Store returns it): the ``GetParameter`` JSON,
  ``{"Parameter": {...}}``;
- the session token in ``X-Aws-Parameters-Secrets-Token`` (401 when missing or wrong),
  a bare 400 for any failed lookup, and a 400 "not ready to serve traffic, please
  wait" while it starts;
- for tests, a scripted answer (``forced``) with the header fields given in
  ``forced_headers`` (a ``Retry-After`` on a 429 or 503, say). AWS documents no error
  answer of the extension, so these stand for what a throttled store could send.

Not implemented: the extension's cache and its TTL variables, and parameter ARNs of
other accounts. Standard library only, so the cold-start benchmark can use it too.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from bandwidth_credentials.testing import serve

TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
NOT_READY = b"not ready to serve traffic, please wait"
GENERIC_400 = b"400 Bad Request: an unexpected error occurred while executing request"
ACCOUNT = "123456789012"


@dataclass
class _Version:
    version_id: str
    string: str | None
    binary: bytes | None
    stages: set[str]


@dataclass
class _ParameterVersion:
    version: int
    value: str
    kind: str
    labels: set[str]


@dataclass
class StubExtension:
    """The extension's state: secrets, the expected token, and scripted failures."""

    token: str
    region: str = "us-east-1"
    secrets: dict[str, list[_Version]] = field(default_factory=dict)
    parameters: dict[str, list[_ParameterVersion]] = field(default_factory=dict)
    not_ready_answers: int = 0
    forced: tuple[int, bytes] | None = None
    forced_headers: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    port: int = 0

    def arn(self, name: str) -> str:
        return f"arn:aws:secretsmanager:{self.region}:{ACCOUNT}:secret:{name}-AbCdEf"

    def put(self, name: str, string: str | None = None, binary: bytes | None = None) -> str:
        """Store a new version under AWSCURRENT (the old one becomes AWSPREVIOUS)."""
        versions = self.secrets.setdefault(name, [])
        for old in versions:
            old.stages.discard("AWSPREVIOUS")
            if "AWSCURRENT" in old.stages:
                old.stages.discard("AWSCURRENT")
                old.stages.add("AWSPREVIOUS")
        version = _Version(str(uuid.uuid4()), string, binary, {"AWSCURRENT"})
        versions.append(version)
        return version.version_id

    def parameter_arn(self, name: str) -> str:
        return f"arn:aws:ssm:{self.region}:{ACCOUNT}:parameter/{name.lstrip('/')}"

    def put_parameter(self, name: str, value: str, kind: str = "SecureString") -> int:
        """Store a new version of a parameter; returns its version number."""
        versions = self.parameters.setdefault(name, [])
        versions.append(_ParameterVersion(len(versions) + 1, value, kind, set()))
        return len(versions)

    def label_parameter(self, name: str, version: int, label: str) -> None:
        for stored in self.parameters[name]:
            stored.labels.discard(label)
        self.parameters[name][version - 1].labels.add(label)

    def answer(self, path: str, token: str | None) -> tuple[int, bytes, dict[str, str]]:
        """The status, body and extra header fields for one request."""
        self.requests.append((path, token))
        if self.not_ready_answers > 0:
            self.not_ready_answers -= 1
            return 400, NOT_READY, {}
        if token != self.token:
            return 401, b"Unauthorized", {}
        if self.forced is not None:
            return *self.forced, dict(self.forced_headers)
        return *self._lookup(path), {}

    def _lookup(self, path: str) -> tuple[int, bytes]:
        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/systemsmanager/parameters/get":
            return self._parameter(query)
        if parts.path != "/secretsmanager/get":
            return 404, b"Not Found"
        secret_id = query.get("secretId", "")
        name = next((n for n in self.secrets if secret_id in (n, self.arn(n))), None)
        if name is None:
            return 400, GENERIC_400
        wanted_id = query.get("versionId")
        stage = query.get("versionStage", "AWSCURRENT" if wanted_id is None else None)
        for version in self.secrets[name]:
            if (wanted_id is None or version.version_id == wanted_id) and (
                stage is None or stage in version.stages
            ):
                return 200, self._document(name, version)
        return 400, GENERIC_400

    def _parameter(self, query: dict[str, str]) -> tuple[int, bytes]:
        wanted = query.get("name", "")
        name = next((n for n in self.parameters if wanted in (n, self.parameter_arn(n))), None)
        if name is None or ("version" in query and "label" in query):
            return 400, GENERIC_400
        versions = self.parameters[name]
        if "version" in query:
            chosen = [v for v in versions if str(v.version) == query["version"]]
        elif "label" in query:
            chosen = [v for v in versions if query["label"] in v.labels]
        else:
            chosen = versions[-1:]
        if not chosen:
            return 400, GENERIC_400
        stored = chosen[0]
        decrypt = query.get("withDecryption", "false").lower() == "true"
        value = stored.value
        if stored.kind == "SecureString" and not decrypt:
            value = base64.b64encode(b"encrypted:" + value.encode()).decode()
        selector = query.get("version") or query.get("label")
        document = {
            "Parameter": {
                "ARN": self.parameter_arn(name),
                "DataType": "text",
                "LastModifiedDate": "2026-01-01T00:00:00.000Z",
                "Name": name,
                "Selector": f":{selector}" if selector else None,
                "SourceResult": None,
                "Type": stored.kind,
                "Value": value,
                "Version": stored.version,
            },
            "ResultMetadata": {},
        }
        return 200, json.dumps(document).encode()

    def _document(self, name: str, version: _Version) -> bytes:
        binary = base64.b64encode(version.binary).decode() if version.binary else None
        return json.dumps(
            {
                "ARN": self.arn(name),
                "CreatedDate": "2026-01-01T00:00:00.000Z",
                "Name": name,
                "SecretBinary": binary,
                "SecretString": version.string,
                "VersionId": version.version_id,
                "VersionStages": sorted(version.stages),
                "ResultMetadata": {},
            }
        ).encode()


class _Handler(BaseHTTPRequestHandler):
    stub: StubExtension  # set per server by running()

    def do_GET(self) -> None:
        status, body, extra = self.stub.answer(self.path, self.headers.get(TOKEN_HEADER))
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if status == 200 else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: request lines would clutter test output."""


@contextmanager
def running(stub: StubExtension) -> Iterator[StubExtension]:
    """Serve ``stub`` on 127.0.0.1 with an ephemeral port (``stub.port``) until exit."""
    with serve(type("Handler", (_Handler,), {"stub": stub})) as server:
        stub.port = server.port
        yield stub
