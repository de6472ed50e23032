"""The ``vault:`` provider: one KV secret read through hvac, with Vault's own conventions.

``vault:MOUNT/PATH`` reads one secret from a KV secrets engine. The engine's version (1
or 2) and its real mount path come from the ``sys/internal/ui/mounts/<path>`` preflight,
as the Vault CLI does, unless ``?kv=1|2`` says so (then the first path segment is the
mount). hvac is imported on the first fetch, never when this module is imported.

The Vault token is tracked between fetches: a renewable token is renewed once less than
half its TTL (or less than one refresh interval) is left; a token that cannot be renewed,
or that Vault stops accepting (revoked, expired), is replaced by logging in again, once
per fetch, after which the fetch fails.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn, TypeVar

from bandwidth_credentials import (
    ConfigurationError,
    Fetched,
    Provider,
    Source,
    SourceAccessDeniedError,
    SourceAuthenticationError,
    SourceError,
    SourceFormatError,
    SourceNotFoundError,
    SourceUnavailableError,
)

from ._aws_iam import AwsSigningError, SignedLogin, describe_refusal, sign_login
from ._calls import RETRY_ATTEMPTS, RETRY_BACKOFF, RETRY_WAIT_CAP, Caller
from ._calls import HttpFailure as _HttpFailure
from ._calls import TransportFailure as _TransportFailure
from ._config import Connection, SourceSpec, parse_spec, read_connection
from ._transport import MAX_ANSWER, adapter_class

__all__ = [
    "RETRY_ATTEMPTS",
    "RETRY_BACKOFF",
    "RETRY_WAIT_CAP",
    "VaultInsecureWarning",
    "VaultProvider",
]

logger = logging.getLogger("bandwidth_credentials.vault")

T = TypeVar("T")

#: The largest token, JWT or secret-id file read, in bytes.
FILE_MAX = 64 * 1024
#: How long a Vault error text may be before it is cut, in messages.
_DETAIL_LIMIT = 200


class VaultInsecureWarning(UserWarning):
    """``VAULT_SKIP_VERIFY`` is set, so Vault's TLS certificate is not checked."""


class _TokenRejected(Exception):
    """Vault no longer accepts the token in use (revoked or expired)."""


class VaultProvider(Provider):
    """Reads one HashiCorp Vault KV secret: ``vault:MOUNT/PATH[?OPTIONS]``.

    >>> from bandwidth_credentials import Resolver
    >>> Resolver(["vault:secret/bandwidth/prod?auth=kubernetes&role=bw-app"])  # doctest: +SKIP

    Options: ``kv`` (1 or 2: skip engine detection), ``version`` (pin a KV v2 version),
    ``namespace`` (overrides ``VAULT_NAMESPACE``), ``auth`` (``token``, ``approle``,
    ``kubernetes``, ``jwt``, ``aws``), ``mount`` (the auth method's mount path), ``role``,
    ``jwt_path``, ``header_value`` and ``region`` (``aws``: the server-ID header and a
    regional STS endpoint) and ``timeout`` (seconds for each attempt's whole exchange, from
    connect to the last byte of the answer; answers over 1 MiB are refused). The secret's
    keys are returned as stored; ``Fetched.version`` is the KV v2 version read.

    Errors: ConfigurationError (a bad option or ``VAULT_*`` variable),
    SourceAuthenticationError (no token, no AWS credentials, a refused login, an invalid or
    revoked token), SourceAccessDeniedError, SourceNotFoundError, SourceFormatError,
    SourceUnavailableError; see the plugin's README.
    """

    scheme = "vault"
    options = frozenset(
        {
            "kv",
            "version",
            "namespace",
            "auth",
            "mount",
            "role",
            "jwt_path",
            "header_value",
            "region",
            "timeout",
        }
    )
    default_ttl = 300.0

    def __init__(self, source: Source) -> None:
        super().__init__(source)
        self.spec: SourceSpec = parse_spec(source)
        self._lock = threading.Lock()
        self._clock: Callable[[], float] = time.monotonic
        self._client: Any = None
        self._caller: Caller | None = None
        self._conn: Connection | None = None
        self._engine: tuple[str, str, int] | None = None  # mount, path in mount, kv version
        self._token: str | None = None
        self._expires_at: float | None = None  # monotonic; None: never or unknown
        self._granted = 0.0
        self._renewable = False
        self._secrets: set[str] = set()  # everything a Vault error text must not echo

    # -- the fetch ------------------------------------------------------------------

    def fetch(self) -> Fetched:
        """Read the secret now, logging in or renewing the token first when due."""
        with self._lock:
            self._connect()
            self._ensure_token()
            try:
                return self._read()
            except _TokenRejected:
                pass
            logger.info("%s: Vault rejected the token; logging in again", self.source.uri)
            self._login(rejected=True)
            try:
                return self._read()
            except _TokenRejected:
                pass
            raise self._error(
                SourceAuthenticationError,
                "the token from a fresh login was rejected too (permission denied)",
            )

    def close(self) -> None:
        """Close the HTTP session to Vault."""
        with self._lock:
            if self._client is not None:
                self._client.adapter.close()
            # A later fetch starts over: new session, environment read again, new login.
            self._client = None
            self._token = None
            self._expires_at = None

    def after_fork(self) -> None:
        """In a forked child: a new lock, no client, no token (the parent's lock may be
        held by a fetch in flight). Nothing is closed: the parent still uses its own.
        The next fetch connects and logs in again."""
        self._lock = threading.Lock()
        self._client = None
        self._caller = None
        self._token = None
        self._expires_at = None

    # -- writing (bwcreds rotate; see ._store) -------------------------------------

    def store_problem(self) -> str | None:
        """Why this secret cannot be written (KV version 1, a pinned version), or None."""
        from ._store import store_problem

        return store_problem(self, _TokenRejected)

    def store(self, values: Mapping[str, object], expected_version: str | None) -> str | None:
        """Write ``values`` as a new KV v2 version with ``cas=expected_version``; returns the
        version written (see :mod:`._store`).

        >>> new_values = {**fetched.values, "client_secret": new}     # doctest: +SKIP
        >>> provider.store(new_values, fetched.version)              # doctest: +SKIP
        '8'
        """
        from ._store import store_secret

        return store_secret(self, values, expected_version, _TokenRejected, _strings)

    # -- connecting -----------------------------------------------------------------

    def _connect(self) -> None:
        if self._client is not None:
            return
        conn = read_connection(self.source, self.spec)
        import hvac
        import requests

        if conn.skip_verify:
            warnings.warn(
                f"source {self.source.uri}: VAULT_SKIP_VERIFY is set, so the TLS certificate "
                f"of {conn.shown_addr} is not verified",
                VaultInsecureWarning,
                stacklevel=3,
            )
        session = requests.Session()
        session.verify = conn.verify
        session.cert = conn.cert
        # Every exchange goes through the bounded client: one deadline per attempt, the
        # answer capped (requests alone bounds each socket read, not the answer).
        adapter = adapter_class()(self.spec.timeout, MAX_ANSWER, origin=conn.addr)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        caller = Caller(self.source.uri, self.spec.timeout, adapter)
        session.hooks["response"].append(caller.record)
        self._client = hvac.Client(
            url=conn.addr,
            token="",  # an empty token stops hvac from reading VAULT_TOKEN by itself
            cert=conn.cert,
            verify=conn.verify,
            timeout=self.spec.timeout,
            session=session,
            namespace=conn.namespace,
        )
        self._caller = caller
        self._conn = conn

    def _call(self, action: Callable[[], T]) -> T:
        """Run one hvac call with :meth:`Caller.call`'s deadline, retries and waits."""
        assert self._caller is not None
        return self._caller.call(action)

    def _try(self, action: Callable[[], T]) -> tuple[T | None, Exception | None]:
        """:meth:`_call`, returning the failure instead of raising it."""
        assert self._caller is not None
        return self._caller.try_call(action)

    def _transport_or_http(self, failure: Exception, what: str) -> NoReturn:
        if isinstance(failure, _HttpFailure):
            self._raise_http(failure, what)
        if isinstance(failure, _TransportFailure):
            self._fail(failure.kind, f"{what}: {failure.reason}")
        self._fail(SourceUnavailableError, f"{what}: failed")

    # -- the token ------------------------------------------------------------------

    def _ensure_token(self) -> None:
        if self._token is None:
            self._login()
            return
        if self._expires_at is None:
            return
        remaining = self._expires_at - self._clock()
        interval = self.source.number("ttl", self.default_ttl) or 0.0
        if remaining > max(self._granted / 2, interval + 30.0):
            return
        if remaining > 0 and self._renewable and self._renew():
            return
        self._login()

    def _renew(self) -> bool:
        """Extend the token; False when Vault refuses (then the caller logs in again)."""
        client = self._client
        answer, failure = self._try(lambda: client.auth.token.renew_self())
        if isinstance(failure, _HttpFailure) and failure.status in (400, 401, 403):
            logger.info("%s: Vault refused to renew the token", self.source.uri)
            return False
        if failure is not None:
            self._transport_or_http(failure, "renewing the token (auth/token/renew-self)")
        auth = answer.get("auth") if isinstance(answer, Mapping) else None
        if not isinstance(auth, Mapping):
            return False
        self._track(auth.get("lease_duration"), auth.get("renewable"))
        logger.info(
            "%s: renewed the Vault token for %s s", self.source.uri, auth.get("lease_duration")
        )
        return True

    def _track(self, ttl: object, renewable: object) -> None:
        seconds = float(ttl) if isinstance(ttl, int | float) and not isinstance(ttl, bool) else 0
        self._granted = seconds
        self._renewable = bool(renewable)
        # A TTL of 0 is a token that never expires (a root token, for one).
        self._expires_at = self._clock() + seconds if seconds > 0 else None

    def _login(self, rejected: bool = False) -> None:
        method = self.spec.auth
        if method == "token":
            self._load_token(rejected)
            return
        mount = self.spec.auth_mount
        assert mount is not None
        client = self._client
        role = self.spec.role
        signed: SignedLogin | None = None
        if method == "approle":
            role_id = os.environ.get("VAULT_ROLE_ID", "").strip()
            if not role_id:
                self._fail(SourceAuthenticationError, "auth=approle needs VAULT_ROLE_ID")
            secret_id = self._approle_secret_id()
            self._secrets.update((role_id, secret_id))

            def login() -> Any:
                return client.auth.approle.login(
                    role_id, secret_id=secret_id, use_token=False, mount_point=mount
                )

        elif method == "aws":
            signed = self._sign_aws()
            aws_url, aws_body = hvac_login_url(mount), signed.body

            def login() -> Any:
                return client.login(aws_url, use_token=False, json=aws_body)

        else:
            jwt = self._read_jwt()
            self._secrets.add(jwt)
            if method == "kubernetes":

                def login() -> Any:
                    return client.auth.kubernetes.login(
                        role, jwt, use_token=False, mount_point=mount
                    )

            else:
                url = hvac_login_url(mount)
                # Without a role, Vault uses the mount's default_role; hvac would send
                # "role": null, so the body is built here.
                body = {"jwt": jwt} if role is None else {"role": role, "jwt": jwt}

                def login() -> Any:
                    return client.login(url, use_token=False, json=body)

        where = f"logging in at auth/{mount}/login"
        answer, failure = self._try(login)
        if isinstance(failure, _HttpFailure) and failure.status in (400, 401, 403, 404):
            errors, hint = failure.errors, ""
            if signed is not None:
                errors, hint = describe_refusal(errors, signed.region, signed.server_id)
            self._fail(
                SourceAuthenticationError,
                f"{where} failed ({failure.status}{self._detail(errors)}){hint}",
            )
        if failure is not None:
            self._transport_or_http(failure, where)
        auth = answer.get("auth") if isinstance(answer, Mapping) else None
        token = auth.get("client_token") if isinstance(auth, Mapping) else None
        if not isinstance(auth, Mapping) or not isinstance(token, str) or not token:
            self._fail(SourceAuthenticationError, f"{where}: the answer held no client token")
        self._use_token(token)
        self._track(auth.get("lease_duration"), auth.get("renewable"))
        logger.info("%s: logged in to Vault with auth=%s", self.source.uri, method)

    def _use_token(self, token: str) -> None:
        self._secrets.add(token)
        self._token = token
        self._client.token = token

    def _load_token(self, rejected: bool) -> None:
        token = os.environ.get("VAULT_TOKEN", "").strip()
        origin = "VAULT_TOKEN"
        if not token:
            path = os.path.expanduser("~/.vault-token")
            origin = "~/.vault-token"
            token = self._read_file(path, "the token file", missing_ok=True)
        if not token:
            self._fail(
                SourceAuthenticationError,
                "no Vault token: set VAULT_TOKEN, write ~/.vault-token, or use "
                "?auth=approle|kubernetes|jwt|aws",
            )
        if rejected and token == self._token:
            self._fail(
                SourceAuthenticationError,
                f"the token from {origin} is invalid, expired or revoked: Vault refused it "
                "for auth/token/lookup-self too (a valid token needs the default policy, "
                "which allows that lookup)",
            )
        self._use_token(token)
        # Learn the token's TTL; a policy without lookup-self leaves it unknown.
        client = self._client
        answer, failure = self._try(lambda: client.auth.token.lookup_self())
        if isinstance(failure, _HttpFailure) and failure.status in (401, 403):
            if rejected:
                self._fail(
                    SourceAuthenticationError,
                    f"the token from {origin} is invalid, expired or revoked",
                )
            self._expires_at = None
            return
        if failure is not None:
            self._transport_or_http(failure, "looking up the token (auth/token/lookup-self)")
        data = answer.get("data") if isinstance(answer, Mapping) else None
        data = data if isinstance(data, Mapping) else {}
        self._track(data.get("ttl"), data.get("renewable"))

    def _token_alive(self) -> bool:
        """Whether Vault still accepts the token (lookup-self answers)."""
        client = self._client
        _, failure = self._try(lambda: client.auth.token.lookup_self())
        if isinstance(failure, _HttpFailure) and failure.status in (401, 403):
            return False
        if failure is not None:
            self._transport_or_http(failure, "looking up the token (auth/token/lookup-self)")
        return True

    def _sign_aws(self) -> SignedLogin:
        """A freshly signed GetCallerIdentity request (credentials looked up again)."""
        spec = self.spec
        problem: AwsSigningError | None = None
        try:
            signed = sign_login(spec.role, spec.header_value, spec.sts_region, spec.timeout)
        except AwsSigningError as exc:
            problem = AwsSigningError(exc.reason, exc.configuration)
        if problem is not None:
            if problem.configuration:
                raise ConfigurationError(
                    f"source {self.source.uri}: {problem.reason}", source=self.source.uri
                )
            self._fail(SourceAuthenticationError, f"auth=aws: {problem.reason}")
        self._secrets.update(signed.secrets)
        logger.info(
            "%s: signed sts:GetCallerIdentity for the %s STS scope with AWS credentials from %s",
            self.source.uri,
            signed.region,
            signed.credential_source,
        )
        return signed

    def _approle_secret_id(self) -> str:
        secret_id = os.environ.get("VAULT_SECRET_ID", "").strip()
        if secret_id:
            return secret_id
        path = os.environ.get("VAULT_SECRET_ID_FILE", "").strip()
        if not path:
            self._fail(
                SourceAuthenticationError,
                "auth=approle needs VAULT_SECRET_ID or VAULT_SECRET_ID_FILE",
            )
        # Read at every login: a secret id delivered as a file may be replaced.
        return self._read_file(path, "VAULT_SECRET_ID_FILE")

    def _read_jwt(self) -> str:
        # Read at every login: projected service-account tokens are rotated on disk.
        return self._read_file(self.spec.jwt_path, "the JWT file (?jwt_path=)")

    def _read_file(self, path: str, what: str, missing_ok: bool = False) -> str:
        """A token, JWT or secret-id file, read without blocking (a FIFO or a device is
        refused at once) and capped at :data:`FILE_MAX` bytes."""
        from bandwidth_credentials._files import SecretFileError, try_read_file

        result = try_read_file(path, FILE_MAX)
        if isinstance(result, SecretFileError):
            if missing_ok and result.kind is SourceNotFoundError:
                return ""
            self._fail(SourceAuthenticationError, f"{what}: {result.reason}")
        text = result.text.strip()
        if not text:
            self._fail(SourceAuthenticationError, f"{what} {path} is empty")
        return text

    # -- reading --------------------------------------------------------------------

    def _read(self) -> Fetched:
        mount, path, kv = self._engine or self._detect()
        self._engine = (mount, path, kv)
        client = self._client
        version = self.spec.version
        if kv == 2:
            logical = f"{mount}/data/{path}"

            def read() -> Any:
                return client.secrets.kv.v2.read_secret_version(
                    path, version=version, mount_point=mount, raise_on_deleted_version=True
                )

        else:
            logical = f"{mount}/{path}"

            def read() -> Any:
                return client.secrets.kv.v1.read_secret(path, mount_point=mount)

        answer, failure = self._try(read)
        if isinstance(failure, _HttpFailure) and failure.status == 403:
            self._denied(f"reading {logical}", failure)
        if isinstance(failure, _HttpFailure) and failure.status == 404:
            self._not_found(logical, failure)
        if failure is not None:
            self._transport_or_http(failure, f"reading {logical}")
        if not isinstance(answer, Mapping) or not isinstance(answer.get("data"), Mapping):
            self._fail(SourceFormatError, f"reading {logical}: the answer is not a Vault secret")
        data: Mapping[str, Any] = answer["data"]
        read_version: str | None = None
        if kv == 2:
            metadata = data.get("metadata")
            values = data.get("data")
            if isinstance(metadata, Mapping) and metadata.get("version") is not None:
                read_version = str(metadata["version"])
            if values is None:
                self._not_found(logical, _HttpFailure(404, [], answer))
            data = values
        if not isinstance(data, Mapping):
            self._fail(SourceFormatError, f"{logical} does not hold key/value pairs")
        # A later error text from Vault must not echo a value already read.
        self._secrets.update(_strings(data))
        return Fetched(values=dict(data), version=read_version)

    def _detect(self) -> tuple[str, str, int]:
        """Find the KV mount and engine version, as ``vault kv get`` does."""
        target = self.spec.path
        if self.spec.kv is not None:
            mount, _, path = target.partition("/")
            return mount, path, self.spec.kv
        import hvac.utils

        client = self._client
        url = hvac.utils.format_url("/v1/sys/internal/ui/mounts/{path}", path=target)
        where = f"finding the mount of {target} (sys/internal/ui/mounts)"
        answer, failure = self._try(lambda: client.adapter.get(url))
        if isinstance(failure, _HttpFailure) and failure.status == 403:
            self._denied(where, failure, hint="; no such mount, or no policy grants a path in it")
        if isinstance(failure, _HttpFailure) and failure.status == 404:
            # Vault before 0.10.2 has no preflight endpoint, and only KV version 1.
            mount, _, path = target.partition("/")
            return mount, path, 1
        if failure is not None:
            self._transport_or_http(failure, where)
        data = answer.get("data") if isinstance(answer, Mapping) else None
        if not isinstance(data, Mapping) or not isinstance(data.get("path"), str):
            self._fail(SourceFormatError, f"{where}: the answer names no mount")
        engine = data.get("type")
        if engine not in ("kv", "generic"):
            self._fail(
                SourceFormatError,
                f"{target} is in a {engine} secrets engine, not a KV one",
            )
        options = data.get("options")
        version = options.get("version") if isinstance(options, Mapping) else None
        kv = 2 if str(version) == "2" else 1
        mount = data["path"].strip("/")
        if not (target + "/").startswith(mount + "/") or target == mount:
            self._fail(
                SourceFormatError,
                f"{target} names the mount {mount}/, not a secret inside it",
            )
        if kv == 1 and self.spec.version is not None:
            self._fail(
                SourceFormatError,
                f"?version= needs KV version 2, but {mount}/ is a KV version 1 engine",
            )
        return mount, target[len(mount) + 1 :], kv

    # -- errors ---------------------------------------------------------------------

    def _denied(self, what: str, failure: _HttpFailure, hint: str = "") -> NoReturn:
        # Vault answers 403 both to a token without a policy and to an invalid or revoked
        # one; lookup-self tells them apart. A token that could not look itself up when it
        # was loaded is asked again: refused both ways, it is taken as invalid.
        if not self._token_alive():
            raise _TokenRejected
        self._fail(
            SourceAccessDeniedError,
            f"{what}: permission denied (403{self._detail(failure.errors)}){hint}",
        )

    def _not_found(self, logical: str, failure: _HttpFailure) -> NoReturn:
        body = failure.body or {}
        data = body.get("data")
        metadata = data.get("metadata") if isinstance(data, Mapping) else None
        if isinstance(metadata, Mapping):
            version = metadata.get("version")
            if metadata.get("destroyed"):
                self._fail(
                    SourceNotFoundError,
                    f"version {version} of {logical} was destroyed; pin another with "
                    "?version= or write the secret again",
                )
            if metadata.get("deletion_time"):
                self._fail(
                    SourceNotFoundError,
                    f"version {version} of {logical} was deleted at "
                    f"{metadata['deletion_time']}; `vault kv undelete -versions={version}` "
                    "restores it",
                )
        pinned = f" (version {self.spec.version})" if self.spec.version is not None else ""
        self._fail(SourceNotFoundError, f"no secret at {logical}{pinned} (404)")

    def _raise_http(self, failure: _HttpFailure, what: str) -> NoReturn:
        status = failure.status
        detail = self._detail(failure.errors)
        wait = failure.retry_after
        asked = f"; it asked to retry after {wait:g} s" if wait is not None else ""
        if status == 503:
            self._fail(
                SourceUnavailableError,
                f"{what}: Vault is sealed, standby or down (503{detail}){asked}",
                wait,
            )
        if status == 429:
            self._fail(
                SourceUnavailableError, f"{what}: Vault is rate limiting (429{detail}){asked}", wait
            )
        if status >= 500:
            self._fail(SourceUnavailableError, f"{what}: Vault failed ({status}{detail})", wait)
        if status == 401:
            self._fail(SourceAuthenticationError, f"{what}: not authenticated (401{detail})")
        self._fail(SourceFormatError, f"{what}: Vault refused the request ({status}{detail})")

    def _detail(self, errors: Iterable[str]) -> str:
        """Vault's own error text, with anything secret cut out, for a message."""
        text = "; ".join(" ".join(str(e).split()) for e in errors if str(e).strip())
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, "[redacted]")
        if len(text) > _DETAIL_LIMIT:
            text = text[:_DETAIL_LIMIT] + "..."
        return f": {text}" if text else ""

    def _fail(
        self, kind: type[SourceError], detail: str, retry_after: float | None = None
    ) -> NoReturn:
        raise self._error(kind, detail, retry_after)

    def _error(
        self, kind: type[SourceError], detail: str, retry_after: float | None = None
    ) -> SourceError:
        """The error to raise: the URI, what failed, and where (address, auth, namespace)."""
        conn = self._conn
        where = conn.shown_addr if conn is not None else "(not connected)"
        context = f"Vault at {where}, auth={self.spec.auth}"
        namespace = conn.namespace if conn is not None else self.spec.namespace
        if namespace:
            context += f", namespace={namespace}"
        return kind(
            f"source {self.source.uri}: {detail} [{context}]",
            source=self.source.uri,
            retry_after=retry_after,
        )


def hvac_login_url(mount: str) -> str:
    """``/v1/auth/<mount>/login``, each segment of the mount path quoted."""
    import hvac.utils

    return str(hvac.utils.format_url("/v1/auth/{path}/login", path=mount))


def _strings(value: object) -> Iterable[str]:
    """Every text value inside a secret (per-service objects included); values under
    four characters are left out, as cutting them would garble any message."""
    if isinstance(value, str):
        if len(value) >= 4:
            yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 1000:
        yield str(value)
