"""``ServiceAuth``: the ready-to-use, immutable auth object for one Bandwidth API."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import SecretStr

from ._normalizer import Provenance, ServiceCredentials
from ._services import API_USER, MESSAGING_TOKEN

__all__ = ["ServiceAuth"]


class ServiceAuth:
    """Credentials and endpoint for one Bandwidth API, built once per resolution.

    >>> voice = get_auth("voice")                                   # doctest: +SKIP
    >>> requests.post(voice.url("calls"), headers=voice.headers(), json=call)  # doctest: +SKIP

    Attributes:
        service: canonical service name (``voice``, ``messaging``, ``numbers``, ``account``).
        account_id: the numeric Bandwidth account id (it goes into the URL, never into auth).
        scheme: ``"basic"`` or ``"bearer"``.
        kind: which credentials were used: ``api_user``, ``messaging_token``, ``oauth``
            or ``access_token``.
        base_url: the API's base URL for this account, without a trailing slash.
        username: the HTTP Basic user name (the API user, or Messaging's API token).
        password: the HTTP Basic password as a pydantic ``SecretStr``.
        provenance: for each field, the source URI and key that supplied it.

    Instances are immutable; ``repr`` and ``str`` never show a credential.
    """

    __slots__ = (
        "_authorization",
        "_bearer",
        "account_id",
        "base_url",
        "client_id",
        "kind",
        "password",
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
    password: SecretStr | None
    client_id: str | None
    provenance: Mapping[str, Provenance]
    _authorization: str | None
    _bearer: Callable[[], str] | None

    def __init__(
        self,
        credentials: ServiceCredentials,
        provenance: Mapping[str, Provenance],
        bearer: Callable[[], str] | None = None,
    ) -> None:
        """Build from validated credentials. ``bearer`` returns a currently valid token
        (for the ``oauth`` and ``access_token`` kinds)."""
        kind = credentials.kind
        basic = kind in (API_USER, MESSAGING_TOKEN)
        if basic:
            assert credentials.username is not None
            assert credentials.password is not None
            raw = f"{credentials.username}:{credentials.password.get_secret_value()}"
            authorization: str | None = "Basic " + base64.b64encode(raw.encode()).decode()
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
            "password": credentials.password if basic else None,
            "client_id": credentials.client_id,
            "provenance": dict(provenance),
            "_authorization": authorization,
            "_bearer": bearer,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"ServiceAuth is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"ServiceAuth is immutable; cannot delete {name!r}")

    def url(self, *parts: object) -> str:
        """Join ``parts`` onto :attr:`base_url` with single slashes.

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
        """The value of the ``Authorization`` header (fetching a token if needed)."""
        if self._authorization is not None:
            return self._authorization
        assert self._bearer is not None
        return "Bearer " + self._bearer()

    def headers(self) -> dict[str, str]:
        """A new dict holding the ``Authorization`` header, ready to pass to any client."""
        return {"Authorization": self.authorization}

    def __repr__(self) -> str:
        return (
            f"ServiceAuth(service={self.service!r}, account_id={self.account_id!r}, "
            f"scheme={self.scheme!r}, kind={self.kind!r}, base_url={self.base_url!r})"
        )

    __str__ = __repr__

    def __reduce__(self) -> Any:
        # Pickling would write the secret to wherever the pickle goes.
        raise TypeError("ServiceAuth cannot be pickled: it holds secrets")
