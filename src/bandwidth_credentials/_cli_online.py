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

from ._cli_output import table, write_list
from ._factory import basic_notice
from ._resolver import Resolver
from ._verify import Verification, environment_note, verify

__all__ = ["check_online"]

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
    claims = result.claims
    if claims is not None:
        entry["token"] = {
            "accounts": list(claims.accounts),
            "roles": list(claims.roles),
            "build": claims.express,
            "expires_at": claims.expires_at,
        }
    return entry


def _notes(resolver: Resolver, results: Sequence[Verification]) -> list[str]:
    notes: list[str] = []
    auths = []
    for result in results:
        if result.scheme is not None:
            auths.append(resolver.get_auth(result.service))
    note = environment_note(auths)
    if note is not None:
        notes.append(note)
    if any(result.scheme == "basic" for result in results):
        notes.append(basic_notice())
    return notes


def _tokens(results: Sequence[Verification]) -> list[str]:
    """One line per distinct token's claims: accounts, roles, Build flag."""
    lines: dict[str, None] = {}
    for result in results:
        claims = result.claims
        if claims is None:
            continue
        build = "yes (voice only)" if claims.express else "no"
        lines[
            f"accounts {', '.join(claims.accounts) or '(none)'}; "
            f"roles {', '.join(claims.roles) or '(none)'}; Build account: {build}"
        ] = None
    return list(lines)


def check_online(
    args: argparse.Namespace, services: list[str], resolver: Resolver, out: TextIO
) -> int:
    """Run the online check for ``services`` and print it (a table, or ``--json``)."""
    results = verify(services, resolver=resolver)
    ready = all(result.ready for result in results)
    notes = _notes(resolver, results)
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
                result.account_id or "-",
                result.outcome,
                result.detail if result.scheme is not None else "see below",
            ]
        )
    table(rows, out)
    unresolved = [result for result in results if result.scheme is None]
    if unresolved:
        out.write("\n")
        for result in unresolved:
            out.write(f"{result.service}: {result.detail}\n")
    tokens = _tokens(results)
    write_list(out, "access token", tokens)
    write_list(out, "notes", notes)
    return code
