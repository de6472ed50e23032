"""OAuth 2.0 client credentials: Bandwidth's token exchange, cached and single-flight.

``POST {token_url}`` with HTTP Basic client authentication and the form body
``grant_type=client_credentials``; the answer holds ``access_token``, ``token_type`` and
``expires_in``. One :class:`TokenManager` exists per (token URL, client id) in a process,
so every service and thread sharing a client shares its token, and any number of
concurrent callers with no valid token cause exactly one request.

Standard library HTTP only (``urllib``), so the core needs no HTTP client: proxies come
from ``HTTPS_PROXY``/``NO_PROXY`` as urllib reads them, and the CA bundle from
``REQUESTS_CA_BUNDLE`` or ``SSL_CERT_FILE`` when set.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import random
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import NamedTuple

from ._checks import ServiceCredentials
from ._errors import TokenError

__all__ = ["DEFAULT_TOKEN_URL", "TEST_TOKEN_URL", "TokenManager", "token_manager", "token_source"]

DEFAULT_TOKEN_URL = "https://api.bandwidth.com/api/v1/oauth2/token"
TEST_TOKEN_URL = "https://test.api.bandwidth.com/api/v1/oauth2/token"
DEFAULT_LIFETIME = 3600.0
TIMEOUT = 10.0  # seconds per connect and per read
ATTEMPTS = 3
BACKOFF = 0.25

logger = logging.getLogger("bandwidth_credentials")


class _Token(NamedTuple):
    value: str
    refresh_at: float  # monotonic
    expires_at: float  # monotonic


def refresh_margin(lifetime: float) -> float:
    """Seconds before expiry to refresh: the larger of 60 s or 10% of the lifetime,
    but never more than half of it (a 30 s token is not refreshed on every call)."""
    return min(max(60.0, lifetime * 0.1), lifetime / 2)


def _ssl_context() -> ssl.SSLContext:
    cafile = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE") or None
    return ssl.create_default_context(cafile=cafile)


class TokenManager:
    """Fetches, caches and refreshes the access token of one OAuth client.

    Use :func:`token_manager` to get the shared instance for a client rather than
    building one. :meth:`token` returns a currently valid token; :meth:`invalidate`
    forces the next call to fetch a new one (after the API answered 401).
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        opener: urllib.request.OpenerDirector | None = None,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self._clock = clock
        self._opener = opener
        self._lock = threading.Lock()
        self._token: _Token | None = None

    def __repr__(self) -> str:
        return f"TokenManager(token_url={self.token_url!r}, client_id={self.client_id!r})"

    def __copy__(self) -> TokenManager:
        return self  # one manager per client per process, even inside copied configs

    def __deepcopy__(self, memo: object) -> TokenManager:
        return self

    @property
    def client_secret(self) -> str:
        """The client secret (for handing to another client, such as the official SDK)."""
        return self._secret

    def set_secret(self, client_secret: str) -> None:
        """Use a rotated client secret from now on (drops the cached token if it changed)."""
        with self._lock:
            if client_secret != self._secret:
                self._secret = client_secret
                self._token = None

    def token(self) -> str:
        """A currently valid access token, fetched at most once for concurrent callers."""
        current = self._token
        if current is not None and self._clock() < current.refresh_at:
            return current.value
        with self._lock:
            current = self._token
            now = self._clock()
            if current is not None and now < current.refresh_at:
                return current.value
            try:
                self._token = self._fetch()
            except TokenError:
                # Refreshing ahead of expiry failed: the old token is still good.
                if current is not None and now < current.expires_at:
                    logger.warning(
                        "refreshing the OAuth token for client %s failed; using the current "
                        "token until it expires",
                        self.client_id,
                    )
                    return current.value
                raise
            return self._token.value

    def cached_token(self) -> str | None:
        """A currently valid token without any wait or I/O, or ``None``."""
        current = self._token
        if current is not None and self._clock() < current.refresh_at:
            return current.value
        return None

    def invalidate(self, rejected: str | None = None) -> None:
        """Drop the cached token so the next :meth:`token` fetches a new one.

        With ``rejected`` (the token an API just refused), only drop it if it is still
        the cached one, so N callers that saw the same 401 cause one new request.
        """
        with self._lock:
            if rejected is None or (self._token is not None and self._token.value == rejected):
                self._token = None

    # -- HTTP ---------------------------------------------------------------------

    def _opener_or_default(self) -> urllib.request.OpenerDirector:
        if self._opener is None:
            self._opener = urllib.request.build_opener(
                urllib.request.HTTPSHandler(context=_ssl_context())
            )
        return self._opener

    def _fail(self, reason: str, status: int | None = None, retryable: bool = False) -> TokenError:
        return TokenError(
            f"OAuth token request for client {self.client_id} to {self.token_url} failed: {reason}",
            client_id=self.client_id,
            token_url=self.token_url,
            status=status,
            retryable=retryable,
        )

    def _fetch(self) -> _Token:
        last: TokenError | None = None
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(BACKOFF * (2 ** (attempt - 1)) * (0.5 + random.random()))  # noqa: S311
            try:
                return self._request()
            except TokenError as exc:
                if not exc.retryable:
                    raise
                last = exc
        assert last is not None
        raise self._fail(
            f"unavailable after {ATTEMPTS} attempts ({last.args[0].rsplit(': ', 1)[-1]})",
            status=last.status,
            retryable=True,
        )

    def _request(self) -> _Token:
        # Sent as given, as Bandwidth's own SDKs do (no form-encoding of id and secret).
        basic = f"{self.client_id}:{self._secret}"
        request = urllib.request.Request(  # noqa: S310 - URL validated as https/loopback
            self.token_url,
            data=b"grant_type=client_credentials",
            method="POST",
            headers={
                "Authorization": "Basic " + base64.b64encode(basic.encode()).decode(),
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )
        started = self._clock()
        try:
            with self._opener_or_default().open(request, timeout=TIMEOUT) as response:
                body = response.read(1 << 20)
        except urllib.error.HTTPError as exc:
            status = exc.code
            code = ""
            try:
                detail = json.loads(exc.read(1 << 16) or b"{}")
                if isinstance(detail, dict) and isinstance(detail.get("error"), str):
                    code = f" ({detail['error'][:80]})"
            except (ValueError, OSError):
                pass
            finally:
                exc.close()
            if status in (400, 401, 403):
                raise self._fail(
                    f"HTTP {status}{code}: the client id or secret was refused", status
                ) from None
            retryable = status == 429 or status >= 500
            raise self._fail(f"HTTP {status}{code}", status, retryable) from None
        except TimeoutError:
            raise self._fail(f"timed out after {TIMEOUT:g} s", retryable=True) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, ssl.SSLError):
                raise self._fail(f"TLS error ({type(reason).__name__})") from None
            text = reason if isinstance(reason, str) else type(reason).__name__
            if isinstance(reason, OSError) and reason.strerror:
                text = reason.strerror
            raise self._fail(f"cannot connect ({text})", retryable=True) from None
        except OSError as exc:
            raise self._fail(f"connection error ({type(exc).__name__})", retryable=True) from None
        try:
            payload = json.loads(body)
        except ValueError:
            raise self._fail("the response is not JSON") from None
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token:
            raise self._fail("the response has no access_token")
        token_type = payload.get("token_type", "Bearer")
        if isinstance(token_type, str) and token_type.lower() != "bearer":
            raise self._fail(f"unexpected token_type {token_type[:40]!r} (expected Bearer)")
        lifetime = DEFAULT_LIFETIME
        expires_in = payload.get("expires_in")
        if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool):
            lifetime = max(float(expires_in), 0.0)
        elif isinstance(expires_in, str) and expires_in.strip().isdigit():
            lifetime = float(expires_in)
        expires_at = started + lifetime
        return _Token(token, expires_at - refresh_margin(lifetime), expires_at)


_managers: dict[tuple[str, str], TokenManager] = {}
_managers_lock = threading.Lock()


def token_manager(token_url: str, client_id: str, client_secret: str) -> TokenManager:
    """The process-wide manager for (token URL, client id), created on first use."""
    key = (token_url, client_id)
    with _managers_lock:
        manager = _managers.get(key)
        if manager is None:
            manager = _managers[key] = TokenManager(token_url, client_id, client_secret)
    manager.set_secret(client_secret)
    return manager


def token_url_for(credentials: ServiceCredentials) -> str:
    """The token endpoint: an explicit ``token_url``, else by ``environment``."""
    if credentials.token_url:
        return credentials.token_url
    if credentials.environment == "test":
        return TEST_TOKEN_URL
    return DEFAULT_TOKEN_URL


def token_source(credentials: ServiceCredentials) -> TokenManager:
    """The shared token manager for these OAuth client credentials."""
    assert credentials.client_id is not None
    assert credentials.client_secret is not None
    return token_manager(
        token_url_for(credentials),
        credentials.client_id,
        credentials.client_secret.get_secret_value(),
    )


def reset_after_fork() -> None:
    """In a forked child: new locks for the registry and every manager."""
    global _managers_lock
    _managers_lock = threading.Lock()
    for manager in list(_managers.values()):
        manager._lock = threading.Lock()


def invalidate_all() -> None:
    """Drop every cached token (after a SnapStart restore)."""
    for manager in list(_managers.values()):
        manager.invalidate()
