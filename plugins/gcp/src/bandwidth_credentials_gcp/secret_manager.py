"""``gcp-sm:projects/P/secrets/S``: a secret version read from Google Cloud Secret Manager.

The official client (``google-cloud-secret-manager``) is imported on the first fetch,
never when this module is imported.
"""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from bandwidth_credentials.plugin import (
    ClientHolder,
    Deadline,
    ExchangeLog,
    Fetched,
    Provider,
    Source,
    SourceFormatError,
    backoff,
    positive_number,
    text_option,
    time_for,
)

from ._errors import Failure, classify
from ._messages import Where, library_error
from ._resource import endpoint_option, parse_name, payload_values, transport_option
from ._transport import grpc_transport, rest_transport

__all__ = ["SecretManagerProvider"]

DEFAULT_TIMEOUT = 10.0
#: Attempts in all for UNAVAILABLE, RESOURCE_EXHAUSTED (without ``Retry-After``), a
#: refused connection or a broken answer.
MAX_ATTEMPTS = 3
BACKOFF = 0.25
#: Seconds a fetch keeps for the backoffs between its attempts (at most 0.25 + 0.5).
MAX_BACKOFF_TOTAL = 2.0
_providers: weakref.WeakSet[SecretManagerProvider] = weakref.WeakSet()
_sleep: Callable[[float], None] = time.sleep  # the waits between attempts (tests record them)


def _forget_clients_in_child() -> None:
    # A pre-forking server's workers must not share the parent's gRPC channel or pooled
    # HTTP connections: each child builds its own client on its next fetch.
    # The core calls after_fork() for providers inside a resolver; this covers one used
    # on its own. Running it twice is harmless.
    for provider in list(_providers):
        provider.after_fork()


os.register_at_fork(after_in_child=_forget_clients_in_child)


class SecretManagerProvider(Provider):
    """Reads one secret version with ``AccessSecretVersion`` and Application Default Credentials.

    URI: ``gcp-sm:projects/PROJECT/secrets/SECRET[/versions/VERSION]``, or for a regional
    secret ``gcp-sm:projects/PROJECT/locations/LOCATION/secrets/SECRET[/versions/VERSION]``
    (served by ``secretmanager.LOCATION.rep.googleapis.com``). Without ``/versions/`` the
    version is ``latest``: as Google defines it, the most recently created version. If that
    version is disabled, the read fails (it does not fall back to an older one).

    Options:

    - ``field``: the payload is one plain value stored under this key; without it the
      payload must be a JSON object of fields.
    - ``timeout``: seconds per request, connect to last byte (default 10): the call's
      deadline over gRPC, each exchange's (the API call, a token refresh) over REST.
    - ``transport``: ``grpc`` or ``rest``; default: the client's default (gRPC).
    - ``endpoint``: ``HOST[:PORT]`` (or ``https://HOST[:PORT]`` with ``transport=rest``;
      ``http`` only for loopback addresses), for a Private Service Connect endpoint;
      default: the client's default endpoint, or the regional one.

    Credentials are Application Default Credentials (``GOOGLE_APPLICATION_CREDENTIALS``,
    the gcloud login, the metadata server on Cloud Run, GKE and GCE). ``HTTPS_PROXY``,
    ``NO_PROXY``, ``REQUESTS_CA_BUNDLE`` (REST) and ``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH``
    (gRPC) work as they do for the client itself. UNAVAILABLE and RESOURCE_EXHAUSTED are
    retried (3 attempts with jittered backoff) before :class:`SourceUnavailableError`;
    an answer asking for a wait (``Retry-After``, a ``google.rpc.RetryInfo`` detail) is
    not retried: the error carries the wait (``retry_after``) for the resolver's backoff.

    Bounded (see :mod:`._transport`): answers are capped at 1 MiB, a redirect is never
    followed (a :class:`SourceError` naming the host and the status), and a fetch ends
    within :attr:`worst_case` seconds, ``3 * timeout + 2``, whatever the server does.

    The payload's CRC32C (``dataCrc32c``, which the service stores for every version) is
    checked; a mismatch is :class:`SourceFormatError`. ``Fetched.version`` is the resolved
    version name (``projects/.../versions/7``), so ``latest`` moving to a new version is a
    change. After ``os.fork()`` the child builds its own client (gRPC channels and pooled
    connections are not shared across processes).
    API: https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets.versions/access

    Errors: NOT_FOUND and FAILED_PRECONDITION (a disabled or destroyed version)
    :class:`SourceNotFoundError`; PERMISSION_DENIED :class:`SourceAccessDeniedError`
    (naming ``roles/secretmanager.secretAccessor``); UNAUTHENTICATED, no credentials or a
    failed token fetch :class:`SourceAuthenticationError`; UNAVAILABLE, DEADLINE_EXCEEDED,
    RESOURCE_EXHAUSTED and connection failures :class:`SourceUnavailableError`.

    Example::

        gcp-sm:projects/my-project/secrets/bandwidth-prod
        gcp-sm:projects/my-project/secrets/bandwidth-prod/versions/3?field=BW_PASSWORD
    """

    scheme = "gcp-sm"
    options = frozenset({"field", "timeout", "transport", "endpoint"})
    worst_case: float  # always stated: 3 x timeout + 2 s
    default_ttl = 300.0

    def __init__(self, source: Source) -> None:
        super().__init__(source)
        self.secret = parse_name(source)
        self.field = text_option(source, "field")
        self.timeout = positive_number(source, "timeout", DEFAULT_TIMEOUT)
        self.transport = transport_option(source)
        self.endpoint = endpoint_option(source, self.transport) or self.secret.endpoint
        #: Seconds one fetch may take in all: every attempt, token refresh and backoff.
        self.worst_case = MAX_ATTEMPTS * self.timeout + MAX_BACKOFF_TOTAL
        self._token_failures = ExchangeLog()
        self._clients: ClientHolder[Any] = ClientHolder(self._new_client, _close)
        _providers.add(self)

    # -- the client -------------------------------------------------------------------

    def client(self) -> Any:
        """The ``SecretManagerServiceClient``, created (and the SDK imported) on first use."""
        return self._clients.get()

    def _new_client(self) -> Any:
        # Imported here: `import bandwidth_credentials_gcp` and building a resolver must
        # not pay for the Google client, grpc or protobuf.
        from google.api_core.client_options import ClientOptions
        from google.cloud import secretmanager_v1

        from . import _redact

        _redact.install()
        options = ClientOptions(api_endpoint=self.endpoint) if self.endpoint else None
        build = rest_transport if self.transport == "rest" else grpc_transport
        try:
            # ADC is looked up here, so a missing credential surfaces now.
            client = secretmanager_v1.SecretManagerServiceClient(
                transport=build(self.timeout, self._token_failures), client_options=options
            )
        except Exception as exc:  # translated below, outside this block
            failure = classify(exc)
        else:
            return client
        raise library_error(failure, self._where(), attempts=0)

    # -- fetching ---------------------------------------------------------------------

    def fetch(self) -> Fetched:
        """Call ``AccessSecretVersion`` now; return the payload's keys and the version name."""
        client = self.client()
        self._token_failures.take()  # what an earlier fetch left
        with Deadline(self.worst_case) as deadline:
            response = self._access(client, deadline.left)
        name = str(response.name or self.secret.name)
        payload = response.payload
        data = bytes(payload.data)
        self._check_crc32c(name, data, payload)
        values = payload_values(self.source.uri, f"secret version {name}", data, self.field)
        return Fetched(values=values, version=name)

    def _access(self, client: Any, left: Callable[[], float]) -> Any:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                response = client.access_secret_version(
                    name=self.secret.name, retry=None, timeout=time_for(self.timeout)
                )
            except Exception as exc:  # translated below, outside this block
                failure = classify(exc)
            else:
                return response
            failure = self._token_failure(failure)
            pause = backoff(attempt, BACKOFF)
            if not failure.retried or attempt == MAX_ATTEMPTS or pause >= left():
                break
            _sleep(pause)
        raise library_error(failure, self._where(), attempts=attempt)

    def _token_failure(self, failure: Failure) -> Failure:
        """gRPC reports a failed token refresh only as "Getting metadata from plugin
        failed" (UNAVAILABLE), and one still running when the call's deadline passed as
        the call's DEADLINE_EXCEEDED; the bounded transport kept what happened."""
        waiting = self._token_failures.in_flight
        last = self._token_failures.take()
        token_failed = failure.kind == "token" or failure.status == "DEADLINE_EXCEEDED"
        if token_failed and last is not None:
            return classify(last)
        if failure.status == "DEADLINE_EXCEEDED" and waiting:
            detail = "no access token within the call's deadline"
            return failure._replace(kind="timeout", host=waiting, token=True, detail=detail)
        return failure

    # -- writing (bwcreds rotate; see ._store) ---------------------------------------

    def store_problem(self) -> str | None:
        """Why this source cannot be written (a pinned version), or None."""
        from ._store import store_problem

        return store_problem(self)

    def store(self, values: Mapping[str, object], expected_version: str | None) -> str | None:
        """Add ``values`` as a new version when ``latest`` is still ``expected_version``;
        returns the new version's name (see :mod:`._store`).

        >>> new_values = {**fetched.values, "client_secret": new}     # doctest: +SKIP
        >>> provider.store(new_values, fetched.version)              # doctest: +SKIP
        'projects/123/secrets/bandwidth-prod/versions/8'
        """
        from ._store import store_secret

        return store_secret(self, values, expected_version)

    def _check_crc32c(self, name: str, data: bytes, payload: Any) -> None:
        import google_crc32c

        uri = self.source.uri
        if "data_crc32c" not in payload:
            raise SourceFormatError(
                f"source {uri}: the payload of secret version {name} came without its "
                "CRC32C checksum (dataCrc32c), which Secret Manager always sends",
                source=uri,
            )
        if google_crc32c.value(data) != payload.data_crc32c:
            raise SourceFormatError(
                f"source {uri}: the payload of secret version {name} does not match its "
                "CRC32C checksum (dataCrc32c); it was corrupted on the way",
                source=uri,
            )

    def _where(self) -> Where:
        return Where(self.source.uri, self.secret, self.endpoint, self.timeout)

    def after_fork(self) -> None:
        """In a forked child: a new lock and no client. The parent's gRPC channel or
        HTTP pool is not closed (the parent still uses it); the child builds its own."""
        self._clients.after_fork()

    def close(self) -> None:
        """Close the client's channel or HTTP session, if one was created."""
        self._clients.close()


def _close(client: Any) -> None:
    client.transport.close()
