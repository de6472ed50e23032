"""A ``requests`` transport adapter that sends each exchange with the core's bounded client.

``requests`` bounds each socket read, not the answer: a Vault (or anything in between)
that trickles a valid answer one byte at a time keeps a caller for as long as it likes,
and a 100 MB answer is read whole. Mounted on the hvac session, :class:`BoundedAdapter`
sends every request with :func:`bandwidth_credentials.plugin.request` instead: one
deadline covers connect, TLS, send and every byte of the answer, and the body is capped
(:data:`MAX_ANSWER`). The ``verify``, ``cert`` and ``proxies`` arguments ``requests``
passes (from the session, ``VAULT_CACERT``/``VAULT_CAPATH``, the client certificate,
``REQUESTS_CA_BUNDLE`` and the proxy variables) are honoured. Failures are the core's
:class:`~bandwidth_credentials.plugin.HttpError` subclasses, raised with nothing chained.

A redirect within the configured Vault's origin (scheme, host and port of ``VAULT_ADDR``)
is returned to ``requests``, which follows it; every hop draws on the same attempt
deadline. A redirect to another origin is never followed: ``requests`` would re-send a
307/308's body there (an AppRole ``secret_id``, a Kubernetes or JWT token, a signed STS
request) and strips ``Authorization`` but not ``X-Vault-Token``, and whatever the other
origin answered would be taken as the configured Vault's secret. The adapter raises
:class:`RedirectRefused` instead, naming the status and the other origin (a standby Vault
that redirects to its active node needs ``VAULT_ADDR`` pointed at the active node or at a
load balancer, or request forwarding, Vault's default since 0.9).

The adapter API is ``requests.adapters.BaseAdapter.send`` (requests' "Transport
Adapters" documentation).
"""

from __future__ import annotations

import functools
import http
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ssl

    from bandwidth_credentials import plugin as kit

#: The largest answer read from Vault, in bytes (1 MiB, the bounded client's default);
#: a larger one is refused unread.
MAX_ANSWER = 1 << 20

# Fields the bounded client writes itself; requests' values (keep-alive, gzip) would
# ask for what it does not do.
_OWN_FIELDS = frozenset(
    {"host", "connection", "content-length", "transfer-encoding", "accept-encoding"}
)


class RedirectRefused(Exception):
    """Vault (or something in front of it) redirected a request to another origin."""

    def __init__(self, status: int, target: str) -> None:
        super().__init__(
            f"Vault redirected the request to another origin (HTTP {status} to {target}); "
            "nothing is sent there: point VAULT_ADDR at the active node or a load balancer"
        )
        self.status = status


def _shown_origin(origin: tuple[str, str, int | None]) -> str:
    scheme, host, port = origin
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"


def _new_adapter_class() -> type[Any]:
    import requests.adapters

    from bandwidth_credentials import plugin as kit  # the bounded client, on first use

    class BoundedAdapter(requests.adapters.BaseAdapter):
        """Sends each request with :func:`kit.request` within the attempt's deadline."""

        def __init__(
            self, timeout: float, max_size: int = MAX_ANSWER, origin: str | None = None
        ) -> None:
            super().__init__()
            self.timeout = timeout
            self.max_size = max_size
            self.origin = kit.origin(origin) if origin else None
            self.deadline: float | None = None

        def start_attempt(self, fetch: kit.Deadline | None = None) -> None:
            """Start one attempt's deadline: ``timeout`` seconds for all its exchanges,
            and no later than ``fetch`` (the fetch's total deadline), when given."""
            self.deadline = time.monotonic() + self.timeout
            if fetch is not None:
                self.deadline = min(self.deadline, time.monotonic() + fetch.left())

        def send(
            self,
            request: Any,
            stream: bool = False,
            timeout: object = None,
            verify: bool | str = True,
            cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
            proxies: Mapping[str, str] | None = None,
        ) -> Any:
            left = self.timeout
            if self.deadline is not None:
                left = self.deadline - time.monotonic()
            if left <= 0:
                raise kit.DeadlineExceeded(f"no complete answer within {self.timeout:g} s")
            import requests.utils

            url = str(request.url)
            context = None
            if url.lower().startswith("https:"):
                context = tls_context(verify, _cert_pair(cert))
            body = request.body
            if body is None:
                body = b""
            elif isinstance(body, str):
                body = body.encode("utf-8")
            if not isinstance(body, bytes):
                raise kit.BadURL("a streamed request body is not supported")
            if self.origin is not None and kit.origin(url) != self.origin:
                # Only reachable by a caller that bypasses send()'s redirect check.
                raise RedirectRefused(0, _shown_origin(kit.origin(url)))
            headers = {
                name: str(value)
                for name, value in request.headers.items()
                if name.lower() not in _OWN_FIELDS
            }
            answer = kit.request(
                request.method or "GET",
                url,
                headers=headers,
                body=body,
                timeout=left,
                max_size=self.max_size,
                context=context,
                proxy=requests.utils.select_proxy(url, dict(proxies or {})) or "",
            )
            location = answer.headers.get("location")
            if 300 <= answer.status < 400 and location and self.origin is not None:
                from urllib.parse import urljoin

                target = kit.origin(urljoin(url, location.strip()))
                if target != self.origin:
                    raise RedirectRefused(answer.status, _shown_origin(target))
            return _response(request, answer, self)

        def close(self) -> None:
            """Nothing to release: every exchange has its own connection."""

    return BoundedAdapter


@functools.cache
def adapter_class() -> type[Any]:
    """The adapter class (``requests`` is imported here, on first use)."""
    return _new_adapter_class()


def _response(request: Any, answer: kit.Response, adapter: Any) -> Any:
    import io

    import requests
    from requests.structures import CaseInsensitiveDict
    from requests.utils import get_encoding_from_headers

    response = requests.Response()
    response.status_code = answer.status
    response.headers = CaseInsensitiveDict(answer.headers)
    response._content = answer.body
    response._content_consumed = True  # type: ignore[attr-defined]
    response.raw = io.BytesIO(answer.body)
    response.url = str(request.url)
    response.request = request
    response.connection = adapter
    response.encoding = get_encoding_from_headers(response.headers)
    try:
        response.reason = http.HTTPStatus(answer.status).phrase
    except ValueError:
        response.reason = ""
    return response


def _cert_pair(
    cert: bytes | str | tuple[bytes | str, bytes | str] | None,
) -> tuple[str, str] | None:
    if cert is None:
        return None
    if isinstance(cert, bytes | str):
        return os.fsdecode(cert), ""
    return os.fsdecode(cert[0]), os.fsdecode(cert[1])


def tls_context(verify: bool | str, cert: tuple[str, str] | None) -> ssl.SSLContext:
    """The TLS context for ``requests``' ``verify`` (True, False, a CA file or directory)
    and ``cert`` (certificate file, key file or ``""`` when the first holds both).
    ``verify=True`` trusts the same bundle ``requests`` would (certifi's). Raises
    :class:`kit.TLSFailed` when a file cannot be loaded."""
    from bandwidth_credentials import plugin as kit

    paths = [p for p in ((verify if isinstance(verify, str) else ""), *(cert or ())) if p]
    loaded: ssl.SSLContext | None = None
    try:
        stamps = tuple(os.stat(path).st_mtime_ns for path in paths)
        loaded = _cached_context(verify, cert, stamps)
    except (OSError, ValueError):  # ssl.SSLError is an OSError
        pass
    if loaded is None:
        raise kit.TLSFailed("the CA bundle or the client certificate cannot be loaded")
    return loaded


@functools.lru_cache(maxsize=8)
def _cached_context(
    verify: bool | str, cert: tuple[str, str] | None, stamps: tuple[int, ...]
) -> ssl.SSLContext:
    # Keyed by the files' mtimes too, so a rotated certificate is read again.
    import ssl

    cafile: str | None = None
    capath: str | None = None
    if isinstance(verify, str):
        if os.path.isdir(verify):
            capath = verify
        else:
            cafile = verify
    elif verify:
        from requests.utils import DEFAULT_CA_BUNDLE_PATH

        cafile = DEFAULT_CA_BUNDLE_PATH
    context = ssl.create_default_context(cafile=cafile, capath=capath)
    if verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert is not None:
        context.load_cert_chain(cert[0], cert[1] or None)
    return context
