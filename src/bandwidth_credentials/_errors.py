"""Every error the library raises.

All of them derive from :class:`CredentialsError`, so one ``except`` catches them all::

    CredentialsError
    ├── ConfigurationError            bad source URI, unknown scheme, missing plugin,
    │   │                             one source giving two values for one field
    │   └── StoreNotSupportedError    the source cannot be written (read-only, KV v1)
    ├── UnknownServiceError           also a ValueError; lists the valid service names
    ├── CredentialNotFoundError       a service has no complete credentials anywhere
    ├── InvalidCredentialsError       a value is present but unusable (non-numeric account id)
    ├── SourceError                   a configured source failed to produce values
    │   ├── SourceNotFoundError       the file, path or secret does not exist
    │   ├── SourceAccessDeniedError   the store refused this identity (403, AccessDenied)
    │   ├── SourceAuthenticationError logging in to the store failed
    │   ├── SourceFormatError         the source exists but its content cannot be read
    │   ├── SourceUnavailableError    unreachable, timed out, sealed, throttled, 5xx
    │   └── StoreConflictError        a write found another version than the one read
    ├── TokenError                    the OAuth token endpoint refused or failed
    └── CallbackAuthError             a callback request did not prove it came from
                                      Bandwidth (missing, malformed or wrong credentials)

Messages name the source URI, the key and the service involved, and never a secret
value. Context is also kept as attributes (``.source``, ``.service``, ``.missing``, ...)
so callers can act on it without parsing text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence  # the public API's annotations

from ._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import TypeVar

    E = TypeVar("E", bound=BaseException)
    T = TypeVar("T")

__all__ = [
    "CallbackAuthError",
    "ConfigurationError",
    "CredentialNotFoundError",
    "CredentialsError",
    "InvalidCredentialsError",
    "SourceAccessDeniedError",
    "SourceAuthenticationError",
    "SourceError",
    "SourceFormatError",
    "SourceNotFoundError",
    "SourceUnavailableError",
    "StoreConflictError",
    "StoreNotSupportedError",
    "TokenError",
    "UnknownServiceError",
]


class CredentialsError(Exception):
    """Base class of every error raised by ``bandwidth_credentials``.

    >>> try:                                                        # doctest: +SKIP
    ...     auth = get_auth("voice")
    ... except CredentialsError as exc:
    ...     sys.exit(f"Bandwidth credentials: {exc}")

    The message names the source URI, key and service involved, never a secret value.
    """


class ConfigurationError(CredentialsError):
    """The library was configured in a way it cannot work with.

    Raised for a malformed source URI, an unknown option, an unknown scheme (naming the
    plugin package to install when one is known), or a source that gives two different
    values for the same field under two keys.

    ``source`` is the source URI involved (option values hidden), when there is one.

    >>> Resolver("vault:secret/bw?colour=red")                      # doctest: +SKIP
    Traceback (most recent call last):
    ConfigurationError: source vault:secret/bw?colour=***: unknown option(s) colour; ...
    """

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(message)
        self.source = source


class StoreNotSupportedError(ConfigurationError):
    """The source cannot be written: its provider has no :meth:`Provider.store`, or the
    store behind it cannot take a checked write (Vault KV version 1, a secret directory
    mounted by the kubelet, the environment).

    >>> Resolver("env").sources  # then: bwcreds rotate --source env    # doctest: +SKIP
    StoreNotSupportedError: source env: writing is not supported by this source (...)
    """


class UnknownServiceError(CredentialsError, ValueError):
    """``get_auth()`` was asked for a service that does not exist.

    ``service`` is the name asked for; ``valid`` the canonical service names (a tuple).

    >>> get_auth("fax")                                             # doctest: +SKIP
    Traceback (most recent call last):
    UnknownServiceError: unknown Bandwidth service 'fax'; valid names: voice, messaging, ...
    """

    def __init__(self, service: str, valid: Sequence[str]) -> None:
        self.service = service
        self.valid = tuple(valid)
        super().__init__(f"unknown Bandwidth service {service!r}; valid names: {', '.join(valid)}")


class CredentialNotFoundError(CredentialsError):
    """No source holds complete credentials for a service.

    ``service`` is the service asked for, ``missing`` the fields that were not found
    (for example ``("username", "password")``), ``sources`` the URIs that were
    consulted, ``outcomes`` what each gave (``("env", "read")``,
    ``("dotenv:.env?optional=true", "skipped: ... does not exist")``), and
    ``notes`` what was seen but ignored (half pairs, empty values, look-alike names);
    all are tuples. ``problem``, when given, is the whole reason (the credentials were
    found, but the account asked for is not among the access token's accounts): the
    message is then that reason alone, not a list of missing fields and sources.

    >>> try:                                                        # doctest: +SKIP
    ...     get_auth("voice")
    ... except CredentialNotFoundError as exc:
    ...     print(exc.missing[0], exc.sources)
    account_id ('env', 'dotenv:.env?optional=true')
    """

    def __init__(
        self,
        service: str,
        missing: Sequence[str],
        sources: Sequence[str],
        notes: Sequence[str] = (),
        outcomes: Sequence[tuple[str, str]] = (),
        *,
        problem: str | None = None,
    ) -> None:
        self.service = service
        self.missing = tuple(missing)
        self.outcomes = tuple(outcomes)
        self.sources = tuple(sources) or tuple(uri for uri, _ in self.outcomes)
        self.notes = tuple(notes)
        if problem is not None:
            super().__init__(problem)
            return
        said = dict(self.outcomes)
        consulted = (
            ", ".join(f"{uri} ({said[uri]})" if uri in said else uri for uri in self.sources)
            if self.sources
            else "(no sources configured)"
        )
        message = (
            f"no credentials for the {service} API: missing {' and '.join(self.missing)}; "
            f"sources consulted: {consulted}"
        )
        if self.notes:
            message += "; " + "; ".join(self.notes)
        super().__init__(message)


class InvalidCredentialsError(CredentialsError):
    """A credential value was found but cannot be used.

    ``field`` is the canonical field name, ``source`` and ``key`` say where the value
    came from, and ``service`` which API it was meant for (``None`` when shared). The
    value itself is never part of the message.

    >>> get_auth("voice")                                           # doctest: +SKIP
    Traceback (most recent call last):
    InvalidCredentialsError: account_id from env (BW_ACCOUNT_ID) for the voice API looks ...
    """

    def __init__(
        self,
        message: str,
        *,
        field: str,
        source: str | None = None,
        key: str | None = None,
        service: str | None = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.source = source
        self.key = key
        self.service = service


class SourceError(CredentialsError):
    """A configured source could not produce its values.

    ``source`` is the source URI as shown (option values hidden, never a secret).
    ``retry_after`` is the delay in seconds the store asked for (HTTP ``Retry-After``),
    when it asked; the refresh backoff honours it.

    >>> try:                                                        # doctest: +SKIP
    ...     reload()
    ... except SourceError as exc:
    ...     log.warning("credential store %s failed: %s", exc.source, exc)
    """

    def __init__(self, message: str, *, source: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.retry_after = retry_after


class SourceNotFoundError(SourceError):
    """The source's file, directory, path or secret does not exist (a missing ``.env``,
    HTTP 404 from Vault, ``ResourceNotFoundException`` from Secrets Manager).

    >>> Resolver(["dotenv:missing.env"]).get_auth("voice")           # doctest: +SKIP
    Traceback (most recent call last):
    SourceNotFoundError: source dotenv:missing.env: missing.env does not exist
    """


class SourceAccessDeniedError(SourceError):
    """The store answered, but refused this identity access to the secret (HTTP 403,
    ``AccessDeniedException``); the message names the permission or role to grant.

    >>> except SourceAccessDeniedError as exc: ...                  # doctest: +SKIP
    """


class SourceAuthenticationError(SourceError):
    """Logging in to the store failed: a bad, expired or revoked token, a refused role
    or JWT, a locked keychain.

    >>> except SourceAuthenticationError as exc: ...                # doctest: +SKIP
    """


class SourceFormatError(SourceError):
    """The source exists but its content is not in a form the provider can read (not a
    JSON object, not UTF-8, over the size limit, a FIFO instead of a file).

    >>> except SourceFormatError as exc: ...                        # doctest: +SKIP
    """


class SourceUnavailableError(SourceError):
    """The store could not be reached or did not answer in time (retry may help):
    unreachable, timed out, sealed, throttled (429), 5xx.

    >>> except SourceUnavailableError as exc: ...                   # doctest: +SKIP
    """


class StoreConflictError(SourceError):
    """A write to the source was refused because the source no longer holds the version
    that was read (someone else wrote meanwhile): Vault's ``cas`` mismatch, a Secrets
    Manager staging label that moved, a file replaced since it was read. Nothing was
    written; read again and retry.

    ``expected`` is the version the write was based on, ``found`` the one the store holds
    (``None`` when the store does not say). Versions are never secret.

    >>> except StoreConflictError as exc: ...                       # doctest: +SKIP
    """

    def __init__(
        self,
        message: str,
        *,
        source: str,
        expected: str | None = None,
        found: str | None = None,
    ) -> None:
        super().__init__(message, source=source)
        self.expected = expected
        self.found = found


class TokenError(CredentialsError):
    """Getting an OAuth access token failed.

    ``client_id`` and ``token_url`` name the request (the client secret is never kept
    here); ``status`` is the HTTP status when the endpoint answered (``None`` for a
    timeout or a refused connection). ``retryable`` says whether a later attempt may
    succeed; ``retry_after`` is the endpoint's ``Retry-After`` in seconds, if any.

    >>> get_auth("voice").headers()                                 # doctest: +SKIP
    Traceback (most recent call last):
    TokenError: OAuth token request for client my-client to https://api.bandwidth.com/... failed
    """

    def __init__(
        self,
        message: str,
        *,
        client_id: str,
        token_url: str,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.client_id = client_id
        self.token_url = token_url
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


class CallbackAuthError(CredentialsError):
    """A callback request was refused: it did not carry credentials Bandwidth would send.

    ``status`` is the HTTP status to answer with (401: no or wrong Basic credentials, or no
    credentials at all; 403: a signature that is malformed or does not match the body;
    413: a body over the size limit), ``scheme`` the scheme that refused (``"basic"``,
    ``"subscriptions"``, ``"tfv"``, or ``None``), ``reason`` one of ``missing``,
    ``duplicate``, ``malformed``, ``mismatch``, ``empty-body``, ``too-large``, ``app``
    the application scope, and ``www_authenticate`` the ``WWW-Authenticate`` value to
    send with a 401 for Basic (else ``None``).

    The message names the header and what is wrong with it; it never includes what the
    caller sent or what was expected.

    >>> get_callback_auth().verify({"Authorization": "Basic Zm9vOmJhcg=="}, b"{}")  # doctest: +SKIP
    Traceback (most recent call last):
    CallbackAuthError: callback refused (basic): Authorization does not match ...
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        reason: str,
        scheme: str | None = None,
        app: str | None = None,
        www_authenticate: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.scheme = scheme
        self.app = app
        self.www_authenticate = www_authenticate


def fresh(error: E) -> E:
    """A new exception of the same type, message and attributes, with no traceback,
    ``__cause__`` or ``__context__``: raise one of these per caller, so a shared failure
    never carries one caller's traceback or handling context into another's."""
    new = type(error).__new__(type(error), *error.args)
    new.__dict__.update(error.__dict__)
    return new


def guarded(action: Callable[[], T], translate: Callable[[Exception], Exception]) -> T:
    """Run ``action``; an exception that is not already a :class:`CredentialsError` is
    replaced by ``translate(exc)``, raised *outside* the ``except`` block, so neither
    ``__cause__`` nor ``__context__`` leads back to the foreign exception (whose text or
    attributes, such as ``JSONDecodeError.doc``, may hold a secret). ``KeyboardInterrupt``
    and ``SystemExit`` pass through untouched.
    """
    replacement: Exception
    try:
        return action()
    except CredentialsError as exc:
        replacement = fresh(exc)
    except Exception as exc:
        replacement = translate(exc)
    raise replacement
