"""Callback credentials chosen from what the sources hold, per application.

The same rules as the API credentials (:mod:`._normalizer`), applied to the callback
kinds of the schema (:data:`._schema.CALLBACK_KINDS`):

- each scheme's group (the Basic pair, the Subscriptions 2.0 key, the Toll-Free
  Verification shared secret) is taken whole from the highest-precedence source holding
  all of it, under the application's own names first (``BW_SALES_CALLBACK_USERNAME``),
  else the shared ones (``BW_CALLBACK_USERNAME``);
- its previous value (a rotation's old one) is read from that same source and scope
  only: a previous value anywhere else is noted and ignored;
- values are checked (:func:`._checks.problem_of`) and kept only in masked holders,
  prepared for constant-time comparison (the expected ``Authorization`` header, the
  ``user:password`` bytes, the HMAC keys as UTF-8 bytes).
"""

from __future__ import annotations

from ._checks import Provenance, problem_of
from ._errors import CredentialNotFoundError, InvalidCredentialsError
from ._extract import Entry, SourceFields
from ._keys import Scope
from ._results import CallbackVerification
from ._schema import APP_FIELDS, CALLBACK_KINDS, CallbackKind
from ._typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "CallbackCredentials",
    "Expected",
    "app_label",
    "callback_environment",
    "configured",
    "not_found",
    "resolve_callbacks",
]


class Expected:
    """One accepted value, prepared for comparison and never shown: for Basic the whole
    ``Authorization`` value Bandwidth sends (``header``) and the decoded ``user:password``
    bytes (``pair``); for an HMAC scheme the key bytes (``key``) and, from the first
    verification on, the HMAC-SHA-256 object keyed with it (see :meth:`mac`)."""

    __slots__ = ("_keyed", "header", "key", "pair")

    def __init__(self, header: str = "", pair: bytes = b"", key: bytes = b"") -> None:
        self.header = header
        self.pair = pair
        self.key = key
        self._keyed: Any = None

    def mac(self, body: bytes | bytearray | memoryview) -> bytes:
        """HMAC-SHA-256 of ``body`` with :attr:`key` (32 bytes), from :mod:`hmac`: the
        keyed object is made on the first call and copied for each one after (no per-call
        key schedule, and no copy of the body).

        >>> Expected(key=b"k").mac(b"x") == hmac.digest(b"k", b"x", "sha256")  # doctest: +SKIP
        True
        """
        keyed = self._keyed
        if keyed is None:
            import hmac  # on the first HMAC verification only: it loads hashlib and OpenSSL

            keyed = self._keyed = hmac.new(self.key, digestmod="sha256")
        mac = keyed.copy()
        mac.update(body)
        return mac.digest()  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return "Expected('**********')"

    def __reduce__(self) -> str:
        raise TypeError("secrets cannot be pickled")


class CallbackCredentials(NamedTuple):
    """One application's callback credentials, ready to compare.

    ``app`` is the application scope (``None``: the shared credentials), ``schemes`` maps
    each configured scheme (``basic``, ``subscriptions``, ``tfv``) to its accepted values,
    current first, then the previous one when configured. ``username`` and ``password``
    are the current Basic pair (``for_call()``), the password masked. ``provenance`` says
    where each field came from (never a value).
    """

    app: str | None
    schemes: Mapping[str, tuple[Expected, ...]]
    provenance: Mapping[str, Provenance]
    username: str | None = None
    password: Expected | None = None
    #: When Basic is the only scheme: its current value, and the verification a request
    #: carrying exactly it gets (the common case, checked with one comparison).
    fast: Expected | None = None
    fast_result: CallbackVerification | None = None
    #: The schemes whose values came from the application's own names
    #: (``BW_SALES_CALLBACK_USERNAME``, under whatever prefix the source reads), not from
    #: the shared ones by the fallback rule.
    own: frozenset[str] = frozenset()


def app_label(scope: Scope) -> str:
    """``callbacks to application sales`` or ``callbacks (shared credentials)``."""
    return f"callbacks to application {scope}" if scope else "callbacks (shared credentials)"


def not_found(
    scope: Scope,
    wanted: str,
    sources: Sequence[str] = (),
    notes: Sequence[str] = (),
    outcomes: Sequence[tuple[str, str]] = (),
) -> CredentialNotFoundError:
    """No callback credentials (``wanted`` names the fields) for an application."""
    error = CredentialNotFoundError("callbacks", [wanted], sources, notes, outcomes)
    text = str(error).replace("the callbacks API", app_label(scope))
    error.args = (text,)
    return error


def _prepare(kind: CallbackKind, values: Sequence[str]) -> Expected:
    if kind.scheme != "basic":
        return Expected(key=values[0].encode())
    import binascii  # not base64, which imports re

    pair = f"{values[0]}:{values[1]}".encode()
    token = binascii.b2a_base64(pair, newline=False).decode("ascii")
    return Expected(header="Basic " + token, pair=pair)


def _pick(
    kind: CallbackKind, scope: Scope, per_source: Sequence[SourceFields]
) -> tuple[SourceFields, Scope, list[Entry]] | None:
    scopes = (scope, None) if scope is not None else (None,)
    for src in per_source:
        for where in scopes:
            entries = [src.entries.get((where, name)) for name in kind.fields]
            if all(entry is not None for entry in entries):
                return src, where, [entry for entry in entries if entry is not None]
    return None


def _invalid(scope: Scope, name: str, entry: Entry, reason: str) -> InvalidCredentialsError:
    prov = entry.provenance
    return InvalidCredentialsError(
        f"{name} from {prov.source} ({prov.key}) for {app_label(scope)} {reason}",
        field=name,
        source=prov.source,
        key=prov.key,
    )


def _resolve_app(
    scope: Scope,
    per_source: Sequence[SourceFields],
    sources: tuple[str, ...],
    used: set[int],
    notes: list[tuple[str, str]],
    outcomes: Sequence[tuple[str, str]],
) -> CallbackCredentials | Exception:
    schemes: dict[str, tuple[Expected, ...]] = {}
    own: set[str] = set()
    provenance: dict[str, Provenance] = {}
    chosen: list[Entry] = []
    username: str | None = None
    password: Expected | None = None
    for kind in CALLBACK_KINDS.values():
        picked = _pick(kind, scope, per_source)
        if picked is None:
            continue
        origin, where, current = picked
        if where is not None and where == scope:
            own.add(kind.scheme)
        previous = [origin.entries.get((where, name)) for name in kind.previous]
        groups = [current]
        if all(entry is not None for entry in previous):
            groups.append([entry for entry in previous if entry is not None])
        for src in per_source:
            for other in (scope, None) if scope is not None else (None,):
                stray = src.entries.get((other, kind.previous[0]))
                if stray is not None and (src is not origin or other != where):
                    notes.append(
                        (
                            "callbacks",
                            f"{src.source} has {stray.provenance.key}, but the "
                            f"{kind.title} for {app_label(scope)} came from {origin.source}; "
                            "a previous value is taken only from the current value's own "
                            "source and names, so it was ignored",
                        )
                    )
        for group, names in zip(groups, (kind.fields, kind.previous), strict=False):
            for name, entry in zip(names, group, strict=True):
                reason = problem_of(name, entry.value)
                if reason is not None:
                    return _invalid(scope, name, entry, reason)
                provenance[name] = entry.provenance
                chosen.append(entry)
        schemes[kind.scheme] = tuple(
            _prepare(kind, [entry.value for entry in group]) for group in groups
        )
        if kind.scheme == "basic":
            username = current[0].value
            password = Expected(header=current[1].value)
    if not schemes:
        wanted = " or ".join("+".join(kind.fields) for kind in CALLBACK_KINDS.values())
        hints = [text for where, text in notes if where == "callbacks"]
        return not_found(scope, wanted, sources, hints, outcomes)
    used.update(id(entry) for entry in chosen)
    only_basic = list(schemes) == ["basic"]
    return CallbackCredentials(
        scope,
        schemes,
        provenance,
        username,
        password,
        schemes["basic"][0] if only_basic else None,
        CallbackVerification("basic", ("basic",), False, scope) if only_basic else None,
        frozenset(own),
    )


def resolve_callbacks(
    per_source: Sequence[SourceFields],
    sources: tuple[str, ...],
    used: set[int],
    notes: list[tuple[str, str]],
    outcomes: Sequence[tuple[str, str]] = (),
) -> dict[Scope, CallbackCredentials | Exception]:
    """The callback credentials of the shared scope (``None``) and of every application
    some source names, each chosen by the rules above. Marks the entries used in
    ``used``; adds notes about ignored previous values to ``notes`` (scope
    ``"callbacks"``)."""
    scopes: list[Scope] = [None]
    for src in per_source:
        for scope, name in src.entries:
            if scope is not None and name in APP_FIELDS and scope not in scopes:
                scopes.append(scope)
    return {
        scope: _resolve_app(scope, per_source, sources, used, notes, outcomes) for scope in scopes
    }


def callback_environment(
    callbacks: Mapping[Scope, CallbackCredentials | Exception],
) -> dict[str, str]:
    """The documented variables that give a child process the callback credentials
    resolved here (``bwcreds exec``): ``BW_CALLBACK_USERNAME``, ..., and an application's
    own as ``BW_<APP>_...``, so a child using this library verifies exactly what this
    process would."""
    found: dict[str, str] = {}
    for scope, outcome in callbacks.items():
        if not isinstance(outcome, CallbackCredentials):
            continue
        prefix = "BW_" + (f"{scope.upper()}_" if scope else "")
        for scheme, accepted in outcome.schemes.items():
            kind = CALLBACK_KINDS[scheme]
            for names, expected in zip((kind.fields, kind.previous), accepted, strict=False):
                if kind.scheme == "basic":
                    user, _, password = expected.pair.decode().partition(":")
                    values = [user, password]
                else:
                    values = [expected.key.decode()]
                # Only what the application's own names (or, for the shared scope, the
                # shared ones) supplied: the rest follows by the fallback rule.
                if scope is None or scheme in outcome.own:
                    for name, value in zip(names, values, strict=True):
                        found[prefix + name.upper()] = value
    return found


def configured(outcome: CallbackCredentials | Exception) -> bool:
    """Whether an outcome is anything but "nothing configured" (for the CLI section)."""
    return not isinstance(outcome, CredentialNotFoundError)
