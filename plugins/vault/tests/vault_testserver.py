"""A Vault-API-compatible HTTP server for the tests: real hvac talks to it over real HTTP.

It answers the endpoints the ``vault:`` provider uses, with the status codes, headers and
JSON envelopes Vault's HTTP API documentation gives, so that hvac (unmodified) parses
them exactly as it parses a real Vault's answers. State (mounts, secrets, tokens, roles,
namespaces) lives in memory and is changed through methods; faults (sealed, standby,
errors, hangs) are switched on by the tests. It listens on 127.0.0.1 only.

General conventions (https://developer.hashicorp.com/vault/api-docs):
- every answer is JSON with ``Content-Type: application/json``;
- a successful answer is the envelope ``request_id``, ``lease_id``, ``renewable``,
  ``lease_duration``, ``data``, ``wrap_info``, ``warnings``, ``auth``;
- an error is ``{"errors": [...]}`` with 400 (invalid request), 403 (forbidden: no or a
  bad token, or no policy), 404 (unknown path), 429 (rate limited), 500, 503 (sealed or
  down for maintenance);
- the client token travels in ``X-Vault-Token``; an Enterprise namespace in
  ``X-Vault-Namespace`` (https://developer.hashicorp.com/vault/docs/enterprise/namespaces).

The ``aws`` auth method (IAM type) follows "AWS auth method (API)"
(https://developer.hashicorp.com/vault/api-docs/auth/aws#login and "Configure client" on
the same page): the login's base64 ``iam_request_url``/``iam_request_body`` and
``iam_request_headers`` (base64 JSON or a JSON object; string or list values) are decoded;
the mount's ``iam_server_id_header_value`` is enforced (present, equal, and listed in the
Authorization header's SignedHeaders, with Vault's error texts); then, where Vault would
forward the request to STS, the server verifies it as STS would: it recomputes the SigV4
signature with the identity's secret key (``vault_sigv4.py``, written from AWS's "Create a
signed AWS API request", https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html),
checks the session token, the 15-minute window, and that the scope names the region of the
STS endpoint the mount calls (the global endpoint, us-east-1, unless ``sts_region`` or
``use_sts_region_from_client`` says otherwise). An STS refusal is answered as Vault does:
400 "error making upstream request: received error code 403 from STS: <ErrorResponse...>".
Not implemented: the ``ec2`` type, GET-style signed requests, inferred entity types,
``allowed_sts_header_values``, STS answering from a real network endpoint.
"""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import itertools
import json
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from vault_sigv4 import Identity, StsRefusal, header, parse_authorization, verify

from bandwidth_credentials.testing import LoopbackServer, serve

CREATED = "2026-01-02T03:04:05.000000Z"
DELETED = "2026-01-03T04:05:06.000000Z"


@dataclass
class Recorded:
    """One request the server received."""

    method: str
    path: str  # after /v1/, unquoted
    query: dict[str, list[str]]
    token: str | None
    namespace: str | None
    body: dict[str, Any] | None


@dataclass
class Token:
    """A token the server issued: ``policies`` are glob patterns of API paths it may read."""

    policies: tuple[str, ...]
    ttl: int = 0
    renewable: bool = False
    period: int = 0
    renewals: int = 0


@dataclass
class Version:
    data: dict[str, Any]
    deletion_time: str = ""
    destroyed: bool = False


@dataclass
class Role:
    """An approle, kubernetes or jwt role: what logs in, and the token it gets."""

    credentials: set[str]  # secret ids, or JWTs accepted
    policies: tuple[str, ...]
    ttl: int
    renewable: bool


@dataclass
class AwsRole:
    """An ``auth_type=iam`` role: the principals it admits and the token it gets."""

    bound_iam_principal_arn: tuple[str, ...]  # exact ARNs, or prefixes ending in "*"
    policies: tuple[str, ...]
    ttl: int
    renewable: bool


@dataclass
class AwsMount:
    """An ``aws`` auth mount's ``config/client`` settings that matter to IAM logins."""

    iam_server_id_header_value: str = ""
    sts_region: str = ""  # with sts_endpoint; "" is the global endpoint (us-east-1)
    use_sts_region_from_client: bool = False
    roles: dict[str, AwsRole] = field(default_factory=dict)


@dataclass
class Namespace:
    mounts: dict[str, int] = field(default_factory=dict)  # KV mount -> engine version
    engines: dict[str, str] = field(default_factory=dict)  # other mounts -> type
    kv1: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    kv2: dict[tuple[str, str], list[Version]] = field(default_factory=dict)


@dataclass
class Fault:
    prefix: str
    status: int
    errors: list[str]
    times: int


class FakeVault:
    """The server's state and controls; ``start()``/``stop()`` run it in a thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.namespaces: dict[str, Namespace] = {"": Namespace()}
        self.tokens: dict[str, Token] = {}
        self.approles: dict[str, dict[str, Role]] = {}  # mount -> role_id -> role
        self.k8s_roles: dict[str, dict[str, Role]] = {}  # mount -> role name -> role
        self.jwt_roles: dict[str, dict[str, Role]] = {}
        self.aws_mounts: dict[str, AwsMount] = {}
        self.aws_identities: dict[str, Identity] = {}  # access key id -> principal
        # Asked about access keys the server does not know (another STS's temporary keys).
        self.aws_identity_lookup: Callable[[str], Identity | None] | None = None
        self.aws_logins: list[dict[str, Any]] = []  # verified IAM logins: region, arn, headers
        # When set, IAM logins are answered with this status and a text quoting the signed
        # request (for the tests that prove such texts are redacted).
        self.aws_echo_status: int | None = None
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self.sealed = False
        self.standby = False
        self.hang_prefix: str | None = None
        self.release = threading.Event()
        self._ids = itertools.count(1)
        self._serving = contextlib.ExitStack()
        self._server: LoopbackServer | None = None
        self.root_token = self.issue_token(("*",))

    # -- running --------------------------------------------------------------------

    def start(self) -> None:
        handler = type("Handler", (_Handler,), {"vault": self})
        self._server = self._serving.enter_context(serve(handler))

    def stop(self) -> None:
        self.release.set()
        self._serving.close()

    @property
    def addr(self) -> str:
        assert self._server is not None
        return self._server.url

    # -- state ----------------------------------------------------------------------

    def namespace(self, name: str = "") -> Namespace:
        return self.namespaces.setdefault(name.strip("/"), Namespace())

    def enable_kv(self, mount: str, version: int, namespace: str = "") -> None:
        self.namespace(namespace).mounts[mount.strip("/")] = version

    def enable_engine(self, mount: str, kind: str, namespace: str = "") -> None:
        self.namespace(namespace).engines[mount.strip("/")] = kind

    def put(
        self, mount: str, path: str, data: Mapping[str, Any], namespace: str = ""
    ) -> int | None:
        """Write a secret; returns the new KV v2 version (None for KV v1)."""
        ns = self.namespace(namespace)
        mount = mount.strip("/")
        if ns.mounts[mount] == 1:
            ns.kv1[(mount, path)] = dict(data)
            return None
        versions = ns.kv2.setdefault((mount, path), [])
        versions.append(Version(dict(data)))
        return len(versions)

    def delete_version(self, mount: str, path: str, version: int, namespace: str = "") -> None:
        self.namespace(namespace).kv2[(mount, path)][version - 1].deletion_time = DELETED

    def destroy_version(self, mount: str, path: str, version: int, namespace: str = "") -> None:
        entry = self.namespace(namespace).kv2[(mount, path)][version - 1]
        entry.destroyed = True
        entry.data = {}

    def issue_token(
        self,
        policies: Iterable[str],
        ttl: int = 0,
        renewable: bool = False,
        value: str | None = None,
    ) -> str:
        """Create a token; ``value`` chooses its text (for canary tests)."""
        token = value or f"hvs.test{next(self._ids)}-{uuid.uuid4().hex}"
        self.tokens[token] = Token(tuple(policies), ttl=ttl, renewable=renewable, period=ttl)
        return token

    def revoke(self, token: str) -> None:
        self.tokens.pop(token, None)

    def add_approle(
        self,
        role_id: str,
        secret_id: str,
        policies: Iterable[str],
        ttl: int = 3600,
        renewable: bool = True,
        mount: str = "approle",
    ) -> None:
        self.approles.setdefault(mount, {})[role_id] = Role(
            {secret_id}, tuple(policies), ttl, renewable
        )

    def add_k8s_role(
        self,
        role: str,
        jwts: Iterable[str],
        policies: Iterable[str],
        ttl: int = 3600,
        renewable: bool = True,
        mount: str = "kubernetes",
    ) -> None:
        self.k8s_roles.setdefault(mount, {})[role] = Role(
            set(jwts), tuple(policies), ttl, renewable
        )

    def add_jwt_role(
        self,
        role: str,
        jwts: Iterable[str],
        policies: Iterable[str],
        ttl: int = 3600,
        renewable: bool = True,
        mount: str = "jwt",
    ) -> None:
        self.jwt_roles.setdefault(mount, {})[role] = Role(
            set(jwts), tuple(policies), ttl, renewable
        )

    def add_aws_identity(
        self, access_key: str, secret_key: str, arn: str, session_token: str | None = None
    ) -> None:
        """An IAM principal (and its keys) that the server's STS knows."""
        self.aws_identities[access_key] = Identity(arn, secret_key, session_token)

    def configure_aws(self, mount: str = "aws", **settings: Any) -> AwsMount:
        """``vault write auth/<mount>/config/client ...`` (creates the mount)."""
        config = self.aws_mounts.setdefault(mount, AwsMount())
        for name, value in settings.items():
            setattr(config, name, value)
        return config

    def add_aws_role(
        self,
        role: str,
        bound_iam_principal_arn: Iterable[str],
        policies: Iterable[str],
        ttl: int = 3600,
        renewable: bool = True,
        mount: str = "aws",
    ) -> None:
        """``vault write auth/<mount>/role/<role> auth_type=iam bound_iam_principal_arn=...``."""
        # Vault keeps aws role names in lower case and looks them up that way.
        self.configure_aws(mount).roles[role.lower()] = AwsRole(
            tuple(bound_iam_principal_arn), tuple(policies), ttl, renewable
        )

    def fail(self, prefix: str, status: int, errors: list[str], times: int = 1) -> None:
        """Answer the next ``times`` requests whose path starts with ``prefix`` with an error."""
        self.faults.append(Fault(prefix, status, errors, times))

    def calls(self, prefix: str, method: str | None = None) -> list[Recorded]:
        """The recorded requests whose path starts with ``prefix``."""
        with self.lock:
            return [
                r
                for r in self.requests
                if r.path.startswith(prefix) and (method is None or r.method == method)
            ]

    # -- answering ------------------------------------------------------------------

    def answer(self, rec: Recorded) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests.append(rec)
            if self.sealed:
                # https://developer.hashicorp.com/vault/api-docs#http-status-codes:
                # 503 "Vault is down for maintenance or is currently sealed".
                return 503, {"errors": ["Vault is sealed"]}
            if self.standby:
                # A standby node that cannot reach an active node answers 503 too.
                return 503, {"errors": ["local node not active but active cluster node not found"]}
            for fault in self.faults:
                if fault.times > 0 and rec.path.startswith(fault.prefix):
                    fault.times -= 1
                    return fault.status, {"errors": list(fault.errors)}
            return self._route(rec)

    def _route(self, rec: Recorded) -> tuple[int, dict[str, Any]]:
        path, method = rec.path, rec.method
        if path.startswith("auth/") and path.endswith("/login") and method in ("POST", "PUT"):
            return self._login(rec, path[len("auth/") : -len("/login")])
        token = self.tokens.get(rec.token or "")
        if token is None:
            # A missing, unknown or revoked token is "permission denied" (403).
            return 403, {"errors": ["permission denied"]}
        if path == "auth/token/lookup-self" and method == "GET":
            return self._lookup_self(rec, token)
        if path == "auth/token/renew-self" and method in ("POST", "PUT"):
            return self._renew_self(rec, token)
        if path.startswith("sys/internal/ui/mounts/") and method == "GET":
            return self._preflight(rec, token, path[len("sys/internal/ui/mounts/") :])
        if method == "GET":
            return self._read(rec, token)
        if method in ("POST", "PUT"):
            return self._write(rec, token)
        return 405, {"errors": [f"unsupported operation {method} on {path}"]}

    @staticmethod
    def envelope(
        data: Any = None, auth: Any = None, lease_duration: int = 0, renewable: bool = False
    ) -> dict[str, Any]:
        return {
            "request_id": str(uuid.uuid4()),
            "lease_id": "",
            "renewable": renewable,
            "lease_duration": lease_duration,
            "data": data,
            "wrap_info": None,
            "warnings": None,
            "auth": auth,
        }

    @staticmethod
    def _allowed(token: Token, api_path: str) -> bool:
        return any(fnmatch.fnmatchcase(api_path, pattern) for pattern in token.policies)

    def _mount_of(self, ns: Namespace, path: str) -> str | None:
        names = list(ns.mounts) + list(ns.engines)
        matches = [m for m in names if path == m or path.startswith(m + "/")]
        return max(matches, key=len) if matches else None

    # https://developer.hashicorp.com/vault/api-docs/system/internal-ui-mounts#get-single-mount-details
    # GET /v1/sys/internal/ui/mounts/:path -> the mount holding :path, with "path" (the
    # mount, trailing slash), "type" and "options" ({"version": "2"} for KV v2). A token
    # with any capability on a path in the mount may call it; an unknown mount answers
    # permission denied so that mounts cannot be discovered by probing.
    def _preflight(self, rec: Recorded, token: Token, path: str) -> tuple[int, dict[str, Any]]:
        ns = self.namespace(rec.namespace or "")
        mount = self._mount_of(ns, path.strip("/"))
        if mount is None or not any(p == "*" or p.startswith(mount + "/") for p in token.policies):
            denied = (
                "preflight capability check returned 403, please ensure client's policies "
                f'grant access to path "{path.strip("/")}/"'
            )
            return 403, {"errors": [denied]}
        if mount in ns.mounts:
            kind, options = "kv", {"version": str(ns.mounts[mount])}
        else:
            kind, options = ns.engines[mount], None
        data = {
            "accessor": f"{kind}_{abs(hash(mount)) % 10**8:08x}",
            "config": {"default_lease_ttl": 0, "force_no_cache": False, "max_lease_ttl": 0},
            "description": "",
            "external_entropy_access": False,
            "local": False,
            "options": options,
            "path": mount + "/",
            "seal_wrap": False,
            "type": kind,
            "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, mount)),
        }
        return 200, self.envelope(data)

    # KV v2: https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2#read-secret-version
    # GET /v1/:mount/data/:path?version=N -> data.data (the key/values) and data.metadata
    # (created_time, custom_metadata, deletion_time, destroyed, version). A deleted or
    # destroyed version answers 404 with the same envelope, data.data null and its
    # metadata; an unknown path or version answers 404 {"errors": []}.
    # KV v1: https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v1#read-secret
    # GET /v1/:mount/:path -> data is the key/values, lease_duration the mount's TTL.
    def _read(self, rec: Recorded, token: Token) -> tuple[int, dict[str, Any]]:
        ns = self.namespace(rec.namespace or "")
        mount = self._mount_of(ns, rec.path)
        if not self._allowed(token, rec.path):
            return 403, {"errors": ["1 error occurred:\n\t* permission denied\n\n"]}
        if mount is None or mount not in ns.mounts:
            return 404, {"errors": [f'no handler for route "{rec.path}"']}
        rest = rec.path[len(mount) + 1 :]
        if ns.mounts[mount] == 1:
            values = ns.kv1.get((mount, rest))
            if values is None:
                return 404, {"errors": []}
            return 200, self.envelope(dict(values), lease_duration=2764800)
        if not rest.startswith("data/"):
            return 404, {"errors": []}
        versions = ns.kv2.get((mount, rest[len("data/") :]))
        wanted = int((rec.query.get("version") or ["0"])[0])
        if not versions or wanted > len(versions):
            return 404, {"errors": []}
        number = wanted or len(versions)
        entry = versions[number - 1]
        metadata = {
            "created_time": CREATED,
            "custom_metadata": None,
            "deletion_time": entry.deletion_time,
            "destroyed": entry.destroyed,
            "version": number,
        }
        if entry.deletion_time or entry.destroyed:
            return 404, self.envelope({"data": None, "metadata": metadata})
        return 200, self.envelope({"data": dict(entry.data), "metadata": metadata})

    # KV v2: https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2#create-update-secret
    # POST /v1/:mount/data/:path with {"options": {"cas": N}, "data": {...}}: a new version;
    # with cas, only when N is the current version (0: only when the secret does not exist),
    # else 400 "check-and-set parameter did not match the current version". Answers the new
    # version's metadata (created_time, custom_metadata, deletion_time, destroyed, version).
    # KV v1: https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v1#create-update-secret
    # POST /v1/:mount/:path with the key/values as the body: 204, no versions, no cas.
    # Writes need a policy on the path (as reads here). Not implemented: cas_required, the
    # engine's max_versions, custom metadata.
    def _write(self, rec: Recorded, token: Token) -> tuple[int, dict[str, Any]]:
        ns = self.namespace(rec.namespace or "")
        mount = self._mount_of(ns, rec.path)
        if not self._allowed(token, rec.path):
            return 403, {"errors": ["1 error occurred:\n\t* permission denied\n\n"]}
        if mount is None or mount not in ns.mounts:
            return 404, {"errors": [f'no handler for route "{rec.path}"']}
        rest = rec.path[len(mount) + 1 :]
        body = rec.body or {}
        if ns.mounts[mount] == 1:
            ns.kv1[(mount, rest)] = dict(body)
            return 204, {}
        if not rest.startswith("data/") or not isinstance(body.get("data"), dict):
            return 400, {"errors": ["no data provided"]}
        versions = ns.kv2.setdefault((mount, rest[len("data/") :]), [])
        cas = (body.get("options") or {}).get("cas")
        if cas is not None and int(cas) != len(versions):
            return 400, {"errors": ["check-and-set parameter did not match the current version"]}
        versions.append(Version(dict(body["data"])))
        metadata = {
            "created_time": CREATED,
            "custom_metadata": None,
            "deletion_time": "",
            "destroyed": False,
            "version": len(versions),
        }
        return 200, self.envelope(metadata)

    # https://developer.hashicorp.com/vault/api-docs/auth/token#lookup-a-token-self
    # GET /v1/auth/token/lookup-self -> data: accessor, creation_ttl, expire_time,
    # explicit_max_ttl, id, policies, renewable, ttl (seconds left; 0 = never expires), ...
    def _lookup_self(self, rec: Recorded, token: Token) -> tuple[int, dict[str, Any]]:
        data = {
            "accessor": "accessor-" + uuid.uuid4().hex[:8],
            "creation_time": 1767323045,
            "creation_ttl": token.ttl,
            "display_name": "token",
            "entity_id": "",
            "expire_time": None if token.ttl == 0 else "2026-01-02T04:04:05.000000Z",
            "explicit_max_ttl": 0,
            "id": rec.token,
            "issue_time": CREATED,
            "meta": None,
            "num_uses": 0,
            "orphan": True,
            "path": "auth/token/create",
            "policies": ["default"],
            "renewable": token.renewable,
            "ttl": token.ttl,
            "type": "service",
        }
        return 200, self.envelope(data)

    # https://developer.hashicorp.com/vault/api-docs/auth/token#renew-a-token-self
    # POST /v1/auth/token/renew-self {"increment": "1h"?} -> auth: client_token, policies,
    # metadata, lease_duration, renewable. A token that is not renewable answers 400.
    def _renew_self(self, rec: Recorded, token: Token) -> tuple[int, dict[str, Any]]:
        if not token.renewable:
            return 400, {"errors": ["lease is not renewable"]}
        token.renewals += 1
        token.ttl = token.period
        auth = self._auth_block(rec.token or "", token)
        return 200, self.envelope(auth=auth)

    def _auth_block(self, client_token: str, token: Token) -> dict[str, Any]:
        return {
            "client_token": client_token,
            "accessor": "accessor-" + uuid.uuid4().hex[:8],
            "policies": ["default"],
            "token_policies": ["default"],
            "metadata": {},
            "lease_duration": token.ttl,
            "renewable": token.renewable,
            "entity_id": "",
            "token_type": "service",
            "orphan": True,
        }

    # AppRole: https://developer.hashicorp.com/vault/api-docs/auth/approle#login-with-approle
    #   POST /v1/auth/:mount/login {"role_id", "secret_id"}; a wrong pair is 400.
    # Kubernetes: https://developer.hashicorp.com/vault/api-docs/auth/kubernetes#login
    #   POST /v1/auth/:mount/login {"role", "jwt"}; an unknown role is 400, a JWT that
    #   does not validate is 403.
    # JWT: https://developer.hashicorp.com/vault/api-docs/auth/jwt#jwt-login
    #   POST /v1/auth/:mount/login {"role", "jwt"}; an unknown role or bad JWT is 400.
    # Each answers the envelope with "auth": client_token, accessor, policies, metadata,
    # lease_duration, renewable.
    def _login(self, rec: Recorded, mount: str) -> tuple[int, dict[str, Any]]:
        body = rec.body or {}
        if mount in self.aws_mounts:
            return self._aws_login(body, self.aws_mounts[mount])
        if mount in self.approles:
            role = self.approles[mount].get(str(body.get("role_id", "")))
            if role is None or str(body.get("secret_id", "")) not in role.credentials:
                return 400, {"errors": ["invalid role or secret ID"]}
        elif mount in self.k8s_roles:
            name = str(body.get("role", ""))
            role = self.k8s_roles[mount].get(name)
            if role is None:
                return 400, {"errors": [f'invalid role name "{name}"']}
            if str(body.get("jwt", "")) not in role.credentials:
                return 403, {"errors": ["permission denied"]}
        elif mount in self.jwt_roles:
            # Without "role" Vault uses the mount's default_role; here that is "default".
            name = str(body.get("role") or "default")
            role = self.jwt_roles[mount].get(name)
            if role is None:
                return 400, {"errors": [f'role "{name}" could not be found']}
            if str(body.get("jwt", "")) not in role.credentials:
                return 400, {"errors": ["error validating token: invalid signature"]}
        else:
            return 404, {"errors": [f'no handler for route "auth/{mount}/login"']}
        return self._issue_login(role.policies, role.ttl, role.renewable)

    def _issue_login(
        self, policies: tuple[str, ...], ttl: int, renewable: bool
    ) -> tuple[int, dict[str, Any]]:
        client_token = self.issue_token(policies, ttl=ttl, renewable=renewable)
        auth = self._auth_block(client_token, self.tokens[client_token])
        return 200, self.envelope(auth=auth)

    # https://developer.hashicorp.com/vault/api-docs/auth/aws#login (IAM type); every
    # refusal is 400 {"errors": [...]}, as Vault answers them.
    def _aws_login(self, body: dict[str, Any], mount: AwsMount) -> tuple[int, dict[str, Any]]:
        decoded = decode_aws_login(body)
        if isinstance(decoded, str):
            return 400, {"errors": [decoded]}
        method, url, payload, headers = decoded
        if self.aws_echo_status is not None:
            quoted = (
                f"refused {header(headers, 'Authorization')} with token "
                f"{header(headers, 'X-Amz-Security-Token')} in {body['iam_request_headers']}"
            )
            return self.aws_echo_status, {"errors": [quoted]}
        if mount.iam_server_id_header_value:
            problem = _server_id_problem(headers, mount.iam_server_id_header_value)
            if problem:
                return 400, {
                    "errors": [f"error validating X-Vault-AWS-IAM-Server-ID header: {problem}"]
                }
        scope = parse_authorization(header(headers, "Authorization") or "")
        region = mount.sts_region or "us-east-1"
        if mount.use_sts_region_from_client and scope is not None:
            region = scope.region
        lookup = self.aws_identity_lookup
        if scope is not None and scope.access_key not in self.aws_identities and lookup:
            found = lookup(scope.access_key)
            if found is not None:
                self.aws_identities[scope.access_key] = found
        try:
            identity, _ = verify(method, url, payload, headers, self.aws_identities, region)
        except StsRefusal as refusal:
            answer = (
                '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
                f"<Type>Sender</Type><Code>{refusal.code}</Code>"
                f"<Message>{refusal.message}</Message></Error>"
                f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
            )
            return 400, {
                "errors": [
                    f"error making upstream request: received error code 403 from STS: {answer}"
                ]
            }
        self.aws_logins.append({"region": region, "arn": identity.arn, "headers": headers})
        canonical, friendly = _canonical_arn(identity.arn)
        # Without "role", Vault uses the principal's friendly name (user or role name).
        name = str(body.get("role") or friendly)
        role = mount.roles.get(name.lower())
        if role is None:
            return 400, {"errors": [f'entry for role "{name}" not found']}
        if not any(
            canonical == bound or (bound.endswith("*") and canonical.startswith(bound[:-1]))
            for bound in role.bound_iam_principal_arn
        ):
            return 400, {
                "errors": [f'IAM Principal "{canonical}" does not belong to the role "{name}"']
            }
        return self._issue_login(role.policies, role.ttl, role.renewable)


def decode_aws_login(
    body: dict[str, Any],
) -> tuple[str, str, bytes, dict[str, list[str]]] | str:
    """The signed request in an IAM login body, or Vault's complaint about it."""
    for name in ("iam_http_request_method", "iam_request_url", "iam_request_headers"):
        if not body.get(name):
            return f"missing {name}"
    method = str(body["iam_http_request_method"])
    if method != "POST":
        return f"this test server verifies POST requests only, not {method}"
    try:
        url = base64.b64decode(str(body["iam_request_url"]), validate=True).decode()
        payload = base64.b64decode(str(body.get("iam_request_body", "")), validate=True)
        raw = body["iam_request_headers"]
        parsed = raw if isinstance(raw, dict) else json.loads(base64.b64decode(str(raw)))
    except (ValueError, TypeError):
        return "error decoding the iam_request_* fields"
    if not isinstance(parsed, dict):
        return "iam_request_headers is not a JSON object"
    headers = {
        str(k): [str(x) for x in v] if isinstance(v, list) else [str(v)] for k, v in parsed.items()
    }
    if parse_qs(payload.decode(errors="replace")).get("Action") != ["GetCallerIdentity"]:
        return "iam_request_body is not a GetCallerIdentity request"
    return method, url, payload, headers


def _canonical_arn(arn: str) -> tuple[str, str]:
    """Vault's canonical ARN and friendly name: an assumed role is its role, path dropped.

    ``arn:aws:sts::1:assumed-role/R/session`` -> ``arn:aws:iam::1:role/R``, ``R``;
    ``arn:aws:iam::1:user/path/U`` -> ``arn:aws:iam::1:user/U``, ``U``.
    """
    _, partition, _, _, account, resource = arn.split(":", 5)
    kind, _, rest = resource.partition("/")
    friendly = rest.split("/")[0] if kind == "assumed-role" else rest.rsplit("/", 1)[-1]
    kind = "role" if kind == "assumed-role" else kind
    return f"arn:{partition}:iam::{account}:{kind}/{friendly}", friendly


def _server_id_problem(headers: dict[str, list[str]], required: str) -> str:
    """Vault's checks of X-Vault-AWS-IAM-Server-ID, with its messages ("" when fine)."""
    provided = header(headers, "X-Vault-AWS-IAM-Server-ID")
    if not provided:
        return 'missing header "X-Vault-AWS-IAM-Server-ID"'
    if provided != required:
        return f'expected "{required}" but got "{provided}"'
    scope = parse_authorization(header(headers, "Authorization") or "")
    if scope is None or "x-vault-aws-iam-server-id" not in scope.signed_headers:
        return "vault header wasn't signed"
    return ""


class _Handler(BaseHTTPRequestHandler):
    vault: FakeVault
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _handle(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        if not split.path.startswith("/v1/"):
            self._send(404, {"errors": []})
            return
        rec = Recorded(
            method=self.command,
            path=unquote(split.path[len("/v1/") :]),
            query=parse_qs(split.query),
            token=self.headers.get("X-Vault-Token"),
            namespace=(self.headers.get("X-Vault-Namespace") or "").strip("/") or None,
            body=body if isinstance(body, dict) else None,
        )
        hang = self.vault.hang_prefix
        if hang is not None and rec.path.startswith(hang):
            # Hold the request open until the test ends: the client must time out.
            self.vault.release.wait()
            self.close_connection = True
            return
        status, payload = self.vault.answer(rec)
        self._send(status, payload)

    def _send(self, status: int, payload: Mapping[str, Any]) -> None:
        raw = json.dumps(payload).encode() if status != 204 else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    do_GET = do_POST = do_PUT = do_LIST = do_DELETE = _handle
