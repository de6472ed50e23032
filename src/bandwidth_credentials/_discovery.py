"""The account id from the access token, and the check that a configured one is in it.

Bandwidth's access tokens are JWTs whose ``accounts`` claim lists the account ids the
credential may use (Bandwidth's credentials guide; the official CLI's ``band auth login``
reads the account from the same claim). Two uses here, both in the auth-factory step:

- **Discovery**: OAuth client credentials with no account id anywhere, and a token that
  lists exactly one account: that account is used, with provenance ``accounts`` from
  ``access token from <token URL>``. The token fetched for it is the one the shared
  token manager then hands to the first ``headers()``. Several accounts, none, or a token
  that is not a JWT: :class:`CredentialNotFoundError` saying so and how to choose
  (``BW_ACCOUNT_ID``). A failing token endpoint is a :class:`TokenError` for those
  services only.
- **Mismatch**: an account id that is configured but not among the token's accounts is
  logged once per process as a warning naming both, when a token is first seen (the API
  would answer 403 without saying why).

Normalizing does no I/O; this runs after it, once per resolution, so ``get_auth()`` stays
a lookup.
"""

from __future__ import annotations

import _thread

from ._checks import Provenance, ServiceCredentials
from ._errors import CredentialNotFoundError, TokenError, fresh
from ._lifecycle import on_fork
from ._log import logger
from ._schema import HOST_FIELDS, SERVICES
from ._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from ._jwt import TokenClaims
    from ._normalizer import Resolution

    Outcome = tuple[ServiceCredentials, Mapping[str, Provenance]] | Exception

__all__ = [
    "ACCOUNTS_CLAIM",
    "AccountCheck",
    "discover",
    "mismatch",
    "token_source_name",
    "with_account",
]

ACCOUNTS_CLAIM = "accounts"
_HOW = "set BW_ACCOUNT_ID (or account_id in the credentials' source) to choose"


def token_source_name(token_url: str) -> str:
    """How provenance names the access token: ``access token from <URL>``, the URL as
    shown in messages (no user info, query or fragment)."""
    return f"access token from {token_url}"


def with_account(credentials: ServiceCredentials, account_id: str) -> ServiceCredentials:
    """``credentials`` for ``account_id``: the base URL completed unless given explicitly."""
    base_url = credentials.base_url
    if "base_url" not in credentials.endpoints:
        overrides = {k: v for k, v in credentials.endpoints.items() if k in HOST_FIELDS}
        service = SERVICES[credentials.service]
        base_url = service.base_url(account_id, credentials.environment, overrides).rstrip("/")
    return credentials._replace(account_id=account_id, base_url=base_url)


def _not_found(error: Outcome, note: str) -> Outcome:
    if not isinstance(error, CredentialNotFoundError):
        return error
    return CredentialNotFoundError(
        error.service, error.missing, error.sources, (*error.notes, note), error.outcomes
    )


def _claims(manager: Any) -> TokenClaims | TokenError | None:
    try:
        claims: TokenClaims | None = manager.claims()
    except TokenError as exc:
        return exc
    return claims


def discover(resolution: Resolution) -> Resolution:
    """``resolution`` with every pending service (OAuth, no account id) settled from its
    access token: credentials for the one account the token lists, or the error saying
    why not. One token request per OAuth client, shared with later ``headers()`` calls."""
    if not resolution.pending:
        return resolution
    from ._http import display_url  # only OAuth users load the token machinery
    from ._oauth import token_source

    services: dict[str, Outcome] = dict(resolution.services)
    seen: dict[int, TokenClaims | TokenError | None] = {}
    for name, (credentials, provenance) in resolution.pending.items():
        manager = token_source(credentials)
        if id(manager) not in seen:
            seen[id(manager)] = _claims(manager)
        claims = seen[id(manager)]
        url = display_url(manager.token_url)
        error = resolution.services[name]
        if isinstance(claims, TokenError):
            services[name] = fresh(claims)
        elif claims is None:
            services[name] = _not_found(
                error,
                f"the access token from {url} is not a JWT, so it names no account; {_HOW}",
            )
        elif len(claims.accounts) != 1:
            listed = (
                f"lists accounts {', '.join(claims.accounts)}"
                if claims.accounts
                else "lists no accounts (a credential not bound to one account)"
            )
            services[name] = _not_found(error, f"the access token {listed}; {_HOW} one")
        else:
            found = Provenance(token_source_name(url), ACCOUNTS_CLAIM)
            services[name] = (
                with_account(credentials, claims.accounts[0]),
                {"account_id": found, **provenance},
            )
    return resolution._replace(services=services)


_warned: set[tuple[str, str, tuple[str, ...]]] = set()
_warned_lock = _thread.allocate_lock()


def _reset_after_fork() -> None:
    global _warned_lock
    _warned_lock = _thread.allocate_lock()


on_fork(_reset_after_fork)


class AccountCheck:
    """A bearer token source that checks, once per token, that the configured account id
    is among the token's ``accounts``; everything else is the wrapped token manager's."""

    __slots__ = ("_account", "_manager", "_provenance", "_seen")

    def __init__(self, manager: Any, account_id: str, provenance: Provenance | None) -> None:
        self._manager = manager
        self._account = account_id
        self._provenance = provenance
        self._seen: str | None = None

    def token(self) -> str:
        value: str = self._manager.token()
        if value is not self._seen:
            self._seen = value
            self._check(_decode(value))
        return value

    def cached_token(self) -> str | None:
        value: str | None = self._manager.cached_token()
        if value is not None and value is not self._seen:
            self._seen = value
            self._check(_decode(value))
        return value

    def invalidate(self, rejected: str | None = None) -> None:
        self._manager.invalidate(rejected)

    def claims(self) -> TokenClaims | None:
        claims: TokenClaims | None = self._manager.claims()
        return claims

    def __getattr__(self, name: str) -> Any:
        return getattr(self._manager, name)

    def __repr__(self) -> str:
        return f"AccountCheck({self._manager!r}, account_id={self._account!r})"

    def _check(self, claims: TokenClaims | None) -> None:
        if claims is None or not claims.accounts or self._account in claims.accounts:
            return
        client = str(getattr(self._manager, "client_id", ""))
        key = (client, self._account, claims.accounts)
        with _warned_lock:
            if key in _warned:
                return
            _warned.add(key)
        prov = self._provenance
        origin = f" ({prov.source} {prov.key})" if prov is not None else ""
        logger.warning(
            "account id %s%s is not among the accounts of the access token for client %s "
            "(%s); Bandwidth refuses its requests (HTTP 403). Set BW_ACCOUNT_ID to one of them",
            self._account,
            origin,
            client,
            ", ".join(claims.accounts),
        )


def _decode(token: str) -> TokenClaims | None:
    from ._jwt import decode_claims  # only bearer tokens are decoded

    return decode_claims(token)


def mismatch(account_id: str, claims: TokenClaims | None) -> str | None:
    """Why ``account_id`` cannot be used with a token carrying ``claims``, or ``None``."""
    if claims is None or not claims.accounts or account_id in claims.accounts:
        return None
    return (
        f"account {account_id} is not among the access token's accounts "
        f"({', '.join(claims.accounts)}); set BW_ACCOUNT_ID to one of them"
    )
