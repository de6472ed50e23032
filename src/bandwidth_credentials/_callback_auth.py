"""``CallbackAuth``: does this request carry what Bandwidth sends on its callbacks?

Three schemes, from Bandwidth's developer docs (see :mod:`._schema`, ``CALLBACK_KINDS``):

- **basic**: ``Authorization: Basic base64(user:password)`` (RFC 7235; the scheme name is
  case-insensitive) with the credentials set on the voice or messaging application, the
  call, or the subscription;
- **subscriptions** (Subscriptions 2.0): ``X-Bandwidth-Signature-SHA-256``, the base64
  HMAC-SHA-256 of the body with the subscription's secret key;
- **tfv** (Toll-Free Verification webhooks): ``x-bandwidth-signature-hmac-sha256``, the
  hex HMAC-SHA-256 of the body with the subscription's ``sharedSecretKey``. Bandwidth's
  page calls the signed body "canonicalized" without saying how; the body is verified
  exactly as received (the bytes on the wire), as for Subscriptions 2.0.

The rule: every configured scheme whose header the request carries must match, and at
least one must be carried; headers of schemes not configured are ignored. Comparisons are
constant-time (:func:`hmac.compare_digest`); every refusal says what was wrong (which
header, missing, duplicate, malformed, no match) and never what was sent or expected.
"""

from __future__ import annotations

import binascii
import sys
from collections.abc import (
    Callable,
    Mapping,  # the public API's annotations
)
from operator import countOf as _count

from ._callback_creds import CallbackCredentials, Expected, not_found
from ._errors import CallbackAuthError, InvalidCredentialsError
from ._results import CallbackVerification
from ._schema import CALLBACK_KINDS
from ._typing import Any, Protocol


class _Owner(Protocol):
    """What a :class:`CallbackAuth` reads its credentials from: a :class:`Resolver`, or
    the handle that follows the default resolver."""

    def _callback_credentials(self, scope: str | None) -> CallbackCredentials: ...

    def _callback_credentials_nowait(self, scope: str | None) -> CallbackCredentials | None: ...

    def _callback_resolver(self) -> _Resolver: ...


class _Resolver(_Owner, Protocol):
    """The parts of a :class:`Resolver` the verification's fast path reads."""

    _cached: Any
    _clock: Callable[[], float]


__all__ = ["DEFAULT_MAX_BODY", "REALM", "CallbackAuth", "Refusal", "header_names"]

#: The body size verified by default (bytes): Bandwidth's callbacks are small JSON.
DEFAULT_MAX_BODY = 1024 * 1024
#: The ``realm`` of the ``WWW-Authenticate: Basic`` challenge sent with a refusal.
REALM = "Bandwidth callbacks"
# Longest Authorization value read: Basic with a 1024-character user and password (the
# Voice API's limit) is under 2800 characters.
_MAX_AUTHORIZATION = 4096

# The spellings tried first in a plain mapping (lowered, as documented, title case);
# any other spelling is found by a scan.
_SPELLINGS: dict[str, tuple[str, ...]] = {
    "basic": ("authorization", "Authorization", "AUTHORIZATION"),
    "subscriptions": (
        "x-bandwidth-signature-sha-256",
        "X-Bandwidth-Signature-SHA-256",
        "X-Bandwidth-Signature-Sha-256",
    ),
    "tfv": (
        "x-bandwidth-signature-hmac-sha256",
        "X-Bandwidth-Signature-Hmac-Sha256",
        "X-Bandwidth-Signature-HMAC-SHA256",
    ),
}
_BY_NAME = {spellings[0]: scheme for scheme, spellings in _SPELLINGS.items()}
_NAME_LENGTHS = frozenset(len(name) for name in _BY_NAME)
_DUPLICATE = object()

#: What ``verify()`` reads headers from: any mapping (a dict, a framework's header
#: object such as Werkzeug's ``Headers`` or Starlette's, ``email.message.Message``);
#: multi-value ones (``getlist``/``get_all``) reveal a repeated header.
HeadersLike = Mapping[str, Any] | Any

#: (status, reason, scheme, text): why a request was refused, without any value. The one
#: place statuses are decided: 401 (with the Basic challenge) only for Basic, when it is
#: configured; 403 for an HMAC scheme, and for no credentials at all when only HMAC
#: schemes are configured; 413 for a body over the limit.
Refusal = tuple[int, str, "str | None", str]
#: Refusals with status 0 are a caller's mistake, raised as ``TypeError`` once the
#: request's headers and body are out of the raising frame (they may hold the secret).
_NOT_BYTES: Refusal = (
    0,
    "type",
    None,
    "body must be the raw request body as bytes, exactly as received",
)
_NOT_HEADERS: Refusal = (
    0,
    "type",
    None,
    "headers must be a mapping of header names to values (a dict or a framework's headers "
    "object), not a list of pairs",
)

try:
    # What hmac.compare_digest is without OpenSSL: constant-time, in C; importing it
    # costs nothing. The first verification swaps in hmac's own choice, OpenSSL's
    # CRYPTO_memcmp, two to three times faster on a Basic header (see _plan()).
    from _operator import _compare_digest as _compare
except ImportError:  # pragma: no cover - an interpreter without it
    from hmac import compare_digest as _compare  # type: ignore[assignment,no-redef,unused-ignore]
_loaded = False


def _load_compare() -> None:
    global _compare, _loaded
    import hmac  # loads hashlib and OpenSSL: on the first verification only

    _compare, _loaded = hmac.compare_digest, True


#: The default resolver (set by ``configure()`` and the first ``get_auth()``), read by the
#: verifiers ``get_callback_auth()`` hands out.
DEFAULT_RESOLVER: list[Any] = [None]


def header_names(credentials: CallbackCredentials) -> list[str]:
    """The request headers the configured schemes read, as Bandwidth spells them."""
    return [CALLBACK_KINDS[scheme].header for scheme in credentials.schemes]


def _values(headers: Any, schemes: Any) -> dict[str, object]:
    """The value of each scheme's header (case-insensitive): absent ones left out,
    ``_DUPLICATE`` for one sent more than once (several entries of a multi-value mapping,
    two spellings in any other one, or one value joined with commas by the server)."""
    found: dict[str, object] = {}
    if headers.__class__ is not dict:
        many = getattr(headers, "getlist", None) or getattr(headers, "get_all", None)
        if many is not None:
            for scheme in schemes:
                values = many(_SPELLINGS[scheme][1]) or ()
                if len(values) > 1:
                    found[scheme] = _DUPLICATE
                elif values:
                    found[scheme] = _text(values[0])
            return found
        if not hasattr(headers, "items"):
            return _looked_up(headers, schemes)
    # One pass over every entry (a dict, or any mapping: a case-sensitive one may hold
    # two spellings of a name, a case-insensitive or multi-value one lists each entry):
    # two entries for one header are a duplicate.
    for key, value in headers.items():
        if key.__class__ is str:
            if len(key) not in _NAME_LENGTHS:  # cheaper than lowering every name
                continue
            scheme = _BY_NAME.get(key.lower())
        else:
            scheme = _BY_NAME.get(_lower(key))
        if scheme is not None and scheme in schemes:
            found[scheme] = _DUPLICATE if scheme in found else _text(value)
    return found


def _looked_up(headers: Any, schemes: Any) -> dict[str, object]:
    """For an object with only ``get``: each scheme's header under its usual spellings."""
    found: dict[str, object] = {}
    for scheme in schemes:
        for spelling in _SPELLINGS[scheme]:
            value = headers.get(spelling)
            if value is not None:
                found[scheme] = _text(value)
                break
    return found


def _text(value: object) -> object:
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("latin-1")
    if not isinstance(value, str):
        return None
    # Bandwidth's values never hold a comma: one means two headers joined by the server.
    return _DUPLICATE if "," in value else value


def _lower(key: object) -> str:
    if isinstance(key, (bytes, bytearray)):
        return bytes(key).decode("latin-1").lower()
    return key.lower() if isinstance(key, str) else ""


_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_STRICT = sys.version_info >= (3, 11)  # binascii's strict_mode: the same checks, in C


def _base64(text: str) -> bytes | None:
    """Strict base64 (the standard alphabet, padded): the bytes, or ``None``. (The
    :mod:`base64` module is not used: it imports :mod:`re`.)"""
    if not text or len(text) % 4:
        return None
    if _STRICT:
        try:
            return binascii.a2b_base64(text, strict_mode=True)  # type: ignore[call-arg,unused-ignore]
        except (binascii.Error, ValueError):
            return None
    raw = text.encode("ascii")
    stripped = raw.rstrip(b"=")
    if len(raw) - len(stripped) > 2 or stripped.translate(None, _ALPHABET):
        return None
    try:
        return binascii.a2b_base64(raw)
    except (binascii.Error, ValueError):
        return None


def _malformed(scheme: str, text: str) -> Refusal:
    return (401 if scheme == "basic" else 403, "malformed", scheme, text)


def _basic(value: str, accepted: tuple[Expected, ...]) -> int | Refusal:
    """The index of the accepted pair the ``Authorization`` value carries, or a refusal."""
    if len(value) > _MAX_AUTHORIZATION:
        return _malformed("basic", f"Authorization is longer than {_MAX_AUTHORIZATION} characters")
    if not value.isascii():
        return _malformed("basic", "Authorization is not ASCII")
    if _compare(value, accepted[0].header):
        return 0
    scheme, _, token = value.strip(" \t").partition(" ")
    if scheme.lower() != "basic":
        return _malformed("basic", "Authorization does not use the Basic scheme")
    pair = _base64(token.strip(" \t"))
    if pair is None or b":" not in pair:
        return _malformed("basic", "Authorization's Basic credentials are not base64 of user:pass")
    matched = -1
    for index, expected in enumerate(accepted):
        if _compare(pair, expected.pair) and matched < 0:
            matched = index
    if matched < 0:
        return (401, "mismatch", "basic", "Authorization does not match the callback credentials")
    return matched


def _signature(scheme: str, value: str) -> bytes | Refusal:
    """The 32 signature bytes a header carries, or a refusal."""
    header = CALLBACK_KINDS[scheme].header
    if not value.isascii():
        return _malformed(scheme, f"{header} is not ASCII")
    sent: bytes | None = None
    if scheme == "tfv":
        if len(value) != 64:
            return _malformed(scheme, f"{header} is not 64 hexadecimal characters")
        try:
            sent = binascii.unhexlify(value)
        except (binascii.Error, ValueError):
            return _malformed(scheme, f"{header} is not 64 hexadecimal characters")
        return sent
    if len(value) != 44:
        return _malformed(scheme, f"{header} is not the base64 of a 32-byte HMAC-SHA-256")
    sent = _base64(value)
    if sent is None or len(sent) != 32:
        return _malformed(scheme, f"{header} is not the base64 of a 32-byte HMAC-SHA-256")
    return sent


def _matched(accepted: tuple[Expected, ...], body: Any, sent: bytes) -> int:
    """The index of the first accepted key (current, then previous) whose HMAC-SHA-256
    of ``body`` is ``sent``, or -1."""
    matched = -1
    for index, expected in enumerate(accepted):
        if matched < 0 and _compare(expected.mac(body), sent):
            matched = index
    return matched


def _mismatch(scheme: str) -> Refusal:
    header = CALLBACK_KINDS[scheme].header
    return (403, "mismatch", scheme, f"{header} does not match the body")


def _hmac(scheme: str, value: str, accepted: tuple[Expected, ...], body: Any) -> int | Refusal:
    sent: Any = None
    if _STRICT and len(value) == 44 and scheme == "subscriptions":
        # The usual shape, decoded and checked in C; anything else is told apart below.
        try:
            sent = binascii.a2b_base64(value, strict_mode=True)  # type: ignore[call-arg,unused-ignore]
        except (binascii.Error, ValueError):
            sent = None
    if sent is None or len(sent) != 32:
        sent = _signature(scheme, value)
        if sent.__class__ is not bytes:
            return sent  # type: ignore[no-any-return]
    if not body:
        return (403, "empty-body", scheme, "the body is empty, so there is nothing signed")
    matched = _matched(accepted, body, sent)
    if matched < 0:
        return _mismatch(scheme)
    return matched


_RESULTS: dict[tuple[tuple[str, ...], bool, str | None], CallbackVerification] = {}


def _result(schemes: tuple[str, ...], previous: bool, app: str | None) -> CallbackVerification:
    key = (schemes, previous, app)
    found = _RESULTS.get(key)
    if found is None:
        found = CallbackVerification(schemes[0], schemes, previous, app)
        if len(_RESULTS) < 1024:
            _RESULTS[key] = found
    return found


def check(
    credentials: CallbackCredentials, headers: Any, body: Any, max_body: int
) -> CallbackVerification | Refusal:
    """Verify one request against ``credentials``: the verification, or a refusal."""
    if not isinstance(body, (bytes, bytearray, memoryview)):
        return _NOT_BYTES
    if headers.__class__ is not dict and not callable(getattr(headers, "get", None)):
        return _NOT_HEADERS
    if len(body) > max_body:
        return (413, "too-large", None, f"the body is over {max_body} bytes")
    schemes = credentials.schemes
    values = _values(headers, schemes)
    matched: tuple[str, ...] = ()
    previous = False
    for scheme, accepted in schemes.items():
        value = values.get(scheme)
        if value is None:
            continue
        if value is _DUPLICATE:
            header = CALLBACK_KINDS[scheme].header
            status = 401 if scheme == "basic" else 403
            return (status, "duplicate", scheme, f"{header} appears more than once")
        assert isinstance(value, str)
        outcome = (
            _basic(value, accepted) if scheme == "basic" else _hmac(scheme, value, accepted, body)
        )
        del value
        if outcome.__class__ is not int:
            return outcome  # type: ignore[return-value]
        matched += (scheme,)
        previous = previous or outcome != 0
    del values
    if not matched:
        names = " or ".join(header_names(credentials))
        text = f"no callback credentials presented (expected {names})"
        if "basic" in schemes:
            return (401, "missing", "basic", text)
        # RFC 7235: a 401 carries a challenge, and no HMAC scheme has one to send.
        return (403, "missing", None, text)
    return _result(matched, previous, credentials.app)


def refusal_error(refusal: Refusal, app: str | None) -> CallbackAuthError:
    """The error for a refusal (built here, outside any ``except`` block)."""
    status, reason, scheme, text = refusal
    where = f" for application {app}" if app else ""
    # Every 401 is Basic's (check() answers 403 where Basic is not configured), and RFC
    # 7235 requires the challenge on every 401.
    challenge = f'Basic realm="{REALM}"' if status == 401 else None
    return CallbackAuthError(
        f"callback refused{where} ({scheme or 'request'}): {text}",
        status=status,
        reason=reason,
        scheme=scheme,
        app=app,
        www_authenticate=challenge,
    )


_UNPLANNED: tuple[object, float | None, str | None, Any, Any] = (None, None, None, None, None)


def _plan(credentials: CallbackCredentials) -> tuple[str | None, Any, Any]:
    """What :meth:`CallbackAuth.verify`'s shortcuts need: for Basic alone ``(expected
    Authorization value, its verification, None)``; else ``(None, None, plans)`` with one
    plan per configured HMAC scheme: ``(scheme, spellings, name length, signature length,
    accepted values, their verifications, the name lengths of the other configured
    schemes' headers)``, or ``None`` when no HMAC scheme is configured."""
    if not _loaded:
        _load_compare()
    if credentials.fast is not None:
        return credentials.fast.header, credentials.fast_result, None
    schemes = credentials.schemes
    plans = []
    for scheme, accepted in schemes.items():
        if scheme == "basic" or (scheme == "subscriptions" and not _STRICT):
            continue
        spellings = _SPELLINGS[scheme]
        results = tuple(
            _result((scheme,), index > 0, credentials.app) for index in range(len(accepted))
        )
        others = frozenset(len(_SPELLINGS[other][0]) for other in schemes if other != scheme)
        size = 44 if scheme == "subscriptions" else 64
        plans.append((scheme, spellings[:2], len(spellings[0]), size, accepted, results, others))
    return None, None, tuple(plans) or None


def _signed(plans: Any, headers: dict[Any, Any], body: Any, max_body: int) -> object:
    """A request signed with one HMAC scheme in its usual shape (a plain dict holding
    that header once, well formed, no header of another configured scheme, a bytes body
    within ``max_body``): its verification, or the mismatch refusal. ``None`` for any
    other shape, which :func:`check` then tells apart."""
    for plan in plans:
        spellings = plan[1]
        value = headers.get(spellings[0]) or headers.get(spellings[1])
        if value is not None:
            break
    else:
        return None
    scheme, _, name_length, size, accepted, results, others = plan
    if (
        value.__class__ is not str
        or len(value) != size
        or body.__class__ is not bytes
        or not body
        or len(body) > max_body
    ):
        return None
    # Every key's length, for a complete duplicate test: one key of the header's length
    # (any other, a str or bytes, is left to check()), none of another scheme's.
    lengths = [*map(len, headers)]
    if lengths.count(name_length) != 1 or not others.isdisjoint(lengths):
        return None
    try:
        sent = (
            binascii.a2b_base64(value, strict_mode=True)  # type: ignore[call-arg,unused-ignore]
            if size == 44
            else binascii.unhexlify(value)
        )
    except (binascii.Error, ValueError):
        return None
    if len(sent) != 32:
        return None
    matched = _matched(accepted, body, sent)
    if matched < 0:
        return _mismatch(scheme)
    return results[matched]


class CallbackAuth:
    """Verifies Bandwidth's callbacks to one application with the current credentials.

    Made by :func:`bandwidth_credentials.get_callback_auth`; every call reads the
    resolver's current credentials, so a rotated value is accepted as soon as the source
    is refreshed (a ``file:`` source within its change check, 5 s by default), with no
    restart. ``repr`` never shows a secret.

    >>> auth = get_callback_auth(app="sales")                       # doctest: +SKIP
    >>> auth.verify(request.headers, request.get_data()).scheme     # doctest: +SKIP
    'basic'
    """

    __slots__ = ("_cache", "_fast", "_owner", "_resolver", "app")

    def __init__(self, owner: _Owner, app: str | None, *, fixed: bool = False) -> None:
        self._owner = owner
        # A Resolver's own verifier reads it directly; the default one reads whichever
        # resolver is the default now (configure() may have replaced it).
        self._resolver: _Resolver | None = owner._callback_resolver() if fixed else None
        # (snapshot, credentials) last seen; and what the fast path needs when one scheme
        # is configured: (snapshot, its due time, then _plan()'s three values).
        self._cache: tuple[object, CallbackCredentials | None] = (None, None)
        self._fast: tuple[object, float | None, str | None, Any, Any] = _UNPLANNED
        #: The application scope (``"sales"``), ``None`` for the shared credentials.
        self.app = app

    def _credentials(self) -> CallbackCredentials:
        """The current credentials: from the snapshot last seen when it is still the
        resolver's and nothing is due (a few attribute reads), else from the resolver."""
        resolver = self._resolver or self._owner._callback_resolver()
        snapshot = resolver._cached
        until = snapshot.lookup_until
        cache = self._cache
        if cache[0] is snapshot and (until is None or resolver._clock() < until):
            return cache[1]  # type: ignore[return-value]
        credentials = resolver._callback_credentials(self.app)
        snapshot = resolver._cached
        self._cache = (snapshot, credentials)
        self._fast = (snapshot, snapshot.lookup_until, *_plan(credentials))
        return credentials

    def verify(
        self, headers: HeadersLike, body: bytes, *, max_body: int = DEFAULT_MAX_BODY
    ) -> CallbackVerification:
        """Check one callback request: its headers (any mapping; names are looked up
        case-insensitively; a framework's multi-value headers reveal duplicates) and its
        raw body (bytes exactly as received, at most ``max_body`` bytes, default 1 MiB).

        Returns a :class:`CallbackVerification` saying which scheme matched.

        >>> auth.verify(request.headers, request.get_data())        # doctest: +SKIP
        CallbackVerification(scheme='basic', schemes=('basic',), previous=False, app=None)

        Raises :class:`CallbackAuthError` (``.status`` 401, 403 or 413) for a request
        without matching credentials: a missing, duplicated, malformed (wrong scheme, bad
        base64, wrong-length hex, non-ASCII, oversized) or wrong header, an empty body
        under an HMAC scheme, a body over ``max_body``. Raises
        :class:`CredentialNotFoundError` when no callback credentials are configured for
        the application, :class:`InvalidCredentialsError` for an unusable configured
        value, a :class:`SourceError` subclass when a source fails (as ``get_auth()``),
        and ``TypeError`` when ``body`` is not bytes.
        """
        snapshot, until, fast, result, signed = self._fast
        resolver = self._resolver or DEFAULT_RESOLVER[0]
        if (
            headers.__class__ is dict
            and resolver is not None
            and resolver._cached is snapshot
            and (until is None or resolver._clock() < until)
        ):
            # The credentials at hand, one scheme configured, a plain dict: the checks
            # of check() for that one shape, each in C.
            if fast is not None:
                # Basic: one lookup and one comparison when it matches, and one count
                # that no other key could be a second spelling of the header (any other
                # 13-character key, a str or bytes, sends the request through check(),
                # which tells a duplicate).
                value = headers.get("Authorization") or headers.get("authorization")
                try:  # a value that is not ASCII text is a TypeError: check() says why
                    if (
                        _compare(value, fast)  # type: ignore[arg-type]
                        and body.__class__ is bytes
                        and len(body) <= max_body
                        and _count(map(len, headers), 13) == 1
                    ):
                        return result  # type: ignore[no-any-return]
                except TypeError:
                    pass
                del value
            elif signed is not None:
                outcome = _signed(signed, headers, body, max_body)
                if outcome.__class__ is CallbackVerification:
                    return outcome
                if outcome is not None:
                    del headers, body
                    raise refusal_error(outcome, self.app)  # type: ignore[arg-type]
        del fast  # the expected value: no local holds it where an error is raised
        cache = self._cache
        if (
            resolver is not None
            and cache[0] is resolver._cached
            and cache[0] is snapshot
            and (until is None or resolver._clock() < until)
        ):
            credentials: CallbackCredentials = cache[1]  # type: ignore[assignment]
        else:
            credentials = self._credentials()
        outcome = check(credentials, headers, body, max_body)
        if isinstance(outcome, CallbackVerification):
            return outcome
        del headers, body  # nothing the caller sent stays in this frame
        if outcome[0] == 0:
            raise TypeError(outcome[3])
        raise refusal_error(outcome, self.app)

    async def averify(
        self, headers: HeadersLike, body: bytes, *, max_body: int = DEFAULT_MAX_BODY
    ) -> CallbackVerification:
        """:meth:`verify` for asyncio code: with credentials at hand (nothing due) it
        runs in the event loop (an HMAC of 1 MiB takes about a millisecond); a refresh
        that must fetch runs in a worker thread. Raises what :meth:`verify` raises.

        >>> await get_callback_auth().averify(headers, body)        # doctest: +SKIP
        """
        credentials = self._owner._callback_credentials_nowait(self.app)
        if credentials is None:
            import asyncio

            credentials = await asyncio.to_thread(self._owner._callback_credentials, self.app)
        outcome = check(credentials, headers, body, max_body)
        if isinstance(outcome, CallbackVerification):
            return outcome
        del headers, body
        if outcome[0] == 0:
            raise TypeError(outcome[3])
        raise refusal_error(outcome, self.app)

    def for_call(self) -> dict[str, str]:
        """The current Basic pair as the Voice API's create-call body takes it:
        ``{"username": ..., "password": ...}`` (merge it into the body so that call's
        callbacks carry the credentials :meth:`verify` accepts).

        >>> body = {"to": "+19195551212", **get_callback_auth().for_call()}  # doctest: +SKIP

        Raises :class:`CredentialNotFoundError` when no callback Basic pair is configured,
        :class:`InvalidCredentialsError` when a value is over the Voice API's 1024
        characters, and what :meth:`verify` raises for the sources.
        """
        credentials = self._credentials()
        username, password = credentials.username, credentials.password
        if username is None or password is None:
            error: Exception = not_found(
                self.app, "callback_username+callback_password (for_call() sends Basic)"
            )
            raise error
        for name, text in (("callback_username", username), ("callback_password", password)):
            size = len(text.header) if isinstance(text, Expected) else len(text)
            if size > 1024:
                prov = credentials.provenance[name]
                error = InvalidCredentialsError(
                    f"{name} from {prov.source} ({prov.key}) is over the Voice API's "
                    "1024 characters",
                    field=name,
                    source=prov.source,
                    key=prov.key,
                )
                raise error
        return {"username": username, "password": password.header}

    def __repr__(self) -> str:
        return f"CallbackAuth(app={self.app!r})"
