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

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from ._checks import Provenance, ServiceCredentials, problem_of, validated
from ._errors import ConfigurationError, CredentialNotFoundError, InvalidCredentialsError
from ._keys import FOREIGN_NAMES, Scope, classify_key, scope_of, suggest
from ._log import logger
from ._provider import Fetched, Source
from ._schema import (
    ENDPOINT_FIELDS,
    HOST_FIELDS,
    KINDS,
    OAUTH,
    SECRET_FIELDS,
    SERVICES,
    Service,
)

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


class _Entry(NamedTuple):
    value: str
    provenance: Provenance


class KeyReport(NamedTuple):
    """One raw key seen in one source, for ``bwcreds explain``. Never holds a value."""

    source: str
    key: str
    field: str | None
    scope: Scope
    status: str
    secret: bool


class _SourceFields:
    __slots__ = ("entries", "ignored", "index", "source", "version")

    def __init__(self, index: int, source: str, version: str | None) -> None:
        self.index = index
        self.source = source
        self.version = version
        self.entries: dict[tuple[Scope, str], _Entry] = {}
        self.ignored: list[tuple[str, str | None, Scope, str]] = []


def _text(value: object, source: str, key: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise InvalidCredentialsError(
        f"source {source}: key {key!r} holds a {type(value).__name__}, expected text",
        field="(unknown)",
        source=source,
        key=key,
    )


def _extract(index: int, source: str, fetched: Fetched) -> _SourceFields:
    out = _SourceFields(index, source, fetched.version)
    names = fetched.key_names

    def add(key: str, raw: object, scope: Scope, name: str) -> None:
        value = _text(raw, source, key)
        if value is None:
            return
        if not value:
            out.ignored.append((key, name, scope, "ignored: empty value"))
            return
        slot = (scope, name)
        previous = out.entries.get(slot)
        if previous is not None:
            if previous.value != value:
                raise ConfigurationError(
                    f"source {source}: keys {previous.provenance.key!r} and {key!r} both set "
                    f"{_label(scope, name)} but to different values; remove one",
                    source=source,
                )
            out.ignored.append((key, name, scope, f"duplicate of {previous.provenance.key}"))
            return
        out.entries[slot] = _Entry(value, Provenance(source, key, fetched.version))

    for key, raw in fetched.values.items():
        if isinstance(raw, Mapping):
            scope = scope_of(key)
            if scope is None:
                out.ignored.append((key, None, None, "unrecognized nested object"))
                continue
            for inner_key, inner_raw in raw.items():
                inner_scope, name = classify_key(str(inner_key), within=scope)
                nested_key = f"{key}.{inner_key}"
                if name is None or inner_scope not in (None, scope) or name in HOST_FIELDS:
                    out.ignored.append((nested_key, None, scope, "unrecognized"))
                    continue
                add(nested_key, inner_raw, scope, name)
            continue
        scope, name = classify_key(names.get(key, key))
        if name is None:
            out.ignored.append((key, None, None, "unrecognized"))
            continue
        add(key, raw, scope, name)
    for key, reason in fetched.skipped.items():
        out.ignored.append((key, None, None, reason))
    return out


def _label(scope: Scope, name: str) -> str:
    return name if scope is None else f"{scope} {name}"


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


def _group(
    service: Service, kind: str, per_source: Sequence[_SourceFields]
) -> tuple[_SourceFields, dict[str, _Entry]] | None:
    names = KINDS[kind].fields
    for src in per_source:
        for scope in (service.name, None):
            entries = [src.entries.get((scope, name)) for name in names]
            if all(entry is not None for entry in entries):
                return src, {n: e for n, e in zip(names, entries, strict=True) if e is not None}
    return None


def _first(src: _SourceFields, service: str, name: str, scoped_only: bool = False) -> _Entry | None:
    for scope in (service,) if scoped_only else (service, None):
        entry = src.entries.get((scope, name))
        if entry is not None:
            return entry
    return None


def _half_pairs(per_source: Sequence[_SourceFields]) -> list[tuple[Scope, str]]:
    """(scope, note) for each group a source holds only part of."""
    found = []
    for src in per_source:
        for kind in KINDS.values():
            if len(kind.fields) < 2:
                continue
            for scope in {scope for scope, _ in src.entries}:
                present = [n for n in kind.fields if (scope, n) in src.entries]
                if present and len(present) < len(kind.fields):
                    absent = [n for n in kind.fields if n not in present]
                    keys = ", ".join(src.entries[(scope, n)].provenance.key for n in present)
                    where = "" if scope is None else f" for {scope}"
                    found.append(
                        (
                            scope,
                            f"{src.source} has {' and '.join(present)}{where} ({keys}) without "
                            f"{' and '.join(absent)}; a half pair is never combined with "
                            "another source, so it was ignored",
                        )
                    )
    return found


def _resolve_service(
    service: Service,
    per_source: Sequence[_SourceFields],
    sources: tuple[str, ...],
    half: Sequence[tuple[Scope, str]],
    used: set[int],
    notes: list[tuple[str, str]],
    outcomes: Sequence[tuple[str, str]] = (),
) -> tuple[ServiceCredentials, Mapping[str, Provenance]] | Exception:
    available = {kind: _group(service, kind, per_source) for kind in service.kinds}
    present = [kind for kind, group in available.items() if group is not None]
    relevant_half = [note for scope, note in half if scope in (None, service.name)]
    account: _Entry | None = None
    for src in per_source:
        account = account or _first(src, service.name, "account_id")
    if not present or account is None:
        missing: list[str] = []
        if account is None:
            missing.append("account_id")
        if not present:
            kinds = ", ".join("+".join(KINDS[k].fields) for k in service.kinds)
            missing.append(f"credentials (one of {kinds})")
        hints = [text for scope, text in notes if scope in ("", service.name)]
        return CredentialNotFoundError(
            service.name, missing, sources, [*relevant_half, *hints], outcomes
        )
    kind = present[0]
    chosen_group = available[kind]
    assert chosen_group is not None
    origin, group = chosen_group
    shadowed = [
        k for k in present[1:] if KINDS[k].scheme == "bearer" or KINDS[kind].scheme == "bearer"
    ]
    if shadowed:
        notes.append(
            (
                service.name,
                f"{service.name}: using {KINDS[kind].title}; also found "
                f"{', '.join(KINDS[k].title for k in shadowed)}, which were ignored "
                "(OAuth is preferred over a static token, and both over Basic, whatever "
                "the source order)",
            )
        )
    chosen: dict[str, _Entry] = {"account_id": account, **group}
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
    return creds, provenance


def _key_notes(per_source: Sequence[_SourceFields]) -> list[tuple[str, str]]:
    """Notes about keys that were not read: names other tools own, and likely typos."""
    notes: list[tuple[str, str]] = []
    for src in per_source:
        for index, (key, name, scope, reason) in enumerate(src.ignored):
            if name is not None:
                continue
            owner = FOREIGN_NAMES.get(key.upper())
            if owner is not None:
                text = f"{src.source} has {key}, which belongs to {owner}, not Bandwidth"
                notes.append(("", text + "; it was not read"))
                continue
            if reason == "unrecognized" or reason.startswith("not read: not a documented"):
                meant = suggest(key)
                if meant is not None:
                    text = f"{src.source} has {key}, which is not a Bandwidth name"
                    notes.append(("", f"{text}; did you mean {meant}?"))
                    src.ignored[index] = (key, name, scope, f"{reason} (did you mean {meant}?)")
    return notes


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
        _extract(index, source.uri, result) for index, (source, result) in enumerate(fetched)
    ]
    half = _half_pairs(per_source)
    used: set[int] = set()
    notes = _key_notes(per_source)
    services = {
        name: _resolve_service(service, per_source, sources, half, used, notes, outcomes)
        for name, service in SERVICES.items()
    }
    for scope, note in half:
        notes.append((scope or "", note))
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
    return Resolution(sources, services, unique, tuple(reports))
