"""Checking credentials against Bandwidth before the first real call (``check --online``).

- **OAuth client credentials**: a token is fetched (the shared token manager's, so the
  application reuses it) and its claims read: the configured account must be among its
  ``accounts``, and a Bandwidth Build account (``express``: voice only) is not ready for
  Messaging, number ordering or Toll-Free Verification. The official CLI documents the
  same limits (Bandwidth/cli ``AGENTS.md``, "Account Type and Capabilities": Build
  accounts have no messaging, number ordering, sub-accounts, VCPs, 10DLC or toll-free
  verification).
- **A static access token**: its claims are read (expiry, accounts); nothing is sent.
- **Basic (API user)**: one authenticated ``GET`` of the account resource, the Numbers
  base URL itself (``https://dashboard.bandwidth.com/api/accounts/{accountId}``,
  Bandwidth's Dashboard API reference), with the bounded client and no redirects: 200 is
  verified, 401/403 refused, anything else unverified. Each distinct user and account is
  asked once. A Messaging API token is not accepted there, so it is not sent. Each
  service's credentials go only where they were configured to go: a Numbers base URL
  from another source than the credentials is never used for them (see
  :func:`_account_url`); when none fits, the result says it was not checked.

No result holds a token or a secret.

>>> for result in verify():                                          # doctest: +SKIP
...     print(result.service, result.ready, result.outcome, result.detail)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from ._auth import ServiceAuth
from ._discovery import mismatch
from ._errors import ConfigurationError, CredentialsError, TokenError
from ._results import Verification
from ._schema import HOSTS, MESSAGING_TOKEN, SERVICE_NAMES, SERVICES, canonical_service
from ._secret import Secret
from ._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._resolver import Resolver

__all__ = ["BUILD_UNAVAILABLE", "Verification", "environment_note", "verify"]

#: Services a Bandwidth Build (``express``) account cannot use (Bandwidth/cli AGENTS.md).
BUILD_UNAVAILABLE = frozenset({"messaging", "numbers", "toll-free-verification"})
TIMEOUT = 10.0  # seconds for the account request, connect to last byte
MAX_SIZE = 1 << 20  # the account resource is a few KiB of XML


def _bearer(auth: ServiceAuth, now: float) -> Verification:
    base = Verification(
        auth.service, False, "", "", auth.scheme, auth.kind, auth.account_id, auth.environment
    )
    try:
        claims = auth.token_claims()
    except TokenError as exc:
        refused = exc.status in (400, 401, 403)
        outcome = "refused" if refused else "unverified"
        return base._replace(outcome=outcome, detail=str(exc), status=exc.status)
    base = base._replace(claims=claims)
    static = auth.kind != "oauth"
    expired = claims is not None and claims.expires_at is not None and claims.expires_at <= now
    if static and expired:
        return base._replace(outcome="refused", detail="the access token has expired")
    problem = mismatch(auth.account_id, claims)
    if problem is not None:
        return base._replace(outcome="unavailable", detail=problem)
    if claims is not None and claims.express and auth.service in BUILD_UNAVAILABLE:
        detail = (
            f"a Bandwidth Build account is voice only: {SERVICES[auth.service].title} "
            "needs a full Bandwidth account"
        )
        return base._replace(outcome="unavailable", detail=detail)
    if static:
        detail = "static access token: claims read, not sent to Bandwidth"
        return base._replace(ready=True, outcome="claims", detail=detail)
    detail = "token issued" + ("" if claims is not None else " (not a JWT: no claims to read)")
    return base._replace(ready=True, outcome="verified", detail=detail)


_ACCOUNT_SERVICES = frozenset({"numbers", "account"})  # their base URL is the account
_STEERING = frozenset({"base_url", "api_url", "voice_url", "messaging_url"})


def _credential_source(auth: ServiceAuth) -> str | None:
    prov = auth.provenance.get("password")
    return None if prov is None else prov.source


def _default_account_url(auth: ServiceAuth) -> str:
    """Bandwidth's account resource for ``auth``'s account and environment."""
    return SERVICES["numbers"].base_url(auth.account_id, auth.environment).rstrip("/")


def _account_url(auth: ServiceAuth, numbers: ServiceAuth | None) -> str | None:
    """Where ``auth``'s Basic credentials may be checked, or ``None`` when nowhere.

    Numbers and Account with a base URL of their own: that URL, the account resource.
    Otherwise the Numbers base URL when Numbers holds the same credentials, all of its
    settings from the same source as ``auth``'s; else, when ``auth`` was not pointed at a
    host of its own, Bandwidth's account resource in its environment. A host configured
    elsewhere (another source's ``BW_NUMBERS_BASE_URL``) never receives ``auth``'s
    credentials, and neither does Bandwidth's when ``auth`` was pointed at a host of its
    own: there the account URL must have been configured beside the credentials.
    """
    if auth.service in _ACCOUNT_SERVICES and "base_url" in auth.provenance:
        return auth.base_url
    source = _credential_source(auth)
    steered = bool(_STEERING & set(auth.provenance))
    if (
        numbers is not None
        # Pointed at a host of its own: only an account URL configured beside the
        # credentials, never Numbers' default (Bandwidth's own host).
        and not (steered and numbers.base_url == _default_account_url(numbers))
        and numbers.scheme == "basic"
        and (numbers.account_id, numbers.environment) == (auth.account_id, auth.environment)
        and numbers.authorization == auth.authorization
        and all(
            prov.source == source
            for field, prov in numbers.provenance.items()
            if field != "account_id"
        )
    ):
        return numbers.base_url  # the Numbers base URL as configured with these credentials
    if steered:
        return None
    return _default_account_url(auth)


def _get(url: str, authorization: Secret) -> tuple[int | None, str]:
    from . import _http

    failure: _http.HttpError | None = None
    try:
        answer = _http.request(
            "GET",
            url,
            headers={"Authorization": authorization, "Accept": "application/xml"},
            timeout=TIMEOUT,
            max_size=MAX_SIZE,
        )
    except _http.HttpError as exc:
        failure = exc
    if failure is not None:
        return None, str(failure)
    return answer.status, ""


def _basic(
    auth: ServiceAuth,
    numbers: ServiceAuth | None,
    asked: dict[tuple[str, str, Secret | None], tuple[int | None, str]],
) -> Verification:
    base = Verification(
        auth.service, False, "", "", auth.scheme, auth.kind, auth.account_id, auth.environment
    )
    from ._decommission import DECOMMISSIONED, MIGRATION, decommissioned

    url = _account_url(auth, numbers)  # where an API user's check would be sent
    # Bound for Bandwidth's hosts, or checked there: Bandwidth no longer accepts them, so
    # never ready, and nothing is sent (a 200 from a host that still answered would
    # otherwise read as "verified").
    gone = decommissioned(auth.kind, auth.base_url)
    if gone is None and url is not None:
        gone = decommissioned(auth.kind, url)
    if gone:
        return base._replace(
            outcome="unavailable", detail=f"{gone}; not sent; {MIGRATION}", reason=DECOMMISSIONED
        )
    if auth.kind == MESSAGING_TOKEN:
        detail = "a Messaging API token is only accepted by the Messaging API; not checked"
        return base._replace(outcome="unverified", detail=detail)
    from ._http import display_url

    if url is None:
        detail = (
            f"{auth.service}'s Basic credentials were pointed at a host of their own; the "
            "account resource they could be checked against was not configured with them "
            "(BW_NUMBERS_BASE_URL in the same source); not checked"
        )
        return base._replace(outcome="unverified", detail=detail)
    # Asked once per user and account; the password stays masked (a Secret compares by
    # value), so no frame holds it as a plain local.
    key = (url, auth.username or "", auth._password)
    if key not in asked:
        asked[key] = _get(url, Secret(auth.authorization))
    status, reason = asked[key]
    where = display_url(url)
    if status == 200:
        return base._replace(
            ready=True, outcome="verified", status=200, detail=f"GET {where}: HTTP 200"
        )
    if status in (401, 403):
        detail = f"GET {where}: HTTP {status}, the API user or its access was refused"
        gone = decommissioned(auth.kind, url)
        detail += f" ({gone}; {MIGRATION})" if gone else ""
        return base._replace(outcome="refused", status=status, detail=detail)
    if status is None:
        return base._replace(outcome="unverified", detail=f"GET {where} failed: {reason}")
    return base._replace(outcome="unverified", status=status, detail=f"GET {where}: HTTP {status}")


def verify(
    services: Iterable[str] | None = None,
    *,
    resolver: Resolver,
    clock: Callable[[], float] = time.time,
    account_id: str | None = None,
) -> list[Verification]:
    """Check each of ``services`` (default: every one) with ``resolver``'s credentials:
    :func:`bandwidth_credentials.verify` (in :mod:`._default`, which supplies the default
    resolver) documents the arguments, results and errors."""
    names = list(dict.fromkeys(canonical_service(n) for n in services or ())) or list(SERVICE_NAMES)
    auths: dict[str, ServiceAuth | CredentialsError] = {}
    for name in [*names, "numbers"]:
        try:
            auths[name] = resolver.get_auth(name, account_id)
        except ConfigurationError:
            raise
        except CredentialsError as exc:
            auths[name] = exc
    numbers = auths["numbers"]
    numbers_auth = None if isinstance(numbers, CredentialsError) else numbers
    asked: dict[tuple[str, str, Secret | None], tuple[int | None, str]] = {}
    now = clock()
    results = []
    for name in names:
        auth = auths[name]
        if isinstance(auth, CredentialsError):
            results.append(Verification(name, False, "unresolved", str(auth)))
        elif auth.scheme == "basic":
            results.append(_basic(auth, numbers_auth, asked))
        else:
            results.append(_bearer(auth, now))
    return results


def environment_note(auths: Iterable[ServiceAuth]) -> str | None:
    """A note when services resolved in ``test``/``uat`` still go to production hosts:
    Messaging has no test host (Bandwidth/cli ``cmdutil`` host helpers) and Bandwidth
    documents none for MFA. ``None`` when nothing does."""
    production = []
    environments = set()
    for auth in auths:
        if auth.environment == "prod":
            continue
        host = HOSTS["prod"][SERVICES[auth.service].host]
        if host != HOSTS[auth.environment][SERVICES[auth.service].host]:
            continue
        if auth.base_url.startswith(host + "/"):
            production.append(f"{auth.service} ({host})")
            environments.add(auth.environment)
    if not production:
        return None
    return (
        f"environment {'/'.join(sorted(environments))}: Bandwidth has no test host for "
        f"Messaging (and documents none for MFA), so these requests go to production: "
        f"{', '.join(production)}; messages sent there are real and billed"
    )
