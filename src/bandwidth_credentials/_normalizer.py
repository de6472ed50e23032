"""Turning raw key/values from every source into validated per-service credentials.

The schema (:mod:`._schema`, :mod:`._keys`) says what Bandwidth is; this module applies it,
identically for every source. Given what each source produced (highest precedence first):

1. it maps raw keys to fields (:func:`._keys.classify_key`, or the documented name a
   provider recognised itself), including per-service overrides (``BW_VOICE_USERNAME``,
   ``voice_username``, a nested ``{"voice": {...}}`` object);
2. it takes each credential group (username + password, api_token + api_secret,
   client_id + client_secret) whole from the highest-precedence source holding all of it,
   and the endpoints that steer it (``base_url``, ``token_url``, ``environment``, the host
   overrides) from that same source only, never mixing sources;
3. it validates what it picked (:mod:`._checks`) and records, for every field, which source
   and key supplied it.
"""

from __future__ import annotations

from ._callback_creds import CallbackCredentials, resolve_callbacks
from ._checks import Provenance, ServiceCredentials, problem_of, validated
from ._errors import CredentialNotFoundError, InvalidCredentialsError
from ._extract import Entry, SourceFields, extract, half_pairs, key_notes
from ._keys import Scope, classify_key
from ._log import logger
from ._provider import Fetched, Source
from ._schema import (
    ENDPOINT_FIELDS,
    EXPIRY_FIELD,
    KINDS,
    OAUTH,
    SECRET_FIELDS,
    SERVICES,
    Service,
)
from ._typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "KeyReport",
    "Provenance",
    "Resolution",
    "ServiceCredentials",
    "classify_key",
    "log_notes",
    "normalize",
]


# Notes already logged in this process: a source refreshed every few minutes should not
# repeat the same warning forever.
_logged_notes: set[str] = set()


def log_notes(notes: Iterable[tuple[str, str]]) -> None:
    """Log each note (what was seen but ignored) once per process, as a warning."""
    for _, note in notes:
        if note not in _logged_notes:
            _logged_notes.add(note)
            logger.warning("%s", note)


class KeyReport(NamedTuple):
    """One raw key seen in one source, for ``bwcreds explain``. Never holds a value."""

    source: str
    key: str
    field: str | None
    scope: Scope
    status: str
    secret: bool


class Resolution(NamedTuple):
    """Everything one resolution produced.

    ``services`` holds, per canonical service name, either its validated credentials
    with the provenance of each field, or the error that ``get_auth()`` raises for it.
    ``notes`` are per service (``""`` for notes about no one service).
    """

    sources: tuple[str, ...]
    services: Mapping[str, tuple[ServiceCredentials, Mapping[str, Provenance]] | Exception]
    notes: tuple[tuple[str, str], ...]
    keys: tuple[KeyReport, ...]
    #: Services with OAuth client credentials but no account id anywhere: their
    #: credentials, waiting for the access token to name the account (``_discovery``).
    pending: Mapping[str, tuple[ServiceCredentials, Mapping[str, Provenance]]] = {}
    #: Callback credentials per application scope (``None``: the shared ones), or the
    #: error ``get_callback_auth()`` raises for it (:mod:`._callback_creds`).
    callbacks: Mapping[Scope, CallbackCredentials | Exception] = {}
    #: Services with complete credentials of another kind (a static access token, Basic)
    #: but no account id anywhere: nothing can name the account but the caller, so
    #: ``get_auth(service, account_id=...)`` takes these; the error stands otherwise.
    unbound: Mapping[str, tuple[ServiceCredentials, Mapping[str, Provenance]]] = {}


def _group(
    service: Service, kind: str, per_source: Sequence[SourceFields]
) -> tuple[SourceFields, dict[str, Entry]] | None:
    names = KINDS[kind].fields
    for src in per_source:
        for scope in (service.name, None):
            entries = [src.entries.get((scope, name)) for name in names]
            if all(entry is not None for entry in entries):
                return src, {n: e for n, e in zip(names, entries, strict=True) if e is not None}
    return None


def _first(src: SourceFields, service: str, name: str, scoped_only: bool = False) -> Entry | None:
    for scope in (service,) if scoped_only else (service, None):
        entry = src.entries.get((scope, name))
        if entry is not None:
            return entry
    return None


def _resolve_service(
    service: Service,
    per_source: Sequence[SourceFields],
    sources: tuple[str, ...],
    half: Sequence[tuple[Scope, str]],
    used: set[int],
    notes: list[tuple[str, str]],
    pending: dict[str, tuple[ServiceCredentials, Mapping[str, Provenance]]],
    outcomes: Sequence[tuple[str, str]] = (),
    shadows: dict[tuple[str, tuple[str, ...]], list[str]] | None = None,
    unbound: dict[str, tuple[ServiceCredentials, Mapping[str, Provenance]]] | None = None,
) -> tuple[ServiceCredentials, Mapping[str, Provenance]] | Exception:
    available = {kind: _group(service, kind, per_source) for kind in service.kinds}
    present = [kind for kind, group in available.items() if group is not None]
    relevant_half = [note for scope, note in half if scope in (None, service.name)]
    account: Entry | None = None
    for src in per_source:
        account = account or _first(src, service.name, "account_id")
    not_found: CredentialNotFoundError | None = None
    if not present or account is None:
        missing: list[str] = []
        if account is None:
            missing.append("account_id")
        if not present:
            kinds = ", ".join("+".join(KINDS[k].fields) for k in _offered(service.kinds))
            missing.append(f"credentials (one of {kinds})")
        hints = [text for scope, text in notes if scope in ("", service.name)]
        not_found = CredentialNotFoundError(
            service.name, missing, sources, [*relevant_half, *hints], outcomes
        )
        if account is not None or not present or (present[0] != OAUTH and unbound is None):
            return not_found
        # Credentials without an account id: the access token of client credentials may
        # name the account (_discovery.py), and a caller may name one for any kind
        # (get_auth(service, account_id=...)). Resolve the rest; the error stands until then.
    kind = present[0]
    chosen_group = available[kind]
    assert chosen_group is not None
    origin, group = chosen_group
    shadowed = [
        k for k in present[1:] if KINDS[k].scheme == "bearer" or KINDS[kind].scheme == "bearer"
    ]
    if shadowed and shadows is not None:
        shadows.setdefault((kind, tuple(shadowed)), []).append(service.name)
    chosen: dict[str, Entry] = {"account_id": account, **group} if account else dict(group)
    for name in sorted(ENDPOINT_FIELDS):
        if name == "token_url" and kind != OAUTH:
            continue
        entry = _first(origin, service.name, name, scoped_only=name == "base_url")
        if entry is not None:
            chosen[name] = entry
        for other in per_source:
            stray = _first(other, service.name, name, scoped_only=name == "base_url")
            if other is not origin and stray is not None and name not in chosen:
                notes.append(
                    (
                        service.name,
                        f"{other.source} has {stray.provenance.key}, but the {KINDS[kind].title} "
                        f"for {service.name} came from {origin.source}; endpoints are taken only "
                        "from the credentials' own source, so it was ignored",
                    )
                )
    expiry = _first(origin, service.name, EXPIRY_FIELD) if kind == OAUTH else None
    if expiry is not None:  # the secret's own expiry: from the secret's own source only
        chosen[EXPIRY_FIELD] = expiry
    for name, entry in chosen.items():
        reason = problem_of(name, entry.value)
        if reason is not None:
            prov = entry.provenance
            return InvalidCredentialsError(
                f"{name} from {prov.source} ({prov.key}) for the {service.name} API {reason}",
                field=name,
                source=prov.source,
                key=prov.key,
                service=service.name,
            )
    provenance = {name: entry.provenance for name, entry in chosen.items()}
    creds = validated(service, kind, {n: e.value for n, e in chosen.items()}, provenance)
    if isinstance(creds, InvalidCredentialsError):
        return creds
    used.update(id(entry) for entry in chosen.values())
    if not_found is not None:
        if kind == OAUTH:
            pending[service.name] = (creds, provenance)
        elif unbound is not None:
            unbound[service.name] = (creds, provenance)
        return not_found
    return creds, provenance


def _offered(kinds: Sequence[str]) -> list[str]:
    """The credential kinds a "missing credentials" message offers: from the day Bandwidth
    decommissioned API users (2026-12-02, :mod:`._decommission`), not the Basic ones,
    which its hosts no longer accept (they are still read when present)."""
    from ._calendar import today
    from ._decommission import DECOMMISSION

    if today() < DECOMMISSION:
        return list(kinds)
    return [kind for kind in kinds if KINDS[kind].scheme != "basic"]


def _shadow_note(services: Sequence[str], kind: str, shadowed: Sequence[str]) -> str:
    """One note for every service that used ``kind`` and ignored the same ``shadowed``
    kinds; ignored Basic kinds are called legacy, in the tense today's date asks for."""
    note = (
        f"{', '.join(services)}: using {KINDS[kind].title}; also found "
        f"{', '.join(KINDS[k].title for k in shadowed)}, which were ignored (OAuth is "
        "preferred over a static token, and both over Basic, whatever the source order)"
    )
    if any(KINDS[k].scheme == "basic" for k in shadowed):
        from ._calendar import today
        from ._decommission import DECOMMISSION

        verb = "decommissioned" if today() >= DECOMMISSION else "decommissions"
        note += f"; Bandwidth {verb} API users (HTTP Basic) on 2026-12-02"
    return note


def normalize(
    fetched: Sequence[tuple[Source, Fetched]], outcomes: Sequence[tuple[str, str]] = ()
) -> Resolution:
    """Normalize what the sources produced (highest precedence first) into a Resolution.

    ``outcomes`` says what every configured source gave (``read``, or why it was skipped),
    for the errors of services that end up with nothing.

    Raises :class:`ConfigurationError` when one source gives two different values for
    the same field, and :class:`InvalidCredentialsError` for a value of the wrong type.
    Per-service problems (missing or invalid credentials) are returned in
    ``Resolution.services`` so the other services still resolve.
    """
    sources = tuple(uri for uri, _ in outcomes) or tuple(source.uri for source, _ in fetched)
    per_source = [
        extract(index, source.uri, result) for index, (source, result) in enumerate(fetched)
    ]
    half = half_pairs(per_source)
    used: set[int] = set()
    notes = key_notes(per_source)
    pending: dict[str, tuple[ServiceCredentials, Mapping[str, Provenance]]] = {}
    unbound: dict[str, tuple[ServiceCredentials, Mapping[str, Provenance]]] = {}
    shadows: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    services = {
        name: _resolve_service(
            service, per_source, sources, half, used, notes, pending, outcomes, shadows, unbound
        )
        for name, service in SERVICES.items()
    }
    for (kind, shadowed), names in shadows.items():
        text = _shadow_note(names, kind, shadowed)
        notes.extend((name, text) for name in names)
    for scope, note in half:
        notes.append((scope or "", note))
    callbacks = resolve_callbacks(per_source, sources, used, notes, outcomes)
    reports: list[KeyReport] = []
    for src in per_source:
        for (scope, name), entry in src.entries.items():
            status = "used" if id(entry) in used else "not used"
            reports.append(
                KeyReport(
                    src.source, entry.provenance.key, name, scope, status, name in SECRET_FIELDS
                )
            )
        for key, maybe_name, scope, reason in src.ignored:
            secret = maybe_name in SECRET_FIELDS if maybe_name else False
            reports.append(KeyReport(src.source, key, maybe_name, scope, reason, secret))
    unique = tuple(dict.fromkeys(notes))
    return Resolution(sources, services, unique, tuple(reports), pending, callbacks, unbound)
