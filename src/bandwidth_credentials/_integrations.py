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
backoff window is not replaced): then the 401 is the caller's answer. The retry has its
body: httpx reads a streamed body before the first attempt; with requests a file body
is rewound, and a body that cannot be sent again (a generator, a pipe) gets the 401
back instead of a retry that would send nothing.

The async httpx flow never blocks the event loop: a cached token or cached Basic
credentials are used at once, and only a due fetch runs in a worker thread.
"""

from __future__ import annotations

import functools
import inspect
import urllib.parse
from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Any

from ._schema import SERVICES
from ._secret import Secret

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


def _header_after_refusal(auth: ServiceAuth, refused: Secret | None) -> Secret:
    """Report the refused ``Authorization`` value; the current one after that. Both are
    held masked, so an error raised meanwhile (a refused refresh) carries no frame
    holding a credential as a local (error trackers record locals)."""
    current = auth.current()
    current.invalidate(None if refused is None else refused.get_secret_value())
    return Secret(current.current().authorization)


def _masked(value: object) -> Secret | None:
    """``value`` (a header value) held in a :class:`Secret`; ``None`` when not a string."""
    return Secret(value) if isinstance(value, str) else None


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

        # A retry after a 401 sends the body again: httpx reads a streamed body (a
        # generator, a file) into memory first, so the retry has it to send.
        requires_request_body = True

        def __init__(self, auth: ServiceAuth) -> None:
            self._auth = auth

        def __repr__(self) -> str:
            return f"BandwidthHttpxAuth({self._auth.service!r})"

        def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
            current = self._auth.current()
            if not same_origin(str(request.url), current):
                yield request
                return
            header = Secret(current.authorization)
            request.headers["Authorization"] = header.get_secret_value()
            response = yield request
            if _refused_here(response, current):
                renewed = _header_after_refusal(self._auth, header)
                if renewed != header:
                    request.headers["Authorization"] = renewed.get_secret_value()
                    yield request

        async def async_auth_flow(
            self, request: httpx.Request
        ) -> AsyncGenerator[httpx.Request, httpx.Response]:
            import asyncio

            await request.aread()  # requires_request_body, as httpx.Auth's own flow does
            current = self._auth._current_nowait()
            if current is None:  # a fetch is due: it blocks, so not on the event loop
                current = await asyncio.to_thread(self._auth.current)
            if not same_origin(str(request.url), current):
                yield request
                return
            header = _masked(current._authorization_nowait())
            if header is None:  # a token request is due
                header = await asyncio.to_thread(lambda: Secret(current.authorization))
            request.headers["Authorization"] = header.get_secret_value()
            response = yield request
            if _refused_here(response, current):
                renewed = await asyncio.to_thread(_header_after_refusal, self._auth, header)
                if renewed != header:
                    request.headers["Authorization"] = renewed.get_secret_value()
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
            if not _rewound(sent):
                return response  # the body was streamed and cannot be sent again
            refused = _masked(sent.headers.get("Authorization"))
            header = _header_after_refusal(self._auth, refused)
            if header == refused:
                return response  # nothing new to send: the 401 is the answer
            # Release the connection before reusing it for the retry.
            _ = response.content
            response.close()
            retry = sent.copy()
            retry.headers["Authorization"] = header.get_secret_value()
            retry._bandwidth_retry = True  # type: ignore[attr-defined]
            connection = response.connection
            new_response: requests.Response = connection.send(retry, **kwargs)
            new_response.history.append(response)
            new_response.request = retry
            return new_response

    return BandwidthRequestsAuth


def _rewound(sent: requests.PreparedRequest) -> bool:
    """Whether ``sent`` can be sent again: its body is bytes-like (``bytes``,
    ``bytearray``, ``memoryview``: sent whole each time), text or nothing, or a file
    rewound here to where it started. A generator or an unseekable stream was consumed
    by the first attempt; a retry would declare its length and send nothing (or send an
    empty body that the server accepts), so such a request is not retried."""
    body: Any = sent.body  # typed bytes | str | None; a stream or generator in practice
    if body is None or isinstance(body, (bytes, bytearray, memoryview, str)):
        return True
    position = getattr(sent, "_body_position", None)
    if not isinstance(position, int) or not callable(getattr(body, "seek", None)):
        return False
    failed = False
    try:
        body.seek(position)
    except (OSError, ValueError):
        failed = True
    return not failed


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


def _sdk_host(auth: ServiceAuth) -> str:
    """The SDK's ``host`` for ``auth``: its base URL without the account part the SDK
    appends itself (every operation's path starts ``/accounts/{accountId}`` or, for
    Messaging, ``/users/{accountId}``). Raises :class:`ConfigurationError` when the base
    URL does not end with it (the SDK cannot be pointed there)."""
    segment = SERVICES[auth.service].path.rsplit("/", 2)[-2]
    suffix = f"/{segment}/{auth.account_id}"
    if not auth.base_url.endswith(suffix):
        from ._errors import ConfigurationError
        from ._http import display_url

        raise ConfigurationError(
            f"sdk_configuration(): the {auth.service} base URL {display_url(auth.base_url)} "
            f"does not end with {suffix}, which the Bandwidth SDK appends to its host "
            "itself; it cannot be pointed there (use the base URL with requests or httpx)"
        )
    return auth.base_url[: -len(suffix)]


@functools.cache
def _sdk_class() -> type[Any]:
    missing = False
    try:
        import bandwidth
    except ImportError:
        missing = True
    if missing:
        from ._errors import ConfigurationError
        from ._registry import install_extra

        raise ConfigurationError(
            f"sdk_configuration() needs the official Bandwidth SDK: {install_extra('sdk')}"
        )
    if "ignore_operation_servers" not in inspect.signature(bandwidth.Configuration).parameters:
        from ._errors import ConfigurationError

        version = getattr(bandwidth, "__version__", "unknown")
        raise ConfigurationError(
            f"sdk_configuration(): the installed bandwidth-sdk ({version}) cannot be pointed "
            "at a host (it has no ignore_operation_servers setting), so it would send the "
            "credentials to its built-in production hosts; install a newer one: "
            "pip install -U 'bandwidth-credentials[sdk]'"
        )
    base_host = bandwidth.Configuration.host

    class BandwidthSdkConfiguration(bandwidth.Configuration):  # type: ignore[misc]
        """The SDK's configuration pointed at the hosts this library resolved (``host``,
        with the SDK's built-in per-operation hosts ignored), with the ``Authorization``
        value read from the current credentials on every request (rotated Basic
        credentials and refreshed tokens reach a long-lived ``ApiClient``) and attached
        only while the configuration targets the service's origin."""

        _bandwidth_live: _Live | None = None

        def _bandwidth_current(self) -> ServiceAuth:
            assert self._bandwidth_live is not None
            return self._bandwidth_live.auth.current()

        @property
        def host(self) -> str:
            if self._bandwidth_live is None:
                return str(base_host.fget(self))
            return _sdk_host(self._bandwidth_current())

        @host.setter
        def host(self, value: str) -> None:
            if self._bandwidth_live is not None:
                mine = _sdk_host(self._bandwidth_current())
                if value.rstrip("/") != mine:
                    from ._errors import ConfigurationError
                    from ._http import display_url

                    raise ConfigurationError(
                        f"this configuration holds the {self._bandwidth_live.auth.service} "
                        f"credentials and targets {display_url(mine)} only; configure "
                        "the base URL (BW_<SERVICE>_BASE_URL) in the credentials' source"
                    )
            base_host.fset(self, value)

        def _bandwidth_targets(self, current: ServiceAuth) -> bool:
            """Whether every request made with this configuration goes to ``current``'s
            origin: the SDK's built-in hosts are ignored and ``host`` is the service's."""
            return bool(self.ignore_operation_servers) and same_origin(self.host, current)

        def auth_settings(self) -> Any:
            if self._bandwidth_live is None:
                return super().auth_settings()
            current = self._bandwidth_current()
            if not self._bandwidth_targets(current):
                return {}
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
            if current.scheme != "basic" or not self._bandwidth_targets(current):
                return None
            return current.authorization

        def get_access_token(self) -> str | None:
            if self._bandwidth_live is None:
                return str(super().get_access_token())
            current = self._bandwidth_current()
            if current.scheme != "bearer" or not self._bandwidth_targets(current):
                return None
            return current.authorization.split(" ", 1)[1]

    return BandwidthSdkConfiguration


def sdk_configuration(auth: ServiceAuth) -> Any:
    """A ``bandwidth.Configuration`` for ``auth``'s service: ``host`` is the service's
    resolved base URL without the account part (so ``BW_ENVIRONMENT``, host overrides and
    base URLs apply), the SDK's built-in per-operation hosts are ignored
    (``ignore_operation_servers``), and the ``Authorization`` value comes from
    ``auth.current()`` on every request (OAuth token, static token or Basic pair).

    No username, password, client id or secret is passed to the SDK or stored on the
    configuration, so SDK versions that dropped Basic keep working and nothing secret
    is copied into the SDK's objects. Use one configuration per service: an API class of
    another service (``MessagesApi`` with Voice's configuration) is sent to Voice's host.

    Raises :class:`ConfigurationError` when the SDK is missing, too old to be pointed at a
    host, or the base URL does not end with the account part the SDK appends.
    """
    cls = _sdk_class()
    host = _sdk_host(auth)
    config = cls(host=host, ignore_operation_servers=True)
    config._bandwidth_live = _Live(auth)
    return config
