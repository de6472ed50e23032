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
- Every entry of the ``accounts`` claim must pass the rule a configured ``BW_ACCOUNT_ID``
  passes (digits only): the account id goes into every URL path, so a claim such as
  ``../../oauth2/token?x=`` is a :class:`TokenError` naming the claim (not the token).

:func:`mismatch` says why a configured account id cannot be used with a token; the
auth factory's bearer sources warn with it once per (account, client).

Normalizing does no I/O; this runs after it, once per resolution, so ``get_auth()`` stays
a lookup.
"""

from __future__ import annotations

from ._checks import Provenance, ServiceCredentials, problem_of
from ._errors import CredentialNotFoundError, TokenError, fresh
from ._schema import HOST_FIELDS, SERVICES
from ._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._jwt import TokenClaims
    from ._normalizer import Resolution
    from ._oauth import TokenManager

    Outcome = tuple[ServiceCredentials, Mapping[str, Provenance]] | Exception

__all__ = [
    "ACCOUNTS_CLAIM",
    "discover",
    "listed_accounts",
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


def _claims(manager: TokenManager) -> TokenClaims | TokenError | None:
    """The token's claims, or the :class:`TokenError` saying why there is no token (or
    why its ``accounts`` claim cannot be used: each entry must pass the rule a configured
    ``BW_ACCOUNT_ID`` passes, since it goes into every URL path)."""
    failure: TokenError | None = None
    try:
        claims = manager.claims()
    except TokenError as exc:
        failure = exc
    if failure is not None:
        return fresh(failure)
    for account in () if claims is None else claims.accounts:
        problem = problem_of("account_id", account)
        if problem is not None:
            from ._http import display_url

            where = display_url(manager.token_url)
            return TokenError(
                f"the access token from {where} for client {manager.client_id} has an "
                f"entry in its {ACCOUNTS_CLAIM} claim that is not a Bandwidth account id: "
                f"{problem}",
                client_id=manager.client_id,
                token_url=where,
            )
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


def mismatch(account_id: str, claims: TokenClaims | None) -> str | None:
    """Why ``account_id`` cannot be used with a token carrying ``claims``, or ``None``."""
    if claims is None or not claims.excludes(account_id):
        return None
    return (
        f"account {account_id} is not among the access token's accounts "
        f"({listed_accounts(claims)}); set BW_ACCOUNT_ID to one of them"
    )


def listed_accounts(claims: TokenClaims) -> str:
    """The ``accounts`` claim for a message: only the entries that are account ids (the
    claim is the server's text; anything else, escape sequences included, is not shown)."""
    shown = [a for a in claims.accounts if problem_of("account_id", a) is None]
    if len(shown) > _LISTED:  # a message stays one readable line
        return ", ".join(shown[:_LISTED]) + f" and {len(shown) - _LISTED} more"
    return ", ".join(shown) or "none that is an account id"


#: How many of a token's accounts a message names.
_LISTED = 10
