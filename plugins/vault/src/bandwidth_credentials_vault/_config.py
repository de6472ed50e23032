"""What a ``vault:`` source asks for: its URI options and Vault's environment variables.

Parsing the URI happens when the provider is built (no I/O, so a bad option fails at
configuration time); the environment is read when the provider first connects, the way
the Vault CLI reads it when it runs.
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from bandwidth_credentials.plugin import ConfigurationError, Source, positive_number, text_option

#: Where a pod's projected service-account token is mounted.
DEFAULT_JWT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/token"

#: Auth method -> its default mount path under ``auth/``.
AUTH_MOUNTS = {"approle": "approle", "kubernetes": "kubernetes", "jwt": "jwt", "aws": "aws"}
AUTH_METHODS = ("token", *AUTH_MOUNTS)

#: Auth method -> the URI options that configure it. Every hint about an option that does
#: not fit the chosen method is built from this one table, so the hints agree.
AUTH_OPTIONS: dict[str, frozenset[str]] = {
    "token": frozenset(),
    "approle": frozenset({"mount"}),
    "kubernetes": frozenset({"mount", "role", "jwt_path"}),
    "jwt": frozenset({"mount", "role", "jwt_path"}),
    "aws": frozenset({"mount", "role", "header_value", "region"}),
}
#: Where a method reads what the URI does not carry, for the hints.
_AUTH_INPUTS = {
    "token": "it reads VAULT_TOKEN or ~/.vault-token",
    "approle": "it reads VAULT_ROLE_ID and VAULT_SECRET_ID",
}

#: An AWS region name, as it may appear in a host name.
REGION_NAME = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")

#: Seconds an attempt's whole exchange may take by default (connect, TLS, request and
#: every byte of the answer).
READ_TIMEOUT = 10.0

_TRUE = frozenset({"1", "true", "yes", "on", "t"})


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """The parsed options of one ``vault:MOUNT/PATH?...`` URI."""

    path: str
    kv: int | None
    version: int | None
    namespace: str | None
    auth: str
    auth_mount: str | None
    role: str | None
    jwt_path: str
    timeout: float
    header_value: str | None = None  # auth=aws: X-Vault-AWS-IAM-Server-ID (else from env)
    sts_region: str | None = None  # auth=aws: a regional STS endpoint (else from env)

    @property
    def first_segment(self) -> str:
        """The mount to use when the engine version is given and no preflight runs."""
        return self.path.split("/", 1)[0]


def _bad(source: Source, why: str) -> ConfigurationError:
    return ConfigurationError(f"source {source.uri}: {why}", source=source.uri)


def parse_spec(source: Source) -> SourceSpec:
    """Check a ``vault:`` source's target and options; raise ConfigurationError if wrong.

    Every text option is checked here, when the source is parsed: one holding a control
    character (a CR/LF that would forge a log line or a header) is refused, never quoted.
    """
    opts = source.options
    for name in sorted(opts):
        if opts[name].strip() or not opts[name].isprintable():  # blank: the default
            text_option(source, name)  # refuses control characters; the value is not shown
    path = source.target.strip().strip("/")
    if "/" not in path:
        raise _bad(source, "expected vault:MOUNT/PATH, for example vault:secret/bandwidth/prod")
    if not path.isprintable():
        raise _bad(source, "the secret path holds a control or invisible character")

    kv: int | None = None
    if "kv" in opts:
        if opts["kv"] not in ("1", "2"):
            raise _bad(source, "option 'kv' must be 1 or 2 (the KV secrets engine version)")
        kv = int(opts["kv"])

    version: int | None = None
    if "version" in opts:
        raw = opts["version"]
        if not raw.isdigit() or int(raw) < 1:
            raise _bad(source, "option 'version' must be a KV version number (1, 2, ...)")
        if kv == 1:
            raise _bad(source, "option 'version' needs a KV version 2 engine, not kv=1")
        version = int(raw)

    auth = opts.get("auth", "token").strip().lower()
    if auth not in AUTH_METHODS:
        raise _bad(source, f"option 'auth' must be one of {', '.join(AUTH_METHODS)}")
    for name in sorted(set().union(*AUTH_OPTIONS.values()) - AUTH_OPTIONS[auth]):
        if name in opts:
            raise _bad(source, _misplaced(name, auth))
    role = opts.get("role") or None
    if auth == "kubernetes" and role is None:
        raise _bad(source, "auth=kubernetes needs ?role=NAME (the Vault role to log in as)")
    if auth == "aws" and importlib.util.find_spec("botocore") is None:
        # find_spec looks botocore up without importing it.
        raise _bad(
            source,
            "auth=aws signs with botocore, which is not installed: "
            "pip install 'bandwidth-credentials-vault[aws]' (or botocore)",
        )
    header_value = opts.get("header_value") or None  # printable: checked above
    sts_region = opts.get("region", "").strip().lower() or None
    if sts_region is not None and not REGION_NAME.fullmatch(sts_region):
        raise _bad(source, "option 'region' must be an AWS region name such as eu-west-1")

    mount = opts.get("mount")
    auth_mount = None
    if auth != "token":
        auth_mount = (mount if mount is not None else AUTH_MOUNTS[auth]).strip("/")
        if not auth_mount:
            raise _bad(source, "option 'mount' must name the auth method's mount path")

    namespace = opts.get("namespace")
    if namespace is not None:
        namespace = namespace.strip("/") or None

    timeout = positive_number(source, "timeout", READ_TIMEOUT)

    return SourceSpec(
        path=path,
        kv=kv,
        version=version,
        namespace=namespace,
        auth=auth,
        auth_mount=auth_mount,
        role=role,
        jwt_path=opts.get("jwt_path") or DEFAULT_JWT_PATH,
        timeout=timeout,
        header_value=header_value,
        sts_region=sts_region,
    )


def _misplaced(name: str, auth: str) -> str:
    """``option 'role' does not apply to auth=token; it is for auth=kubernetes, ...``."""
    users = [method for method, names in AUTH_OPTIONS.items() if name in names]
    text = f"option {name!r} does not apply to auth={auth}"
    if auth in _AUTH_INPUTS:
        text += f" ({_AUTH_INPUTS[auth]})"
    return text + f"; it is for auth={', '.join(users)}"


@dataclass(frozen=True, slots=True)
class Connection:
    """How to reach Vault, from ``VAULT_*`` variables (and ``?namespace=``)."""

    addr: str
    namespace: str | None
    verify: bool | str
    cert: tuple[str, str] | str | None
    skip_verify: bool

    @property
    def shown_addr(self) -> str:
        """The address as messages show it: any ``user:password@`` part is dropped."""
        return display_addr(self.addr)


def display_addr(addr: str) -> str:
    """``https://user:pw@vault:8200/`` -> ``https://vault:8200``."""
    try:
        parts = urlsplit(addr)
    except ValueError:
        return "(unparseable VAULT_ADDR)"
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def read_connection(source: Source, spec: SourceSpec) -> Connection:
    """Read VAULT_ADDR, VAULT_NAMESPACE, VAULT_CACERT/CAPATH, client cert and skip-verify."""
    env = os.environ
    addr = env.get("VAULT_ADDR", "").strip()
    if not addr:
        raise _bad(source, "VAULT_ADDR is not set (for example https://vault.example.com:8200)")
    try:
        parts = urlsplit(addr)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad(source, "VAULT_ADDR must be an http:// or https:// URL")

    namespace = spec.namespace
    if namespace is None:
        namespace = env.get("VAULT_NAMESPACE", "").strip().strip("/") or None
        if namespace is not None and not namespace.isprintable():
            raise _bad(source, "VAULT_NAMESPACE holds a control or invisible character")

    skip_verify = env.get("VAULT_SKIP_VERIFY", "").strip().lower() in _TRUE
    verify: bool | str = True
    cacert = env.get("VAULT_CACERT", "").strip()
    capath = env.get("VAULT_CAPATH", "").strip()
    if cacert:
        if not os.path.isfile(cacert):
            raise _bad(source, f"VAULT_CACERT names {cacert}, which is not a file")
        verify = cacert
    elif capath:
        if not os.path.isdir(capath):
            raise _bad(source, f"VAULT_CAPATH names {capath}, which is not a directory")
        verify = capath
    if skip_verify:
        verify = False

    cert: tuple[str, str] | str | None = None
    client_cert = env.get("VAULT_CLIENT_CERT", "").strip()
    client_key = env.get("VAULT_CLIENT_KEY", "").strip()
    if client_key and not client_cert:
        raise _bad(source, "VAULT_CLIENT_KEY is set without VAULT_CLIENT_CERT")
    for name, value in (("VAULT_CLIENT_CERT", client_cert), ("VAULT_CLIENT_KEY", client_key)):
        if value and not os.path.isfile(value):
            raise _bad(source, f"{name} names {value}, which is not a file")
    if client_cert:
        cert = (client_cert, client_key) if client_key else client_cert

    return Connection(
        addr=addr.rstrip("/"),
        namespace=namespace,
        verify=verify,
        cert=cert,
        skip_verify=skip_verify,
    )
