"""Ready-made auth for httpx, requests and the official ``bandwidth-sdk``.

Each client library is imported only when its integration is first asked for. The auth
objects look up the resolver's current credentials on every request (a dictionary
lookup), so a rotation reaches a long-lived client without rebuilding it.

Credentials go only to their origin: a request whose scheme, host and port differ from
the service's base URL (RFC 6454 origin) gets no ``Authorization`` header from here, and
a 401 from another origin (say, the target of a redirect) never triggers the refresh
and retry that re-sends credentials. On a 401 from the service itself, the refusal is
reported once (a new OAuth token, or a credentials reload) and the request retried once,
unless that left the same ``Authorization`` value (a token refused again within its
backoff window is not replaced): then the 401 is the caller's answer.

The async httpx flow never blocks the event loop: a cached token or cached Basic
credentials are used at once, and only a due fetch runs in a worker thread.
"""

from __future__ import annotations

import functools
import urllib.parse
from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx
    import requests

    from ._auth import ServiceAuth

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        return None
    return scheme, (parts.hostname or "").lower().rstrip("."), port


def same_origin(url: str, auth: ServiceAuth) -> bool:
    """Whether ``url`` has the origin (scheme, host, port) of ``auth``'s base URL."""
    mine = _origin(auth.base_url)
    return mine is not None and _origin(url) == mine


def _header_after_refusal(auth: ServiceAuth, refused: str | None) -> str:
    current = auth.current()
    current.invalidate(refused)
    return current.current().authorization


def _refused_here(response: httpx.Response, auth: ServiceAuth) -> bool:
    # httpx hands the auth flow the last answer of a redirect chain: a 401 from wherever
    # a redirect led must not cause a refresh and a retry.
    return response.status_code == 401 and same_origin(str(response.request.url), auth)


def _client_library(name: str) -> None:
    """Raise a :class:`ConfigurationError` saying what to install when ``name`` is missing."""
    import importlib.util

    if importlib.util.find_spec(name) is None:
        from ._errors import ConfigurationError

        raise ConfigurationError(
            f"{name}_auth() needs the {name} library, which is not installed: pip install {name}"
        )


@functools.cache
def _httpx_class() -> type[httpx.Auth]:
    _client_library("httpx")
    import httpx

    class BandwidthHttpxAuth(httpx.Auth):
        """Sets Bandwidth's ``Authorization`` header on requests to the service's origin;
        on a 401 from that origin refreshes and retries once."""

        def __init__(self, auth: ServiceAuth) -> None:
            self._auth = auth

        def __repr__(self) -> str:
            return f"BandwidthHttpxAuth({self._auth.service!r})"

        def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
            current = self._auth.current()
            if not same_origin(str(request.url), current):
                yield request
                return
            header = current.authorization
            request.headers["Authorization"] = header
            response = yield request
            if _refused_here(response, current):
                renewed = _header_after_refusal(self._auth, header)
                if renewed != header:
                    request.headers["Authorization"] = renewed
                    yield request

        async def async_auth_flow(
            self, request: httpx.Request
        ) -> AsyncGenerator[httpx.Request, httpx.Response]:
            import asyncio

            current = self._auth._current_nowait()
            if current is None:  # a fetch is due: it blocks, so not on the event loop
                current = await asyncio.to_thread(self._auth.current)
            if not same_origin(str(request.url), current):
                yield request
                return
            header = current._authorization_nowait()
            if header is None:  # a token request is due
                header = await asyncio.to_thread(lambda: current.authorization)
            request.headers["Authorization"] = header
            response = yield request
            if _refused_here(response, current):
                renewed = await asyncio.to_thread(_header_after_refusal, self._auth, header)
                if renewed != header:
                    request.headers["Authorization"] = renewed
                    yield request

    return BandwidthHttpxAuth


def httpx_auth(auth: ServiceAuth) -> httpx.Auth:
    """An ``httpx.Auth`` for ``auth``'s service (sync and async clients)."""
    return _httpx_class()(auth)  # type: ignore[call-arg]


@functools.cache
def _requests_class() -> type[requests.auth.AuthBase]:
    _client_library("requests")
    import requests

    class BandwidthRequestsAuth(requests.auth.AuthBase):
        """Sets Bandwidth's ``Authorization`` header on requests to the service's origin;
        on a 401 from that origin refreshes and retries once."""

        def __init__(self, auth: ServiceAuth) -> None:
            self._auth = auth

        def __repr__(self) -> str:
            return f"BandwidthRequestsAuth({self._auth.service!r})"

        def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
            current = self._auth.current()
            if not same_origin(request.url or "", current):
                return request
            request.headers["Authorization"] = current.authorization
            request.register_hook("response", self._on_response)  # type: ignore[no-untyped-call]
            return request

        def _on_response(self, response: requests.Response, **kwargs: Any) -> requests.Response:
            # requests copies this hook onto redirected requests: the origin check keeps
            # a 401 from wherever a redirect led from re-sending the credentials there.
            sent = response.request
            if response.status_code != 401 or getattr(sent, "_bandwidth_retry", False):
                return response
            if not same_origin(sent.url or "", self._auth.current()):
                return response
            sent_header = sent.headers.get("Authorization")
            refused = sent_header if isinstance(sent_header, str) else None
            header = _header_after_refusal(self._auth, refused)
            if header == refused:
                return response  # nothing new to send: the 401 is the answer
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


class _Live:
    """Holds the ``ServiceAuth`` inside an SDK configuration; survives the SDK's
    ``copy.deepcopy`` of its configuration as the same object (secrets are not copied)."""

    __slots__ = ("auth",)

    def __init__(self, auth: ServiceAuth) -> None:
        self.auth = auth

    def __copy__(self) -> _Live:
        return self

    def __deepcopy__(self, memo: object) -> _Live:
        return self

    def __repr__(self) -> str:
        return f"_Live({self.auth.service!r})"


@functools.cache
def _sdk_class() -> type[Any]:
    missing = False
    try:
        import bandwidth
    except ImportError:
        missing = True
    if missing:
        from ._errors import ConfigurationError

        raise ConfigurationError(
            "sdk_configuration() needs the official Bandwidth SDK: "
            "pip install 'bandwidth-credentials[sdk]'"
        )

    class BandwidthSdkConfiguration(bandwidth.Configuration):  # type: ignore[misc]
        """The SDK's configuration, with the ``Authorization`` value read from this
        library's current credentials on every request (rotated Basic credentials and
        refreshed tokens reach a long-lived ``ApiClient``) instead of stored values."""

        _bandwidth_live: _Live | None = None

        def _bandwidth_current(self) -> ServiceAuth:
            assert self._bandwidth_live is not None
            return self._bandwidth_live.auth.current()

        def auth_settings(self) -> Any:
            if self._bandwidth_live is None:
                return super().auth_settings()
            current = self._bandwidth_current()
            basic = current.scheme == "basic"
            return {
                "Basic" if basic else "OAuth2": {
                    "type": "basic" if basic else "oauth2",
                    "in": "header",
                    "key": "Authorization",
                    "value": current.authorization,
                }
            }

        def get_basic_auth_token(self) -> Any:
            if self._bandwidth_live is None:
                return super().get_basic_auth_token()
            current = self._bandwidth_current()
            return current.authorization if current.scheme == "basic" else None

        def get_access_token(self) -> str:
            if self._bandwidth_live is None:
                return str(super().get_access_token())
            return self._bandwidth_current().authorization.split(" ", 1)[1]

    return BandwidthSdkConfiguration


def sdk_configuration(auth: ServiceAuth) -> Any:
    """A ``bandwidth.Configuration`` that takes its ``Authorization`` value from
    ``auth.current()`` on every request (OAuth token, static token or Basic pair).

    No username, password, client id or secret is passed to the SDK or stored on the
    configuration, so SDK versions that dropped Basic keep working and nothing secret
    is copied into the SDK's objects.
    """
    config = _sdk_class()()
    config._bandwidth_live = _Live(auth)
    return config
