"""``bwcreds check --online``: the credentials checked against Bandwidth (:mod:`._verify`).

Exit codes as ``check``: 0 every requested service is ready, 1 some are not, 2 the
configuration itself is wrong (raised as :class:`ConfigurationError` to ``main``).
Nothing printed holds a token or a secret: results carry account ids, roles, statuses.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any, TextIO

from ._checks import problem_of
from ._cli_output import printable, table, write_list
from ._discovery import ACCOUNTS_CLAIM
from ._errors import (
    CredentialNotFoundError,
    CredentialsError,
    InvalidCredentialsError,
    TokenError,
)
from ._factory import basic_notice
from ._resolver import Resolver
from ._results import TokenClaims
from ._verify import Verification, environment_note, verify

__all__ = ["check_online", "token_lines"]

EXIT_OK, EXIT_NOT_READY = 0, 1


def _entry(result: Verification) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "service": result.service,
        "ready": result.ready,
        "outcome": result.outcome,
        "detail": result.detail,
        "scheme": result.scheme,
        "kind": result.kind,
        "account_id": result.account_id,
        "environment": result.environment,
        "status": result.status,
    }
    if result.reason is not None:
        entry["reason"] = result.reason
    claims = result.claims
    if claims is not None:
        entry["token"] = {
            "accounts": list(claims.accounts),
            "roles": list(claims.roles),
            "build": claims.express,
            "expires_at": claims.expires_at,
        }
    return entry


def _notes(
    resolver: Resolver, results: Sequence[Verification], account_id: str | None
) -> list[str]:
    notes: list[str] = []
    auths = []
    for result in results:
        if result.scheme is not None:
            # The auth the results were made with: with --account-id, for that account
            # (there may be no configured one).
            auths.append(resolver.get_auth(result.service, account_id))
    note = environment_note(auths)
    if note is not None:
        notes.append(note)
    if any(result.scheme == "basic" for result in results):
        notes.append(basic_notice())
    return notes


def _origin(resolver: Resolver, service: str, account_id: str | None) -> str:
    """Where ``service``'s account id came from: ``--account-id``, ``from the access
    token`` or ``configured``."""
    if account_id is not None:
        return "--account-id"
    try:
        account = resolver.get_auth(service).provenance.get("account_id")
    except CredentialsError:
        return "configured"
    if account is not None and account.key == ACCOUNTS_CLAIM:
        return "from the access token"
    return "configured"


def _claims_line(claims: TokenClaims, used: dict[str, str]) -> str:
    """``accounts 1 (configured), 2; roles ...; Build account: no``: every account the
    token lists, the ones in use marked with where they came from."""
    # Only entries that are account ids: the claim is the server's text.
    listed = [a for a in claims.accounts if problem_of("account_id", a) is None]
    accounts = [f"{a} ({used[a]})" if a in used else a for a in listed]
    build = "yes (voice only)" if claims.express else "no"
    return (
        f"accounts {', '.join(accounts) or '(none)'}; "
        f"roles {', '.join(claims.roles) or '(none)'}; Build account: {build}"
    )


def _tokens(
    resolver: Resolver, results: Sequence[Verification], account_id: str | None
) -> list[str]:
    """One line per distinct token's claims: accounts (marking the one in use), roles,
    Build flag."""
    used: dict[str, str] = {}
    for result in results:
        if result.claims is not None and result.account_id:
            used.setdefault(result.account_id, _origin(resolver, result.service, account_id))
    lines: dict[str, None] = {}
    for result in results:
        if result.claims is not None:
            lines[_claims_line(result.claims, used)] = None
    return list(lines)


def _unusable_claims(resolver: Resolver, name: str) -> TokenClaims | None:
    """The claims of ``name``'s access token when its credentials resolved but no auth
    object can be had for the account (none configured and the token lists several, or
    an account the token does not list): the client's shared token, no second request.
    ``None`` for Basic credentials and a token that is not a JWT; :class:`TokenError`
    when no token can be had."""
    from ._factory import bearer_source
    from ._schema import KINDS

    resolution = resolver.resolve()
    outcome = resolution.services.get(name)
    if isinstance(outcome, Exception) or outcome is None:
        outcome = resolution.pending.get(name) or resolution.unbound.get(name)
    if outcome is None or KINDS[outcome[0].kind].scheme != "bearer":
        return None
    return bearer_source(*outcome).claims()


def token_lines(
    resolver: Resolver, services: Sequence[str], account_id: str | None = None
) -> list[str]:
    """The access-token section of ``explain --online`` (and of ``check --online`` for
    services that did not resolve): per distinct token the accounts (the one each
    service uses marked), roles and Build flag, whether or not a service can use it; a
    failed token request says why. Never the token."""
    lines: dict[str, None] = {}
    used: dict[str, str] = {}
    found: list[TokenClaims] = []
    for name in services:
        auth = None
        try:
            try:
                auth = resolver.get_auth(name, account_id)
            except (CredentialNotFoundError, InvalidCredentialsError):
                claims = _unusable_claims(resolver, name)  # the token, for no account
            else:
                if auth.scheme != "bearer":
                    continue
                claims = auth.token_claims()
        except TokenError as exc:
            lines[f"{name}: {exc}"] = None
            continue
        if claims is None:
            if auth is not None or name in resolver.resolve().pending:
                lines[f"{name}: the access token is not a JWT: no claims to read"] = None
            continue
        if auth is not None:
            used.setdefault(auth.account_id, _origin(resolver, name, account_id))
        found.append(claims)
    for claims in found:
        lines[_claims_line(claims, used)] = None
    return list(lines)


def _account_cell(resolver: Resolver, result: Verification, account_id: str | None) -> str:
    if not result.account_id:
        return "-"
    origin = _origin(resolver, result.service, account_id)
    return result.account_id if origin == "configured" else f"{result.account_id} ({origin})"


def check_online(
    args: argparse.Namespace, services: list[str], resolver: Resolver, out: TextIO
) -> int:
    """Run the online check for ``services`` and print it (a table, or ``--json``)."""
    results = verify(services, resolver=resolver, account_id=args.account_id)
    ready = all(result.ready for result in results)
    notes = _notes(resolver, results, args.account_id)
    code = EXIT_OK if ready else EXIT_NOT_READY
    if args.json:
        document = {
            "ready": ready,
            "online": True,
            "sources": [s.uri for s in resolver.sources],
            "services": [_entry(result) for result in results],
            "notes": notes,
        }
        json.dump(document, out, indent=2)
        out.write("\n")
        return code
    rows = [["SERVICE", "READY", "ACCOUNT", "CHECK", "DETAIL"]]
    for result in results:
        rows.append(
            [
                result.service,
                "yes" if result.ready else "NO",
                _account_cell(resolver, result, args.account_id),
                result.outcome,
                result.detail if result.scheme is not None else "see below",
            ]
        )
    table(rows, out)
    unresolved = [result for result in results if result.scheme is None]
    if unresolved:
        out.write("\n")
        for result in unresolved:
            out.write(f"{result.service}: {printable(result.detail)}\n")
    tokens = _tokens(resolver, results, args.account_id)
    if unresolved:  # their token, when one was issued: what it lists explains why
        more = token_lines(resolver, [result.service for result in unresolved], args.account_id)
        tokens = list(dict.fromkeys([*tokens, *more]))
    write_list(out, "access token", tokens)
    write_list(out, "notes", notes)
    return code
