"""Rotating a client secret: create it at Bandwidth, keep it in the store, prove it, promote it.

The steps, in order (each reported through ``on_step`` once done):

1. ``read``: read the source once (its values and version); find the client id and
   secret at the top level; resolve them as the library would (token endpoint, hosts).
2. ``token``: mint an access token with the admin credentials (``admin_source``) or the
   client's own; the Credentials API needs the *Credential access* role.
3. ``create``: ``POST {api}/api/v1/credentials/{clientId}/secrets`` with the expiration
   date (:mod:`._credentials_api`); Bandwidth shows the new secret once.
4. ``persist``: at once, write it to the store as ``client_secret_pending`` (with
   ``client_secret_pending_expires_at``), next to the current secret, which readers keep
   using. A version race here is retried on a fresh read (bounded): the secret must not
   be lost.
5. ``prove``: mint a token with the new secret.
6. ``promote``: one checked write: the new secret becomes ``client_secret`` with its
   ``client_secret_expires_at``, the pending keys go. A race fails cleanly (re-run).
7. ``verify``: read the source again through a fresh :class:`Resolver` (the normal
   chain) and check it serves the new secret.

A re-run finds ``client_secret_pending`` and resumes at ``prove``. ``dry_run`` does
steps 1 and 2 (and proves a pending secret), asks the store whether it can be written,
and writes and creates nothing. Nothing returned, raised or logged holds a secret.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Literal, NamedTuple

from . import _calendar
from ._chain import SourceChain
from ._credentials_api import Created, api_base, create_secret
from ._errors import ConfigurationError, CredentialsError, SourceError, StoreConflictError
from ._keys import SCHEMA, classify_key
from ._normalizer import normalize
from ._provider import Fetched, Source, parse_source
from ._schema import EXPIRY_FIELD, OAUTH, PENDING_FIELDS
from ._secret import Secret
from ._token_request import Issued, request_token

__all__ = [
    "STEPS",
    "ClientCredentials",
    "RotationError",
    "access_token",
    "admin_credentials",
    "client_credentials",
    "create_client_secret",
    "expiry_after",
    "mint_token",
    "parse_duration",
    "rotate",
    "with_new_secret",
]

STEPS = ("read", "token", "create", "persist", "prove", "promote", "verify")
_PENDING, _PENDING_EXPIRY = PENDING_FIELDS
_PERSIST_ATTEMPTS = 3
_TOKEN_TIMEOUT = 15.0
_UNITS = {"d": 86400, "h": 3600}


class RotationError(CredentialsError):
    """A rotation step failed: Bandwidth or the store refused, or a check failed.

    ``step`` is the step that failed (see :data:`STEPS`); ``state`` says what the store and
    Bandwidth hold now and how to finish or undo (the README's "Rotating client secrets"
    section has the same table). Never holds a secret.

    >>> rotate("vault:secret/bandwidth")                            # doctest: +SKIP
    RotationError: create: ... HTTP 409: Bandwidth refused to create a client secret ...
    """

    def __init__(self, step: str, message: str, state: str) -> None:
        super().__init__(f"{step}: {message}")
        self.step = step
        self.state = state


def parse_duration(text: str, setting: str = "--expires-in") -> float:
    """Seconds in ``90d`` or ``12h`` (a whole number and a unit, ``d`` or ``h``).

    >>> parse_duration("90d")
    7776000.0

    Raises :class:`ConfigurationError` for anything else, or less than one hour, naming
    ``setting``: where the text came from (the CLI option, or an environment variable).
    """
    text = text.strip().lower()
    number, unit = text[:-1], text[-1:]
    if unit in _UNITS and number.isascii() and number.isdigit() and int(number) > 0:
        return float(int(number) * _UNITS[unit])
    raise ConfigurationError(
        f"{setting} {text!r} is not a duration such as 90d or 12h (whole days or hours)"
    )


def mint_token(token_url: str, client_id: str, secret: Secret) -> Issued | str:
    """One token request with ``client_id``/``secret``: the token, or why it failed."""
    answer = request_token(
        token_url,
        client_id,
        secret.get_secret_value(),
        timeout=_TOKEN_TIMEOUT,
        max_size=64 * 1024,
        wall=time.time,
    )
    return answer if isinstance(answer, Issued) else answer.reason


class _Keys(NamedTuple):
    """The raw keys (as stored) of the fields a rotation reads and writes."""

    client_id: str
    client_secret: str
    expiry: str
    pending: str
    pending_expiry: str


def _spelled(secret_key: str, suffix: tuple[str, ...]) -> str:
    """A new key in the style of ``secret_key``: ``BW_CLIENT_SECRET`` ->
    ``BW_CLIENT_SECRET_EXPIRES_AT``, ``clientSecret`` -> ``clientSecretExpiresAt``."""
    if "_" in secret_key or secret_key.isupper() or secret_key.islower():
        words = "_".join(suffix)
        return f"{secret_key}_{words.upper() if secret_key.isupper() else words}"
    if "-" in secret_key:
        return f"{secret_key}-{'-'.join(suffix)}"
    return secret_key + "".join(word.capitalize() for word in suffix)


def _find_keys(uri: str, values: Mapping[str, object]) -> _Keys:
    """The keys rotate reads and writes, from the names of ``values`` alone. Raises
    :class:`ConfigurationError` with no value in this frame (error trackers record the
    locals of every frame: ``values`` holds the store's secrets)."""
    found: dict[str, str] = {}
    nested = False
    for key in values:
        inner = values[key]
        if isinstance(inner, Mapping):
            nested = nested or any(classify_key(k)[1] == "client_secret" for k in inner)
            continue
        scope, field = classify_key(key)
        if scope is None and field is not None:
            found.setdefault(field, key)
    del values
    inner = None
    if "client_id" not in found or "client_secret" not in found:
        where = " (only inside a per-service object, which rotate does not write)" if nested else ""
        raise ConfigurationError(
            f"source {uri} holds no client credentials (client_id and client_secret) at its "
            f"top level{where}",
            source=uri,
        )
    secret = found["client_secret"]
    return _Keys(
        found["client_id"],
        secret,
        found.get(EXPIRY_FIELD) or _spelled(secret, ("expires", "at")),
        found.get(_PENDING) or _spelled(secret, ("pending",)),
        found.get(_PENDING_EXPIRY) or _spelled(secret, ("pending", "expires", "at")),
    )


def _client(resolution: Any, client_id: str) -> Any:
    """The resolved OAuth credentials of ``client_id`` (token endpoint, hosts)."""
    # Messaging's token always comes from production (see _checks.validated): another
    # service's credentials name the token endpoint of the source's own environment.
    found = [
        outcome[0]
        for outcome in [*resolution.services.values(), *resolution.pending.values()]
        if isinstance(outcome, tuple)
        and outcome[0].kind == OAUTH
        and outcome[0].client_id == client_id
    ]
    found.sort(key=lambda creds: creds.service == "messaging")
    return found[0] if found else None


def _admin(admin_source: str) -> Any:
    from ._resolver import Resolver

    resolver = Resolver(admin_source)
    try:
        resolution = resolver.resolve()
    finally:
        resolver.close()
    for outcome in [*resolution.services.values(), *resolution.pending.values()]:
        if isinstance(outcome, tuple) and outcome[0].kind == OAUTH:
            return outcome[0]
    raise ConfigurationError(
        f"--admin-source {admin_source}: no OAuth client credentials found there"
    )


class _Run:
    """One rotation's state, so each step is a short method."""

    def __init__(self, source: Source, on_step: Callable[[str, str], None]) -> None:
        self.source = source
        self.chain = SourceChain([source], SCHEMA, time.monotonic)
        self.on_step = on_step
        self.steps: list[dict[str, str]] = []

    def done(self, step: str, detail: str) -> None:
        self.steps.append({"step": step, "detail": detail})
        self.on_step(step, detail)

    def read(self) -> tuple[Fetched, str | None, _Keys]:
        """The store's values in a :class:`Fetched` (its ``repr`` lists keys only, so a
        frame holding it shows an error tracker no secret), their version, and the keys
        rotate uses."""
        fetched = self.chain.read(0)
        held = Fetched(dict(fetched.values), fetched.version)
        return held, fetched.version, _find_keys(self.source.uri, fetched.values)

    def close(self) -> None:
        self.chain.close()


def rotate(
    source: str,
    *,
    expires_in: float = 90 * 86400.0,
    admin_source: str | None = None,
    dry_run: bool = False,
    on_step: Callable[[str, str], None] = lambda step, detail: None,
) -> dict[str, Any]:
    """Rotate the client secret kept in ``source`` (one source URI); see the module doc.

    Returns what happened (client id, expirations, store version, the steps done), never a
    secret. Raises :class:`ConfigurationError` (bad URI, no client credentials, a source
    that cannot be written, an admin source on another token host), :class:`RotationError`
    (Bandwidth or the store refused; ``.step`` and ``.state`` say where it stopped) or a
    :class:`SourceError` from reading.

    >>> rotate("vault:secret/bandwidth?auth=kubernetes", expires_in=parse_duration("90d"))
    ... # doctest: +SKIP
    {'client_id': 'CLI-...', 'rotated': True, 'new_secret_expires_at': '2027-03-06T...', ...}
    """
    parsed = parse_source(source)
    run = _Run(parsed, on_step)
    try:
        return _rotate(run, expires_in, admin_source, dry_run)
    finally:
        run.close()


def _rotate(
    run: _Run, expires_in: float, admin_source: str | None, dry_run: bool
) -> dict[str, Any]:
    uri = run.source.uri
    problem = run.chain.store_problem(0)  # a read-only source says so before anything else
    if problem is not None:
        raise _not_writable(uri, problem)
    held, version, keys = run.read()
    resolution = normalize([(run.source, held)])
    client_id = str(held.values[keys.client_id])
    creds = _client(resolution, client_id)
    if creds is None or creds.token_url is None:
        raise ConfigurationError(
            f"source {uri}: the client credentials there do not resolve (see bwcreds explain)",
            source=uri,
        )
    token_url: str = creds.token_url
    old_expiry = held.values.get(keys.expiry)
    pending = held.values.get(keys.pending)
    result: dict[str, Any] = {
        "source": uri,
        "client_id": client_id,
        "dry_run": dry_run,
        "rotated": False,
        "resumed": isinstance(pending, str),
        "credentials_api": api_base(token_url),
        "old_secret_expires_at": old_expiry if isinstance(old_expiry, str) else None,
        "new_secret_expires_at": None,
        "store_version": version,
        "steps": run.steps,
    }
    run.done("read", f"{uri} version {version or '-'}: client {client_id}")
    del pending  # a stored pending secret is held masked only
    if result["resumed"]:
        expiry = held.values.get(keys.pending_expiry)
        new = Secret(str(held.values[keys.pending]))
        new_expiry = expiry if isinstance(expiry, str) else None
    else:
        new_expiry = expiry_after(expires_in)
        token = _token(run, creds, admin_source, token_url)
        if dry_run:
            result["new_secret_expires_at"] = new_expiry
            run.done("create", f"dry run: would create a secret expiring at {new_expiry}")
            return result
        created = _create(client_id, token, token_url, new_expiry)
        new, new_expiry = created.client_secret, created.expires_at
        try:
            run.done("create", f"new client secret expiring at {created.expires_at}")
        finally:  # Bandwidth shows it once: stored even when the report fails or is stopped
            held, version, keys = _persist(run, held, version, keys, created)
        result["store_version"] = version
    result["new_secret_expires_at"] = new_expiry
    _prove(run, token_url, client_id, new)
    if dry_run:
        run.done("promote", "dry run: would promote the pending secret")
        return result
    result["store_version"] = _promote(run, held, keys, new, new_expiry, version)
    result["rotated"] = True
    _verify(run, client_id, new)
    return result


def _not_writable(uri: str, problem: str) -> ConfigurationError:
    from ._errors import StoreNotSupportedError

    return StoreNotSupportedError(f"source {uri}: {problem}", source=uri)


def _token(run: _Run, creds: Any, admin_source: str | None, token_url: str) -> str:
    caller = ClientCredentials(creds.client_id, creds.client_secret, token_url, api_base(token_url))
    if admin_source is not None:
        caller = admin_credentials(admin_source)
        if caller.api_base != api_base(token_url):
            raise ConfigurationError(
                f"--admin-source {admin_source}: its token endpoint is not on "
                f"{api_base(token_url)}, the rotated client's; a token is used only where "
                "it was issued"
            )
    token = access_token(caller)
    run.done("token", f"access token for {caller.client_id}")
    return token


def _same(stored: object, created: Secret) -> bool:
    """Whether a stored pending value is the secret just created (constant time)."""
    import hmac

    return isinstance(stored, str) and hmac.compare_digest(
        stored.encode(), created.get_secret_value().encode()
    )


def _create(client_id: str, token: str, token_url: str, expiry: str) -> Created:
    target = ClientCredentials(client_id, Secret(""), token_url, api_base(token_url))
    secret, expires_at = create_client_secret(target, token, expiry)
    return Created(secret, expires_at)


def _persist(
    run: _Run,
    values: Fetched,
    version: str | None,
    keys: _Keys,
    created: Created,
) -> tuple[Fetched, str | None, _Keys]:
    """Store the new secret as pending; returns the values and version written.

    A write refused as a conflict is retried on the values read again, unless they hold a
    pending secret: the one just created when the store saw the race only after writing it
    (Google's ``AddSecretVersion`` has no precondition), else another rotation's."""
    uri = run.source.uri
    failure: SourceError | None = None
    for _ in range(_PERSIST_ATTEMPTS):
        added = {keys.pending: created.client_secret, keys.pending_expiry: created.expires_at}
        try:
            written = _write(run, values, added, version)
        except SourceError as exc:
            failure = exc
        else:
            run.done("persist", f"new secret kept as {keys.pending} (version {written or '-'})")
            return values, written, keys
        if not isinstance(failure, StoreConflictError):
            break
        try:  # someone wrote meanwhile: keep theirs, add ours
            values, version, keys = run.read()
        except SourceError as exc:
            failure = exc
            break
        if keys.pending in values.values:
            if _same(values.values[keys.pending], created.client_secret):
                # Ours, written after all: the store found the race only afterwards, and
                # the other writer's version is no longer the latest.
                from ._log import logger

                logger.warning("%s; the rotation goes on with %s", failure, version or "-")
                run.done("persist", f"new secret kept as {keys.pending} (version {version})")
                return values, version, keys
            break  # another rotation stored its own pending secret
    assert failure is not None
    reason = (
        f"{uri} changed during the write and now holds another pending secret, or kept "
        f"changing during {_PERSIST_ATTEMPTS} writes ({failure})"
        if isinstance(failure, StoreConflictError)
        else f"the new secret could not be written ({failure})"
    )
    raise RotationError(
        "persist",
        reason,
        f"Bandwidth holds a new secret expiring at {created.expires_at} that was not "
        "stored; it cannot be shown again: delete it in the Bandwidth App (Account > API "
        "Credentials) or let it expire, then run again",
    )


def _write(
    run: _Run,
    values: Fetched,
    added: Mapping[str, object],
    version: str | None,
    removed: tuple[str, ...] = (),
) -> str | None:
    """One checked store write of ``values`` with ``added`` (a :class:`Secret` unmasked
    only here) and without ``removed``. The unmasked mapping lives in this frame alone and
    is dropped before any error leaves it."""
    written: dict[str, object] = {k: v for k, v in values.values.items() if k not in removed}
    for key, value in added.items():
        written[key] = value.get_secret_value() if isinstance(value, Secret) else value
    failure: SourceError | None = None
    try:
        version = run.chain.store(0, written, version)
    except SourceError as exc:
        failure = exc
    del written
    if failure is not None:
        raise failure.with_traceback(None)
    return version


def _prove(run: _Run, token_url: str, client_id: str, secret: Secret) -> None:
    mint = ClientCredentials(client_id, secret, token_url, api_base(token_url))
    failure: RotationError | None = None
    try:
        access_token(mint, "prove")
    except RotationError as exc:
        failure = exc
    if failure is not None:
        raise RotationError(
            "prove",
            f"the new secret did not get a token: {str(failure).removeprefix('prove: ')}",
            "the new secret is stored as client_secret_pending; the current secret is "
            "unchanged. Run bwcreds rotate again to retry, or remove the pending keys from "
            "the store and delete the new secret in the Bandwidth App to undo",
        )
    run.done("prove", "the new secret got an access token")


def _promote(
    run: _Run,
    values: Fetched,
    keys: _Keys,
    new: Secret,
    new_expiry: str | None,
    version: str | None,
) -> str | None:
    uri = run.source.uri
    added: dict[str, object] = {keys.client_secret: new}
    if new_expiry is not None:
        added[keys.expiry] = new_expiry
    failure: SourceError | None = None
    try:
        written = _write(run, values, added, version, (keys.pending, keys.pending_expiry))
    except SourceError as exc:
        failure = exc
    if isinstance(failure, StoreConflictError):
        finished = _promoted_meanwhile(run, keys, new)
        if finished is not False:
            run.done("promote", f"new secret already current (version {finished or '-'})")
            return finished
    if failure is not None:
        reason = (
            f"{uri} changed since it was read ({failure})"
            if isinstance(failure, StoreConflictError)
            else f"the store could not be written ({failure})"
        )
        raise RotationError(
            "promote",
            reason,
            "the new secret is still stored as client_secret_pending and works; run "
            "bwcreds rotate again to promote it",
        )
    run.done("promote", f"new secret is current (version {written or '-'})")
    return written


def _promoted_meanwhile(run: _Run, keys: _Keys, new: Secret) -> str | Literal[False] | None:
    """After a conflict at promotion: the version read when the store already serves
    ``new`` as current with no pending secret (another run resumed the same pending
    secret and promoted it), else ``False``."""
    try:
        values, version, _ = run.read()
    except (SourceError, ConfigurationError):
        return False
    current = values.values
    done = keys.pending not in current and current.get(keys.client_secret) == new.get_secret_value()
    del current, values  # held the new secret unmasked
    return version if done else False


def _verify(run: _Run, client_id: str, secret: Secret) -> None:
    from ._resolver import Resolver

    resolver = Resolver([run.source])
    try:
        creds = _client(resolver.resolve(), client_id)
    finally:
        resolver.close()
    served = creds.client_secret if creds is not None else None
    if served != secret:
        raise RotationError(
            "verify",
            f"{run.source.uri} does not serve the new secret after the write",
            "the store was written; a cache in front of it (an agent, a replica) may lag: "
            "check again with bwcreds check",
        )
    run.done("verify", "the source serves the new secret")


# -- the pieces, for rotation functions that drive their own store (AWS's four steps) ------


class ClientCredentials(NamedTuple):
    """The client credentials found in one store's values: the client id, its secret
    (masked), the token endpoint and the Credentials API's origin (the token endpoint's)."""

    client_id: str
    client_secret: Secret
    token_url: str
    api_base: str


def client_credentials(values: Mapping[str, object], where: str) -> ClientCredentials:
    """The client credentials at the top level of ``values`` (one secret's keys, in any
    spelling the library reads), resolved as the library would: environment, ``BW_API_URL``
    or ``token_url`` from the same values. ``where`` names the store in errors.

    Raises :class:`ConfigurationError` when there are none.

    >>> client_credentials({"client_id": "CLI-1", "client_secret": s, "account_id": "1"}, "x")
    ClientCredentials(client_id='CLI-1', client_secret=Secret('**********'), ...)   # doctest: +SKIP
    """
    held = Fetched(dict(values))  # keys-only repr: no frame below holds the raw mapping
    del values
    found: ClientCredentials | ConfigurationError = _resolved_client(held, where)
    if isinstance(found, ConfigurationError):
        raise found.with_traceback(None)
    return found


def _resolved_client(held: Fetched, where: str) -> ClientCredentials | ConfigurationError:
    """:func:`client_credentials`' work; the error is returned, with no traceback through
    frames that held the store's values."""
    failure: ConfigurationError | None = None
    try:
        keys = _find_keys(where, held.values)
    except ConfigurationError as exc:
        failure = exc
    if failure is not None:
        return failure.with_traceback(None)
    source = parse_source("env")  # a label for the normalizer; nothing is read from it
    resolution = normalize([(source, held)])
    client_id = str(held.values[keys.client_id])
    creds = _client(resolution, client_id)
    if creds is None or creds.token_url is None:
        return ConfigurationError(f"{where}: the client credentials there do not resolve")
    return ClientCredentials(
        client_id, creds.client_secret, creds.token_url, api_base(creds.token_url)
    )


def admin_credentials(source: str) -> ClientCredentials:
    """The OAuth client credentials a source URI resolves to (for ``--admin-source``)."""
    creds = _admin(source)
    return ClientCredentials(
        creds.client_id, creds.client_secret, creds.token_url, api_base(creds.token_url)
    )


def access_token(credentials: ClientCredentials, step: str = "token") -> str:
    """An access token for ``credentials``; raises :class:`RotationError` (``step``)."""
    issued = mint_token(credentials.token_url, credentials.client_id, credentials.client_secret)
    if not isinstance(issued, Issued):
        raise RotationError(
            step,
            f"no access token for {credentials.client_id} from {credentials.token_url}: {issued}",
            "nothing was changed" if step == "token" else "the current secret is unchanged",
        )
    return issued.value


def create_client_secret(
    credentials: ClientCredentials, token: str, expires_at: str
) -> tuple[Secret, str]:
    """Create a client secret for ``credentials.client_id`` at its Credentials API with
    ``token``; returns it (masked) and its expiration. Raises :class:`RotationError`."""
    answer = create_secret(credentials.api_base, credentials.client_id, token, expires_at)
    if not isinstance(answer, Created):
        state = (
            "the store is unchanged; Bandwidth may hold a new secret that nobody has (the "
            "answer did not deliver it): if the next run is refused for two active secrets, "
            "delete it in the Bandwidth App (Account > API Credentials) or let it expire"
            if answer.unknown
            else "nothing was changed"
        )
        raise RotationError("create", answer.reason, state)
    return answer.client_secret, answer.expires_at


def expiry_after(seconds: float, setting: str = "--expires-in") -> str:
    """The ISO 8601 UTC instant ``seconds`` from now (the library's one clock).

    Raises :class:`ConfigurationError` naming ``setting`` (where the lifetime came from)
    when it falls after 9999-12-31T23:59:59Z, the last instant the store's four-digit-year
    form holds (``client_secret_expires_at`` must read back).

    >>> expiry_after(3600.0)                                       # doctest: +SKIP
    '2026-12-06T01:00:00Z'
    """
    instant = _calendar.now() + seconds
    if instant >= _calendar.epoch_of((9999, 12, 31)) + 86400:
        raise ConfigurationError(
            f"{setting}: a lifetime of {int(seconds // 86400)} days ends after "
            "9999-12-31T23:59:59Z, past what an ISO 8601 expiration date in the store holds"
        )
    return _calendar.format_instant(instant)


def with_new_secret(
    values: Mapping[str, object], secret: Secret, expires_at: str | None, where: str
) -> dict[str, object]:
    """``values`` with ``secret`` as the client secret (and its expiration), under the keys
    the store already uses (new keys spelled in the same style), pending keys removed."""
    failure: ConfigurationError | None = None
    try:
        keys = _find_keys(where, values)
    except ConfigurationError as exc:
        failure = exc
    if failure is not None:
        del values  # the store's secrets: not a local of a frame an error leaves
        raise failure.with_traceback(None)
    updated = dict(values)
    updated.pop(keys.pending, None)
    updated.pop(keys.pending_expiry, None)
    updated[keys.client_secret] = secret.get_secret_value()
    if expires_at is not None:
        updated[keys.expiry] = expires_at
    return updated
