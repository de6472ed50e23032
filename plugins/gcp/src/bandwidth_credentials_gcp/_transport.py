"""The Google client's transports, bounded: what ``gcp-sm`` hands the official client.

The client accepts a transport (``transport=`` takes a callable that builds one); the
policy is ours, and it is the plugin kit's:

- **REST**: the transport's ``AuthorizedSession`` (a ``requests.Session``) and the
  session google-auth refreshes tokens with get the kit's
  :class:`~bandwidth_credentials.plugin.BoundedAdapter` mounted: one deadline from
  connect to the last byte of the answer (``requests`` bounds each socket read, so an
  answer trickled one byte at a time held a caller for as long as the server liked),
  answers capped at :data:`MAX_ANSWER` (the rest unread), and no redirect followed (a
  3xx is an :class:`~bandwidth_credentials.plugin.ExchangeFailed`, never handed to
  ``requests``, which would follow it).
- **gRPC**: a channel whose messages are capped at :data:`MAX_ANSWER` both ways (the
  generated transport sets no limit) and whose token refreshes go through the same
  bounded adapter; each call carries its deadline (``timeout``) and ``retry=None``.

Every exchange also draws on the fetch's total
:class:`~bandwidth_credentials.plugin.Deadline`, entered with ``with`` around one fetch:
however many attempts, token refreshes and backoffs a fetch makes, it ends by then (a
token refresh grpc runs in its own thread has its own ``timeout``). Proxies
(``HTTPS_PROXY``, ``NO_PROXY``) and the CA bundle (``REQUESTS_CA_BUNDLE``) are honoured
as ``requests`` reads them. Nothing here is imported before the first fetch;
``requests``, google-auth and grpc are imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bandwidth_credentials import plugin as kit

#: The largest answer read from Secret Manager or the token endpoint, in bytes (1 MiB,
#: the kit's cap; a secret version's payload is at most 64 KiB); a larger one is
#: refused unread.
MAX_ANSWER = kit.DEFAULT_MAX_SIZE
#: The tag of the exchanges that ask for an access token.
TOKEN = "token"


class UnsupportedClient(Exception):
    """The installed client cannot be given the bounded transport this way (its text
    is this plugin's own sentence)."""


def token_request(timeout: float, log: kit.ExchangeLog | None = None) -> Any:
    """google-auth's ``Request`` for token refreshes, over a bounded session; ``log``
    keeps the last failed refresh."""
    import google.auth.transport.requests

    session = kit.bounded_session(timeout, max_size=MAX_ANSWER, tag=TOKEN, log=log)
    return google.auth.transport.requests.Request(session=session)


def rest_transport(timeout: float, log: kit.ExchangeLog | None = None) -> Callable[..., Any]:
    """What the client's ``transport=`` takes: builds the REST transport, then bounds
    its session and its token refreshes.

    The generated transport builds its ``AuthorizedSession`` itself (``_session``);
    mounting adapters is ``requests``' public API. Should a client version keep its
    session elsewhere, or the session use a client certificate (mTLS, which the adapter
    would drop), the client is refused (:class:`UnsupportedClient`) rather than run
    unbounded or without its certificate.
    """

    def build(**kwargs: Any) -> Any:
        import requests
        from google.cloud.secretmanager_v1.services.secret_manager_service.transports.rest import (
            SecretManagerServiceRestTransport,
        )

        transport = SecretManagerServiceRestTransport(**kwargs)
        session = getattr(transport, "_session", None)
        refresher = getattr(getattr(session, "_auth_request", None), "session", None)
        if not isinstance(session, requests.Session) or not isinstance(refresher, requests.Session):
            raise UnsupportedClient(
                "this version of google-cloud-secret-manager keeps its REST session where "
                "the bounded transport cannot reach it; use transport=grpc"
            )
        if getattr(session, "is_mtls", False):
            raise UnsupportedClient(
                "client-certificate mTLS (GOOGLE_API_USE_CLIENT_CERTIFICATE) is supported "
                "with transport=grpc only"
            )
        kit.BoundedAdapter(timeout, max_size=MAX_ANSWER).mount(session)
        kit.BoundedAdapter(timeout, max_size=MAX_ANSWER, tag=TOKEN, log=log).mount(refresher)
        return transport

    return build


def grpc_transport(timeout: float, log: kit.ExchangeLog) -> Callable[..., Any]:
    """What the client's ``transport=`` takes: the gRPC transport on :func:`grpc_channel`;
    ``log`` keeps the last failed token refresh."""

    def build(**kwargs: Any) -> Any:
        from google.cloud.secretmanager_v1.services.secret_manager_service.transports.grpc import (
            SecretManagerServiceGrpcTransport,
        )

        return SecretManagerServiceGrpcTransport(channel=grpc_channel(timeout, log), **kwargs)

    return build


def grpc_channel(timeout: float, log: kit.ExchangeLog | None = None) -> Callable[..., Any]:
    """A channel factory (the transport's ``channel=`` callable) for a TLS channel with
    the call credentials google-api-core would attach, messages capped at
    :data:`MAX_ANSWER` and token refreshes through the bounded adapter. Proxies and
    roots are grpc's own (``https_proxy``, ``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH``)."""

    def create(
        target: str,
        *,
        credentials: Any,
        scopes: Any = None,
        ssl_credentials: Any = None,
        quota_project_id: str | None = None,
        **ignored: Any,  # credentials_file (None) and the transport's unlimited options
    ) -> Any:
        import google.auth.credentials
        import google.auth.transport.grpc
        import grpc  # type: ignore[import-untyped]
        from google.cloud.secretmanager_v1.services.secret_manager_service.transports.grpc import (
            SecretManagerServiceGrpcTransport as Transport,
        )

        auth: Any = google.auth.credentials  # untyped functions
        scoped = auth.with_scopes_if_required(
            credentials, scopes=scopes, default_scopes=Transport.AUTH_SCOPES
        )
        if quota_project_id and isinstance(scoped, auth.CredentialsWithQuotaProject):
            scoped = scoped.with_quota_project(quota_project_id)
        metadata: Any = google.auth.transport.grpc
        plugin = metadata.AuthMetadataPlugin(
            scoped, token_request(timeout, log), default_host=Transport.DEFAULT_HOST
        )
        composite = grpc.composite_channel_credentials(
            ssl_credentials or grpc.ssl_channel_credentials(),
            grpc.metadata_call_credentials(plugin),
        )
        options = [
            ("grpc.max_send_message_length", MAX_ANSWER),
            ("grpc.max_receive_message_length", MAX_ANSWER),
        ]
        return grpc.secure_channel(target, composite, options=options)

    return create
