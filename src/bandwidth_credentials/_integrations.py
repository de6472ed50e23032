"""Ready-made auth for httpx, requests and the official ``bandwidth-sdk``.

Each client library is imported only when its integration is first asked for. The auth
objects look up the resolver's current credentials on every request (a dictionary
lookup), so a rotation reaches a long-lived client without rebuilding it; on an HTTP
401 they report the refusal once (a new OAuth token, or a credentials reload) and
retry the request once.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Any

from ._schema import OAUTH

if TYPE_CHECKING:
    import httpx
    import requests

    from ._auth import ServiceAuth


def _header(auth: ServiceAuth) -> str:
    return auth.current().authorization


def _header_after_refusal(auth: ServiceAuth, refused: str | None) -> str:
    current = auth.current()
    current.invalidate(refused)
    return current.current().authorization


@functools.cache
def _httpx_class() -> type[httpx.Auth]:
    import httpx

    class BandwidthHttpxAuth(httpx.Auth):
        """Sets Bandwidth's ``Authorization`` header; on a 401 refreshes and retries once."""

        def __init__(self, auth: ServiceAuth) -> None:
            self._auth = auth

        def __repr__(self) -> str:
            return f"BandwidthHttpxAuth({self._auth.service!r})"

        def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
            header = _header(self._auth)
            request.headers["Authorization"] = header
            response = yield request
            if response.status_code == 401:
                request.headers["Authorization"] = _header_after_refusal(self._auth, header)
                yield request

        async def async_auth_flow(
            self, request: httpx.Request
        ) -> AsyncGenerator[httpx.Request, httpx.Response]:
            # Token fetches and reloads block; keep them off the event loop.
            if self._auth.kind == OAUTH:
                header = await asyncio.to_thread(_header, self._auth)
            else:
                header = _header(self._auth)
            request.headers["Authorization"] = header
            response = yield request
            if response.status_code == 401:
                request.headers["Authorization"] = await asyncio.to_thread(
                    _header_after_refusal, self._auth, header
                )
                yield request

    return BandwidthHttpxAuth


def httpx_auth(auth: ServiceAuth) -> httpx.Auth:
    """An ``httpx.Auth`` for ``auth``'s service (sync and async clients)."""
    return _httpx_class()(auth)  # type: ignore[call-arg]


@functools.cache
def _requests_class() -> type[requests.auth.AuthBase]:
    import requests

    class BandwidthRequestsAuth(requests.auth.AuthBase):
        """Sets Bandwidth's ``Authorization`` header; on a 401 refreshes and retries once."""

        def __init__(self, auth: ServiceAuth) -> None:
            self._auth = auth

        def __repr__(self) -> str:
            return f"BandwidthRequestsAuth({self._auth.service!r})"

        def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
            request.headers["Authorization"] = _header(self._auth)
            request.register_hook("response", self._on_response)  # type: ignore[no-untyped-call]
            return request

        def _on_response(self, response: requests.Response, **kwargs: Any) -> requests.Response:
            sent = response.request
            if response.status_code != 401 or getattr(sent, "_bandwidth_retry", False):
                return response
            sent_header = sent.headers.get("Authorization")
            refused = sent_header if isinstance(sent_header, str) else None
            header = _header_after_refusal(self._auth, refused)
            # Release the connection before reusing it for the retry.
            _ = response.content
            response.close()
            retry = sent.copy()
            retry.headers["Authorization"] = header
            retry._bandwidth_retry = True  # type: ignore[attr-defined]
            connection = response.connection
            new_response: requests.Response = connection.send(retry, **kwargs)
            new_response.history.append(response)
            new_response.request = retry
            return new_response

    return BandwidthRequestsAuth


def requests_auth(auth: ServiceAuth) -> requests.auth.AuthBase:
    """A ``requests`` auth for ``auth``'s service."""
    return _requests_class()(auth)  # type: ignore[call-arg]


@functools.cache
def _sdk_class() -> type[Any]:
    try:
        import bandwidth
    except ImportError:
        from ._errors import ConfigurationError

        raise ConfigurationError(
            "sdk_configuration() needs the official Bandwidth SDK: "
            "pip install 'bandwidth-credentials[sdk]'"
        ) from None

    class BandwidthSdkConfiguration(bandwidth.Configuration):  # type: ignore[misc]
        """The SDK's configuration, with tokens from this library's shared token manager
        (single-flight, status-checked, refreshed ahead of expiry) instead of the SDK's."""

        _bandwidth_tokens: Any = None

        def get_access_token(self) -> str:
            if self._bandwidth_tokens is None:
                return str(super().get_access_token())
            return str(self._bandwidth_tokens.token())

    return BandwidthSdkConfiguration


def sdk_configuration(auth: ServiceAuth) -> Any:
    """A ``bandwidth.Configuration`` carrying either client id and secret (OAuth), a
    static access token, or username and password (Basic), never more than one."""
    cls = _sdk_class()
    if auth.kind == OAUTH:
        tokens: Any = auth._bearer
        config = cls(
            client_id=auth.client_id,
            client_secret=tokens.client_secret,
            access_token_url=tokens.token_url,
        )
        config._bandwidth_tokens = tokens
        return config
    if auth.scheme == "bearer":
        return cls(access_token=auth.authorization.split(" ", 1)[1])
    assert auth.password is not None
    return cls(username=auth.username, password=auth.password.get_secret_value())
