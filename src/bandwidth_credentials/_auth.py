"""``ServiceAuth``: the ready-to-use, immutable auth object for one Bandwidth API."""

from __future__ import annotations

from collections.abc import Mapping  # the public API's annotations
from types import MappingProxyType

from ._basic import basic_authorization
from ._checks import Provenance, ServiceCredentials
from ._results import TokenClaims
from ._schema import KINDS, OAUTH, document_services
from ._secret import Secret
from ._typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import httpx
    import requests
    from pydantic import SecretStr


__all__ = ["BearerSource", "Owner", "ServiceAuth"]


class BearerSource(Protocol):
    """Where a bearer ``ServiceAuth`` gets its token: built by the auth factory
    (``_factory.bearer_source``), either a view of an OAuth client's one shared token
    manager or a fixed token, with the once-per-token account check built in.

    Every method raises only :class:`TokenError` (or nothing), and no error or repr holds
    the token or a secret.
    """

    def token(self) -> str:
        """A currently valid access token; may request one (bounded wait)."""

    def authorization(self) -> str:
        """``"Bearer " + token()``: the ``Authorization`` value, the hot path of
        ``headers()`` (a cached string while the token is current)."""

    def cached_token(self) -> str | None:
        """A currently valid token without any wait or I/O, or ``None``."""

    def invalidate(self, rejected: str | None = None) -> None:
        """Report ``rejected`` (a token an API refused; ``None``: the token held now): the
        next ``token()`` is a new one, at most once per backoff window. Never raises."""

    def claims(self) -> TokenClaims | None:
        """The current token's claims (``None``: not a JWT); may request a token."""


class Owner(Protocol):
    """What built a ``ServiceAuth`` and knows its current successor (a resolver, or the
    handle of the default resolver, which follows ``configure()``)."""

    def get_auth(self, service: str, account_id: str | None = None) -> ServiceAuth: ...

    def get_auth_nowait(
        self, service: str, account_id: str | None = None
    ) -> ServiceAuth | None: ...

    def invalidate(self, seen: ServiceAuth | None = None) -> None: ...


class ServiceAuth:
    """Credentials and endpoint for one Bandwidth API, built once per resolution.

    >>> voice = get_auth("voice")                                   # doctest: +SKIP
    >>> voice.service, voice.scheme, voice.kind                     # doctest: +SKIP
    ('voice', 'bearer', 'oauth')
    >>> requests.post(voice.url("calls"), headers=voice.headers(), json=call)  # doctest: +SKIP

    Made by :func:`get_auth` / :meth:`Resolver.get_auth`, not by callers.

    Attributes:
        service: the canonical service name, one of {services}.
        account_id: the numeric Bandwidth account id (it goes into the URL, never into auth).
        scheme: ``"basic"`` (HTTP Basic, RFC 7617) or ``"bearer"`` (OAuth 2.0 bearer
            token, RFC 6750).
        kind: which credentials were used: ``oauth`` (client credentials), ``access_token``
            (a static token), ``api_user`` or ``messaging_token`` (Basic).
        base_url: the API's base URL for this account, without a trailing slash (host per
            environment and path from each API's reference; see ``_schema``).
        environment: ``prod``, ``test`` or ``uat`` (``BW_ENVIRONMENT``; hosts follow it).
        username: the HTTP Basic user name (the API user, or Messaging's API token);
            ``None`` for bearer.
        password: the HTTP Basic password as a pydantic ``SecretStr``; ``None`` for bearer.
        client_id: the OAuth client id (``None`` for Basic).
        provenance: for each field, a :class:`Provenance` (source URI, raw key, version).

    Instances are immutable (setting an attribute raises ``AttributeError``) and cannot be
    pickled (``TypeError``); ``repr`` and ``str`` never show a credential.
    """

    __slots__ = (
        "_authorization",
        "_bearer",
        "_chosen",
        "_owner",
        "_password",
        "_password_str",
        "account_id",
        "base_url",
        "client_id",
        "environment",
        "kind",
        "provenance",
        "scheme",
        "service",
        "username",
    )

    service: str
    account_id: str
    scheme: str
    kind: str
    base_url: str
    username: str | None
    _password: Secret | None
    _password_str: SecretStr | None
    client_id: str | None
    environment: str
    provenance: Mapping[str, Provenance]
    _authorization: str | None
    _bearer: BearerSource | None
    _owner: Owner | None
    #: Made for an account the caller chose (``get_auth(service, account_id=...)``):
    #: :meth:`current` keeps that account instead of following the configured one.
    _chosen: bool

    def __init__(
        self,
        credentials: ServiceCredentials,
        provenance: Mapping[str, Provenance],
        bearer: BearerSource | None = None,
        owner: Owner | None = None,
    ) -> None:
        """Build from validated credentials. ``bearer`` supplies tokens for the ``oauth``
        and ``access_token`` kinds; ``owner`` is the resolver that built this object."""
        kind = credentials.kind
        basic = KINDS[kind].scheme == "basic"
        if basic:
            assert credentials.username is not None
            assert credentials.password is not None
            authorization: str | None = basic_authorization(
                credentials.username, credentials.password.get_secret_value()
            )
        else:
            authorization = None
            if bearer is None:
                raise ValueError(f"{kind} credentials need a bearer token source")
        values: dict[str, Any] = {
            "service": credentials.service,
            "account_id": credentials.account_id,
            "scheme": "basic" if basic else "bearer",
            "kind": kind,
            "base_url": credentials.base_url,
            "username": credentials.username if basic else None,
            "_password": credentials.password if basic else None,
            "_password_str": None,
            "client_id": credentials.client_id,
            "environment": credentials.environment,
            "provenance": MappingProxyType(dict(provenance)),
            "_authorization": authorization,
            "_bearer": bearer,
            "_owner": owner,
            "_chosen": False,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @property
    def password(self) -> SecretStr | None:
        """The HTTP Basic password as a pydantic ``SecretStr`` (``None`` for bearer).

        >>> get_auth("voice").password                              # doctest: +SKIP
        SecretStr('**********')

        pydantic is imported on first access only; raises ``ImportError`` without it.
        """
        if self._password_str is None and self._password is not None:
            # pydantic is imported here, not at start-up: see _secret.py.
            from pydantic import SecretStr

            object.__setattr__(self, "_password_str", SecretStr(self._password.get_secret_value()))
        return self._password_str

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"ServiceAuth is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"ServiceAuth is immutable; cannot delete {name!r}")

    def url(self, *parts: object) -> str:
        """Join ``parts`` onto :attr:`base_url` with single slashes; returns a ``str``.
        Parts are converted with ``str()`` and not URL-encoded. Never raises.

        >>> get_auth("messaging").url("messages")                       # doctest: +SKIP
        'https://messaging.bandwidth.com/api/v2/users/920012/messages'
        """
        url = self.base_url
        for part in parts:
            text = str(part).strip("/")
            if text:
                url = f"{url}/{text}"
        return url

    @property
    def authorization(self) -> str:
        """The value of the ``Authorization`` header (fetching a token if needed):
        ``"Basic <base64>"`` or ``"Bearer <token>"``.

        >>> get_auth("voice").authorization[:6]                     # doctest: +SKIP
        'Basic '

        For OAuth, raises :class:`TokenError` when the token endpoint refuses or fails.
        """
        if self._authorization is not None:
            return self._authorization
        assert self._bearer is not None
        return self._bearer.authorization()

    def headers(self) -> dict[str, str]:  # the hot path: kept flat on purpose
        """A new dict holding the ``Authorization`` header, ready to pass to any client.

        >>> requests.get(auth.url("calls"), headers=auth.headers(), timeout=10)  # doctest: +SKIP

        For the bearer scheme the token is fetched on first use from the OAuth token
        endpoint (``POST .../api/v1/oauth2/token``, Bandwidth's OAuth 2.0 client
        credentials), cached per (token URL, client id, secret) for its ``expires_in``
        (else its JWT ``exp``, else an hour; at least 30 s), and refreshed ahead of
        expiry by the larger of 60 s or 10% of its lifetime, so every call returns a
        currently valid one. Raises :class:`TokenError` when the endpoint refuses
        (400/401), fails after its retries, or answers something unreadable.
        """
        header = self._authorization
        if header is None:
            header = self._bearer.authorization()  # type: ignore[union-attr]
        return {"Authorization": header}

    async def aheaders(self) -> dict[str, str]:
        """:meth:`headers` for asyncio code: a cached token is returned at once; only a
        token request runs, in a worker thread, so the event loop keeps running.

        >>> headers = await auth.aheaders()                         # doctest: +SKIP

        Raises :class:`TokenError` as :meth:`headers` does.
        """
        header = self._authorization_nowait()
        if header is not None:
            return {"Authorization": header}
        import asyncio

        return await asyncio.to_thread(self.headers)

    def token_claims(self) -> TokenClaims | None:
        """What the access token says about itself, without the token: ``accounts`` and
        ``roles`` (tuples of strings), ``express`` (a Bandwidth Build account, voice only)
        and ``expires_at`` (the ``exp`` claim, epoch seconds, or ``None``).

        For OAuth this fetches a token when none is cached (raises :class:`TokenError`)
        and reads the cached one otherwise. ``None`` for Basic credentials and for a
        token that is not a JWT. The claims are read, not verified: they inform, the API
        decides (Bandwidth's credentials guide describes the claims).

        >>> get_auth("voice").token_claims().accounts                  # doctest: +SKIP
        ('920012',)
        """
        if self._bearer is None:
            return None
        return self._bearer.claims()

    def _authorization_nowait(self) -> str | None:
        """The ``Authorization`` value if it is at hand without I/O or waiting, else
        ``None`` (a token request is due)."""
        if self._authorization is not None:
            return self._authorization
        assert self._bearer is not None
        token = self._bearer.cached_token()
        return None if token is None else "Bearer " + token

    def _current_nowait(self) -> ServiceAuth | None:
        """:meth:`current` if the resolver has it cached with no fetch due, else ``None``."""
        if self._owner is None:
            return self
        if self._chosen:
            return self._owner.get_auth_nowait(self.service, self.account_id)
        return self._owner.get_auth_nowait(self.service)

    def invalidate(self, rejected: str | None = None) -> None:
        """Say that the API refused these credentials (an HTTP 401).

        For OAuth the cached token is dropped (only if it is still ``rejected``, the
        ``Authorization`` value that was refused, when given; without it, the token held
        now), so the next call fetches a new one; otherwise the resolver fetches the
        credentials again on its next call. Many callers reporting the same refusal cause
        one fetch, and a refusal is acted on at most once per backoff window (1 s doubling
        to 60 s for tokens): within it the caller's 401 stands, so an API that refuses
        every token does not get a new token request per call. Nothing is fetched
        here and nothing is raised. Basic credentials refused by one of Bandwidth's hosts on
        or after 2026-12-02 log one error per service naming the decommissioning of API
        users and how to move to client credentials (:mod:`._decommission`).

        >>> if response.status_code == 401:                         # doctest: +SKIP
        ...     auth.invalidate(response.request.headers["Authorization"])
        """
        if self.kind == OAUTH:
            assert self._bearer is not None
            token = rejected.split(" ", 1)[1] if rejected and " " in rejected else rejected
            self._bearer.invalidate(token)
            return
        if self._authorization is not None:
            from ._decommission import report_refusal  # Basic refused by Bandwidth: say why

            report_refusal(self)
        if self._owner is not None:
            self._owner.invalidate(self)

    def current(self) -> ServiceAuth:
        """The resolver's current auth object for this service (this one, or a newer one
        after a refresh or rotation); for the same account when this one was made for an
        account the caller chose (``get_auth(service, account_id=...)``).

        >>> auth = auth.current()                                   # doctest: +SKIP

        Raises what :meth:`Resolver.get_auth` raises (:class:`CredentialNotFoundError`,
        :class:`SourceError`, ...) when the resolver can no longer produce credentials.
        """
        if self._owner is None:
            return self
        if self._chosen:
            return self._owner.get_auth(self.service, self.account_id)
        return self._owner.get_auth(self.service)

    def httpx_auth(self) -> httpx.Auth:
        """An ``httpx.Auth`` for sync and async clients: it sets the ``Authorization``
        header from the current credentials and, on a 401 from the same origin, refreshes
        once and retries once.

        >>> httpx.post(voice.url("calls"), auth=voice.httpx_auth(), json=call)  # doctest: +SKIP

        Raises ``ImportError`` when httpx is not installed; requests through it raise
        :class:`TokenError` when an OAuth token cannot be had.
        """
        from ._integrations import httpx_auth

        return httpx_auth(self)

    def requests_auth(self) -> requests.auth.AuthBase:
        """A ``requests`` auth: sets the header from the current credentials and, on a 401
        from the same origin, refreshes once and retries once.

        >>> requests.post(voice.url("calls"), auth=voice.requests_auth())  # doctest: +SKIP

        Raises ``ImportError`` when requests is not installed; requests through it raise
        :class:`TokenError` when an OAuth token cannot be had.
        """
        from ._integrations import requests_auth

        return requests_auth(self)

    def sdk_configuration(self) -> Any:
        """A ``bandwidth.Configuration`` for the official ``bandwidth-sdk``
        (``pip install bandwidth-credentials[sdk]``), carrying either the OAuth client id
        and secret or the API user's username and password, never both.

        >>> api = bandwidth.ApiClient(voice.sdk_configuration())  # doctest: +SKIP

        The configuration targets this service's resolved host (``host`` is the base URL
        without the ``/accounts/{accountId}`` part the SDK appends; the SDK's built-in
        per-operation hosts are ignored) and reads the current credentials on every
        request, attaching them only while it targets that origin, so rotation reaches a
        long-lived ``ApiClient`` and ``BW_ENVIRONMENT``/base URLs are honoured. Raises
        :class:`ConfigurationError` when ``bandwidth-sdk`` is not installed, is too old
        to be pointed at a host, or the base URL does not end with the account part.
        """
        from ._integrations import sdk_configuration

        return sdk_configuration(self)

    def __repr__(self) -> str:
        return (
            f"ServiceAuth(service={self.service!r}, account_id={self.account_id!r}, "
            f"scheme={self.scheme!r}, kind={self.kind!r}, base_url={self.base_url!r})"
        )

    __str__ = __repr__

    def __reduce__(self) -> Any:
        # Pickling would write the secret to wherever the pickle goes.
        raise TypeError("ServiceAuth cannot be pickled: it holds secrets")


document_services(ServiceAuth)
