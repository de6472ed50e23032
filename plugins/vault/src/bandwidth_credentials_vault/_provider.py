"""The ``vault:`` provider: one KV secret read through hvac, with Vault's own conventions.

The provider ties three parts together: the connection (hvac on a session from the kit's
:func:`~bandwidth_credentials.plugin.bounded_session`, called through :mod:`._calls`,
kept in the kit's client holder), the token
(:mod:`._login`: login, renewal, what survives a fork) and the read (:mod:`._read`).
Every failure is made by :mod:`._failures`. hvac is imported on the first fetch, never
when this module is imported.

One fetch has one total deadline (:func:`fetch_deadline`): its logins, lookups, the mount
preflight, the read and every retry and wait among them end within it.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from bandwidth_credentials import SourceAuthenticationError
from bandwidth_credentials.plugin import ClientHolder, Deadline, Fetched, Provider, Source

from ._calls import (
    MAX_ANSWER,
    RETRY_ATTEMPTS,
    RETRY_BACKOFF,
    RETRY_WAIT_CAP,
    Caller,
    fetch_deadline,
)
from ._config import Connection, SourceSpec, parse_spec, read_connection
from ._failures import Reporter, TokenRejected
from ._login import TokenKeeper
from ._read import KvReader

__all__ = [
    "RETRY_ATTEMPTS",
    "RETRY_BACKOFF",
    "RETRY_WAIT_CAP",
    "VaultInsecureWarning",
    "VaultProvider",
    "fetch_deadline",
]

logger = logging.getLogger("bandwidth_credentials.vault")


class VaultInsecureWarning(UserWarning):
    """``VAULT_SKIP_VERIFY`` is set, so Vault's TLS certificate is not checked."""


class _Session(NamedTuple):
    """One connection to Vault: the hvac client, its caller and what it was built from."""

    client: Any
    caller: Caller
    conn: Connection


class VaultProvider(Provider):
    """Reads one HashiCorp Vault KV secret: ``vault:MOUNT/PATH[?OPTIONS]``.

    >>> from bandwidth_credentials import Resolver
    >>> Resolver(["vault:secret/bandwidth/prod?auth=kubernetes&role=bw-app"])  # doctest: +SKIP

    Options: ``kv`` (1 or 2: skip engine detection), ``version`` (pin a KV v2 version),
    ``namespace`` (overrides ``VAULT_NAMESPACE``), ``auth`` (``token``, ``approle``,
    ``kubernetes``, ``jwt``, ``aws``), ``mount`` (the auth method's mount path), ``role``,
    ``jwt_path``, ``header_value`` and ``region`` (``aws``: the server-ID header and a
    regional STS endpoint) and ``timeout`` (seconds for each attempt's whole exchange, from
    connect to the last byte of the answer; answers over 1 MiB are refused). One fetch
    ends within :func:`fetch_deadline` seconds. The secret's keys are returned as stored;
    ``Fetched.version`` is the KV v2 version read.

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
    worst_case: float  # always stated: fetch_deadline(timeout)

    def __init__(self, source: Source) -> None:
        super().__init__(source)
        self.spec: SourceSpec = parse_spec(source)
        self.worst_case = fetch_deadline(self.spec.timeout)
        self._lock = threading.Lock()
        self._report = Reporter(source, self.spec)
        interval = source.number("ttl", self.default_ttl) or 0.0
        self._keeper = TokenKeeper(self.spec, self._report, interval)
        self._reader = KvReader(self.spec, self._report, self._keeper)
        self._sessions: ClientHolder[_Session] = ClientHolder(self._connect, _close)

    @property
    def _clock(self) -> Callable[[], float]:
        """The monotonic clock the token's TTL is timed with (tests inject one)."""
        return self._keeper.clock

    @_clock.setter
    def _clock(self, clock: Callable[[], float]) -> None:
        self._keeper.clock = clock

    # -- the fetch ------------------------------------------------------------------

    def fetch(self) -> Fetched:
        """Read the secret now, logging in or renewing the token first when due; all of
        it within :func:`fetch_deadline` seconds."""
        with self._lock:
            session = self._sessions.get()
            client, caller = session.client, session.caller
            caller.deadline = Deadline(self.worst_case)
            try:
                self._keeper.ensure(client, caller)
                try:
                    return self._reader.read(client, caller)
                except TokenRejected:
                    pass
                logger.info("%s: Vault rejected the token; logging in again", self.source.uri)
                self._keeper.login(client, caller, rejected=True)
                try:
                    return self._reader.read(client, caller)
                except TokenRejected:
                    pass
            finally:
                caller.deadline = None
            raise self._report.error(
                SourceAuthenticationError,
                "the token from a fresh login was rejected too (permission denied)",
            )

    def close(self) -> None:
        """Close the HTTP session to Vault. A later fetch starts over: a new session, the
        environment read again, a new login."""
        with self._lock:
            self._sessions.close()
            self._keeper.forget()

    def after_fork(self) -> None:
        """In a forked child: a new lock and no connection (the parent's lock may be held
        by a fetch in flight; nothing is closed, the parent still uses its own). The token
        is kept: it is still valid, and logging in again could be refused (a single-use
        AppRole ``secret_id`` was spent by the parent). A login is repeated only when Vault
        no longer accepts the token."""
        self._lock = threading.Lock()
        self._sessions.after_fork()

    # -- writing (bwcreds rotate; see ._store) -------------------------------------

    def store_problem(self) -> str | None:
        """Why this secret cannot be written (KV version 1, a pinned version), or None."""
        from ._store import store_problem

        return store_problem(self)

    def store(self, values: Mapping[str, object], expected_version: str | None) -> str | None:
        """Write ``values`` as a new KV v2 version with ``cas=expected_version``; returns the
        version written (see :mod:`._store`).

        >>> new_values = {**fetched.values, "client_secret": new}     # doctest: +SKIP
        >>> provider.store(new_values, fetched.version)              # doctest: +SKIP
        '8'
        """
        from ._store import store_secret

        return store_secret(self, values, expected_version)

    # -- connecting -----------------------------------------------------------------

    def _connect(self) -> _Session:
        conn = read_connection(self.source, self.spec)
        self._report.conn = conn
        import hvac

        from bandwidth_credentials.plugin import bounded_session

        if conn.skip_verify:
            warnings.warn(
                f"source {self.source.uri}: VAULT_SKIP_VERIFY is set, so the TLS certificate "
                f"of {conn.shown_addr} is not verified",
                VaultInsecureWarning,
                stacklevel=5,
            )
        # Every exchange goes through the kit's bounded adapter: one deadline per attempt
        # (the caller enters it), the answer capped (requests alone bounds each socket
        # read, not the answer), and no redirect to another origin.
        session = bounded_session(self.spec.timeout, max_size=MAX_ANSWER, follow_within=conn.addr)
        session.verify = conn.verify
        session.cert = conn.cert
        caller = Caller(self.source.uri, self.spec.timeout)
        session.hooks["response"].append(caller.record)
        client = hvac.Client(
            url=conn.addr,
            token="",  # an empty token stops hvac from reading VAULT_TOKEN by itself
            cert=conn.cert,
            verify=conn.verify,
            timeout=self.spec.timeout,
            session=session,
            namespace=conn.namespace,
        )
        return _Session(client, caller, conn)


def _close(session: _Session) -> None:
    session.client.adapter.close()
