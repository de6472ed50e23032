"""``azure-kv:``: a secret read from Azure Key Vault with the official SDK.

``azure-keyvault-secrets`` and ``azure-identity`` are imported on the first fetch, never
when this module is imported.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from bandwidth_credentials.plugin import (
    ClientHolder,
    ConfigurationError,
    Deadline,
    ExchangeLog,
    Fetched,
    Provider,
    Source,
    SourceFormatError,
    backoff,
    decode_fields,
    field,
    positive_number,
)

from ._failures import Failure, capture, error
from ._transport import azure_transport
from ._uri import SecretRef, secret_ref

__all__ = ["KeyVaultProvider"]

_sleep: Callable[[float], None] = time.sleep  # the waits between attempts (tests record them)

DEFAULT_TIMEOUT = 10.0
#: Attempts per fetch in all, the first included, for 408, 429, 500, 502-504 without
#: ``Retry-After``, a refused connection or a broken answer (azure-core's own retries,
#: which sleep whatever ``Retry-After`` says, are off).
MAX_ATTEMPTS = 3
BACKOFF = 0.25
#: Seconds a fetch keeps for the backoffs between its attempts (at most 0.25 + 0.5).
MAX_BACKOFF_TOTAL = 2.0


class KeyVaultProvider(Provider):
    """Reads one Key Vault secret with ``SecretClient`` and ``DefaultAzureCredential``.

    URI: ``azure-kv:https://NAME.vault.azure.net/secrets/SECRET[/VERSION]`` (any cloud's
    vault host), or ``azure-kv:NAME/SECRET[/VERSION]`` for the public cloud. Without a
    version the latest one is read.

    Options:

    - ``field``: the secret is one plain string, stored under this key; without it the
      secret's value must be a JSON object of fields.
    - ``timeout``: seconds per request, connect to last byte, for the vault and for the
      token endpoint (default 10).

    ``DefaultAzureCredential`` finds the identity (a service principal in ``AZURE_*``,
    workload identity, managed identity, ``az login``, ...). The client's challenge
    flow runs unchanged: its first request is sent without a token, and the vault's
    401 challenge names the tenant and the resource; the client refuses a challenge
    whose resource is not a parent domain of the vault's host, so a token is only
    ever sent to a Key Vault. ``HTTPS_PROXY``, ``NO_PROXY`` and ``REQUESTS_CA_BUNDLE``
    apply as for any ``requests`` user.

    Bounded (see :mod:`._transport`): the client and the credential send through a
    transport whose every request has one deadline, whose answers are capped at 1 MiB
    and which follows no redirect (a :class:`~bandwidth_credentials.SourceError` naming
    the host and the status). 408, 429 and 5xx are retried (3 attempts, short jittered
    backoff) unless the answer has ``Retry-After``: then the error carries the wait
    (``retry_after``) for the resolver's backoff, never slept here. A fetch's HTTP ends
    within :attr:`worst_case` seconds, ``3 * timeout + 2``.

    ``Fetched.version`` is the secret's version id. Errors (see :mod:`._failures`):
    :class:`~bandwidth_credentials.SourceNotFoundError` (404, disabled),
    :class:`~bandwidth_credentials.SourceAccessDeniedError` (403),
    :class:`~bandwidth_credentials.SourceAuthenticationError` (401, no credential),
    :class:`~bandwidth_credentials.SourceUnavailableError` (429, 5xx, timeouts),
    :class:`~bandwidth_credentials.SourceFormatError` (not a JSON object).

    Example: ``azure-kv:bw-prod/bandwidth?ttl=600``.
    """

    scheme = "azure-kv"
    options = frozenset({"field", "timeout"})
    worst_case: float  # always stated: 3 x timeout + 2 s
    default_ttl = 300.0

    def __init__(self, source: Source) -> None:
        super().__init__(source)
        self.ref: SecretRef = secret_ref(source)
        self.field = field(source)
        self.timeout = positive_number(source, "timeout", DEFAULT_TIMEOUT)
        #: Seconds one fetch's HTTP may take in all: attempts, token requests, backoffs.
        self.worst_case = MAX_ATTEMPTS * self.timeout + MAX_BACKOFF_TOTAL
        #: The bounded transports' last failure (the credential chain reports a failed
        #: token request in its own words).
        self.exchanges = ExchangeLog()
        self._clients: ClientHolder[_Clients] = ClientHolder(self._connect, _close)

    def client(self) -> Any:
        """The ``SecretClient``, created (and the SDK imported) on first use.

        Raises :class:`ConfigurationError` when azure-identity rejects its settings
        (for example an unknown ``AZURE_TOKEN_CREDENTIALS`` value).
        """
        return self._clients.get().client

    def _connect(self) -> _Clients:
        failed = ""
        try:
            return self._new_clients()
        except ImportError:
            failed = "import"
        except Exception as exc:  # translated below, outside this block
            failed = type(exc).__name__
        if failed == "import":
            raise ConfigurationError(
                f"source {self.source.uri}: the Azure SDK is missing; "
                "pip install bandwidth-credentials-azure (it requires "
                "azure-keyvault-secrets and azure-identity)",
                source=self.source.uri,
            )
        raise ConfigurationError(
            f"source {self.source.uri}: the Azure SDK refused its settings "
            f"({failed}); check AZURE_TOKEN_CREDENTIALS and the other AZURE_* "
            "variables",
            source=self.source.uri,
        )

    def _new_clients(self) -> _Clients:
        # Imported here: importing the plugin or building a resolver must not pay for
        # the Azure SDK.
        from azure.identity import DefaultAzureCredential
        from azure.keyvault.secrets import SecretClient

        # No SDK retries (they sleep Retry-After, however long); each pipeline its own
        # bounded transport; the developer-login CLIs (az, azd, pwsh) get `timeout` each.
        credential = DefaultAzureCredential(
            transport=azure_transport(self.timeout, self.exchanges, token=True),
            retry_total=0,
            process_timeout=self.timeout,
        )
        client = SecretClient(
            self.ref.vault_url,
            credential,
            transport=azure_transport(self.timeout, self.exchanges),
            retry_total=0,
        )
        return _Clients(client, credential)

    def fetch(self) -> Fetched:
        """Read the secret now and return its fields and version id."""
        client = self.client()
        failure: Failure | None = None
        self.exchanges.take()  # what an earlier fetch left
        with Deadline(self.worst_case) as deadline:
            for attempt in range(1, MAX_ATTEMPTS + 1):
                failure = None
                try:
                    secret = client.get_secret(self.ref.name, self.ref.version)
                except Exception as exc:  # every SDK failure is translated below, outside
                    failure = capture(exc, self.exchanges)
                if failure is None:
                    break
                pause = backoff(attempt, BACKOFF)
                if not failure.retried or attempt == MAX_ATTEMPTS or pause >= deadline.left():
                    break
                _sleep(pause)
        if failure is not None:
            raise error(failure, self.source.uri, self.ref, self.timeout, attempt)
        version = secret.properties.version
        values = self._values(secret.value)
        return Fetched(values=values, version=str(version) if version else None)

    # -- writing (bwcreds rotate; see ._store) ---------------------------------------

    def store_problem(self) -> str | None:
        """Why this source cannot be written (a pinned version), or None."""
        from ._store import store_problem

        return store_problem(self)

    def store(self, values: Mapping[str, object], expected_version: str | None) -> str | None:
        """Set ``values`` as the secret's new version when the latest is still
        ``expected_version``; returns the new version id (see :mod:`._store`).

        >>> new_values = {**fetched.values, "client_secret": new}     # doctest: +SKIP
        >>> provider.store(new_values, fetched.version)              # doctest: +SKIP
        '4387e9f3d6e14c459867679a90fd0f79'
        """
        from ._store import store_secret

        return store_secret(self, values, expected_version)

    def _values(self, value: object) -> Mapping[str, object]:
        uri = self.source.uri
        if not isinstance(value, str):
            raise SourceFormatError(f"source {uri}: {self.ref.label()} has no value", source=uri)
        return decode_fields(uri, f"the value of {self.ref.label()}", value, self.field)

    def after_fork(self) -> None:
        """In a forked child: a new lock, no client and no credential. The parent's are
        not closed (the parent still uses their pooled connections); the child builds
        its own on its next fetch."""
        self._clients.after_fork()

    def close(self) -> None:
        """Close the client's and the credential's connection pools, if they were created."""
        self._clients.close()


class _Clients(NamedTuple):
    """The vault client and the credential it was built with (closed together)."""

    client: Any
    credential: Any


def _close(clients: _Clients) -> None:
    clients.client.close()
    clients.credential.close()
