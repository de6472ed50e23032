"""The Vault token of a ``vault:`` source: login, lookup, renewal, and what survives a fork.

:class:`TokenKeeper` holds the token between fetches. A renewable token is renewed once
less than half its TTL (or less than one refresh interval) is left; a token that cannot
be renewed, or that Vault stops accepting (revoked, expired), is replaced by logging in
again. A forked child keeps the token (it is still valid: with a single-use AppRole
``secret_id`` a second login would be refused); only connections are dropped. Logins are
sent to the configured Vault's origin only: the transport refuses a redirect elsewhere,
so a login body (a ``secret_id``, a JWT, a signed STS request) never travels on.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from bandwidth_credentials import (
    ConfigurationError,
    SourceAuthenticationError,
    SourceNotFoundError,
)
from bandwidth_credentials.plugin import SecretFileError, read_file

from ._aws_iam import AwsSigningError, SignedLogin, describe_refusal, sign_login
from ._calls import Caller, HttpFailure
from ._config import SourceSpec
from ._failures import Reporter, mapping

__all__ = ["FILE_MAX", "TokenKeeper", "hvac_login_url"]

logger = logging.getLogger("bandwidth_credentials.vault")

#: The largest token, JWT or secret-id file read, in bytes.
FILE_MAX = 64 * 1024
#: The longest token TTL taken from Vault's answer, in seconds (ten years).
MAX_TTL = 10 * 365 * 86400.0


class TokenKeeper:
    """The token one ``vault:`` source uses, and how it gets a new one.

    ``clock`` (monotonic seconds) times the token's TTL; ``interval`` is the source's
    refresh interval in seconds.
    """

    def __init__(self, spec: SourceSpec, report: Reporter, interval: float) -> None:
        self.spec = spec
        self.report = report
        self.interval = interval
        self.clock: Callable[[], float] = time.monotonic
        self.token: str | None = None
        self.expires_at: float | None = None  # monotonic; None: never or unknown
        self.granted = 0.0
        self.renewable = False

    def forget(self) -> None:
        """Drop the token: the next fetch reads the environment again and logs in."""
        self.token = None
        self.expires_at = None

    def ensure(self, client: Any, caller: Caller) -> None:
        """Make sure ``client`` carries a usable token: the one held (renewed when due),
        else a new login."""
        if self.token is None:
            self.login(client, caller)
            return
        client.token = self.token
        if self.expires_at is None:
            return
        remaining = self.expires_at - self.clock()
        if remaining > max(self.granted / 2, self.interval + 30.0):
            return
        if remaining > 0 and self.renewable and self._renew(client, caller):
            return
        self.login(client, caller)

    def _renew(self, client: Any, caller: Caller) -> bool:
        """Extend the token; False when Vault refuses (then the caller logs in again)."""
        answer, failure = caller.try_call(lambda: client.auth.token.renew_self())
        if isinstance(failure, HttpFailure) and failure.status in (400, 401, 403):
            logger.info("%s: Vault refused to renew the token", self.report.source.uri)
            return False
        if failure is not None:
            self.report.any(failure, "renewing the token (auth/token/renew-self)")
        auth = mapping(answer).get("auth")
        if not isinstance(auth, Mapping):
            return False
        self._track(auth.get("lease_duration"), auth.get("renewable"))
        # The seconds as read, never Vault's own text (a log line is one line).
        logger.info("%s: renewed the Vault token for %g s", self.report.source.uri, self.granted)
        return True

    def _track(self, ttl: object, renewable: object) -> None:
        seconds = ttl_seconds(ttl)
        self.granted = seconds
        self.renewable = bool(renewable)
        # A TTL of 0 is a token that never expires (a root token, for one).
        self.expires_at = self.clock() + seconds if seconds > 0 else None

    def login(self, client: Any, caller: Caller, rejected: bool = False) -> None:
        """Get a new token: from ``VAULT_TOKEN``/``~/.vault-token`` for ``auth=token``,
        else by logging in with the configured method."""
        method = self.spec.auth
        if method == "token":
            self._load_token(client, caller, rejected)
            return
        mount = self.spec.auth_mount
        assert mount is not None
        signed: SignedLogin | None = None
        login: Callable[[], Any]
        if method == "approle":
            login = self._approle(client, mount)
        elif method == "aws":
            signed = self._sign_aws()
            aws_url, aws_body = hvac_login_url(mount), signed.body

            def login() -> Any:
                return client.login(aws_url, use_token=False, json=aws_body)

        else:
            login = self._jwt_login(client, mount)
        where = f"logging in at auth/{mount}/login"
        answer, failure = caller.try_call(login)
        if isinstance(failure, HttpFailure) and failure.status in (400, 401, 403, 404):
            errors, hint = failure.errors, ""
            if signed is not None:
                errors, hint = describe_refusal(errors, signed.region, signed.server_id)
            self.report.fail(
                SourceAuthenticationError,
                f"{where} failed ({failure.status}{self.report.detail(errors)}){hint}",
            )
        if failure is not None:
            self.report.any(failure, where)
        auth = mapping(answer).get("auth")
        token = mapping(auth).get("client_token")
        if not isinstance(token, str) or not token:
            self.report.fail(SourceAuthenticationError, f"{where}: the answer held no client token")
        self._use(client, token)
        self._track(mapping(auth).get("lease_duration"), mapping(auth).get("renewable"))
        logger.info("%s: logged in to Vault with auth=%s", self.report.source.uri, method)

    def _approle(self, client: Any, mount: str) -> Callable[[], Any]:
        role_id = os.environ.get("VAULT_ROLE_ID", "").strip()
        if not role_id:
            self.report.fail(SourceAuthenticationError, "auth=approle needs VAULT_ROLE_ID")
        secret_id = self._approle_secret_id()
        self.report.secrets.update((role_id, secret_id))

        def login() -> Any:
            return client.auth.approle.login(
                role_id, secret_id=secret_id, use_token=False, mount_point=mount
            )

        return login

    def _jwt_login(self, client: Any, mount: str) -> Callable[[], Any]:
        # Read at every login: projected service-account tokens are rotated on disk.
        jwt = self._read_file(self.spec.jwt_path, "the JWT file (?jwt_path=)")
        self.report.secrets.add(jwt)
        role = self.spec.role
        if self.spec.auth == "kubernetes":

            def login() -> Any:
                return client.auth.kubernetes.login(role, jwt, use_token=False, mount_point=mount)

            return login
        url = hvac_login_url(mount)
        # Without a role, Vault uses the mount's default_role; hvac would send
        # "role": null, so the body is built here.
        body = {"jwt": jwt} if role is None else {"role": role, "jwt": jwt}

        def jwt_login() -> Any:
            return client.login(url, use_token=False, json=body)

        return jwt_login

    def _use(self, client: Any, token: str) -> None:
        self.report.secrets.add(token)
        self.token = token
        client.token = token

    def _load_token(self, client: Any, caller: Caller, rejected: bool) -> None:
        token = os.environ.get("VAULT_TOKEN", "").strip()
        origin = "VAULT_TOKEN"
        if not token:
            path = os.path.expanduser("~/.vault-token")
            origin = "~/.vault-token"
            token = self._read_file(path, "the token file", missing_ok=True)
        if not token:
            self.report.fail(
                SourceAuthenticationError,
                "no Vault token: set VAULT_TOKEN, write ~/.vault-token, or use "
                "?auth=approle|kubernetes|jwt|aws",
            )
        if rejected and token == self.token:
            self.report.fail(
                SourceAuthenticationError,
                f"the token from {origin} is invalid, expired or revoked: Vault refused it "
                "for auth/token/lookup-self too (a valid token needs the default policy, "
                "which allows that lookup)",
            )
        self._use(client, token)
        # Learn the token's TTL; a policy without lookup-self leaves it unknown.
        answer, failure = caller.try_call(lambda: client.auth.token.lookup_self())
        if isinstance(failure, HttpFailure) and failure.status in (401, 403):
            if rejected:
                self.report.fail(
                    SourceAuthenticationError,
                    f"the token from {origin} is invalid, expired or revoked",
                )
            self.expires_at = None
            return
        if failure is not None:
            self.report.any(failure, "looking up the token (auth/token/lookup-self)")
        data = mapping(mapping(answer).get("data"))
        self._track(data.get("ttl"), data.get("renewable"))

    def alive(self, client: Any, caller: Caller) -> bool:
        """Whether Vault still accepts the token (lookup-self answers)."""
        _, failure = caller.try_call(lambda: client.auth.token.lookup_self())
        if isinstance(failure, HttpFailure) and failure.status in (401, 403):
            return False
        if failure is not None:
            self.report.any(failure, "looking up the token (auth/token/lookup-self)")
        return True

    def _sign_aws(self) -> SignedLogin:
        """A freshly signed GetCallerIdentity request (credentials looked up again)."""
        spec = self.spec
        uri = self.report.source.uri
        problem: AwsSigningError | None = None
        try:
            signed = sign_login(spec.role, spec.header_value, spec.sts_region, spec.timeout)
        except AwsSigningError as exc:
            problem = AwsSigningError(exc.reason, exc.configuration)
        if problem is not None:
            if problem.configuration:
                raise ConfigurationError(f"source {uri}: {problem.reason}", source=uri)
            self.report.fail(SourceAuthenticationError, f"auth=aws: {problem.reason}")
        self.report.secrets.update(signed.secrets)
        logger.info(
            "%s: signed sts:GetCallerIdentity for the %s STS scope with AWS credentials from %s",
            uri,
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
            self.report.fail(
                SourceAuthenticationError,
                "auth=approle needs VAULT_SECRET_ID or VAULT_SECRET_ID_FILE",
            )
        # Read at every login: a secret id delivered as a file may be replaced.
        return self._read_file(path, "VAULT_SECRET_ID_FILE")

    def _read_file(self, path: str, what: str, missing_ok: bool = False) -> str:
        """A token, JWT or secret-id file, read with the kit's safe file read (no
        blocking on a FIFO or a device, at most :data:`FILE_MAX` bytes)."""
        result = read_file(path, FILE_MAX)
        if isinstance(result, SecretFileError):
            if missing_ok and result.kind is SourceNotFoundError:
                return ""
            self.report.fail(SourceAuthenticationError, f"{what}: {result.reason}")
        text = result.text.strip()
        if not text:
            self.report.fail(SourceAuthenticationError, f"{what} {path} is empty")
        return text


def ttl_seconds(ttl: object) -> float:
    """A TTL from Vault's answer in seconds: a number, at most :data:`MAX_TTL` (a larger
    one, even of 400 digits, counts as that); anything else, zero, negative or not finite
    is 0, a token whose expiry is not known (it is then looked up or used until refused).

    >>> ttl_seconds(3600), ttl_seconds(10**400), ttl_seconds("3600"), ttl_seconds(-5)
    (3600.0, 315360000.0, 0.0, 0.0)
    """
    if isinstance(ttl, bool) or not isinstance(ttl, int | float):
        return 0.0
    if isinstance(ttl, int) and ttl > MAX_TTL:  # before float(): 10**400 would overflow it
        return MAX_TTL
    seconds = float(ttl)
    if not math.isfinite(seconds) or seconds <= 0:
        return 0.0
    return min(seconds, MAX_TTL)


def hvac_login_url(mount: str) -> str:
    """``/v1/auth/<mount>/login``, each segment of the mount path quoted."""
    import hvac.utils

    return str(hvac.utils.format_url("/v1/auth/{path}/login", path=mount))
